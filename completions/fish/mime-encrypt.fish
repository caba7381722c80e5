# fish completion for mime-encrypt(1)

# the message is read from standard input: no file arguments
complete -c mime-encrypt -f
complete -c mime-encrypt -l smime -d 'Encrypt with S/MIME instead of PGP/MIME'
complete -c mime-encrypt -l recipient -x -d 'Encrypt for ADDR instead of To, Cc and Bcc'
complete -c mime-encrypt -l hidden-recipient -x -d 'Encrypt for ADDR without naming its key'
complete -c mime-encrypt -l sign -d 'Sign the message too'
complete -c mime-encrypt -l local-user -x -d 'The sender key that signs and is a recipient'
complete -c mime-encrypt -l no-encrypt-to-self -d 'Do not add the sender as a recipient'
complete -c mime-encrypt -l homedir -x -a '(__fish_complete_directories)' -d 'GnuPG home directory'
complete -c mime-encrypt -l passphrase-file -r -F -d 'Read the passphrase from the first line of FILE'
complete -c mime-encrypt -l passphrase-fd -x -d 'Read the passphrase from descriptor N'
complete -c mime-encrypt -l protect-headers -d 'Encrypt the header fields too (RFC 9788)'
complete -c mime-encrypt -l autocrypt -d 'Add an Autocrypt field with the sender key'
complete -c mime-encrypt -l seed -x -d 'Make the boundary reproducible'
complete -c mime-encrypt -s o -l output -r -F -d 'Write to a file (atomically)'
complete -c mime-encrypt -s V -l version -d 'Show the version'
complete -c mime-encrypt -s h -l help -d 'Show help options'
