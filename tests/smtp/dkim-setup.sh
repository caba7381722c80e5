# DKIM keys and a signing account for the smtp-send tests (sourced after
# tests/smtp/lib.sh and start_server, in $T):
#   rsa.pem, ed.pem    an RSA-2048 and an Ed25519 key
#   dns.txt            their DNS records (selectors r and e, example.org)
#   signing_account NAME
#                      prints an account NAME that signs with both keys,
#                      talking STARTTLS to this test's server
# and the verifiers of tests/cli/dkim-lib.sh.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/rsa.pem" 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$T/ed.pem" 2>/dev/null
mime-dkim --print-dns-record --domain example.org --selector r --key "$T/rsa.pem" \
	--selector e --key "$T/ed.pem" >"$T/dns.txt"
. "$SRCDIR/tests/cli/dkim-lib.sh"

signing_account() {
	cat <<EOF2
[account $1]
host = localhost
port = $PORT
tls = starttls
ca-file = $CERTS/ca.crt
from = ann@example.org
dkim-domain = example.org
dkim-selector = r, e
dkim-key = $T/rsa.pem, $T/ed.pem
EOF2
}
