#!/bin/bash
# mime-dkim: DKIM signatures (RFC 6376, RFC 8463) checked by three
# verifiers: ours (--verify), dkimpy (python3-dkim) and, where node and
# npm are there, mailauth (tests/cli/dkim-lib.sh); keys made here with
# openssl.
. "$SRCDIR/tests/cli/lib.sh"
cd "$T" || exit 1

. "$SRCDIR/tests/cli/dkim-lib.sh"
not_() { ! "$@"; }
# every verifier passes ($1 = yes) or every one fails ($1 = no)
all_verifiers() {
	local want=$1 dns=$2 msg=$3 rc
	mime-dkim --verify --dns-txt "$dns" <"$msg" >/dev/null
	rc=$?
	[ "$want" = yes ] && [ $rc != 0 ] && { echo "ours: $rc"; return 1; }
	[ "$want" = no ] && [ $rc != 1 ] && { echo "ours: $rc"; return 1; }
	dkimpy "$dns" <"$msg" >/dev/null
	rc=$?
	[ "$want" = yes ] && [ $rc != 0 ] && { echo "dkimpy: $rc"; return 1; }
	[ "$want" = no ] && [ $rc = 0 ] && { echo "dkimpy: $rc"; return 1; }
	if [ $have_mailauth = yes ]; then
		mailauth "$dns" <"$msg" >/dev/null
		rc=$?
		[ "$want" = yes ] && [ $rc != 0 ] && { echo "mailauth: $rc"; return 1; }
		[ "$want" = no ] && [ $rc = 0 ] && { echo "mailauth: $rc"; return 1; }
	fi
	return 0
}

plan 98

# ---- RFC 8463 Appendix A, byte for byte ----------------------------------
# its Ed25519 key is the raw seed of RFC 8032 7.1 test 1: wrapped in PKCS#8
{
	echo "-----BEGIN PRIVATE KEY-----"
	{
		printf '\060\056\002\001\000\060\005\006\003\053\145\160\004\042\004\040'
		echo 'nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=' | base64 -d
	} | base64
	echo "-----END PRIVATE KEY-----"
} >rfc-ed.pem
printf '%s\r\n' 'From: Joe SixPack <joe@football.example.com>' \
	'To: Suzie Q <suzie@shopping.example.net>' \
	'Subject: Is dinner ready?' \
	'Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)' \
	'Message-ID: <20030712040037.46341.5F8J@football.example.com>' \
	'' 'Hi.' '' 'We lost the game.  Are you hungry yet?' '' 'Joe.' >rfc.eml
cat >rfc-ed-sig.txt <<'EOF'
DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;
 d=football.example.com; i=@football.example.com;
 q=dns/txt; s=brisbane; t=1528637909; h=from : to :
 subject : date : message-id : from : subject : date;
 bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;
 b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus
 Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==
EOF
cat >rfc-rsa-sig.txt <<'EOF'
DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;
 d=football.example.com; i=@football.example.com;
 q=dns/txt; s=test; t=1528637909; h=from : to : subject :
 date : message-id : from : subject : date;
 bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;
 b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3
 DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz
 dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=
EOF
cat >rfc-dns.txt <<'EOF'
brisbane._domainkey.football.example.com. v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=
test._domainkey.football.example.com. v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB
EOF
# the first field of a message, unfolded, blanks as one space
first_field() { awk 'NR > 1 && !/^[ \t]/ { exit } { printf "%s", $0 }' | tr -d '\r' | tr -s ' \t' ' '; }
tag() { first_field | tr ';' '\n' | sed -n "s/^ *$1=//p" | tr -d ' '; }

SOURCE_DATE_EPOCH=1528637909 run mime-dkim --domain football.example.com \
	--selector brisbane --key rfc-ed.pem \
	--headers from:to:subject:date:message-id:from:subject:date <rfc.eml
