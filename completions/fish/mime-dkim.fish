# fish completion for mime-dkim(1)

set -l names From To Cc Subject Date Message-ID MIME-Version Content-Type \
    Reply-To In-Reply-To References List-Unsubscribe List-Unsubscribe-Post \
    Sender List-Id

complete -c mime-dkim -l domain -x -d 'Sign for this domain (d=)'
complete -c mime-dkim -l selector -x -d 'Selector of the next key (s=)'
complete -c mime-dkim -l key -r -F -d 'Private key in PEM, one per --selector'
complete -c mime-dkim -l canon -x -a 'relaxed/relaxed relaxed/simple simple/relaxed simple/simple' -d 'Canonicalisation'
complete -c mime-dkim -l headers -x -a "$names" -d 'Sign exactly these fields (colon-separated)'
complete -c mime-dkim -l print-dns-record -d 'Print the TXT record of each key'
complete -c mime-dkim -l verify -d 'Check every DKIM-Signature'
complete -c mime-dkim -l dns-txt -r -F -d 'With --verify: keys from this file'
complete -c mime-dkim -s v -l verbose -d 'Say what was signed or why a signature failed'
complete -c mime-dkim -s o -l output -r -F -d 'Write to a file (atomically)'
complete -c mime-dkim -s V -l version -d 'Show the version'
complete -c mime-dkim -s h -l help -d 'Show help options'
