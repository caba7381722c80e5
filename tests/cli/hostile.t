#!/bin/bash
# Every command in build/tools over hostile input (issue 9): empty input,
# binary garbage, NUL bytes, a 1 MB header line, 10,000 headers, multiparts
# nested 1,000 deep, a header with no body, a boundary that never closes,
# CR-only line endings and a 50 MB base64 line, each from a file and from
# a pipe (the same bytes out).  Each run gives a correct result (checked by
# tests/cli/hostile-check.py) or a clean error (a documented exit code,
# one line on stderr, nothing on stdout), within a time limit and a memory
# bound, and leaves no file in TMPDIR.  Then:
# SIGPIPE from a closed reader is exit 74 without a message, spool files
# are unlinked and private, and -o leaves nothing behind when a run fails.
#
# The commands are found by listing build/tools, so a new one is covered;
# modes_for says how each is asked to read a message.
. "$SRCDIR/tests/cli/lib.sh"

# leaks at exit are not what this test is about (CI sets the same)
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
GEN="$SRCDIR/tests/cli/hostile-gen.py"
CHECK="$SRCDIR/tests/cli/hostile-check.py"
LIMIT=30 # seconds per run

mkdir "$T/tmp" "$T/odir"
# The inputs (110 MB) are made once per build tree, and again when
# hostile-gen.py changes; this script and its -c-locale run only read them.
inputs_cached() {
    local dir="$BUILDDIR/tests/hostile-inputs"
    mkdir -p "$BUILDDIR/tests"
    (
        flock 9
        if ! cmp -s "$GEN" "$dir/hostile-gen.py"; then
            rm -rf "$dir" "$dir.new" && mkdir "$dir.new" &&
                "$PY" "$GEN" "$dir.new" && cp "$GEN" "$dir.new/" &&
                mv "$dir.new" "$dir"
        fi
    ) 9>"$BUILDDIR/tests/hostile-inputs.lock" || return 1
    ln -s "$dir" "$T/in"
}
inputs_cached || exit 1
printf 'hostile attachment\n' >"$T/att.txt"
export TMPDIR="$T/tmp"
inputs="empty garbage nul header-1mb headers-10000 nested-1000 headers-only
	unclosed cr-only base64-50mb"

# The ways each command is asked to read the message on stdin, one per
# line: KIND (for hostile-check.py), MEMORY (stream: bounded whatever the
# input; holds: keeps the input in memory, as mime-compose does with a
# --draft), then the arguments.
modes_for() {
    case $1 in
    mime-header) echo "header stream --set=X-Hostile:1" ;;
    mime-attach) echo "attach stream $T/att.txt" ;;
    mime-inline) echo "text stream --text=$T/att.txt" ;;
    mime-compose)
        echo "compose stream --from=a@example.org --to=b@example.org --subject=s"
        echo "draft holds --draft"
        ;;
    smtp-send)
        echo "smtp stream --dry-run --from=a@example.org b@example.org" ;;
    mime-show)
        echo "show stream --tree"
        echo "showtext stream --text"
        ;;
    mime-extract) echo "extract stream --part=1 -o -" ;;
    *) echo "unknown stream" ;;
    esac
}

# An ASan build needs far more memory (shadow, quarantine): the bound there
# only catches runaways.
asan=0
if nm "$BUILDDIR/tools/mime-header" 2>/dev/null | grep -q __asan_init ||
    ldd "$BUILDDIR/tools/mime-header" 2>/dev/null | grep -q libasan; then
    asan=1
fi

# the peak RSS (KiB) allowed for a run over input file $2 in memory class $1
rss_bound() {
    local size=$(($(stat -c %s "$2") / 1024))
    if [ "$asan" = 1 ]; then
        echo $((768 * 1024 + 3 * size))
    elif [ "$1" = holds ]; then
        echo $((32 * 1024 + 3 * size))
    else
        echo $((32 * 1024))
    fi
}

tmpdir_empty() { [ -z "$(ls -A "$T/tmp")" ]; }

