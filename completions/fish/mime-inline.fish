# fish completion for mime-inline(1)
# Short options: only the letters of the table in mimepipe(7).

# the message is read from standard input: no file arguments
complete -c mime-inline -f
complete -c mime-inline -l html -r -F -d 'Add or replace the HTML alternative; embed its images'
complete -c mime-inline -s T -l text -r -F -d 'Add or replace the plain text alternative'
complete -c mime-inline -s I -l image -r -F -d 'Add an inline image for a cid: link'
complete -c mime-inline -l cid -x -d 'Content-ID of the --image before it'
complete -c mime-inline -l 8bit -d 'Allow 8bit text parts'
complete -c mime-inline -l seed -x -d 'Make boundaries and Content-IDs reproducible'
complete -c mime-inline -l crlf -d 'Write CRLF line endings'
complete -c mime-inline -s o -l output -r -F -d 'Write to a file (atomically)'
complete -c mime-inline -s V -l version -d 'Show the version'
complete -c mime-inline -s h -l help -d 'Show help options'
