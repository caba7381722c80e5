# DKIM verifiers for the tests (sourced after lib.sh).
#
#   dkimpy DNS-TXT < message      dkimpy (python3-dkim), keys from the file
#   mailauth DNS-TXT < message    mailauth (npm), the same; only when
#                                 have_mailauth = yes
#
# mailauth is the exact version of tests/node/package-lock.json, installed
# with npm ci into the build tree once per lock file (as tests/interop
# does); without node, npm or a registry the tests say so and go on.

dkimpy() { "$PYRUN" "$SRCDIR/tests/cli/dkim-verify.py" "$@"; }
# `import dkim` (dnspython, httpx) costs more than a verification: once
pyserve_preload dkim

mailauth_setup() {
    local dir="$BUILDDIR/tests/dkim-node" src="$SRCDIR/tests/node"
    command -v node >/dev/null && command -v npm >/dev/null || {
        echo "# node or npm not installed: mailauth not checked"
        return 1
    }
    mkdir -p "$BUILDDIR/tests"
    (
        # mime-dkim.t and smtp-dkim.t may run at once
        flock 9
        if ! cmp -s "$src/package-lock.json" "$dir/package-lock.json" ||
            [ ! -d "$dir/node_modules/mailauth" ]; then
            rm -rf "$dir" && mkdir -p "$dir" &&
                cp "$src/package.json" "$src/package-lock.json" "$dir/" || exit 1
            if ! (cd "$dir" && npm_config_cache="$dir/.npm" timeout 300 \
                npm ci --no-audit --no-fund --loglevel=error) >"$T/npm.log" 2>&1; then
                echo "# npm ci failed (no registry?): mailauth not checked"
                sed 's/^/#   /' "$T/npm.log" | tail -5
                rm -f "$dir/package-lock.json"
                exit 1
            fi
        fi
    ) 9>"$BUILDDIR/tests/dkim-node.lock" || return 1
    MAILAUTH_MODULES=$dir/node_modules
}
have_mailauth=no
if mailauth_setup; then
    have_mailauth=yes
fi

# Loading mailauth is most of a run: one node server for the script
# (dkim-mailauth.js --serve), asked over 127.0.0.1 with bash's /dev/tcp.
# It is not a child of this shell (a bare `wait` would wait for it); it
# ends when this script does: its stdin is a FIFO only this shell holds
# open, and it watches this shell's pid as well.
MAILAUTH_PORT=
mailauth_serve() {
    mkfifo "$T/mailauth.in" "$T/mailauth.port" || return 1
    (MAILAUTH_PARENT=$$ exec node "$SRCDIR/tests/cli/dkim-mailauth.js" \
        "$MAILAUTH_MODULES" --serve <"$T/mailauth.in" >"$T/mailauth.port" \
        2>>"$T/mailauth.log" &)
    # (read-write: neither open waits for the other side)
    # shellcheck disable=SC2034 # held open: the server's stdin
    exec {MAILAUTH_FD}<>"$T/mailauth.in"
    read -r -t 60 MAILAUTH_PORT <>"$T/mailauth.port" || {
        MAILAUTH_PORT=
        echo "# the mailauth server did not start: one node run per check"
        sed 's/^/#   /' "$T/mailauth.log" | tail -5
    }
}
[ $have_mailauth = yes ] && mailauth_serve

# mailauth DNS-TXT < message: as `node dkim-mailauth.js MODULES DNS-TXT`
mailauth() {
    local fd line rc=1 msg=$T/mailauth.$BASHPID.eml
    if [ -z "$MAILAUTH_PORT" ]; then
        node "$SRCDIR/tests/cli/dkim-mailauth.js" "$MAILAUTH_MODULES" "$@"
        return
    fi
    cat >"$msg" || return 1
    exec {fd}<>"/dev/tcp/127.0.0.1/$MAILAUTH_PORT" || return 1
    printf '%s\n%s\n%s\n' "$PWD" "$1" "$msg" >&"$fd"
    while IFS= read -r line <&"$fd"; do
        case $line in
        "exit "*)
            rc=${line#exit }
            break
            ;;
        esac
        printf '%s\n' "$line"
    done
    exec {fd}<&-
    return "$rc"
}
