# fish completion for mime-extract(1)

complete -c mime-extract -l part -x -d 'The part with this IMAP section number'
complete -c mime-extract -l filename -x -d 'Parts whose file name matches a glob'
complete -c mime-extract -l type -x -a 'image/\* text/\* application/\* application/pdf message/rfc822' -d 'Parts whose content type matches a glob'
complete -c mime-extract -l attachments -d 'Only attachments'
complete -c mime-extract -s C -l directory -x -a '(__fish_complete_directories)' -d 'Write the files into a folder'
complete -c mime-extract -l force -d 'Replace existing files'
complete -c mime-extract -s n -l dry-run -d 'Print what would be written; write nothing'
complete -c mime-extract -s v -l verbose -d 'Print each file written on stderr'
complete -c mime-extract -s o -l output -r -F -d 'Write the one part chosen to a file (- for stdout)'
complete -c mime-extract -s V -l version -d 'Show the version'
complete -c mime-extract -s h -l help -d 'Show help options'