# hostile_run TOOL KIND MEM INPUT FEED ARGS...: one TAP line
hostile_run() {
    local tool=$1 kind=$2 mem=$3 input=$4 feed=$5 why="" rss bound
    local name
    name=$(basename "$tool")
    shift 5
    if [ "$feed" = pipe ]; then
        # shellcheck disable=SC2002 # a pipe is the point
        cat "$T/in/$input" |
            /usr/bin/time -f %M -o "$T/rss" timeout -k 5 $LIMIT \
                "$tool" "$@" >"$T/out" 2>"$T/err"
        rc=${PIPESTATUS[1]}
    else
        /usr/bin/time -f %M -o "$T/rss" timeout -k 5 $LIMIT \
            "$tool" "$@" <"$T/in/$input" >"$T/out" 2>"$T/err"
        rc=$?
    fi
    rss=$(tail -1 "$T/rss")
    bound=$(rss_bound "$mem" "$T/in/$input")
    if [ "$rc" = 124 ] || [ "$rc" -ge 128 ]; then
        why="killed or timed out (exit $rc)"
    elif [ "$kind" = unknown ]; then
        : # a command this test does not know: no crash, no hang
    elif [ "$feed" = pipe ] && [ "$rc" != "$(cat "$T/rc.file")" ]; then
        why="exit $rc from a pipe, $(cat "$T/rc.file") from a file"
    elif [ "$feed" = pipe ] && ! cmp -s "$T/out" "$T/out.file"; then
        why="from a pipe, not the bytes it wrote from a file"
    elif [ "$rc" = 0 ]; then
        if [ -s "$T/err" ]; then
            why="exit 0 with a message"
        elif [ ! -s "$T/out" ] && [ "$kind" != extract ] &&
            [ "$kind" != showtext ]; then
            # (a part, a text, may be empty)
            why="exit 0 and no output"
        elif [ "$feed" = file ] &&
            ! "$PYRUN" "$CHECK" "$kind" "$T/in/$input" "$T/out" \
                "$T/att.txt" >"$T/check" 2>&1; then
            why="wrong result: $(head -1 "$T/check")"
        fi
    elif [ "$rc" -lt 64 ] || [ "$rc" -gt 78 ]; then
        why="undocumented exit $rc"
    elif [ -s "$T/out" ]; then
        why="exit $rc with $(wc -c <"$T/out") bytes on stdout"
    elif [ "$(wc -l <"$T/err")" != 1 ] || ! grep -q "^$name: " "$T/err"; then
        why="exit $rc without a one-line '$name: ' message"
    fi
    if [ -z "$why" ] && ! [ "$rss" -le "$bound" ] 2>/dev/null; then
        why="peak RSS $rss KiB over $bound KiB"
    fi
    if [ -z "$why" ] && ! tmpdir_empty; then
        why="left in TMPDIR: $(ls -A "$T/tmp" | head -3)"
        rm -rf "${T:?}/tmp/"*
    fi
    if [ "$feed" = file ]; then
        # the same input from a pipe must give the same bytes (checked
        # by Python once, from the file)
        mv "$T/out" "$T/out.file"
        echo "$rc" >"$T/rc.file"
    fi
    if [ -z "$why" ]; then
        _report 0 "$name $kind: $input from a $feed (exit $rc, ${rss} KiB)"
    else
        _report 1 "$name $kind: $input from a $feed"
        echo "# $why"
        sed 's/^/# stderr: /' "$T/err" | head -5
    fi
}

# A run that fails with -o FILE leaves neither FILE nor its temporary
# file (mime-header opens the output before it reads the input).
output_removed_on_failure() {
    local tool=$1 input=$2 code=$3 name
    name=$(basename "$tool")
    shift 3
    run "$tool" -o "$T/odir/result.eml" "$@" <"$T/in/$input"
    if [ "$rc" = "$code" ] && [ -z "$(ls -A "$T/odir")" ]; then
        _report 0 "$name -o: nothing left after failing on $input"
    else
        _report 1 "$name -o: nothing left after failing on $input"
        echo "# exit $rc (expected $code); left: $(ls -A "$T/odir")"
        rm -rf "${T:?}/odir/"* "${T:?}/odir/".[!.]*
    fi
}

