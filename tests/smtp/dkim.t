#!/bin/bash
# DKIM signatures survive the trip through smtp-send: what the server
# receives (dot stuffing undone) verifies with mime-dkim --verify, dkimpy
# and, where there, mailauth; Bcc is removed without breaking anything.
. "$SRCDIR/tests/smtp/lib.sh"
plan 16
start_server
own_home
cd "$T" || exit 1

. "$SRCDIR/tests/smtp/dkim-setup.sh"
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

# ---- signed by smtp-send itself: an account's dkim-* keys ----------------
signing_account signing >"$T/config"
chmod 600 "$T/config"
export MIMEPIPE_CONFIG=$T/config
# no Date, no Message-ID: submission adds them, then signs
printf 'From: Ann <ann@example.org>\nTo: bob@example.com\nBcc: hidden@example.net\nSubject: by account\n\n.dot\nHello.\n' | message
run smtp-send --account signing --timeout 5 -t <"$MSG"
read -r -t 20 _ev <&"${SRV[0]}" && DATA=$SD/${_ev#done }.data
code "account signs" 0
received acct.eml
is "account_signs_twice" "$(grep -c '^DKIM-Signature:' acct.eml)" 2
ok "account_signature_covers_added_date_and_message_id" \
	sh -c "grep -q '^Date: ' acct.eml && grep -q '^Message-ID: ' acct.eml && grep -A3 '^DKIM-Signature' acct.eml | tr -d '\r\n' | grep -q 'date : message-id'"
ok "account_signature_verifies_everywhere" verifiers acct.eml
ok "account_bcc_not_sent" not grep -qi '^Bcc:' acct.eml
run smtp-send --account signing --dry-run -t <"$MSG"
is "dry_run_shows_the_signatures" "$(grep -c '^DKIM-Signature:' "$T/out")" 2
printf '[account half]\nhost = localhost\ndkim-domain = example.org\n' >"$T/config"
run smtp-send --account half --dry-run -t <"$MSG"
is "dkim_domain_without_key_78" "$rc:$(grep -c 'go together' "$T/err")" "78:1"
printf '[account nokey]\nhost = localhost\ndkim-domain = example.org\ndkim-selector = s\ndkim-key = %s/missing.pem\n' "$T" >"$T/config"
run smtp-send --account nokey --dry-run -t <"$MSG"
is "dkim_key_missing_78" "$rc:$(grep -c 'missing.pem' "$T/err")" "78:1"

# and a change on the way is caught
sed 's/^end/End/' got.eml >changed.eml
ok "changed_after_trip_fails" not mime-dkim --verify --dns-txt dns.txt changed.eml
done_testing