is "rfc8463_signs" "$rc" 0
cp "$T/out" rfc-signed.eml
is "rfc8463_ed25519_b_byte_for_byte" "$(tag b <rfc-signed.eml)" "$(tag b <rfc-ed-sig.txt)"
is "rfc8463_body_hash_byte_for_byte" "$(tag bh <rfc-signed.eml)" "$(tag bh <rfc-ed-sig.txt)"
is "rfc8463_whole_field_same_but_folding" "$(first_field <rfc-signed.eml | sed 's/ b=.*//')" \
	"$(first_field <rfc-ed-sig.txt | sed 's/ b=.*//')"
ok "rfc8463_message_after_its_signature" cmp <(tail -c "$(wc -c <rfc.eml)" rfc-signed.eml) rfc.eml
run mime-dkim --print-dns-record --domain football.example.com --selector brisbane --key rfc-ed.pem
is "rfc8463_dns_record" "$(cat "$T/out")" "$(head -1 rfc-dns.txt | sed 's/\. / /')"
{ cat rfc-ed-sig.txt rfc-rsa-sig.txt; tr -d '\r' <rfc.eml; } >rfc-published.eml
run mime-dkim --verify --dns-txt rfc-dns.txt rfc-published.eml
is "rfc8463_published_both_pass_ours" "$rc:$(cut -c1-5 "$T/out" | tr '\n' ' ')" "0:pass  pass  "
ok "rfc8463_published_passes_dkimpy" dkimpy rfc-dns.txt <rfc-published.eml

# ---- keys made here ------------------------------------------------------
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null
openssl genpkey -algorithm ed25519 -out ed.pem 2>/dev/null
openssl rsa -in rsa.pem -traditional -out rsa-pkcs1.pem 2>/dev/null
ok "keys_made" grep -q 'BEGIN RSA PRIVATE KEY' rsa-pkcs1.pem
run mime-dkim --print-dns-record --domain example.org --selector r1 --key rsa.pem \
	--selector e1 --key ed.pem --selector r2 --key rsa-pkcs1.pem
cp "$T/out" dns.txt
is "dns_records_one_line_per_key" "$(cut -d' ' -f1-3 dns.txt | tr '\n' '|')" \
	"r1._domainkey.example.org v=DKIM1; k=rsa;|e1._domainkey.example.org v=DKIM1; k=ed25519;|r2._domainkey.example.org v=DKIM1; k=rsa;|"
# the p= of the RSA key is the SPKI openssl derives from it
is "dns_record_is_openssl_public_key" "$(sed -n '1s/.*p=//p' dns.txt)" \
	"$(openssl pkey -in rsa.pem -pubout -outform DER | base64 -w0)"
SIGN=(mime-dkim --domain example.org --selector r1 --key rsa.pem --selector e1 --key ed.pem)

# ---- the README's jobs, each signed twice, verified three times ----------
printf 'Hello Bob,\n\nthe report, Grüße.\n-- \nAnn\n' >note.txt
printf '<p>Hello <b>Bob</b> <img src="chart.png"></p>\n' >note.html
printf '\211PNG\r\n\032\n\0\0\0\rIHDR chart' >chart.png
printf '%%PDF-1.4\n%%\342\343\317\323\n' >'Quartalsbericht Q3 – Übersicht.pdf'
printf 'a,b\n1,2\n' >figures.csv
printf 'From: carl@example.net\nTo: ann@example.org\nSubject: earlier\n\n.leading dot\n' >earlier.eml
mime-compose --from 'Ann Müller <ann@example.org>' \
	--to 'Zoë Jürgens <zoe@bücher.example>, bob@example.com' \
	--subject 'Quarterly report 季度报告' note.txt >job1.eml
mime-compose --from ann@example.org --to bob@example.com \
	--subject Report --html note.html note.txt >job2.eml
mime-compose --from ann@example.org --to bob@example.com --subject Chart note.txt |
	mime-inline --html note.html >job3.eml
mime-compose --from ann@example.org --to bob@example.com --subject Report note.txt |
	mime-attach 'Quartalsbericht Q3 – Übersicht.pdf' figures.csv |
	mime-attach --message earlier.eml >job4.eml
