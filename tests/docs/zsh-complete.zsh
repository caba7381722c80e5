# Runs zsh's real completion system in a pseudo-terminal and prints what it
# would offer for each command line given, the completion files of
# FPATH-DIR loaded by compinit:
#
#   zsh -f zsh-complete.zsh FPATH-DIR 'LINE' ['LINE'...]
#
# For each LINE (completed at its end, as if TAB were pressed) prints a
# line "== LINE", then the candidates, one a line.  compadd is wrapped to print
# every match added, the way zsh-capture-completion does.  Exit 77 when
# zsh/zpty is missing.
zmodload zsh/zpty || exit 77
zpty z zsh -f -i || exit 77
zpty -w z 'PROMPT= RPROMPT= PS2= ; unsetopt zle_bell'
zpty -w z "fpath=(${(q)1} \$fpath)"
zpty -w z 'autoload -U compinit && compinit -u -D'
zpty -w z 'zstyle ":completion:*" list-grouped false'
zpty -w z 'zstyle ":completion:*" insert-tab false'
zpty -w z 'zstyle ":completion:*" list-separator ""'
# a completer around _complete that marks the end and inserts nothing
zpty -w z '_zc_complete() { _complete; local r=$?; print -r -- "<<END>>"; compstate[insert]=""; compstate[list]=""; return r }'
zpty -w z 'zstyle ":completion:*" completer _zc_complete'
zpty -w z 'compadd() {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi
  local -a __hits apre hpre asuf hsuf
  builtin compadd -A __hits "$@"
  zparseopts -E P:=apre p:=hpre S:=asuf s:=hsuf
  local h
  for h in $__hits; do print -r -- "<<M>>$IPREFIX${apre[2]}${hpre[2]}$h${hsuf[2]}${asuf[2]}"; done
}'
zpty -w z "print -r -- '<<READ''Y>>'"
local out line all
zpty -r z out '*<<READY>>*' || exit 1
shift
for line in "$@"; do
	# type the line, press TAB, read to the end marker, clear the line
	zpty -w -n z "$line"$'\t'
	all=
	while zpty -r z out; do
		all+=$out
		[[ $all == *'<<END>>'* ]] && break
	done
	zpty -w -n z $'\C-u'
	print -r -- "== $line"
	print -r -- "${all//$'\r'/}" | sed -n 's/.*<<M>>//p'
done
zpty -d z
