#!/bin/bash
# mime-extract: choosing parts, the exact decoded bytes (checked against
# Python's email), safe names that never leave DIR nor overwrite, whole or
# nothing, forwarded messages and uuencoded blocks, the exit codes, and
# bounded memory on a pipe.
. "$SRCDIR/tests/cli/lib.sh"

plan 54
cd "$T" || exit 1

printf '%%PDF-1.4 report\n' >report.pdf
head -c 3000 /dev/urandom >data.bin
printf 'a,b\n1,2\n' >t.csv
printf 'Hello,\nsee the files.\n' |
    mime-compose --from a@example.org --to b@example.org --subject files |
    mime-attach report.pdf data.bin t.csv >m.eml
mime-compose --from c@example.org --to d@example.org --subject inner <t.csv |
    mime-attach report.pdf >inner.eml
mime-attach --message inner.eml <m.eml >fwd.eml

# ---- all leaves, exact bytes --------------------------------------------
mkdir all
run mime-extract -C all m.eml
is "all_leaves_exit_0" "$rc" 0
is "all_leaves_written_under_their_names" "$(ls all | tr '\n' ' ')" \
    "data.bin part-1.txt report.pdf t.csv "
ok "attachment_bytes_exact" cmp all/data.bin data.bin
ok "pdf_bytes_exact" cmp all/report.pdf report.pdf
ok "text_body_bytes_as_python_decodes_them" cmp all/part-1.txt <(pycheck part 0 <m.eml)
is "nothing_on_stdout_without_v" "$(wc -c <out)" 0
is "files_mode_follows_umask" "$(stat -c %a all/data.bin)" "$(printf '%o' $((0666 & ~$(umask))))"

# ---- choosing -------------------------------------------------------------
run mime-extract --part 3 -o - m.eml
ok "part_to_stdout_exact" cmp out data.bin
run mime-extract --type 'application/*' -n -C all m.eml
is "type_glob" "$(cut -f1 out | tr '\n' ' ')" "2 3 "
run mime-extract --filename '*.PDF' -n m.eml
is "filename_glob_case_insensitive" "$(cut -f1 out)" "2"
run mime-extract --attachments -n m.eml
is "attachments_leave_the_body_out" "$(cut -f1 out | tr '\n' ' ')" "2 3 4 "
run mime-extract --attachments --type 'text/*' -n m.eml
is "criteria_of_different_kinds_narrow" "$(cut -f1 out)" "4"
run mime-extract --part 2 --part 4 -n m.eml
is "part_repeatable" "$(cut -f1 out | tr '\n' ' ')" "2 4 "
# (report.pdf exists in the current folder: the next free name)
run mime-extract --dry-run --part 2 m.eml
is "dry_run_names_the_next_free_name" "$(cat out)" "$(printf '2\treport-1.pdf')"
run mime-extract -n --part 2 m.eml
is "short_n_is_dry_run" "$(cat out)" "$(printf '2\treport-1.pdf')"
ok "dry_run_writes_nothing" test ! -e report-1.pdf

# ---- forwarded messages ---------------------------------------------------
run mime-extract --tree fwd.eml
run mime-extract -n fwd.eml
is "descends_into_forwarded_message" "$(cut -f1 out | tr '\n' ' ')" \
    "1 2 3 4 5.1 5.2 "
run mime-extract --part 5.2 -o - fwd.eml
ok "forwarded_attachment_exact" cmp out report.pdf
run mime-extract --part 5 -o - fwd.eml
ok "forwarded_message_as_eml_reads_back" bash -c \
    "'$PY' '$SRCDIR/tests/pycheck.py' part 1 <'$T/out' | cmp - report.pdf"
run mime-extract --type message/rfc822 -n fwd.eml
is "message_part_under_its_name" "$(cat out)" "$(printf '5\tinner-1.eml')"

# ---- safe names -----------------------------------------------------------
# every hostile name lands inside the folder
cat >names.eml <<'MSG'
From: a@example.org
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: application/octet-stream
Content-Disposition: attachment; filename="../../etc/passwd"

one
--b
Content-Type: application/octet-stream
Content-Disposition: attachment; filename="/abs/path"

two
--b
Content-Type: application/octet-stream
Content-Disposition: attachment; filename*=utf-8''evil%00name.txt