mime-compose --from 'Ann <ann@example.org>' --to bob@example.com \
	--bcc secret@example.com --subject 'Quarterly report 季度报告' <note.txt |
	mime-inline --html note.html | mime-attach figures.csv |
	mime-header --set 'X-Priority: 1' >job5.eml
for j in 1 2 3 4 5; do
	run "${SIGN[@]}" job$j.eml
	cp "$T/out" job$j.signed
	is "job${j}_signed_twice" "$rc:$(grep -c '^DKIM-Signature:' job$j.signed)" "0:2"
	ok "job${j}_passes_all_verifiers" all_verifiers yes dns.txt job$j.signed
	ok "job${j}_no_defects" pycheck defects <job$j.signed
done
if [ $have_mailauth = no ]; then
	skip "mailauth_checked" "no node, npm or registry"
else
	ok "mailauth_checked" mailauth dns.txt <job1.signed
fi

# ---- the other way round: dkimpy signs, we verify -------------------------
dkimpy_sign() { # KEY SELECTOR CANON ALG [LENGTH] < message > signed
	"$PYRUN" -c '
import re, sys, dkim
msg = re.sub(rb"\r\n|\r|\n", b"\r\n", sys.stdin.buffer.read())
key = open(sys.argv[1], "rb").read()
if sys.argv[4] == "ed25519-sha256":  # dkimpy wants the raw seed, base64
    import base64, subprocess
    der = subprocess.run(["openssl", "pkey", "-in", sys.argv[1], "-outform", "DER"],
                         capture_output=True, check=True).stdout
    key = base64.b64encode(der[-32:])
sig = dkim.sign(msg, sys.argv[2].encode(), b"example.org", key,
                canonicalize=tuple(c.encode() for c in sys.argv[3].split("/")),
                signature_algorithm=sys.argv[4].encode(), length=len(sys.argv) > 5)
sys.stdout.buffer.write(sig + msg)' "$@"
}
dkimpy_sign rsa.pem r1 relaxed/simple rsa-sha256 <job4.eml >py-rsa.eml
ok "dkimpy_rsa_signature_passes_ours" mime-dkim --verify --dns-txt dns.txt py-rsa.eml
dkimpy_sign ed.pem e1 simple/simple ed25519-sha256 <job3.eml >py-ed.eml
ok "dkimpy_ed25519_signature_passes_ours" mime-dkim --verify --dns-txt dns.txt py-ed.eml
dkimpy_sign rsa.pem r1 relaxed/relaxed rsa-sha256 length <job2.eml >py-l.eml
ok "dkimpy_l_tag_signature_passes_ours" mime-dkim --verify --dns-txt dns.txt py-l.eml
sed 's/^Subject: Chart/Subject: Chard/' py-ed.eml >py-ed-bad.eml
ok "dkimpy_changed_copy_differs" not_ cmp -s py-ed.eml py-ed-bad.eml
ok "dkimpy_signature_changed_fails_ours" not_ mime-dkim --verify --dns-txt dns.txt py-ed-bad.eml

# ---- what is signed ------------------------------------------------------
h_of() { tag h <"$1" | tr ':' '\n' | tr '\n' ' '; }
is "default_headers_over_signed" "$(h_of job1.signed)" \
	"from to subject date message-id mime-version content-type from to cc subject date message-id mime-version content-type reply-to in-reply-to references list-unsubscribe list-unsubscribe-post "
