#!/bin/bash
# Runs a bash completion the way bash-completion does, without a terminal.
#
#   bash-complete.sh FILE COMMAND [WORD...] CURRENT
#
# sources bash-completion and FILE, sets COMP_WORDS to COMMAND WORD...
# CURRENT (the word being completed, last; may be empty) and COMP_CWORD,
# calls the function FILE registered for COMMAND and prints COMPREPLY, one
# candidate a line.  Words must be split as bash splits them (COMP_WORDBREAKS:
# "--tls=st" is the three words "--tls" "=" "st").  Exit 77 when
# bash-completion is not installed.
set -u
shopt -s extglob
file=$1
shift
bc=
for f in "${BASH_COMPLETION:-}" \
    "$(pkg-config --variable=prefix bash-completion 2>/dev/null)/share/bash-completion/bash_completion" \
    /usr/share/bash-completion/bash_completion \
    /usr/local/share/bash-completion/bash_completion; do
    if [ -n "$f" ] && [ -f "$f" ]; then
        bc=$f
        break
    fi
done
[ -n "$bc" ] || exit 77
# shellcheck disable=SC1090
. "$bc" || exit 1
# shellcheck disable=SC1090
. "$file" || exit 1
spec=$(complete -p "$1" 2>/dev/null) || {
    echo "$file registers no completion for $1" >&2
    exit 1
}
func=$(sed -nE 's/.* -F ([^ ]+) .*/\1/p' <<<"$spec")
[ -n "$func" ] || {
    echo "the completion for $1 is not a function: $spec" >&2
    exit 1
}
COMP_WORDS=("$@")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
# the line as typed: no blank around a word bash split off at = or :
COMP_LINE=
_glued=1
for w in "${COMP_WORDS[@]}"; do
    if [[ $w == +([=:]) ]]; then
        COMP_LINE+=$w
        _glued=1
    else
        [ "$_glued" = 1 ] || COMP_LINE+=' '
        COMP_LINE+=$w
        _glued=0
    fi
done
COMP_POINT=${#COMP_LINE}
COMP_TYPE=9
COMP_KEY=9
COMPREPLY=()
prev=
[ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}
"$func" "$1" "${COMP_WORDS[COMP_CWORD]}" "$prev"
[ ${#COMPREPLY[@]} -gt 0 ] && printf '%s\n' "${COMPREPLY[@]}"
exit 0
