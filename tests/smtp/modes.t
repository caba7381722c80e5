#!/bin/bash
# smtp-send's modes do what they say (issue 14): --dry-run never sends;
# called as smtp-send, -n is the dry run whatever flags come with it;
# called as sendmail, -n is sendmail's (ignored); -o with a value that is
# not one of sendmail's options is -o FILE and never switches modes; a
# bare operand that is also a file here is refused.
. "$SRCDIR/tests/smtp/lib.sh"
plan 33
start_server

export HOME=$T/home
mkdir -p "$HOME"
unset MIMEPIPE_PASSWORD XDG_CONFIG_HOME
export MIMEPIPE_CONFIG=/dev/null
SRV_ARGS=(--server "localhost:$PORT" --ca-file "$CERTS/ca.crt" --timeout 5)
printf '%s\n' "$STD_MSG" | message
ln -s "$BUILDDIR/tools/smtp-send" "$T/sendmail"

conns() { ls "$SD"/*.log 2>/dev/null | wc -l; }
# the connection the command made has ended
ended() { read -r -t 20 _ev <&"${SRV[0]}"; }

# dry runs: RUN ARGS... ; nothing connects, the envelope is printed
for args in "-i -n" "-n -i" "-t -n" "-oi -n" "-oem -oi -n" "-FCronDaemon -n" \
    "-i --dry-run" "-ti -n"; do
    n=$(conns)
    # shellcheck disable=SC2086
    run smtp-send "${SRV_ARGS[@]}" $args bob@example.com <"$MSG"
    code "smtp-send $args: a dry run" 0
    ok "smtp-send $args: connected nowhere, printed the envelope" \
        eval '[ "$(conns)" = "$n" ] && grep -q "^RCPT TO:<bob@example.com>" "$T/out"'
done

n=$(conns)
run "$T/sendmail" "${SRV_ARGS[@]}" --dry-run -oi bob@example.com <"$MSG"
is "sendmail --dry-run: connected nowhere" "$(conns)" "$n"
code "sendmail --dry-run" 0

# called as sendmail, -n keeps sendmail's meaning: ignored, the message goes
run "$T/sendmail" "${SRV_ARGS[@]}" -n -oi bob@example.com <"$MSG"
ended
code "sendmail -n: ignored, as sendmail(8) does" 0
is "sendmail -n: the message was sent" "$(conns)" $((n + 1))

# -o with a value of ours: -o FILE, no sendmail mode
n=$(conns)
run smtp-send "${SRV_ARGS[@]}" "-o$T/dry.out" --dry-run bob@example.com <"$MSG"
code "-o/path --dry-run" 0
ok "-o/path writes the dry run to the file" grep -q '^RCPT TO:<bob@example.com>' "$T/dry.out"
is "-o/path: nothing on stdout" "$(wc -c <"$T/out")" 0
run smtp-send "${SRV_ARGS[@]}" "-o$T/x.out" bob@example.com <"$MSG"
code "-o/path without --dry-run is refused, never sent" 64
is "-o/path without --dry-run: connected nowhere" "$(conns)" "$n"
run smtp-send "${SRV_ARGS[@]}" -i "-o$T/y.out" -n bob@example.com <"$MSG"
code "-i -o/path -n: sendmail flags, still -o FILE and a dry run" 0
ok "-i -o/path -n: the file written" grep -q '^DATA' "$T/y.out"
is "-i -o/path -n: connected nowhere" "$(conns)" "$n"

# operands
mkdir "$T/cwd"
printf '%s\n' "$STD_MSG" >"$T/cwd/postmaster"
cd "$T/cwd" || exit 1
run smtp-send "${SRV_ARGS[@]}" postmaster <"$MSG"
code "a bare name that is also a file here is refused" 64
ok "... with the hint ./postmaster and postmaster@HOST" \
    grep -qF 'write ./postmaster (after --) for the file, postmaster@HOST for a recipient' "$T/err"
is "... connected nowhere" "$(conns)" "$n"
run smtp-send "${SRV_ARGS[@]}" -- ./postmaster
ended
code "./postmaster is the file" 0
ok "./postmaster: sent as a message file" grep -qF './postmaster: sent to 1 recipient' "$T/err"
cd "$T" || exit 1
