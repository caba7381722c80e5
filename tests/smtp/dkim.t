#!/bin/bash
# DKIM signatures survive the trip through smtp-send: what the server
# receives (dot stuffing undone) verifies with mime-dkim --verify, dkimpy
# and, where there, mailauth; Bcc is removed without breaking anything.
. "$SRCDIR/tests/smtp/lib.sh"
plan 8
start_server
export HOME=$T/home
mkdir -p "$HOME"
unset MIMEPIPE_PASSWORD XDG_CONFIG_HOME
: >"$T/empty-config"
export MIMEPIPE_CONFIG=$T/empty-config
cd "$T" || exit 1

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null
openssl genpkey -algorithm ed25519 -out ed.pem 2>/dev/null
mime-dkim --print-dns-record --domain example.org --selector r --key rsa.pem \
	--selector e --key ed.pem >dns.txt
. "$SRCDIR/tests/cli/dkim-lib.sh"
# the message as the server got it: the final "." line gone, dots unstuffed
received() { sed -e '$d' -e 's/^\.//' "$DATA" >"$1"; }
verifiers() {
	mime-dkim --verify --dns-txt dns.txt "$1" >/dev/null || { echo ours; return 1; }
	dkimpy dns.txt <"$1" >/dev/null || { echo dkimpy; return 1; }
	if [ $have_mailauth = yes ]; then
		mailauth dns.txt <"$1" >/dev/null || { echo mailauth; return 1; }
	fi
}

scenario '{}'
# LF line endings, a Bcc, lines starting with dots, a bare CR, trailing
# blank lines, a line of blanks: everything smtp-send changes on the wire
printf 'From: Ann <ann@example.org>\nTo: bob@example.com\nBcc: hidden@example.net\nSubject: dots\n\n.leading dot\n..two\n.\nbare\rcr\n   \nend  \n\n\n' >plain.eml
mime-dkim --domain example.org --selector r --key rsa.pem --selector e --key ed.pem \
	<plain.eml | message
send -t
code "signed message sent" 0
received got.eml
ok "bcc_removed_on_the_wire" not grep -qi '^Bcc:' got.eml
ok "dot_stuffed_on_the_wire" grep -q '^\.\.\.two' "$DATA"
ok "signed_message_verifies_after_smtp_send" verifiers got.eml
is "both_signatures_pass" "$(mime-dkim --verify --dns-txt dns.txt got.eml | cut -c1-4 | tr '\n' ' ')" "pass pass "

# simple/simple is the fragile one: still the same bytes after the trip
mime-dkim --domain example.org --selector e --key ed.pem --canon simple/simple \
	<plain.eml | message
send -t
code "simple/simple sent" 0
received got-simple.eml
ok "simple_canon_verifies_after_smtp_send" verifiers got-simple.eml

# and a change on the way is caught
sed 's/^end/End/' got.eml >changed.eml
ok "changed_after_trip_fails" not mime-dkim --verify --dns-txt dns.txt changed.eml
done_testing