three
--b
Content-Type: application/octet-stream
Content-Disposition: attachment; filename*=utf-8''esc%1B%5B31m.txt

three and a half
--b
Content-Type: application/octet-stream
Content-Disposition: attachment; filename=".bashrc"

four
--b
Content-Type: application/octet-stream
Content-Disposition: attachment; filename="CON.txt"

five
--b
Content-Type: application/octet-stream
Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9%20%E2%9C%93.pdf

six
--b
Content-Type: application/octet-stream
Content-Disposition: attachment; filename*=utf-8''..%5C..%5Cwindows%5Cwin.ini

seven
--b
Content-Type: application/octet-stream
Content-Disposition: attachment; filename="--rf"

eight
--b
Content-Type: application/octet-stream
Content-Disposition: attachment; filename="..."

nine
--b--
MSG
mkdir -p jail/dir
run mime-extract -v -C jail/dir names.eml
is "hostile_names_exit_0" "$rc" 0
is "hostile_names_made_safe" "$(cut -f2 err | tr '\n' '|')" \
    "passwd|path|evil|esc_[31m.txt|bashrc|_CON.txt|résumé ✓.pdf|win.ini|rf|part-10.bin|"
is "nothing_written_outside_the_folder" "$(find jail -type f | sort | tr '\n' ' ')" \
    "jail/dir/_CON.txt jail/dir/bashrc jail/dir/esc_[31m.txt jail/dir/evil jail/dir/part-10.bin jail/dir/passwd jail/dir/path jail/dir/rf jail/dir/résumé ✓.pdf jail/dir/win.ini "
is "safe_name_keeps_the_content" "$(cat jail/dir/passwd)" "one"
long=$(printf 'x%.0s' $(seq 300))
printf 'From: a@example.org\nContent-Type: text/plain\nContent-Disposition: attachment; filename="%s.pdf"\n\nlong\n' "$long" >long.eml
mkdir long
run mime-extract -v -C long long.eml
name=$(cut -f2 err)
is "long_name_bounded_with_its_extension" "${#name}:${name: -4}" "200:.pdf"

# ---- never overwrite --------------------------------------------------------
mkdir dup
printf 'mine\n' >dup/report.pdf
ln -s /etc/hostname dup/data.bin
run mime-extract -v -C dup --attachments m.eml
is "existing_names_get_a_number" "$(cut -f2 err | tr '\n' ' ')" \
    "report-1.pdf data-1.bin t.csv "
is "existing_file_untouched" "$(cat dup/report.pdf)" "mine"
ok "symlink_in_folder_not_followed" test -L dup/data.bin
run mime-extract -v -C dup --part 2 m.eml
is "second_run_gets_the_next_number" "$(cut -f2 err)" "report-2.pdf"
mime-attach report.pdf report.pdf <m.eml >twice.eml
mkdir twice
run mime-extract -v -C twice --filename report.pdf twice.eml
is "same_name_twice_in_one_message" "$(cut -f2 err | tr '\n' ' ')" \
    "report.pdf report-1.pdf report-2.pdf "
run mime-extract --force -C dup --part 2 m.eml
ok "force_replaces" cmp dup/report.pdf report.pdf
run mime-extract --force -C dup --part 3 m.eml
ok "force_replaces_a_symlink_not_its_target" bash -c \
    "[ ! -L dup/data.bin ] && cmp dup/data.bin data.bin && [ \"\$(cat /etc/hostname)\" != '' ]"

# ---- whole or nothing --------------------------------------------------------
mkdir partial
( trap '' XFSZ; ulimit -f 2; exec mime-extract -C partial m.eml ) >out 2>err
rc=$?
is "write_failure_exit_74" "$rc" 74
is "write_failure_leaves_nothing" "$(ls -A partial | wc -l)" 0
refused "missing_folder_exit_73" 73 "nodir" mime-extract -C nodir m.eml

