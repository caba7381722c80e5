# Prints the specs a zsh completion function passes to _arguments, one a
# line, by running it with _arguments (and the helpers its actions would
# call) replaced by stubs.  No terminal or compinit needed.
#
#   zsh -f zsh-specs.zsh COMPLETION-FILE
emulate zsh
_arguments() {
	local -a args
	local i
	args=("$@")
	# _arguments' own flags (-s -S ...) come before a lone ":"
	i=${args[(i):]}
	(( i <= $#args )) && args=("${(@)args[i+1,-1]}")
	print -rl -- "${args[@]}"
}
_describe() { :; }
_files() { :; }
_message() { :; }
compdef() { :; }
FPATH=${1:h}
autoload -Uz +X ${1:t} || exit 1
${1:t}
