# Completion for netns and the netns-VERB tools: bash (source this file),
# and the candidates zsh's and fish's completions ask for. They run it as
# `bash netns.bash --typed WORD...` (zsh: the words as typed, quotes and
# all) or `bash netns.bash --values WORD...` (fish: the words as the shell
# will pass them), the last word the one being completed, cut at the
# cursor. It prints records of two fields, each field ended by a NUL
# byte (a name may hold any other):
#   = WORD      a candidate for the whole current word
#   - WORD      one that starts with `-` where no `--` is on the line yet:
#               it goes in after a `--`
#   !KIND HEAD  the shell's own completion of KIND (command, dir, file,
#               user) for the current word past HEAD (`--run-dir=`, or "")
#
# Nothing here lists a verb's options: they are read from the verb's own
# --help, so the completion cannot drift from the binaries. Names come
# from netns-list (with the run dir and --rootless the line gives), PIDs
# from /proc. The only programs run are netns's own tools, found on PATH's
# absolute directories: never one of the current directory, whatever the
# line or PATH says (`./netns-del <TAB>` runs no ./netns-del).

# The verbs, as `netns --verbs` prints them (a test checks).
_netns_verbs=(add attach del exec identify inspect link list pids set watch)
# ip's words, in the order ip tries prefixes, and the verb of each.
_netns_ip_words=(list:list show:list lst:list list-id:list help:help add:add set:set
    delete:del identify:identify pids:pids exec:exec monitor:watch attach:attach)

# The verb a word of the multicall's command line names: ours, or ip's
# word or a prefix of one.
_netns_verb_of() {
    local word=$1 pair
    for pair in "${_netns_verbs[@]}"; do
        [[ $pair == "$word" ]] && { echo "$word"; return; }
    done
    for pair in "${_netns_ip_words[@]}"; do
        [[ -n $word && ${pair%%:*} == "$word"* ]] && { echo "${pair#*:}"; return; }
    done
}

