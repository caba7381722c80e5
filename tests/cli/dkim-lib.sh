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
mailauth() { node "$SRCDIR/tests/cli/dkim-mailauth.js" "$MAILAUTH_MODULES" "$@"; }
