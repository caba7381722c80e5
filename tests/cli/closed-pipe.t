#!/bin/bash
# A reader that stops early (`| head -1`) ends a command quietly: nothing on
# stderr, exit status 74 as the README's table says for a closed pipe
# (issue 13, "Small things users hit").  Each command writes far more than a
# pipe holds, so its write meets a reader that has gone.
. "$SRCDIR/tests/cli/lib.sh"
cd "$T" || exit 1

# a 1 MB body, a message holding it, and one with 20,000 header fields
awk 'BEGIN { for (i = 0; i < 20000; i++) printf "line %06d of the body, long enough\n", i }' >big.txt
mime-compose --from ann@example.org --to bob@example.com --subject Big \
    <big.txt >big.eml
awk 'BEGIN { print "From: ann@example.org"; print "To: bob@example.com";
    for (i = 0; i < 20000; i++) printf "X-Field-%05d: a value\n", i;
    print ""; print "Hello." }' >headers.eml
printf 'Hello.\n' >note.txt

# closed NAME CMD...: CMD (a shell command line) into `head -1`
closed() {
    _name=$1
    shift
    bash -c "$* | head -1 >/dev/null; echo \"\${PIPESTATUS[0]}\" >'$T/rc'" \
        2>"$T/err"
    if [ "$(cat "$T/rc")" = 74 ] && [ ! -s "$T/err" ]; then
        _report 0 "$_name"
    else
        _report 1 "$_name"
        echo "# exit $(cat "$T/rc") (expected 74)"
        sed 's/^/# stderr: /' "$T/err" | head -3
    fi
}

closed "mime-compose | head -1: exit 74, stderr empty" \
    mime-compose --from ann@example.org --to bob@example.com '<big.txt'
closed "mime-header --add | head -1 (a file: sendfile)" \
    mime-header --add "'X-Tag: 1'" '<big.eml'
closed "mime-header --add | head -1 (a pipe: splice)" \
    mime-header --add "'X-Tag: 1'" '< <(cat big.eml)'
closed "mime-header --list | head -1" mime-header --list '<headers.eml'
closed "mime-attach | head -1" mime-attach big.txt '<big.eml'
closed "mime-inline --text | head -1" mime-inline --text big.txt '<big.eml'
closed "smtp-send --dry-run | head -1" \
    MIMEPIPE_CONFIG=/dev/null smtp-send --dry-run bob@example.com '<big.eml'

# a write error that is not a closed pipe still says why
if [ -w /dev/full ]; then
    mime-header --add 'X-Tag: 1' <big.eml >/dev/full 2>"$T/err"
    is "a full disk: exit 74" "$?" 74
    ok "  ... and says so on stderr" grep -q 'No space left on device' "$T/err"
else
    skip "a full disk: exit 74 with a message" "no writable /dev/full"
fi

echo "1..$_n"
done_testing
