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

expect 'jgwctl ' 'audit check config confirm metrics nft peers quarantine reload stats status tunnel version '
expect 'jgwctl st' 'stats status '
expect 'jgwctl -' '--comment --force --help --json --version -c -h -s '
expect 'jgwctl -s /run/jgw/control.sock q' 'quarantine '
expect 'jgwctl --comment a-note rel' 'reload '
expect 'jgwctl audit ' 'archive epoch init tail verify '
expect 'jgwctl audit verify --' '--key --strict '
expect 'jgwctl audit tail -' '-f -n '
expect 'jgwctl quarantine ' 'add del list '
expect 'jgwctl quarantine add 192.0.2.7 ' '10min 2h 30s 600 7d '
expect 'jgwctl config ' 'diff history rollback show '
expect 'jgwctl config rollback 3 --' '--confirm --force '
expect 'jgwctl reload --' '--confirm --force '
expect 'jgwctl tunnel ' 'close '
expect 'jgwctl nft ' 'print '
# Files: a configuration completes to *.conf and directories only.
expect 'jgwctl check ' 'site.conf sub '
expect 'jgwctl -c ' 'site.conf sub '
expect 'jgwctl nft print s' 'site.conf sub '
expect 'jgwctl audit archive -o ' 'sub '
# Nothing is offered where jgwctl takes no more words.
expect 'jgwctl status ' ''
expect 'jgwctl quarantine list ' ''
echo "jgwctl completion: 22 command lines"

# Held to jgwctl's own usage text: every command, subcommand and option it
# lists is offered (a new verb without completion fails here).
B=${B:-$top/build}
[ -x "$B/jgwctl" ] || fail "$B/jgwctl is not built"
help=$("$B/jgwctl" -h 2>&1)
top_words=$(candidates 'jgwctl ')
n=0
while read -r first second _; do
	[ -n "$first" ] || continue
	for w in ${first//|/ }; do
		grep -qw -- "$w" <<<"$top_words" || fail "'jgwctl ' does not offer '$w' (jgwctl -h lists it)"
		n=$((n + 1))
	done
	case $second in ''|[A-Z]*|\[*|\|) continue ;; esac
	subs=$(candidates "jgwctl $first ")
	for w in ${second//|/ }; do
		case $w in ...|[A-Z]*) continue ;; esac
		grep -qw -- "$w" <<<"$subs" || fail "'jgwctl $first ' does not offer '$w' (jgwctl -h lists it)"
		n=$((n + 1))
	done
done < <(sed -n 's/^  \([a-z][a-z|]*\)\( \([a-z][a-z|]*\)\)\{0,1\}\([ .[].*\)\{0,1\}$/\1 \3/p' <<<"$help")
for w in $("$B/jgwctl" audit 2>&1 | sed -n 's/^usage: jgwctl audit \([a-z|]*\) .*/\1/p' | tr '|' ' '); do
	grep -qw -- "$w" <<<"$(candidates 'jgwctl audit ')" || fail "'jgwctl audit ' does not offer '$w'"
	n=$((n + 1))
done
opts=$(candidates 'jgwctl -')
for o in $(sed -n '/^options:/,$p' <<<"$help" | grep -oE '^  --?[a-z][a-z-]*' | tr -d ' '); do
	grep -qw -- "$o" <<<"$opts" || fail "'jgwctl -' does not offer '$o' (jgwctl -h lists it)"
	n=$((n + 1))
done
[ "$n" -ge 10 ] || fail "only $n words found in jgwctl's usage text: has its format changed?"
echo "jgwctl completion offers all $n commands, subcommands and options of jgwctl -h"