# PATH without its relative entries (`.`, empty ones, `bin`), in REPLY.
_netns_safe_path() {
    local -a dirs
    local dir
    REPLY=
    IFS=: read -r -d '' -a dirs < <(printf '%s\0' "$PATH")
    for dir in "${dirs[@]}"; do
        [[ $dir == /* ]] && REPLY+=${REPLY:+:}$dir
    done
}

# The value of a word as typed, as the shell will pass it, in REPLY:
# quotes and backslashes taken off, $'...' decoded, a leading ~ or ~USER
# and $NAME or ${NAME} expanded. Nothing is run and nothing globbed. The
# quote still open at the end of the word, if any, is in _netns_open.
_netns_dequote() {
    local word=$1 out= c next i=0 n=${#1} q= name home
    if [[ $word =~ ^~([A-Za-z0-9_][A-Za-z0-9_.-]*)?(/|$) ]]; then
        name=${BASH_REMATCH[1]}
        if [[ -z $name ]]; then
            home=$HOME
        else
            # A user name of the characters checked above: nothing else.
            eval "home=~$name"
        fi
        if [[ $home != \~* ]]; then
            out=$home
            i=$((1 + ${#name}))
        fi
    fi
    while ((i < n)); do
        c=${word:i:1}
        next=${word:i+1:1}
        case $q in
        "'")
            [[ $c == "'" ]] && q= || out+=$c
            ;;
        "\$'")
            if [[ $c == "'" ]]; then
                q=
            elif [[ $c == \\ ]]; then
                # One escape: \n, \t, \e, \NNN, \xHH, \uHHHH, ... as
                # printf's format reads them.
                local esc=$next
                case $next in
                [0-7]) [[ ${word:i+1} =~ ^[0-7]{1,3} ]] && esc=${BASH_REMATCH[0]} ;;
                x) [[ ${word:i+1} =~ ^x[0-9a-fA-F]{1,2} ]] && esc=${BASH_REMATCH[0]} ;;
                u) [[ ${word:i+1} =~ ^u[0-9a-fA-F]{1,4} ]] && esc=${BASH_REMATCH[0]} ;;
                U) [[ ${word:i+1} =~ ^U[0-9a-fA-F]{1,8} ]] && esc=${BASH_REMATCH[0]} ;;
                esac
                ((i += ${#esc}))
                case $esc in
                "'" | '"' | \\ | '?') out+=$esc ;;
                *)
                    printf -v esc "\\$esc"
                    out+=$esc
                    ;;
                esac
            else
                out+=$c
            fi
            ;;
        '"')
            if [[ $c == '"' ]]; then
                q=
            elif [[ $c == \\ && $next == [\$\`\"\\] ]]; then
                out+=$next
                ((i++))
            elif [[ $c == \\ && $next == $'\n' ]]; then
                ((i++))
            elif [[ $c == \$ && ${word:i} =~ ^\$(\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*)) ]]; then
                name=${BASH_REMATCH[2]}${BASH_REMATCH[3]}
                out+=${!name}
                ((i += ${#BASH_REMATCH[0]} - 1))
            else
                out+=$c
            fi
            ;;
        *)
            case $c in
            "'") q="'" ;;
            '"') q='"' ;;
            \\)
                ((i++))
                [[ $next != $'\n' ]] && out+=$next
                ;;
            \$)
                if [[ $next == "'" ]]; then
                    q="\$'"
                    ((i++))
                elif [[ $next == '"' ]]; then
                    q='"'
                    ((i++))
                elif [[ ${word:i} =~ ^\$(\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*)) ]]; then
                    name=${BASH_REMATCH[2]}${BASH_REMATCH[3]}
                    out+=${!name}
                    ((i += ${#BASH_REMATCH[0]} - 1))
                else
                    out+=$c
                fi
                ;;
            *) out+=$c ;;
            esac
            ;;
        esac
        ((i++))
    done
    _netns_open=$q
    REPLY=$out
}

# The options of a verb, from its --help, one a line: `-x` and `--long`,
# followed by ` =` for those that take a value.
_netns_options() {
    local line value
    while IFS= read -r line; do
        [[ $line =~ ^\ +(-([a-zA-Z]),\ )?(--[a-z][a-z-]*)(\ [A-Z])? ]] || continue
        value=${BASH_REMATCH[4]:+ =}
        [[ -n ${BASH_REMATCH[2]} ]] && printf '%s\n' "-${BASH_REMATCH[2]}$value"
        printf '%s\n' "${BASH_REMATCH[3]}$value"
    done < <("$@" --help </dev/null 2>/dev/null)
}

# The records for the words given (their values; the last one the word
# being completed), on stdout.
_netns_candidates() {
    local IFS=$' \t\n' REPLY
    # Only the tools of PATH's absolute directories: never one of the
    # current directory, not even the one typed (./netns-del).
    _netns_safe_path
    local -x PATH=$REPLY
    local -a w=("$@")
    local n=$# cur=${!#} i=1 verb
    local -a tool=() run=()
    local all=
    if [[ ${w[0]##*/} == netns ]]; then
        while ((i < n - 1)) && [[ ${w[i]} == -* ]]; do
            [[ ${w[i]} == -all ]] && all=1
            ((i++))
        done
        if ((i == n - 1)); then
            if [[ $cur == -* ]]; then
                printf '%s\n' -j -json -all --verbs --help --version
            else
                printf '%s\n' "${_netns_verbs[@]}" delete monitor show list-id
            fi | _netns_lines | _netns_offer "$cur" 1
            return
        fi
        verb=$(_netns_verb_of "${w[i]}")
        [[ -z $verb || $verb == help ]] && return
        tool=(netns "$verb")
        ((i++))
    else
        verb=${w[0]##*/}
        verb=${verb#netns-}
        tool=("netns-$verb")
        type -P "netns-$verb" >/dev/null || tool=(netns "$verb")
    fi
    local -a options=() valued=()
    local line
    while read -r line; do
        options+=("${line% =}")
        [[ $line == *' =' ]] && valued+=("${line% =}")
    done < <(_netns_options "${tool[@]}")
    # The words so far: options (and their values), then positionals.
    local -a args=()
    local word prev= ended= o
    for (( ; i < n - 1; i++)); do
        word=${w[i]}
        if [[ -n $prev ]]; then
            [[ $prev == --run-dir ]] && run+=(--run-dir "$word")
            prev=
            continue
        fi
        if [[ -z $ended && $word == -- ]]; then
            ended=1
            continue
        fi
        if [[ -z $ended && $word == -* ]]; then
            [[ $word == --rootless ]] && run+=(--rootless)
            [[ $word == -a || $word == --all ]] && all=1
            [[ $word == --run-dir=* ]] && run+=(--run-dir "${word#*=}")
            for o in "${valued[@]}"; do [[ $word == "$o" ]] && prev=$word; done
            continue
        fi
        args+=("$word")
        # Everything after exec's NAME (none with --all) is the command's:
        # its words are files.
        if [[ $verb == exec ]] && ((${#args[@]} > (all ? 0 : 1))); then
            printf '!file\0\0'
            return
        fi
    done
    case $prev in
    --run-dir) printf '!dir\0\0' && return ;;
    --user | -u) printf '!user\0\0' && return ;;
    --dev) _netns_devices | _netns_offer "$cur" 1 && return ;;
    ?*) return ;;
    esac
    if [[ -z $ended && $cur == --*=* ]]; then
        case ${cur%%=*} in
        --run-dir) printf '!dir\0--run-dir=\0' ;;
        --user) printf '!user\0--user=\0' ;;
        --dev) _netns_devices | _netns_prefix --dev= | _netns_offer "$cur" 1 ;;
        esac
        return
    fi
    if [[ -z $ended && $cur == -* ]]; then
        printf '%s\n' "${options[@]}" | _netns_lines | _netns_offer "$cur" 1
    fi
    local nth=${#args[@]}
    if [[ $verb == exec ]] && ((nth == (all ? 0 : 1))); then
        [[ $cur != -* || -n $ended ]] && printf '!command\0\0'
        return
    fi
    case $verb:$nth in
    del:* | pids:0 | set:0 | exec:0) _netns_names ;;
    set:1) printf 'auto\0' ;;
    identify:0 | attach:1) _netns_pids ;;
    inspect:*)
        _netns_names
        _netns_pids
        ;;
    link:*) _netns_names ;;
    watch:0) [[ ${tool[1]} == watch ]] && printf '%s\0' all name id ;;
    list:0) [[ ${tool[1]} == list ]] && printf 'dev\0' ;;
    list:1) [[ ${args[0]} == dev ]] && _netns_devices ;;
    esac | _netns_offer "$cur" "$ended"
}