# SIGPIPE: a reader that goes away early is a write error (exit 74, as
# the README says), not a death by signal, and not worth a message: the
# user of `| head` asked for it (issue 13).  env resets SIGPIPE to its
# default so that an ignoring parent cannot hide a death.
sigpipe_clean() {
    local tool=$1 input=$2 name
    name=$(basename "$tool")
    shift 2
    env --default-signal=PIPE "$tool" "$@" <"$T/in/$input" 2>"$T/err" |
        head -c 10 >/dev/null
    rc=${PIPESTATUS[0]}
    if [ "$rc" = 74 ] && [ ! -s "$T/err" ]; then
        _report 0 "$name: closed reader gives exit 74 and no message"
    else
        _report 1 "$name: closed reader gives exit 74 and no message"
        echo "# exit $rc"
        sed 's/^/# stderr: /' "$T/err" | head -3
    fi
}

# Spool files: while a command is reading a big message from a pipe, every
# file it holds open in TMPDIR is already unlinked and has mode 0600, and
# TMPDIR is empty.  The writer finishing 3 MB proves the command has read
# more than the 1 MiB it keeps in memory (a pipe holds 64 KiB), so its
# spool file exists at that moment: no sleep is needed.
spool_private() {
    local tool=$1 name held=0 bad="" fd target mode
    name=$(basename "$tool")
    shift
    rm -f "$T/fifo"
    mkfifo "$T/fifo"
    "$tool" "$@" <"$T/fifo" >"$T/out" 2>"$T/err" &
    local pid=$!
    exec 3>"$T/fifo"
    head -c 3000000 "$T/in/base64-50mb" >&3
    for fd in "/proc/$pid/fd/"*; do
        target=$(readlink "$fd") || continue
        case $target in
        "$T/tmp/"*)
            held=$((held + 1))
            mode=$(stat -L -c %a "$fd")
            case $target in
            *" (deleted)") ;;
            *) bad="$bad $target: not unlinked;" ;;
            esac
            [ "$mode" = 600 ] || bad="$bad $target: mode $mode;"
            ;;
        esac
    done
    tmpdir_empty || bad="$bad TMPDIR holds $(ls -A "$T/tmp");"
    exec 3>&-
    wait $pid
    rc=$?
    tmpdir_empty || bad="$bad left after exit: $(ls -A "$T/tmp");"
    if [ "$held" = 0 ] && [ "$name" != mime-header ]; then
        # mime-header streams; the others spool what they cannot keep
        bad="$bad no spool file while reading 3 MB from a pipe;"
    fi
    if [ -z "$bad" ]; then
        _report 0 "$name: spool file unlinked and 0600 ($held held, exit $rc)"
    else
        _report 1 "$name: spool file unlinked and 0600"
        echo "#$bad"
    fi
    rm -rf "${T:?}/tmp/"*
}

# Credentials never on argv (ps shows them to every user): no command has
# an option that takes a password or token itself, only ways to fetch one.
no_secret_options() {
    local tool=$1 name bad
    name=$(basename "$tool")
    bad=$("$tool" --help-all 2>/dev/null |
        grep -oE -- '--[a-z-]*(password|passwd|secret|token)[a-z-]*' |
        grep -vE -- '-(command|file|fd)$' | tr '\n' ' ')
    if "$tool" --help-all >/dev/null 2>&1 && [ -z "$bad" ]; then
        _report 0 "$name: no option takes a secret on the command line"
    else
        _report 1 "$name: no option takes a secret on the command line"
        echo "# options: ${bad:-(--help-all failed)}"
    fi
}

