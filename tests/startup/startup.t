#!/bin/bash
# Start-up of the statically linked commands (issue 21): what each one
# loads and opens before it reads its input.
#
#   startup.t TOOL=LIB,LIB... TOOL!=LIB,LIB... ...
#
# TOOL=LIBS: the tool may load these shared libraries and no other (ldd,
# so libraries loaded by libraries count); under sanitizers, their
# run-time libraries too (MP_SANITIZE from meson's b_sanitize).
# TOOL!=LIBS: the tool loads none of these (a tool on the shared GLib
# takes GMime, GPGME and gsasl from their archives).  A library removed
# from a command's start-up (libmount, libblkid, libselinux, libpcre2 for
# mime-compose; libgmime, libgpgme, libgsasl, and GnuTLS and json-glib
# which it loads when it needs them, for smtp-send) fails the
# test if it comes back.
# Then, with strace: mime-compose opens no locale file but LC_CTYPE's and
# LC_MESSAGES', and probes no file system for SELinux.
. "$SRCDIR/tests/cli/lib.sh"

plan $(($# + 4))

sanitizer_libs='libasan libubsan libstdc++ libgcc_s libm'
for spec in "$@"; do
    case "$spec" in
    *!=*) tool=${spec%%!=*} forbid=1 ;;
    *) tool=${spec%%=*} forbid= ;;
    esac
    listed=" $(echo "${spec#*=}" | tr , ' ') "
    if [ -z "$forbid" ] && [ "${MP_SANITIZE:-none}" != none ]; then
        listed="$listed $sanitizer_libs "
    fi
    extra=
    # "libc.so.6 => /lib/..." ("/lib64/ld-linux-x86-64.so.2 (...)" is the
    # loader itself)
    for lib in $(ldd "$BUILDDIR/tools/$tool" | awk '$2 == "=>" { print $1 }'); do
        case "$listed" in
        *" ${lib%%.so*} "*) [ -n "$forbid" ] && extra="$extra $lib" ;;
        *) [ -z "$forbid" ] && extra="$extra $lib" ;;
        esac
    done
    if [ -n "$forbid" ]; then
        is "${tool}_loads_none_of_${spec#*!=}" "${extra# }" ""
    else
        is "${tool}_loads_only_its_shared_libraries" "${extra# }" ""
    fi
done

body="$T/body.txt"
printf 'Hello Zo\303\253,\nthe report is attached.\n' >"$body"
if ! command -v strace >/dev/null; then
    for n in output locale selinux libs; do
        skip "startup_strace_$n" "strace is not installed (scripts/install-deps)"
    done
    done_testing
    exit
fi
# LANG alone, as a login shell has it: every category from one locale
env -u LC_ALL LANG=C.UTF-8 "$NO_LSAN" strace -f -qq -e trace=openat,open,statfs \
    -o "$T/trace" mime-compose --from ann@example.org --to bob@example.com \
    --subject hi "$body" >"$T/out" 2>"$T/err"
rc=$?
is "startup_strace_output" "$rc $(grep -c '^Subject: hi$' "$T/out")" "0 1"
is "compose_opens_no_locale_category_but_ctype_and_messages" \
    "$(grep -o '/usr/lib/locale/[^"]*' "$T/trace" |
        grep -v -E '/LC_(CTYPE|MESSAGES)(/SYS_LC_MESSAGES)?$|locale-archive$' |
        sort -u | tr '\n' ' ')" ""
is "compose_probes_nothing_for_selinux" \
    "$(grep -E 'selinux|/proc/filesystems' "$T/trace" | head -3)" ""
is "compose_opens_no_shared_library_but_libc" \
    "$(grep -o '[^/"]*\.so[.0-9]*"' "$T/trace" | tr -d '"' |
        grep -v -E '^(libc\.so\.6|ld\.so\.cache)$' |
        grep -v -E '^(libasan|libubsan|libstdc\+\+|libgcc_s|libm)\.' |
        sort -u | tr '\n' ' ')" ""
done_testing
