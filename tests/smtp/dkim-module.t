#!/bin/bash
# smtp-send signs with GnuTLS from a module it loads only for an account
# with dkim-* keys (issue 21: GnuTLS and its five libraries cost ~1.8 ms
# at every start): the module is found in mimepipe/ beside smtp-send in
# the build tree and in libdir/mimepipe where meson installs it; without it, only a
# signing account fails, with one line naming the module (69), before
# anything is sent.
. "$SRCDIR/tests/smtp/lib.sh"
plan 14
start_server
export HOME=$T/home
mkdir -p "$HOME"
unset MIMEPIPE_PASSWORD XDG_CONFIG_HOME
cd "$T" || exit 1
MODULE=mp-dkim-gnutls.so
SEND=$BUILDDIR/tools/smtp-send

. "$SRCDIR/tests/smtp/dkim-setup.sh"

signing_account signing >signing.conf
cat >plain.conf <<EOF
[account plain]
host = localhost
port = $PORT
tls = starttls
ca-file = $CERTS/ca.crt
from = ann@example.org
EOF
chmod 600 signing.conf plain.conf
printf 'From: Ann <ann@example.org>\nTo: bob@example.com\nSubject: module\n\nHello.\n' | message

# what the dynamic loader loaded (glibc's LD_DEBUG, on stderr)
loaded() { grep -E "file=[^ ]*$1" "$T/err"; }

# ---- the executable ------------------------------------------------------
ok "smtp_send_does_not_link_gnutls" \
	sh -c "! readelf -d '$SEND' | grep NEEDED | grep -q gnutls"
ok "module_links_no_glib" \
	sh -c "! readelf -d '$BUILDDIR/tools/mimepipe/$MODULE' | grep NEEDED | grep -Eq 'lib(glib|gobject|gio|gmime)'"

# ---- the build tree --------------------------------------------------------
MIMEPIPE_CONFIG=$T/plain.conf LD_DEBUG=files run "$SEND" --account plain --dry-run -t <"$MSG"
is "no_signing_account_loads_no_gnutls" "$rc:$(loaded 'gnutls' | wc -l)" "0:0"
MIMEPIPE_CONFIG=$T/signing.conf LD_DEBUG=files run "$SEND" --account signing --dry-run -t <"$MSG"
is "signing_account_loads_the_module_beside_smtp_send" \
	"$rc:$(loaded "$BUILDDIR/tools/mimepipe/$MODULE" | grep -c 'dynamically loaded')" "0:1"

MIMEPIPE_CONFIG=$T/signing.conf run smtp-send --account signing --timeout 5 -t <"$MSG"
read -r -t 20 _ev <&"${SRV[0]}" && DATA=$SD/${_ev#done }.data
code "sent signed from the build tree" 0
sed -e '$d' -e 's/^\.//' "$DATA" >got.eml
is "both_signatures_made_by_the_module_pass" \
	"$(mime-dkim --verify --dns-txt dns.txt got.eml | cut -c1-4 | tr '\n' ' ')" "pass pass "
ok "module_signatures_pass_dkimpy" sh -c "'$PYRUN' '$SRCDIR/tests/cli/dkim-verify.py' dns.txt <got.eml"

# ---- without the module ------------------------------------------------------
# a copy of smtp-send alone: nothing beside it, nothing in the libdir it
# was built for (unless mimepipe is installed there)
mkdir lone
cp "$SEND" lone/smtp-send
installed=$("$PY" -c 'import json, sys
for src, dst in json.load(open(sys.argv[1])).items():
    if src.endswith("/" + sys.argv[2]): print(dst)' \
	"$BUILDDIR/meson-info/intro-installed.json" "$MODULE")
if [ -e "$installed" ]; then
	skip "missing_module_one_line_69" "$installed is installed"
	skip "missing_module_nothing_sent" "$installed is installed"
else
	# (the server makes N.log on accepting, before its greeting)
	conns=$(find "$SD" -name '[0-9]*.log' | wc -l)
	MIMEPIPE_CONFIG=$T/signing.conf refused "missing_module_one_line_69" 69 \
		"$MODULE: the DKIM module is missing" \
		lone/smtp-send --account signing --timeout 5 -t <"$MSG"
	is "missing_module_no_connection" \
		"$(find "$SD" -name '[0-9]*.log' | wc -l)" "$conns"
fi
MIMEPIPE_CONFIG=$T/plain.conf run lone/smtp-send --account plain --timeout 5 -t <"$MSG"
read -r -t 20 _ev <&"${SRV[0]}"
code "missing module: an account that does not sign sends" 0

# a file of that name that is not the module
mkdir -p other/mimepipe
cp "$SEND" other/smtp-send
cp "$(ldd "$SEND" | awk '/libz\.so/ {print $3}')" "other/mimepipe/$MODULE"
MIMEPIPE_CONFIG=$T/signing.conf refused "foreign_module_refused_69" 69 \
	"not a mimepipe DKIM module" other/smtp-send --account signing --dry-run -t <"$MSG"

# ---- the installed tree ------------------------------------------------------
# smtp-send and the module where `meson install` puts them, under another
# root: smtp-send finds it relative to itself
bin_to=$("$PY" -c 'import json, sys
for src, dst in json.load(open(sys.argv[1])).items():
    if src.endswith("/tools/smtp-send"): print(dst)' \
	"$BUILDDIR/meson-info/intro-installed.json")
mkdir -p "root$(dirname "$bin_to")" "root$(dirname "$installed")"
cp "$SEND" "root$bin_to"
cp "$BUILDDIR/tools/mimepipe/$MODULE" "root$installed"
MIMEPIPE_CONFIG=$T/signing.conf LD_DEBUG=files run "root$bin_to" --account signing --dry-run -t <"$MSG"
is "installed_tree_loads_the_installed_module" \
	"$rc:$(loaded "$T/root$installed" | grep -c 'dynamically loaded')" "0:1"
is "installed_tree_signs" "$(grep -c '^DKIM-Signature:' "$T/out")" 2
# the data of the dry run: after DATA, the final "." gone, dots unstuffed
sed -e '1,/^DATA\r$/d' -e '$d' -e 's/^\.//' "$T/out" >installed.eml
is "installed_tree_signatures_pass" \
	"$(mime-dkim --verify --dns-txt dns.txt installed.eml | cut -c1-4 | tr '\n' ' ')" "pass pass "
done_testing