for tool in "$BUILDDIR"/tools/*; do
    if [ ! -f "$tool" ] || [ ! -x "$tool" ]; then continue; fi
    name=$(basename "$tool")
    no_secret_options "$tool"
    while read -r kind mem args; do
        # shellcheck disable=SC2086 # the arguments hold no blanks
        set -- $args
        for input in $inputs; do
            # file first: the pipe run is compared with it
            hostile_run "$tool" "$kind" "$mem" "$input" file "$@"
            hostile_run "$tool" "$kind" "$mem" "$input" pipe "$@"
        done
        [ "$kind" = unknown ] && continue
        # (the tree of a message is too short to meet a closed reader)
        [ "$kind" = show ] && continue
        case $kind in
        compose) big="big-text" ;;
        draft | showtext) big="big-draft" ;;
        *) big=base64-50mb ;;
        esac
        sigpipe_clean "$tool" "$big" "$@"
        spool_private "$tool" "$@"
    done < <(modes_for "$name")
done

# -o and failure: before the output is opened, and after (mime-header)
for name in mime-header mime-attach mime-inline; do
    tool="$BUILDDIR/tools/$name"
    [ -x "$tool" ] || continue
    read -r _ _ args < <(modes_for "$name")
    # shellcheck disable=SC2086
    output_removed_on_failure "$tool" empty 65 $args
    # shellcheck disable=SC2086
    output_removed_on_failure "$tool" garbage 65 $args
done

# Found by fuzzing (fuzz/fuzz-edit.c): an edit that wrote a message the
# next stage refuses.  Either the stage refuses the input, or what it
# writes reads back.
reads_back() {
    local what=$1 input=$2
    mime-inline --text "$T/att.txt" <"$input" >"$T/edited" 2>"$T/err"
    rc=$?
    if [ "$rc" = 0 ]; then
        run mime-attach "$T/att.txt" <"$T/edited"
    fi
    if [ "$rc" = 0 ] || { [ "$rc" = 65 ] && [ ! -s "$T/edited" ]; }; then
        _report 0 "$what"
    else
        _report 1 "$what"
        echo "# exit $rc"
        sed 's/^/# stderr: /' "$T/err" | head -3
    fi
}
if [ -x "$BUILDDIR/tools/mime-inline" ] && [ -x "$BUILDDIR/tools/mime-attach" ]; then
    printf 'Content-:\n:\n\n' >"$T/noname.eml"
    reads_back "a field with no name first: the edited message reads back" \
        "$T/noname.eml"
    printf '%s\n' 'From: a@example.org' \
        'Content-Type: multipart/related; boundary="R"' '' '--R' \
        'Content-Type: multipart/alternative; boundary="A"' '' '--A' \
        'Content-Type: text/plain' '' 'one' '--A' \
        'Content-Type: multipart/alternative; boundary="A"' '' '--A' \
        'Content-Type: text/plain' '' 'two' '--A--' '--R--' >"$T/reuse.eml"
    refused "a nested multipart reusing its parent's boundary is refused" \
        65 'reuses the boundary "A"' mime-inline --text "$T/att.txt" \
        <"$T/reuse.eml"
    # the same, hidden from our header reader by lines GMime reads past
    printf '%s\n' 'From: a@example.org' \
        'Content-Type: multipart/related; boundary="R"' '' '--R' \
        'Content-Type: multipart/alternative; boundary="A"' '' '--A' \
        'Content-Type: text/plain' '' 'one' '--A' \
        $'Content-\xff\xffjunk' 'more junk' \
        'Content-Type: multipart/alternative; boundary="A"' '' '--A' \
        'Content-Type: text/plain' '' 'two' '--A--' '--R--' \
        >"$T/reuse-hidden.eml"
    reads_back "a reused boundary behind a line that is no field" \
        "$T/reuse-hidden.eml"
fi

# A field hidden behind a bare CR: one line for our header readers, two
# once smtp-send canonicalises line endings, so the Bcc would have been
# sent to every recipient (found by the cr-only case above).
printf '%s\n' 'From: a@example.org' 'To: b@example.org' \
    $'Subject: x\rBcc: secret@example.org' '' 'body' >"$T/bcc-cr.eml"
if [ -x "$BUILDDIR/tools/smtp-send" ]; then
    refused "smtp-send: a Bcc hidden behind a bare CR is refused, not sent" \
        65 "CR without LF" smtp-send --dry-run b@example.org <"$T/bcc-cr.eml"
fi
if [ -x "$BUILDDIR/tools/mime-header" ]; then
    refused "mime-header: a Bcc hidden behind a bare CR is refused" \
        65 "CR without LF" mime-header --delete Bcc <"$T/bcc-cr.eml"
fi
# mime-attach and mime-inline would add their fields where Python and the
# canonicaliser see the body, hiding the new parts from them
if [ -x "$BUILDDIR/tools/mime-attach" ]; then
    refused "mime-attach: a header with a bare CR is refused" \
        65 "CR without LF" mime-attach "$T/att.txt" <"$T/bcc-cr.eml"
fi
if [ -x "$BUILDDIR/tools/mime-inline" ]; then
    refused "mime-inline: a header with a bare CR is refused" \
        65 "CR without LF" mime-inline --text "$T/att.txt" <"$T/bcc-cr.eml"
fi

plan "$_n"
done_testing
