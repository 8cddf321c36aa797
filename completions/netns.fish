# fish completion for netns and the netns-VERB tools. The candidates come
# from netns.bash (run with the bash of PATH's absolute directories, never
# one of the current directory), found beside this file or where `cargo
# xtask install` puts bash completions; see that file. fish takes the
# words apart itself (commandline -o); a leading ~ and $NAME are expanded
# here. A name holding a tab cannot be offered: fish takes what follows a
# tab in a candidate for its description.

set -l here (status dirname)
for script in $here/netns.bash $here/../../bash-completion/completions/netns
    if test -r $script
        set -g __netns_completion $script
        break
    end
end

# A word as the command will get it: a leading ~ or ~USER and $NAME
# expanded (commandline -o leaves them).
function __netns_value
    set -l word $argv[1]
    set -l user (string match -r -- '^~([A-Za-z0-9_][A-Za-z0-9_.-]*)?(?:/|$)' $word)
    if set -q user[1]
        set -l home $HOME
        if test -n "$user[2]"
            # A user name of the characters checked above: nothing else.
            set home (eval echo ~$user[2])
        end
        if not string match -q -- '~*' $home
            set word $home(string sub -s (math 2 + (string length -- "$user[2]")) -- $word | string collect -a)
        end
    end
    for var in (string match -ar -- '\$[A-Za-z_][A-Za-z0-9_]*' $word)
        set -l name (string sub -s 2 -- $var)
        set word (string replace -- $var "$$name" $word | string collect -a)
    end
    printf '%s' $word
end

function __netns_complete
    set -l bash
    for dir in $PATH
        if string match -q -- '/*' $dir; and test -x $dir/bash
            set bash $dir/bash
            break
        end
    end
    test -n "$bash"; or return
    set -l words
    for word in (commandline -opc)
        set -a words (__netns_value $word | string collect -N -a)
    end
    set -l raw (commandline -ct)
    set -l cur (string unescape -- "$raw")
    # Here an escaped ~ (\~) can be told from one to expand.
    if string match -q -- '~*' "$raw"
        set -a words (__netns_value "$cur" | string collect -N -a)
    else
        set -a words "$cur"
    end
    set -l records ($bash $__netns_completion --values $words </dev/null 2>/dev/null | string split0)
    switch "$records[1]"
        case '!*'
            set -l head "$records[2]"
            set -l value (string sub -s (math 1 + (string length -- "$head")) -- $cur | string collect -a)
            switch $records[1]
                case '!command'
                    __fish_complete_command $value
                case '!dir'
                    __fish_complete_directories $value
                case '!user'
                    __fish_complete_users
                case '!file'
                    __fish_complete_path $value
            end | while read -l line
                printf '%s%s\0' $head $line
            end
        case '*'
            set -l dashed
            for i in (seq 1 2 (count $records))
                set -l value $records[(math $i + 1)]
                switch $records[$i]
                    case '='
                        # A tab would end the candidate at it.
                        string match -q -- "*"\t"*" $value; or printf '%s\0' $value
                    case '-'
                        set dashed 1
                end
            end
            # fish inserts a candidate as one word: the `--` that a name
            # starting with `-` needs before it is offered, to type first.
            test -n "$dashed"; and printf '%s\0' --
    end
end

for command in netns netns-add netns-attach netns-del netns-exec netns-identify netns-inspect netns-link netns-list netns-pids netns-set netns-watch
    complete -c $command -f -a '(__netns_complete | string split0)'
end
