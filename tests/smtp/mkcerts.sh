#!/bin/sh
# mkcerts.sh DIR: a test CA and server certificates, made at test time.
#   ca.crt         the CA the tests trust (--ca-file)
#   good.*         localhost and 127.0.0.1, signed by the CA
#   wrong.*        signed by the CA, for wrong.example only
#   expired.*      signed by the CA, valid in January 2020 only
#   untrusted.*    localhost, signed by another CA nobody trusts
#   client.*       a client certificate signed by the CA
set -eu
d=$1
mkdir -p "$d"
cd "$d"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

ca() { # NAME
    key "$1.key"
    openssl req -x509 -new -key "$1.key" -subj "/CN=mimepipe test $1" \
        -days 3650 -out "$1.crt" \
        -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}
ca ca
ca otherca

cat >ca.cnf <<'CNF'
[ ca ]
default_ca = test
[ test ]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = anything
copy_extensions = copy
unique_subject = no
[ anything ]
commonName = supplied
CNF
: >index.txt
echo 1000 >serial

leaf() { # NAME CA SAN [START END]
    key "$1.key"
    openssl req -new -key "$1.key" -subj "/CN=$1" -addext "subjectAltName=$3" \
        -out "$1.csr" 2>/dev/null
    if [ $# -gt 3 ]; then
        dates="-startdate $4 -enddate $5"
    else
        dates="-days 365"
    fi
    # shellcheck disable=SC2086
    openssl ca -batch -config ca.cnf -cert "$2.crt" -keyfile "$2.key" \
        $dates -in "$1.csr" -out "$1.crt" -notext 2>/dev/null
}
leaf good ca "DNS:localhost,IP:127.0.0.1"
leaf wrong ca "DNS:wrong.example"
leaf expired ca "DNS:localhost,IP:127.0.0.1" 20200101000000Z 20200201000000Z
leaf untrusted otherca "DNS:localhost,IP:127.0.0.1"
leaf client ca "DNS:client.example"
