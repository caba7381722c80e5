# fish completion for mime-merge(1)

complete -c mime-merge -l encoding -x -a 'utf-8 windows-1252 windows-1250 iso-8859-1 iso-8859-15 macintosh' -d 'The CSV file is in this character set'
complete -c mime-merge -l json -d 'DATA is JSON lines'
complete -c mime-merge -l attach-column -x -d 'Attach the file the row names in this column'
complete -c mime-merge -l unsubscribe -x -d 'Add one-click List-Unsubscribe with this https URL'
complete -c mime-merge -l seed -x -d 'Derive Message-IDs from this seed'
complete -c mime-merge -l limit -x -d 'Make only the first N messages'
complete -c mime-merge -s n -l dry-run -d 'Print a line per message instead'
complete -c mime-merge -s C -l directory -x -a '(__fish_complete_directories)' -d 'Write one .eml per row into a directory'
complete -c mime-merge -s o -l output -r -F -d 'Write the mbox stream to a file (atomically)'
complete -c mime-merge -s V -l version -d 'Show the version'
complete -c mime-merge -s h -l help -d 'Show help options'
