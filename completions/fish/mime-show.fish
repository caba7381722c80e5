# fish completion for mime-show(1)

complete -c mime-show -l headers -x -a 'all none From,To,Cc,Date,Subject' -d 'The header fields to show (comma-separated, all, none)'
complete -c mime-show -l tree -d 'Show only the tree of parts'
complete -c mime-show -l text -d 'Show only the readable text'
complete -c mime-show -l json -d 'Show the headers and the tree as JSON'
complete -c mime-show -s o -l output -r -F -d 'Write to a file (atomically)'
complete -c mime-show -s V -l version -d 'Show the version'
complete -c mime-show -s h -l help -d 'Show help options'
