#!/bin/bash
# smtp-send: every option in --help is documented in smtp-send(1), and the
# page is mandoc-clean.
. "$SRCDIR/tests/cli/lib.sh"
page=$SRCDIR/man/smtp-send.1
opts=$(smtp-send --help-all | grep -oE '^ +(-[A-Za-z], )?--[a-z0-9-]+' |
    sed 's/.*--//' | grep -vE '^help')
plan $(($(echo "$opts" | wc -l) + 1))
for o in $opts; do
    ok "--$o documented" grep -qE -- "Fl .*-$o( |$)" "$page"
done
if command -v mandoc >/dev/null; then
    ok "mandoc -Tlint clean" mandoc -Tlint -Wwarning "$page"
else
    echo "ok $(($(echo "$opts" | wc -l) + 1)) # SKIP mandoc not installed"
fi
