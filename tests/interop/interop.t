#!/bin/bash
# Every reader sees the same message (issue 13): Python's email
# (policy=default), Email::MIME (libemail-mime-perl) and, where Node is
# available, npm's mailparser and postal-mime (the exact versions of
# package.json and package-lock.json here, installed with `npm ci` into
# the build tree) read the same parts and bytes in every message the
# README's jobs build: the decoded content of every leaf, file names,
# content types, dispositions and Content-IDs (read-*.py|pl|mjs print
# them, compare.py compares them, and says where a reader is wrong).
. "$SRCDIR/tests/cli/lib.sh"
HERE="$SRCDIR/tests/interop"
SEED=interop
cd "$T" || exit 1

# ---- the readers ----------------------------------------------------------
readers="python"
if /usr/bin/perl -MEmail::MIME -MJSON::PP -e 1 2>/dev/null; then
    readers="$readers perl"
else
    echo "# Email::MIME not installed (libemail-mime-perl): Perl not compared"
fi

# npm ci into the build tree, once per package-lock.json
node_setup() {
    local dir="$BUILDDIR/tests/interop/node"
    command -v node >/dev/null && command -v npm >/dev/null || {
        echo "# node or npm not installed: mailparser and postal-mime not compared"
        return 1
    }
    if ! node -e "process.exit(Number(process.versions.node.split('.')[0]) < 20 ? 1 : 0)"; then
        echo "# node $(node --version) is older than 20: mailparser and postal-mime not compared"
        return 1
    fi
    if ! cmp -s "$HERE/package-lock.json" "$dir/package-lock.json" ||
        [ ! -d "$dir/node_modules/postal-mime" ]; then
        rm -rf "$dir" && mkdir -p "$dir" &&
            cp "$HERE/package.json" "$HERE/package-lock.json" "$dir/" || return 1
        if ! (cd "$dir" && npm_config_cache="$dir/.npm" timeout 300 \
            npm ci --no-audit --no-fund --loglevel=error) >"$T/npm.log" 2>&1; then
            echo "# npm ci failed (no registry?): mailparser and postal-mime not compared"
            sed 's/^/#   /' "$T/npm.log" | tail -5
            rm -f "$dir/package-lock.json"
            return 1
        fi
    fi
    NODE_DIR=$dir
}
if node_setup; then
    readers="$readers mailparser postal-mime"
fi

read_message() { # READER FILE > JSON
    case $1 in
    python) "$PYRUN" "$HERE/read-python.py" "$2" ;;
    perl) /usr/bin/perl "$HERE/read-perl.pl" "$2" ;;
    *) (cd "$NODE_DIR" && node "$HERE/read-node.mjs" "$1" "$T/$2") ;;
    esac
}

# ---- the inputs of the README's jobs ----------------------------------------
printf 'Hello Bob,\n\nthe report is attached.\nGrüße, Ann\n' >note.txt
printf '<p>Hello <b>Bob</b>, the chart:</p>\n<p><img src="chart.png" alt="chart"></p>\n' >note.html
printf '<p>Hello <b>Bob</b>, Grüße.</p>\n' >plain.html
printf '\211PNG\r\n\032\n\0\0\0\rIHDR\0\0\0\1\0\0\0\1\10\6\0\0\0chart' >chart.png
pdf='Quartalsbericht Q3 – Übersicht.pdf'
printf '%%PDF-1.4\n%%\342\343\317\323\n1 0 obj\n<<>>\nendobj\n' >"$pdf"
printf 'region,q3\nnorth,12\nsouth,7\n' >figures.csv
# a 7bit text file: postal-mime gave it back one newline longer (issue 13)
printf 'a,b\n1,2\n' >data.csv
mkdir files
cp chart.png "$pdf" figures.csv data.csv files/

compose() {
    mime-compose --seed "$SEED" --from 'Ann Müller <ann@example.org>' \
        --to 'Zoë Jürgens <zoe@bücher.example>, bob@example.com' \
        --subject 'Quarterly report 季度报告' "$@"
}
compose note.txt >earlier.eml

# job 1: a plain UTF-8 message
compose note.txt >job1.eml
# job 2: HTML with text as the alternative; HTML alone
compose --html plain.html note.txt >job2.eml
compose --html plain.html --no-text >job2-html-only.eml
# job 2, HTML alone: the text alternative rendered from it (format=flowed)
compose --html plain.html >job2-rendered.eml
# job 3: HTML with an image shown inline
compose note.txt | mime-inline --seed "$SEED" --html note.html >job3.eml
# job 4: attachments; forwarding
compose note.txt | mime-attach --seed "$SEED" "$pdf" figures.csv data.csv |
    mime-attach --seed "$SEED" --message earlier.eml >job4.eml