# the h= tag of every DKIM-Signature field, one a line (not a grep of the
# whole field: its b= and bh= values are base64, "bcc" may appear there)
h_tags() {
	awk '/^\r?$/ { exit } /^[ \t]/ { f = f $0; next } { if (f != "") print f; f = $0 }
		END { if (f != "") print f }' "$1" | tr -d '\r \t' |
		grep -i '^DKIM-Signature:' | tr ';' '\n' | sed -n 's/^h=//p'
}
is "bcc_never_signed" "$(grep -c '^Bcc:' job5.eml):$(h_tags job5.signed | wc -l):$(h_tags job5.signed | grep -ci bcc)" "1:2:0"
run mime-dkim --domain example.org --selector r1 --key rsa.pem --headers from:bcc job1.eml
is "headers_with_bcc_refused" "$rc" 64
run mime-dkim --domain example.org --selector r1 --key rsa.pem --headers to:subject job1.eml
is "headers_without_from_refused" "$rc" 64
run mime-dkim --domain example.org --selector e1 --key ed.pem --headers From:Subject:From job1.eml
is "headers_override" "$rc:$(tag h <"$T/out")" "0:from:subject:from"
cp "$T/out" override.eml
ok "headers_override_verifies" all_verifiers yes dns.txt override.eml
# over-signing: a second From, or a Cc, added after signing breaks it
sed '/^From:/i From: mallory@example.net' job1.signed >twofrom.eml
ok "second_from_added_fails_everywhere" all_verifiers no dns.txt twofrom.eml
sed '/^Subject:/i Cc: eve@example.net' job2.signed >addcc.eml
ok "cc_added_fails_everywhere" all_verifiers no dns.txt addcc.eml

# ---- one byte changed ----------------------------------------------------
sed 's/Hello Bob/Hello Bub/' job1.signed >body.eml
ok "body_byte_changed_fails_everywhere" all_verifiers no dns.txt body.eml
sed 's/^Subject: Quarterly/Subject: Quarterlz/' job1.signed >subject.eml
ok "signed_header_changed_fails_everywhere" all_verifiers no dns.txt subject.eml
run mime-dkim --verify --dns-txt dns.txt body.eml
is "body_change_named" "$rc:$(grep -c 'body hash mismatch' "$T/out")" "1:2"
sed 's/^X-Priority: 1/X-Priority: 5/' job5.signed >unsigned-field.eml
ok "unsigned_header_changed_still_passes" all_verifiers yes dns.txt unsigned-field.eml

# ---- mime-header warns when it edits a signed field -----------------------
run mime-header --set "Subject: changed" <job1.signed
is "mime_header_warns_on_signed_field" "$rc:$(grep -c 'Subject is signed by DKIM' "$T/err")" "0:1"
run mime-header --add "Cc: carl@example.net" <job1.signed
is "mime_header_warns_on_added_over_signed_field" "$(grep -c 'Cc is signed by DKIM' "$T/err")" 1
run mime-header --set "X-Priority: 2" <job5.signed
is "mime_header_quiet_on_unsigned_field" "$rc:$(wc -c <"$T/err")" "0:0"

# ---- Date and Message-ID, line endings, canonicalisations ----------------
printf 'From: ann@example.org\nTo: bob@example.com\nSubject: bare\n\nno date\n' >bare.eml
run "${SIGN[@]}" -v bare.eml
cp "$T/out" bare.signed
is "date_and_message_id_added" "$(grep -c -e '^Date: ' -e '^Message-ID: <.*@example.org>$' bare.signed)" 2
is "added_fields_reported_by_v" "$(grep -c 'added Date, Message-ID' "$T/err")" 1
ok "added_fields_signed_and_verified" all_verifiers yes dns.txt bare.signed
sed '/^Date: /d' bare.signed >nodate.eml
ok "added_date_removed_fails" all_verifiers no dns.txt nodate.eml
run "${SIGN[@]}" --verbose bare.eml
cp "$T/err" long.err
run "${SIGN[@]}" -v bare.eml
is "short_v_is_verbose" "$(cat "$T/err")" "$(cat long.err)"
no_cr() { ! grep -q $'\r' "$1"; }
all_crlf() { ! grep -qv $'\r$' "$1"; }
ok "lf_input_keeps_lf" no_cr bare.signed
sed 's/$/\r/' bare.eml >crlf.eml
run "${SIGN[@]}" crlf.eml
ok "crlf_input_keeps_crlf" all_crlf "$T/out"
cp "$T/out" crlf.signed
ok "crlf_input_verifies" all_verifiers yes dns.txt crlf.signed
for c in simple/simple relaxed/simple simple/relaxed; do
	run "${SIGN[@]}" --canon $c job4.eml
	cp "$T/out" canon.eml
	ok "canon_${c/\//_}_passes_all_verifiers" all_verifiers yes dns.txt canon.eml
