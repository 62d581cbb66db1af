# The bash completion of jgwctl (image/bash-completion/jgwctl): sourced into
# a bash with the bash-completion framework, as the package installs it, and
# asked for the candidates of a few command lines.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
comp=$top/image/bash-completion/jgwctl
fw=/usr/share/bash-completion/bash_completion
fail() { echo "FAIL: $*"; exit 1; }
[ -r "$fw" ] || { echo "bash-completion is not installed ($fw)"; exit 77; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir -p "$work/d/sub"; touch "$work/d/site.conf" "$work/d/other.txt"

# candidates LINE → the sorted candidates for the last word of LINE (a line
# ending in a space completes a new, empty word).
candidates() {
	bash --norc --noprofile -c '
		. "$1"; . "$2"
		line=$3
		read -r -a COMP_WORDS <<<"$line"
		[[ $line == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
		COMP_LINE=$line COMP_POINT=${#line}
		cd "$4" && _jgwctl jgwctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		[ ${#COMPREPLY[@]} -eq 0 ] || printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "
	' _ "$fw" "$comp" "$1" "$work/d"
}
expect() { # LINE WANT
	local got; got=$(candidates "$1")
	[ "$got" = "$2" ] || fail "jgwctl completion of '$1': got '$got', want '$2'"
	echo "ok: '$1' → $2"
}
complete_registered=$(bash --norc --noprofile -c '. "$1"; . "$2"; complete -p jgwctl' _ "$fw" "$comp")
[ "$complete_registered" = "complete -F _jgwctl jgwctl" ] || fail "not registered for jgwctl: '$complete_registered'"

expect 'jgwctl ' 'audit check nft peers quarantine reload stats status '
expect 'jgwctl st' 'stats status '
expect 'jgwctl -' '--help -c -h -s '
expect 'jgwctl -s /run/jgw/control.sock q' 'quarantine '
expect 'jgwctl audit ' 'init tail verify '
expect 'jgwctl audit verify --' '--key --strict '
expect 'jgwctl audit tail -' '-f -n '
expect 'jgwctl quarantine ' 'add del list '
expect 'jgwctl quarantine add 192.0.2.7 ' '10m 1h 24h 30s '
expect 'jgwctl nft ' 'print '
# Files: a configuration completes to *.conf and directories only.
expect 'jgwctl check ' 'site.conf sub '
expect 'jgwctl -c ' 'site.conf sub '
expect 'jgwctl nft print s' 'site.conf sub '
# Nothing is offered where jgwctl takes no more words.
expect 'jgwctl status ' ''
expect 'jgwctl quarantine list ' ''
echo "jgwctl completion: 16 checks passed"
