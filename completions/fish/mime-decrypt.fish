# fish completion for mime-decrypt(1)

# the message is read from standard input: no file arguments
complete -c mime-decrypt -f
complete -c mime-decrypt -l homedir -x -a '(__fish_complete_directories)' -d 'GnuPG home directory'
complete -c mime-decrypt -l passphrase-file -r -F -d 'Read the passphrase from the first line of FILE'
complete -c mime-decrypt -l passphrase-fd -x -d 'Read the passphrase from descriptor N'
complete -c mime-decrypt -s o -l output -r -F -d 'Write to a file (atomically)'
complete -c mime-decrypt -s V -l version -d 'Show the version'
complete -c mime-decrypt -s h -l help -d 'Show help options'