done
run mime-dkim --domain example.org --selector r2 --key rsa-pkcs1.pem job3.eml
cp "$T/out" pkcs1.eml
ok "pkcs1_rsa_key_signs" all_verifiers yes dns.txt pkcs1.eml
run mime-dkim --domain example.org --selector e1 --key ed.pem -o out.eml job3.eml
is "short_o_writes_the_file" "$rc:$(wc -c <"$T/out"):$(grep -c '^DKIM-Signature' out.eml)" "0:0:1"
printf 'From: a@example.org\nSubject: x\n\n\n\n' >emptyish.eml
run "${SIGN[@]}" --canon simple/simple emptyish.eml
cp "$T/out" emptyish.signed
ok "empty_body_lines_verify" all_verifiers yes dns.txt emptyish.signed

# ---- hostile keys --------------------------------------------------------
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:512 -out small.pem 2>/dev/null
openssl pkey -in ed.pem -aes256 -passout pass:x -out enc.pem 2>/dev/null
openssl pkey -in rsa.pem -pubout -out pub.pem 2>/dev/null
printf 'hello\n' >notpem.pem
head -c 1000000 /dev/zero >huge.pem
key() { refused "$1" "$2" "$3" mime-dkim --domain example.org --selector s --key "$4" job1.eml; }
key "key_missing_66" 66 "nokey.pem" nokey.pem
key "key_not_pem_65" 65 "not a PEM private key" notpem.pem
key "key_encrypted_65" 65 "encrypted" enc.pem
key "key_ec_refused_65" 65 "RSA or Ed25519" ec.pem
key "key_rsa_512_refused_65" 65 "512 bits" small.pem
key "key_public_only_65" 65 "pub.pem" pub.pem
key "key_huge_65" 65 "too large" huge.pem

# ---- malformed signatures and key records --------------------------------
# each a copy of job2.signed's first signature with one thing wrong
bad() {
	local name=$1 expr=$2 want=$3
	sed "1,/^ b=/$expr" job2.signed >bad.eml
	run mime-dkim --verify --dns-txt "${4:-dns.txt}" bad.eml
	if [ "$rc" = 1 ] && grep -q "^fail .*$want" "$T/out"; then
		ok "$name" true
	else
		ok "$name" sh -c "echo 'exit $rc'; cat '$T/out'; false"
	fi
}
bad "sig_without_bh" 's/bh=[^;]*;//' "no bh= tag"
bad "sig_rsa_sha1" 's/a=rsa-sha256/a=rsa-sha1/' "rsa-sha1"
bad "sig_unknown_algorithm" 's/a=rsa-sha256/a=dsa-md5/' "unknown algorithm"
bad "sig_h_without_from" 's/from : //g' "does not name From"
bad "sig_tag_without_equals" 's/v=1;/v1;/' "malformed signature"
bad "sig_repeated_tag" 's/v=1;/v=1; v=1;/' "repeated tag"
bad "sig_identity_outside_domain" 's/i=@example.org/i=@evil.example/' "not in the domain"
bad "sig_b_not_base64" 's/ b=/ b=%%%/' "not base64"
bad "sig_expired" 's/bh=/x=1700000001; bh=/' "expired"
bad "sig_expires_before_made" 's/bh=/x=1000; bh=/' "x= is before t="
sed 's/^r1\(.*\)p=.*/r1\1p=/' dns.txt >revoked.txt
bad "key_revoked" 's/^$//' "revoked" revoked.txt
sed 's/^r1\(.*\)p=.*/r1\1p=AAAA/' dns.txt >garbage.txt
bad "key_garbage" 's/^$//' "unusable public key" garbage.txt
sed "s|^r1\(.*\)p=.*|r1\1p=$(openssl pkey -in small.pem -pubout -outform DER | base64 -w0)|" dns.txt >weak.txt
bad "key_rsa_512_in_dns" 's/^$//' "too weak" weak.txt
sed 's/^e1\(.*\)p=.*/e1\1p=AAAA/' dns.txt >shorted.txt
run mime-dkim --verify --dns-txt shorted.txt job2.signed
ok "key_ed25519_wrong_length" grep -q "^fail .*s=e1.*of 3 bytes" "$T/out"
grep -v '^e1' dns.txt >nokey.txt
run mime-dkim --verify --dns-txt nokey.txt job2.signed
is "no_key_record_fails_the_one" "$rc:$(cut -d' ' -f1 "$T/out" | tr '\n' ' ')" "1:pass fail "
run mime-dkim --verify --dns-txt dns.txt job1.eml
is "no_signature_exits_1" "$rc:$(cat "$T/out")" "1:none: no DKIM-Signature"

