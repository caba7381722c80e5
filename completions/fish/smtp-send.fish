# fish completion for smtp-send(1)
# Short options: only the letters of the table in mimepipe(7).

# [smtp://|smtps://]HOST[:PORT]: each host bare and after each scheme
# (fish keeps those that match what is typed)
function __smtp_send_servers
    printf '%s\n' smtps:// smtp://
    for host in (__fish_print_hostnames)
        printf '%s\n' $host smtps://$host smtp://$host
    end
end

function __smtp_send_dsn_notify
    printf '%s\n' NEVER SUCCESS FAILURE DELAY
end

# the [account NAME] groups of mimepipe.conf(5)
function __smtp_send_accounts
    set -l conf $MIMEPIPE_CONFIG
    if test -z "$conf"
        set -l config_home $XDG_CONFIG_HOME
        test -n "$config_home"; or set config_home ~/.config
        set conf $config_home/mimepipe/config
    end
    test -r $conf; or return
    string replace -rf '^\s*\[account\s+(.*\S)\s*\]\s*$' '$1' <$conf
end

# arguments are recipients or message files
complete -c smtp-send -s a -l account -x -a '(__smtp_send_accounts)' -d 'Use this account of the configuration file'
complete -c smtp-send -l outbox -x -a '(__fish_complete_directories)' -d 'Keep a message that meets a temporary failure here'
complete -c smtp-send -s q -l flush -d 'Send what the outbox holds'
complete -c smtp-send -s j -l jobs -x -d 'Send a batch over N connections'
complete -c smtp-send -l mbox -d 'Send each message of the mbox stream on stdin'
complete -c smtp-send -l rate -x -a '10/s 100/min 1000/h' -d 'At most N messages per second, minute or hour'
complete -c smtp-send -l log -r -F -d 'Append one JSON line per message of a batch'
complete -c smtp-send -l resume -r -F -d 'Skip what the log shows accepted, and log to it'
complete -c smtp-send -l reconnect-after -x -d 'New connection after N messages'
complete -c smtp-send -l server -x -a '(__smtp_send_servers)' -d 'Server [smtp://|smtps://]HOST[:PORT]'
complete -c smtp-send -l tls -x -a 'starttls\t"STARTTLS required (default)" implicit\t"TLS from the first byte (465)" off\t"Plain text"' -d 'How the connection is protected'
complete -c smtp-send -l ca-file -r -F -d 'Trust the CAs in this PEM file'
complete -c smtp-send -l pin-sha256 -x -d 'Accept only this public key (base64 SHA-256)'
complete -c smtp-send -l client-cert -r -F -d 'TLS client certificate (PEM)'
complete -c smtp-send -l client-key -r -F -d 'Key of --client-cert (PEM)'
complete -c smtp-send -l tls-min -x -a '1.2 1.3' -d 'Lowest TLS version accepted'
complete -c smtp-send -l timeout -x -d 'Seconds to wait for the network'
complete -c smtp-send -l helo -x -a '(__fish_print_hostnames)' -d 'Name to give in EHLO'
complete -c smtp-send -s u -l user -x -d 'Log in as USER'
complete -c smtp-send -l password-command -x -a '(__fish_complete_command)' -d 'Command printing the password or token'
complete -c smtp-send -l auth -x -a 'SCRAM-SHA-256 PLAIN LOGIN XOAUTH2 OAUTHBEARER' -d 'Force an AUTH mechanism'
complete -c smtp-send -l allow-plaintext-auth -d 'With --tls=off, allow AUTH without TLS'
complete -c smtp-send -s f -l from -x -d 'Envelope sender'
complete -c smtp-send -s t -l read-recipients -d 'Add To, Cc and Bcc to the recipients'
complete -c smtp-send -l allow-partial -d 'Send to the accepted recipients when some are refused'
complete -c smtp-send -l strict-from -d 'Refuse a From address the account does not own'
complete -c smtp-send -l dsn-notify -x -a '(__fish_complete_list , __smtp_send_dsn_notify)' -d 'When to send delivery notifications'
complete -c smtp-send -l dsn-return -x -a 'FULL HDRS' -d 'What a notification returns'
complete -c smtp-send -l envid -x -d 'DSN envelope identifier'
complete -c smtp-send -s v -l verbose -d 'Print the SMTP transcript on stderr'
complete -c smtp-send -s n -l dry-run -d 'Print the envelope and data; connect nowhere'
complete -c smtp-send -s o -l output -r -F -d 'With --dry-run: write to a file'
complete -c smtp-send -s V -l version -d 'Show the version'
complete -c smtp-send -s h -l help -d 'Show help options'
