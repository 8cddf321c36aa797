# Completion for netns and the netns-VERB tools: bash (source this file),
# and the candidates zsh's and fish's completions ask for (run it as
# `bash netns.bash --candidates WORD...`, the last word the one being
# completed: it prints one candidate a line, or one of __command__,
# __dir__, __user__, __file__ for the shell's own kind of completion).
#
# Nothing here lists a verb's options: they are read from the verb's own
# --help, so the completion cannot drift from the binaries. Names come
# from netns-list (with the run dir and --rootless the line gives), PIDs
# from /proc.

# The verbs, as `netns --verbs` prints them (a test checks).
_netns_verbs=(add attach del exec identify inspect list pids set watch)
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

# The options of a verb, from its --help, one a line: `-x` and `--long`,
# followed by ` =` for those that take a value.
_netns_options() {
    local line value
    while IFS= read -r line; do
        [[ $line =~ ^\ +(-([a-zA-Z]),\ )?(--[a-z][a-z-]*)(\ [A-Z])? ]] || continue
        value=${BASH_REMATCH[4]:+ =}
        [[ -n ${BASH_REMATCH[2]} ]] && printf '%s\n' "-${BASH_REMATCH[2]}$value"
        printf '%s\n' "${BASH_REMATCH[3]}$value"
    done < <("$@" --help 2>/dev/null)
}

_netns_candidates() {
    local IFS=$' \t\n'
    local -a w=("$@")
    local n=${#w[@]} cur=${w[$#-1]} i=1 verb tool
    local -a run=()
    local all=
    if [[ ${w[0]##*/} == netns ]]; then
        while (( i < n - 1 )) && [[ ${w[i]} == -* ]]; do
            [[ ${w[i]} == -all ]] && all=1
            ((i++))
        done
        if (( i == n - 1 )); then
            if [[ $cur == -* ]]; then
                printf '%s\n' -j -json -all --verbs --help --version
            else
                printf '%s\n' "${_netns_verbs[@]}" delete monitor show list-id
            fi | _netns_filter "$cur"
            return
        fi
        verb=$(_netns_verb_of "${w[i]}")
        [[ -z $verb || $verb == help ]] && return
        tool=("${w[0]}" "$verb")
        ((i++))
    else
        verb=${w[0]##*/}
        verb=${verb#netns-}
        tool=("${w[0]}")
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
    for ((; i < n - 1; i++)); do
        word=${w[i]}
        if [[ -n $prev ]]; then
            [[ $prev == --run-dir ]] && run+=(--run-dir "$word")
            prev=
            continue
        fi
        if [[ -z $ended && $word == -- ]]; then ended=1; continue; fi
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
        if [[ $verb == exec ]] && (( ${#args[@]} > (all ? 0 : 1) )); then
            echo __file__
            return
        fi
    done
    case $prev in
        --run-dir) echo __dir__; return ;;
        --user|-u) echo __user__; return ;;
        --dev) ls /sys/class/net 2>/dev/null | _netns_filter "$cur"; return ;;
        ?*) return ;;
    esac
    if [[ -z $ended && $cur == -* ]]; then
        printf '%s\n' "${options[@]}" | _netns_filter "$cur"
        return
    fi
    local nth=${#args[@]}
    if [[ $verb == exec ]] && (( nth == (all ? 0 : 1) )); then
        echo __command__
        return
    fi
    case $verb:$nth in
        del:*|pids:0|set:0|exec:0) _netns_names ;;
        set:1) echo auto ;;
        identify:0|attach:1) _netns_pids ;;
        inspect:*) _netns_names; _netns_pids ;;
        watch:0) [[ ${tool[1]} == watch ]] && printf '%s\n' all name id ;;
        list:0) [[ ${tool[1]} == list ]] && printf '%s\n' dev ;;
        list:1) [[ ${args[0]} == dev ]] && ls /sys/class/net 2>/dev/null ;;
    esac | _netns_filter "$cur"
}

# The names in the run dir the line names (else the default one).
_netns_names() {
    if [[ ${tool[0]##*/} == netns ]]; then
        "${tool[0]}" list "${run[@]}" 2>/dev/null
    else
        "$(_netns_sibling list)" "${run[@]}" 2>/dev/null
    fi | sed 's/ (id: [0-9]*)$//'
}

# netns-VERB beside the tool being completed (or on PATH).
_netns_sibling() {
    case ${tool[0]} in
        */*) echo "${tool[0]%/*}/netns-$1" ;;
        *) echo "netns-$1" ;;
    esac
}

_netns_pids() {
    local p
    for p in /proc/[0-9]*; do echo "${p#/proc/}"; done
}

_netns_filter() {
    local c
    while IFS= read -r c; do
        [[ $c == "$1"* ]] && printf '%s\n' "$c"
    done
}

_netns() {
    local cur=${COMP_WORDS[COMP_CWORD]} IFS=$'\n'
    local -a c=($(_netns_candidates "${COMP_WORDS[@]:0:COMP_CWORD+1}"))
    case ${c[0]} in
        __command__) COMPREPLY=($(compgen -c -- "$cur")) ;;
        __dir__) COMPREPLY=($(compgen -d -- "$cur")) ;;
        __user__) COMPREPLY=($(compgen -u -- "$cur")) ;;
        __file__) COMPREPLY=($(compgen -f -- "$cur")) ;;
        *) COMPREPLY=("${c[@]}") ;;
    esac
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    [[ $1 == --candidates ]] && shift
    _netns_candidates "$@"
else
    complete -F _netns netns "${_netns_verbs[@]/#/netns-}"
fi
