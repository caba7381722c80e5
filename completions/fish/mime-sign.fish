# fish completion for mime-sign(1)

# the message is read from standard input: no file arguments
complete -c mime-sign -f
complete -c mime-sign -l smime -d 'Sign with S/MIME instead of PGP/MIME'
complete -c mime-sign -l local-user -x -d 'Sign with this key instead of the From address'
complete -c mime-sign -l homedir -x -a '(__fish_complete_directories)' -d 'GnuPG home directory'
complete -c mime-sign -l passphrase-file -r -F -d 'Read the passphrase from the first line of FILE'
complete -c mime-sign -l passphrase-fd -x -d 'Read the passphrase from descriptor N'
complete -c mime-sign -l protect-headers -d 'Sign copies of the header fields too (RFC 9788)'
complete -c mime-sign -l autocrypt -d 'Add an Autocrypt field with the sender key'
complete -c mime-sign -l seed -x -d 'Make the boundary reproducible'
complete -c mime-sign -s o -l output -r -F -d 'Write to a file (atomically)'
complete -c mime-sign -s V -l version -d 'Show the version'
complete -c mime-sign -s h -l help -d 'Show help options'
