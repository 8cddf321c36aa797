# fish completion for netns and the netns-VERB tools. The candidates come
# from netns.bash (run with bash), found beside this file or where `cargo
# xtask install` puts bash completions; see that file.

set -l here (status dirname)
for script in $here/netns.bash $here/../../bash-completion/completions/netns
    if test -r $script
        set -g __netns_completion $script
        break
    end
end

function __netns_complete
    set -l words (commandline -opc) (commandline -ct)
    set -l candidates (bash $__netns_completion --candidates $words)
    switch "$candidates[1]"
        case __command__
            __fish_complete_command
        case __dir__
            __fish_complete_directories (commandline -ct)
        case __user__
            __fish_complete_users
        case __file__
            __fish_complete_path (commandline -ct)
        case '*'
            printf '%s\n' $candidates
    end
end

for command in netns netns-add netns-attach netns-del netns-exec netns-identify netns-inspect netns-list netns-pids netns-set netns-watch
    complete -c $command -f -a '(__netns_complete)'
end