# ---- uuencoded blocks ---------------------------------------------------------
printf 'From: a@example.org\n\nSee the file.\nbegin 644 hi.txt\n#:&D*\n`\nend\nbye\n' >uu.eml
run mime-extract --part 1.uu1 -o - uu.eml
is "uuencoded_block_in_text_decoded" "$(cat out)" "hi"
printf 'From: a@example.org\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: x-uuencode\n\r\nbegin 600 x.bin\r\n#:&D*\r\n`\r\nend\r\n' >xuu.eml
run mime-extract --part 1 -o - xuu.eml
is "x_uuencode_with_crlf_decoded" "$(cat out)" "hi"
printf 'From: a@example.org\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\naGVsbG8gd29ybGQ\n' >short.eml
run mime-extract --part 1 -o - short.eml
is "short_last_base64_group_kept_as_python_does" "$(cat out)" "hello world"

# ---- exit codes -------------------------------------------------------------
run mime-extract --part 9 m.eml
is "missing_part_exit_1" "$rc:$(cat err)" "1:mime-extract: part 9: no such part"
run mime-extract --type 'image/*' m.eml
is "no_match_exit_1" "$rc:$(cat err)" "1:mime-extract: no part matches"
refused "multipart_part_exit_64" 64 "multipart" mime-extract --part TEXT -o - m.eml
refused "o_with_several_parts_exit_64" 64 "-o writes one" mime-extract -o - m.eml
refused "missing_file_exit_66" 66 "nope.eml" mime-extract nope.eml
refused "empty_input_exit_65" 65 "empty input" mime-extract </dev/null
printf 'From: a@example.org\nContent-Type: multipart/mixed; boundary="b"\n\n--b\n\nhi\n' >unclosed.eml
refused "only_part_cut_short_exit_65" 65 "cut short" mime-extract -C all unclosed.eml
printf 'From: a@example.org\nContent-Type: multipart/mixed; boundary="b"\n\n--b\n\nwhole\n--b\n\ncut\n' >cut.eml
mkdir cut
run mime-extract -v -C cut cut.eml
is "truncated_message_complete_parts_written" "$rc:$(cat err):$(ls cut)" "$(printf '0:1\tpart-1.txt:part-1.txt')"
refused "part_cut_short_named_exit_65" 65 "part 2 is cut short" mime-extract --part 2 -o - cut.eml

# short options do what their long forms do
mkdir c1 c2
mime-extract -C c1 m.eml && mime-extract --directory c2 m.eml
ok "short_C_is_directory" diff -r c1 c2
mime-extract -v -C c1 --part 2 m.eml 2>v1 && mime-extract --verbose -C c2 --part 2 m.eml 2>v2
ok "short_v_is_verbose" cmp v1 v2

# ---- the README's examples run as written --------------------------------
awk '/<!-- examples: mime-show/ { f = 1; next }
    f && /^```sh/ { g = 1; next } g && /^```/ { exit } g' \
    "$SRCDIR/README.md" >readme.sh
mkdir readme
printf '\211PNG\r\n\032\n' >chart.png
mime-attach chart.png <fwd.eml >readme/report.eml
(cd readme && bash -e -o pipefail ../readme.sh >../readme.out 2>../readme.err)
is "readme_examples_run" "$?:$(cat readme.err)" "0:$(printf '6\tchart-1.png')"
ok "readme_examples_extracted_the_attachments" \
    cmp readme/attachments/report.pdf report.pdf
ok "readme_examples_json_reads" "$PYRUN" -c 'import json; json.load(open("readme/report.json"))'

# ---- bounded memory from a pipe -----------------------------------------------
mb=${MIMEPIPE_BIG_MB:-32}
head -c $((mb * 1024 * 1024)) /dev/urandom >big.bin
mime-attach big.bin <m.eml >big.eml
mkdir big
# shellcheck disable=SC2002 # a pipe is the point
cat big.eml | /usr/bin/time -f %M -o rss mime-extract -C big --filename big.bin
rss=$(tail -1 rss)
echo "# mime-extract of a $mb MiB attachment from a pipe: peak RSS $rss KiB"
asan=""
if ldd "$BUILDDIR/tools/mime-extract" 2>/dev/null | grep -q 'lib[at]san'; then
    asan=" # SKIP memory is not measured under sanitizers"
fi
ok "big_attachment_from_pipe_exact" cmp big/big.bin big.bin
ok "big_attachment_from_pipe_under_32_MiB$asan" test "$rss" -lt 32768

done_testing
