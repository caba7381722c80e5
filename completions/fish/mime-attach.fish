# fish completion for mime-attach(1)
# Short options: only the letters of the table in mimepipe(7).

function __mime_attach_types
    set -l data_home $XDG_DATA_HOME
    test -n "$data_home"; or set data_home ~/.local/share
    for f in $data_home/mime/types /usr/local/share/mime/types /usr/share/mime/types
        if test -r $f
            cat $f
            return
        end
    end
    test -r /etc/mime.types; and string replace -r '[\s#].*' '' </etc/mime.types | string match -rv '^$'
end

# per-file options apply to the FILE that follows them
complete -c mime-attach -l type -x -a '(__mime_attach_types)' -d 'Media type of the next FILE'
complete -c mime-attach -l name -x -d 'File name shown for the next FILE'
complete -c mime-attach -l description -x -d 'Content-Description of the next FILE'
complete -c mime-attach -s i -l inline -d 'Show the next FILE inline'
complete -c mime-attach -l fd -x -d 'The next FILE, given as -, is read from descriptor N'
complete -c mime-attach -s m -l message -r -F -d 'Forward a message as message/rfc822'
complete -c mime-attach -l seed -x -d 'Make boundaries reproducible from SEED'
complete -c mime-attach -l crlf -d 'Write CRLF line endings'
complete -c mime-attach -s o -l output -r -F -d 'Write to a file (atomically)'
complete -c mime-attach -s V -l version -d 'Show the version'
complete -c mime-attach -s h -l help -d 'Show help options'