# Lines in, NUL-ended values out.
_netns_lines() {
    local line
    while IFS= read -r line; do printf '%s\0' "$line"; done
}

# NUL-ended values in, each with $1 before it out.
_netns_prefix() {
    local value
    while IFS= read -r -d '' value; do printf '%s%s\0' "$1" "$value"; done
}

# NUL-ended values in, the records of those that start with $1 out; $2
# set when a `--` is on the line (or the values are no names).
_netns_offer() {
    local value
    while IFS= read -r -d '' value; do
        [[ $value == "$1"* ]] || continue
        if [[ -z $2 && $value == -* ]]; then
            printf -- '-\0%s\0' "$value"
        else
            printf '=\0%s\0' "$value"
        fi
    done
}

# The names in the run dir the line names (else the default one), NUL
# ended. netns-list prints a name that needs it C-quoted ("a\nb"), and
# " (id: N)" after the name of a namespace with an nsid: a name can end so
# itself, and only the JSON tells which (the name, and an "id" key when
# there is one).
_netns_names() {
    local -a list=(netns list) text entries=()
    [[ ${tool[0]} != netns ]] && type -P netns-list >/dev/null && list=(netns-list)
    mapfile -t text < <("${list[@]}" "${run[@]}" </dev/null 2>/dev/null)
    local line i suffixed= json
    for line in "${text[@]}"; do
        [[ $line =~ \ \(id:\ [0-9]+\)$ ]] && suffixed=1 && break
    done
    if [[ -n $suffixed ]]; then
        json=$("${list[@]}" "${run[@]}" --json </dev/null 2>/dev/null)
        json=${json#\[}
        json=${json%\]}
        # No JSON string holds `{"` or `,"` (its quotes are escaped) nor a
        # raw newline: one entry a line.
        mapfile -t entries <<<"${json//\},\{\"name\":/$'\n'}"
        # Listed again meanwhile, and changed: take the text's word for it.
        ((${#entries[@]} == ${#text[@]})) || entries=()
    fi
    for ((i = 0; i < ${#text[@]}; i++)); do
        line=${text[i]}
        if [[ -n $suffixed && $line =~ \ \(id:\ [0-9]+\)$ ]]; then
            if ((${#entries[@]} == 0)) || [[ ${entries[i]} == *',"id":'* ]]; then
                line=${line% (id: *}
            fi
        fi
        if [[ $line == \"*\" && ${#line} -ge 2 ]]; then
            # C-quoted: \" \\ \a \b \t \n \v \f \r and octal, as printf
            # reads its format.
            line=${line:1:${#line}-2}
            printf -v line "${line//%/%%}"
        fi
        printf '%s\0' "$line"
    done
}

_netns_pids() {
    local p
    for p in /proc/[0-9]*; do printf '%s\0' "${p#/proc/}"; done
}

_netns_devices() {
    local dev
    for dev in /sys/class/net/*; do
        [[ -e $dev ]] && printf '%s\0' "${dev##*/}"
    done
}

# $1 as it must be typed into the quotes open before it ($_netns_open:
# none, ', " or $'), in REPLY.
_netns_quote() {
    local s=$1
    case $_netns_open in
    "'") REPLY=${s//\'/\'\\\'\'} ;;
    "\$'")
        s=${s//\\/\\\\}
        REPLY=${s//\'/\\\'}
        ;;
    '"')
        s=${s//\\/\\\\}
        s=${s//\"/\\\"}
        s=${s//\$/\\\$}
        s=${s//\`/\\\`}
        # History expansion sees a `!` even in double quotes, and no
        # quoting inserted into the quotes readline opened holds for it
        # (closing and reopening them let a name end the command): such a
        # name is not offered there; unquoted or in '' it is.
        if [[ $- == *H* && $s == *'!'* ]]; then
            REPLY=
            return 1
        fi
        REPLY=$s
        ;;
    *) printf -v REPLY %q "$s" ;;
    esac
}

# Where readline's word starts in $1, the current word as typed: after
# the last COMP_WORDBREAKS character outside quotes (`=` and `:` among
# them), or, when a quote is still open, after it. The part before, in
# REPLY.
_netns_kept() {
    local word=$1 c i q= opened=0 start=0
    local breaks=${COMP_WORDBREAKS//[\"\' $'\t\n']/}
    for ((i = 0; i < ${#word}; i++)); do
        c=${word:i:1}
        case $q in
        "'") [[ $c == "'" ]] && q= ;;
        '"')
            if [[ $c == \\ ]]; then
                ((i++))
            elif [[ $c == '"' ]]; then
                q=
            fi
            ;;
        *)
            case $c in
            \\) ((i++)) ;;
            "'" | '"')
                q=$c
                opened=$((i + 1))
                ;;
            *) [[ $breaks == *"$c"* ]] && start=$((i + 1)) ;;
            esac
            ;;
        esac
    done
    [[ -n $q ]] && start=$opened
    REPLY=${word:0:start}
}

# The line up to the cursor, in REPLY: COMP_POINT counts bytes.
_netns_line() {
    local LC_ALL=C
    REPLY=${COMP_LINE:0:COMP_POINT}
}

_netns() {
    local IFS=$' \t\n' REPLY _netns_open
    # The words of the line up to the cursor, as typed: bash splits the
    # line at COMP_WORDBREAKS (`--run-dir=DIR` is three words, `a:b`
    # three), so the pieces with nothing between them are joined again.
    _netns_line
    local line=$REPLY piece gap at=0 i
    local -a typed=()
    for ((i = 0; i <= COMP_CWORD; i++)); do
        piece=${COMP_WORDS[i]}
        gap=${line:at}
        gap=${gap%%[!$' \t\n']*}
        ((at += ${#gap}))
        ((i == COMP_CWORD)) && piece=${line:at}
        if [[ ${line:at:${#piece}} != "$piece" ]]; then
            typed=("${COMP_WORDS[@]:0:COMP_CWORD}" "${COMP_WORDS[COMP_CWORD]}")
            break
        fi
        if ((i > 0)) && [[ -z $gap ]]; then
            typed[-1]+=$piece
        else
            typed+=("$piece")
        fi
        ((at += ${#piece}))
    done
    local -a values=()
    for piece in "${typed[@]}"; do
        _netns_dequote "$piece"
        values+=("$REPLY")
    done
    # What readline replaces is the part of the word after `kept`.
    local cur=${typed[-1]} value=${values[-1]} kept open
    _netns_kept "$cur"
    _netns_dequote "$REPLY"
    kept=$REPLY
    _netns_dequote "$cur"
    open=$_netns_open
    local -a records
    mapfile -d '' records < <(_netns_candidates "${values[@]}" </dev/null 2>/dev/null)
    COMPREPLY=()
    local kind found dashed=
    if [[ ${records[0]} == '!'* ]]; then
        kind=${records[0]#!}
        local head=${records[1]}
        compopt -o filenames 2>/dev/null
        while IFS= read -r found; do
            found=$head$found
            [[ $found == "$kept"* ]] && COMPREPLY+=("${found#"$kept"}")
        done < <(compgen "-${kind:0:1}" -- "${value#"$head"}")
        return
    fi
    for ((i = 0; i + 1 < ${#records[@]}; i += 2)); do
        found=${records[i + 1]}
        case ${records[i]} in
        =)
            [[ $found == "$kept"* ]] || continue
            _netns_open=$open
            _netns_quote "${found#"$kept"}" && COMPREPLY+=("$REPLY")
            ;;
        -)
            if [[ -z $kept && -z $open ]]; then
                printf -v REPLY %q "$found"
                COMPREPLY+=("-- $REPLY")
            else
                # Inside quotes the `--` cannot go before them: it is
                # offered by itself.
                dashed=1
            fi
            ;;
        esac
    done
    [[ -n $dashed && -- == "$value"* ]] && COMPREPLY+=(--)
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    case $1 in
    --typed)
        shift
        for _netns_word; do
            _netns_dequote "$_netns_word"
            _netns_values+=("$REPLY")
        done
        _netns_candidates "${_netns_values[@]}"
        ;;
    --values)
        shift
        _netns_candidates "$@"
        ;;
    esac
else
    complete -F _netns netns "${_netns_verbs[@]/#/netns-}"
fi
