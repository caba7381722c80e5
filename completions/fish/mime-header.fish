# fish completion for mime-header(1)
# Short options: only the letters of the table in mimepipe(7).

set -l addresses From Sender Reply-To To Cc Bcc Resent-From Resent-Sender \
    Resent-To Resent-Cc Resent-Bcc
set -l names $addresses Subject Date Message-ID In-Reply-To References \
    Comments Keywords Resent-Date Resent-Message-ID Return-Path Received \
    MIME-Version Content-Type Content-Transfer-Encoding Content-Disposition \
    Content-ID Content-Description Organization User-Agent X-Mailer \
    X-Priority Importance Priority List-Id List-Unsubscribe List-Post \
    Auto-Submitted Precedence Disposition-Notification-To

# the message is read from standard input: no file arguments
complete -c mime-header -f
complete -c mime-header -l add -x -a "$names" -d "Add a field 'Name: value' at the end"
complete -c mime-header -l set -x -a "$names" -d "Replace every field of that name"
complete -c mime-header -s d -l delete -x -a "$names" -d 'Delete every field of that name'
complete -c mime-header -s g -l get -x -a "$names" -d 'Print the decoded values of a field'
complete -c mime-header -l addresses -x -a "$addresses" -d 'Print the addresses in a field'
complete -c mime-header -s l -l list -d 'Print every field, decoded'
complete -c mime-header -s r -l raw -d 'With --get or --list: print values undecoded'
complete -c mime-header -s o -l output -r -F -d 'Write to a file (atomically)'
complete -c mime-header -s V -l version -d 'Show the version'
complete -c mime-header -s h -l help -d 'Show help options'