# ---- DNS: no network means a temporary failure ----------------------------
if unshare -n true 2>/dev/null; then
	unshare -n mime-dkim --verify job2.signed >"$T/out" 2>"$T/err"
	is "dns_unreachable_exits_75" "$?:$(cut -d' ' -f1 "$T/out" | sort -u)" "75:temperror"
else
	skip "dns_unreachable_exits_75" "cannot make a network namespace here"
fi

# ---- usage ----------------------------------------------------------------
refused "dns_txt_without_verify_64" 64 "--dns-txt needs --verify" mime-dkim --dns-txt dns.txt
refused "selector_without_key_64" 64 "one --key for each" \
	mime-dkim --domain example.org --selector a --selector b --key ed.pem
refused "bad_canon_64" 64 "not a canonicalisation" \
	mime-dkim --domain example.org --selector e1 --key ed.pem --canon loose
refused "bad_domain_64" 64 "not a domain name" \
	mime-dkim --domain 'ex ample' --selector e1 --key ed.pem
refused "body_without_empty_line_65" 65 "not ended by an empty line" \
	"${SIGN[@]}" <(printf 'From: a@example.org\nno colon here\n')
refused "empty_input_65" 65 "empty input" "${SIGN[@]}" /dev/null
refused "no_from_65" 65 "no From field" "${SIGN[@]}" <(printf 'To: b@example.com\n\nx\n')
# it would become part of the signature put in front of it
refused "first_line_continues_nothing_65" 65 "first line of the header is not a field" \
	"${SIGN[@]}" <(printf ' From: a@example.org\nTo: b@example.com\n\nx\n')

# ---- the README's section on publishing the key, run as written ----------
mkdir readme && awk '/^<!-- this block runs as a test: tests\/cli\/mime-dkim.t -->/ { want = 1; next }
	want && /^```sh/ { on = 1; next } on && /^```/ { exit } on { print }' \
	"$SRCDIR/README.md" >readme/publish.sh
(cd readme && bash -e publish.sh) >readme.out 2>&1
is "readme_publish_block_runs" "$?:$(grep -c '^pass ' readme.out)" "0:2"
is "readme_publish_block_prints_records" "$(grep -c '^[a-z0-9]*._domainkey.example.org v=DKIM1; k=' readme.out)" 2

# ---- bounded memory -------------------------------------------------------
mb=${MIMEPIPE_BIG_MB:-32}
{ printf 'From: a@example.org\nSubject: big\n\n'; head -c $((mb * 1024 * 768)) /dev/urandom | base64; } >big.eml
read -r rss brc < <("$PY" "$SRCDIR/tests/cli/mimecheck.py" rsspipe big.eml big.signed "${SIGN[@]}")
echo "# mime-dkim on a $mb MiB message from a pipe: peak RSS ${rss} KiB"
is "big_message_signed" "$brc" 0
if ldd "$BUILDDIR/tools/mime-dkim" 2>/dev/null | grep -q 'lib[at]san'; then
	skip "big_message_under_16_MiB" "memory is not measured under sanitizers"
else
	ok "big_message_under_16_MiB" test "$rss" -lt 16384
fi
ok "big_message_verifies" mime-dkim --verify --dns-txt dns.txt big.signed
done_testing
