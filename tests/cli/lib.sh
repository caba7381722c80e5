# TAP helpers for the command tests (sourced).
#
#   plan N                 announce N tests
#   run CMD...             run CMD; stdout in $T/out, stderr in $T/err,
#                          exit status in $rc
#   ok NAME CMD...         pass when CMD succeeds
#   is NAME GOT EXPECTED   pass when GOT equals EXPECTED (shows both if not)
#   pycheck ARGS... < F    Python's email (policy=default) on a message
#   "$PYRUN" SCRIPT ARGS   what "$PY" SCRIPT ARGS does, without starting
#                          Python (see below); for checks, not for servers
#                          or for measuring children
#   skip NAME REASON       a test that cannot run here, and why
#   env "$NO_LSAN" strace ...
#                          strace with LeakSanitizer off for what it runs
#                          (LSan cannot work under ptrace; the sanitizer
#                          build checks leaks in the runs without strace)
#
# Environment from meson: BUILDDIR (the build tree), SRCDIR (the source tree).
# MP_TEST_LOCALE=C runs the script again in an environment as bare as cron's
# or `env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin` gives (no LANG, no LC_*):
# the tools must take arguments, file names and values as UTF-8 bytes then
# too.  Otherwise the tests run with LC_ALL=C.UTF-8.

set -u
: "${BUILDDIR:?}" "${SRCDIR:?}"
if [ "${MP_TEST_LOCALE:-}" = C ] && [ -z "${_MP_TEST_BARE:-}" ]; then
    _env=(PATH=/usr/sbin:/usr/bin:/sbin:/bin "BUILDDIR=$BUILDDIR"
        "SRCDIR=$SRCDIR" MP_TEST_LOCALE=C _MP_TEST_BARE=1)
    for _v in TMPDIR SMTP_ENGINE MAN_PAGES COMPLETION_FILES ASAN_OPTIONS \
        UBSAN_OPTIONS LSAN_OPTIONS MALLOC_PERTURB_; do
        [ -n "${!_v+set}" ] && _env+=("$_v=${!_v}")
    done
    exec env -i "${_env[@]}" bash "$0" "$@"
fi
PATH="$BUILDDIR/tools:$PATH"
PY=/usr/bin/python3
T=$(mktemp -d "${TMPDIR:-/tmp}/mimepipe-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
if [ "${MP_TEST_LOCALE:-}" != C ]; then
    export LC_ALL=C.UTF-8
fi
export SOURCE_DATE_EPOCH=1700000000

# One Python for the whole script (tests/pyserve.py): $PYRUN runs a check
# in a fork of it, where email (and what pyserve_preload names) is already
# imported, instead of starting python3 and importing it again for every
# check.  It says "listening" before its imports (a client that comes
# early waits in the backlog), and exits with this script.  Without the
# client (tests/pyrun.c, in the build tree) the checks start python3.
PYRUN=$PY
if [ -x "$BUILDDIR/tests/pyrun" ] && mkfifo "$T/.pyserve.ready"; then
    # (not a job of this shell: a bare `wait` must not wait for it)
    ("$PY" "$SRCDIR/tests/pyserve.py" "$T/.pyserve" $$ </dev/null \
        >"$T/.pyserve.ready" 2>>"$T/.pyserve.log" &)
    if read -r -t 30 _line <"$T/.pyserve.ready" && [ "$_line" = listening ]; then
        export MP_PYSERVE=$T/.pyserve
        PYRUN=$BUILDDIR/tests/pyrun
    else
        echo "# the Python server did not start: each check starts python3"
        sed 's/^/#   /' "$T/.pyserve.log" | tail -5
    fi
fi
# pyserve_preload MODULE...: import them in the server, once
pyserve_preload() {
    if [ "$PYRUN" != "$PY" ]; then
        "$PYRUN" --preload "$@" </dev/null >/dev/null 2>&1 &
    fi
}
_n=0
_failed=0

NO_LSAN=ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0

plan() { echo "1..$1"; }

run() {
    "$@" >"$T/out" 2>"$T/err"
    rc=$?
}

_report() {
    _n=$((_n + 1))
    if [ "$1" = 0 ]; then
        echo "ok $_n - $2"
    else
        echo "not ok $_n - $2"
        _failed=$((_failed + 1))
    fi
}

skip() {
    _n=$((_n + 1))
    echo "ok $_n - $1 # SKIP $2"
}

ok() {
    _name=$1
    shift
    if "$@" >"$T/ok.out" 2>&1; then
        _report 0 "$_name"
    else
        _report 1 "$_name"
        sed 's/^/# /' "$T/ok.out" | head -20
    fi
}

is() {
    if [ "$2" = "$3" ]; then
        _report 0 "$1"
    else
        _report 1 "$1"
        printf '# got:      %s\n' "$2" | head -20
        printf '# expected: %s\n' "$3" | head -20
    fi
}

pycheck() { "$PYRUN" "$SRCDIR/tests/pycheck.py" "$@"; }

# A failed command leaves nothing on stdout: exit status $2, no output,
# and a one-line message on stderr that mentions $3.
refused() {
    _name=$1 _code=$2 _what=$3
    shift 3
    run "$@"
    if [ "$rc" = "$_code" ] && [ ! -s "$T/out" ] &&
        [ "$(wc -l <"$T/err")" -eq 1 ] && grep -qF -- "$_what" "$T/err"; then
        _report 0 "$_name"
    else
        _report 1 "$_name"
        echo "# exit $rc (expected $_code), stdout $(wc -c <"$T/out") bytes"
        sed 's/^/# stderr: /' "$T/err" | head -5
    fi
}

done_testing() {
    [ "$_failed" = 0 ]
}

# gpgsm_import CERT KEY ADDRESS: the certificate and its key (PEM, made
# by openssl) into the gpgsm of $GNUPGHOME, through a PKCS#12 file with an
# empty password, and the (self-signed) certificate trusted.  The secret
# key must be listed afterwards: gpgsm 2.2 now and then (two files in
# about a hundred and fifty here) fails to decrypt such a file ("data
# error at shrouded_key_bag.decrypted-text"), which showed up later as
# "no usable secret key" (a CI run and a local one failed so).  So a
# failed import is tried again with a new file (a new salt), up to three
# times, and gpgsm's own words are shown when every try fails.
gpgsm_import() {
    local crt=$1 key=$2 who=$3 try p12=$T/gpgsm-import.p12
    for try in 1 2 3; do
        # gpgsm 2.2 reads only the old PKCS#12 ciphers
        openssl pkcs12 -export -legacy -in "$crt" -inkey "$key" -out "$p12" \
            -passout pass: -certpbe NONE -keypbe PBE-SHA1-3DES -macalg sha1 \
            2>"$T/gpgsm-import.log"
        gpgsm --batch --pinentry-mode loopback --passphrase-fd 3 \
            --import "$p12" 3</dev/null >>"$T/gpgsm-import.log" 2>&1
        gpgsm --with-colons --list-secret-keys "$who" 2>>"$T/gpgsm-import.log" |
            grep -q '^crs' && break
        echo "# gpgsm --import (try $try): no secret key for $who"
        sed 's/^/#   /' "$T/gpgsm-import.log" | tail -12
    done
    echo "$(gpgsm --with-colons --list-keys "$who" |
        awk -F: '/^fpr/ {print $10; exit}') S relax" >>"$GNUPGHOME/trustlist.txt"
}
