#!/bin/bash
# smtp-send loads json-glib only for a batch log (--log, --resume): binding
# it at every start cost a message 0.17 ms (issue 21).  With a log it is
# loaded and the log is JSON; when it cannot be loaded, a log is refused
# in one line naming it (69) before anything is sent.
. "$SRCDIR/tests/smtp/lib.sh"
plan 8
start_server
own_home
cd "$T" || exit 1
printf '%s\n' "$STD_MSG" >m1.eml
SEND=$BUILDDIR/tools/smtp-send
ARGS=(--server "localhost:$PORT" --ca-file "$CERTS/ca.crt" --timeout 5)
json_loaded() { grep -c 'file=[^ ]*libjson-glib[^ ]* .*dynamically loaded' "$T/err"; }

ok "smtp-send does not link json-glib" \
    sh -c "! readelf -d '$SEND' | grep NEEDED | grep -q json-glib"

scenario '{}'
LD_DEBUG=files run smtp-send "${ARGS[@]}" "$T/m1.eml"
read -r -t 20 _ev <&"${SRV[0]}"
is "a batch without a log: sent, json-glib not loaded" "$rc:$(json_loaded)" "0:0"

scenario '{}'
LD_DEBUG=files run smtp-send "${ARGS[@]}" --log "$T/log" "$T/m1.eml"
read -r -t 20 _ev <&"${SRV[0]}"
is "a batch with --log: sent, json-glib loaded" "$rc:$(json_loaded)" "0:1"
is "the log line is JSON: accepted" \
    "$("$PY" -c 'import json, sys; print(json.loads(open(sys.argv[1]).readline())["status"])' "$T/log")" \
    accepted

# --resume reads it (and skips what it shows accepted)
conns=$(find "$SD" -name '[0-9]*.log' | wc -l)
run smtp-send "${ARGS[@]}" --resume "$T/log" "$T/m1.eml"
code "--resume: nothing left to send" 0
is "--resume: no connection" "$(find "$SD" -name '[0-9]*.log' | wc -l)" "$conns"

# a library of that name that is not json-glib
mkdir fake
cp "$(ldd "$SEND" | awk '/libz\.so/ {print $3}')" fake/libjson-glib-1.0.so.0
LD_LIBRARY_PATH=$T/fake refused "json-glib unusable: --log refused, one line, 69" 69 \
    "libjson-glib-1.0.so.0" smtp-send "${ARGS[@]}" --log "$T/log2" "$T/m1.eml"
is "json-glib unusable: no connection" "$(find "$SD" -name '[0-9]*.log' | wc -l)" "$conns"
done_testing