# job 5: all at once, in both orders, and with CRLF line endings
compose note.txt | mime-inline --seed "$SEED" --html note.html |
    mime-attach --seed "$SEED" "$pdf" figures.csv --message earlier.eml |
    mime-header --set 'X-Priority: 1' >job5.eml
compose note.txt | mime-attach --seed "$SEED" "$pdf" |
    mime-inline --seed "$SEED" --html note.html |
    mime-attach --seed "$SEED" figures.csv --message earlier.eml >job5-other-order.eml
compose note.txt | mime-inline --seed "$SEED" --html note.html |
    mime-attach --seed "$SEED" --crlf "$pdf" figures.csv --message earlier.eml >job5-crlf.eml
# issue 13: a message forwarded into itself, built with the same seed
mime-attach --seed "$SEED" --message job4.eml <job4.eml >fwd-itself.eml
# issue 13: a forwarded message with a line over 998 octets
{
    printf 'From: carol@example.net\nSubject: long\nMIME-Version: 1.0\n'
    printf 'Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n'
    printf 'Grüße %s\nend\n' "$(head -c 1500 /dev/zero | tr '\0' x)"
} >long.eml
compose note.txt | mime-attach --seed "$SEED" --message long.eml >fwd-long.eml 2>/dev/null

messages="job1 job2 job2-html-only job2-rendered job3 job4 job5 job5-other-order job5-crlf
    fwd-itself fwd-long"

# ---- every reader reads what Python's email reads ----------------------------
# each Node reader reads every message in one run (loading it is most of
# a run): M.READER.json, or M.READER.err
emls=()
for m in $messages; do
    emls+=("$T/$m.eml")
done
for r in $readers; do
    case $r in
    mailparser | postal-mime)
        (cd "$NODE_DIR" && node "$HERE/read-node.mjs" "$r" --batch "${emls[@]}") \
            2>"$T/$r.batch.err"
        ;;
    esac
done
# read_into READER M: M.READER.json is what READER read (in the batch run
# above for a Node reader), or M.READER.err says why it could not
read_into() {
    case $1 in
    mailparser | postal-mime)
        # (what the run said when it wrote neither)
        [ -e "$2.$1.json" ] || [ -e "$2.$1.err" ] ||
            cp "$1.batch.err" "$2.$1.err"
        [ -e "$2.$1.json" ] && [ ! -e "$2.$1.err" ]
        ;;
    *) read_message "$1" "$2.eml" >"$2.$1.json" 2>"$2.$1.err" ;;
    esac
}
for m in $messages; do
    if [ ! -s "$m.eml" ]; then
        _report 1 "$m: built"
        continue
    fi
    ok "$m: Python's email reads it without defects" pycheck defects <"$m.eml"
    read_message python "$m.eml" >"$m.python.json"
    for r in $readers; do
        [ "$r" = python ] && continue
        if read_into "$r" "$m"; then
            ok "$m: $r reads the same parts and bytes" \
                "$PYRUN" "$HERE/compare.py" "$m.python.json" "$m.$r.json" "$r"
        else
            _report 1 "$m: $r reads it"
            sed 's/^/# /' "$m.$r.err" | head -5
        fi
    done
done

# ---- and the attached files are their exact bytes ---------------------------
files_exact() { # VIEW.json N: N attachments named like a file of files/, each exact
    "$PYRUN" - "$1" "$2" <<'PYEOF'
import hashlib, json, os, sys
view = json.load(open(sys.argv[1], encoding="utf-8"))
found = 0
for a in view["attachments"]:
    path = os.path.join("files", a["filename"] or "")
    if a.get("sha256") and os.path.isfile(path):
        data = open(path, "rb").read()
        if hashlib.sha256(data).hexdigest() != a["sha256"]:
            print(f"{a['filename']}: {a['size']} bytes read, {len(data)} in the file")
            sys.exit(1)
        found += 1
if found != int(sys.argv[2]):
    print(f"{found} files found, {sys.argv[2]} expected")
    sys.exit(1)
PYEOF
}
ok "job3: the inline image is exact" files_exact job3.python.json 1
ok "job4: every attached file is exact, data.csv too" files_exact job4.python.json 3
ok "job5: every attached file is exact" files_exact job5.python.json 3
ok "job5-crlf: the files keep their LF line endings" files_exact job5-crlf.python.json 3

echo "1..$_n"
done_testing
