# fish completion for mime-verify(1)

# the message is read from standard input: no file arguments
complete -c mime-verify -f
complete -c mime-verify -l homedir -x -a '(__fish_complete_directories)' -d 'GnuPG home directory'
complete -c mime-verify -l passphrase-file -r -F -d 'Read the passphrase from the first line of FILE'
complete -c mime-verify -l passphrase-fd -x -d 'Read the passphrase from descriptor N'
complete -c mime-verify -s o -l output -r -F -d 'Write to a file (atomically)'
complete -c mime-verify -s V -l version -d 'Show the version'
complete -c mime-verify -s h -l help -d 'Show help options'
