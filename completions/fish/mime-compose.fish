# fish completion for mime-compose(1)
# Short options: only the letters of the table in mimepipe(7).

set -l charsets utf-8 us-ascii iso-8859-1 iso-8859-2 iso-8859-15 \
    windows-1250 windows-1251 windows-1252 koi8-r koi8-u gb18030 gbk big5 \
    shift_jis euc-jp iso-2022-jp euc-kr

complete -c mime-compose -l from -x -d 'Author address (repeatable)'
complete -c mime-compose -l to -x -d Recipient
complete -c mime-compose -s c -l cc -x -d 'Copy recipient'
complete -c mime-compose -s b -l bcc -x -d 'Blind copy recipient'
complete -c mime-compose -l reply-to -x -d 'Where replies go'
complete -c mime-compose -l sender -x -d 'The mailbox that sends'
complete -c mime-compose -s s -l subject -x -d Subject
complete -c mime-compose -s H -l header -x -d "Add a header field 'Name: value'"
complete -c mime-compose -l in-reply-to -x -d 'Message-ID of the message answered'
complete -c mime-compose -l references -x -d 'Message-IDs of the thread'
complete -c mime-compose -l html -r -F -d 'HTML body file'
complete -c mime-compose -l no-text -d 'With --html: no text rendered from the HTML'
complete -c mime-compose -l charset -x -a "$charsets" -d 'Charset of the body files'
complete -c mime-compose -l 8bit -d 'Allow 8bit transfer encoding'
complete -c mime-compose -l date -x -d 'Date (RFC 5322, ISO 8601, @SECONDS)'
complete -c mime-compose -l seed -x -d 'Seed for Message-ID and boundaries'
complete -c mime-compose -l message-id -x -d 'Use this Message-ID'
complete -c mime-compose -l no-message-id -d 'Add no Message-ID'
complete -c mime-compose -l draft -d 'Input is a draft: headers, blank line, body'
complete -c mime-compose -s o -l output -r -F -d 'Write to a file (atomically)'
complete -c mime-compose -l crlf -d 'Write CRLF line endings'
complete -c mime-compose -s V -l version -d 'Show the version'
complete -c mime-compose -s h -l help -d 'Show help options'
