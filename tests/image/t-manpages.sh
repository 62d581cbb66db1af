# The man pages (docs/man/): each one passes mandoc's lint and man-db's
# groff warnings without a message, and names every option and command that
# its program's own usage text lists (so a new option without a page entry
# fails here).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
B=${B:-$top/build}
man=$top/docs/man
fail() { echo "FAIL: $*"; exit 1; }
command -v mandoc >/dev/null || { echo "mandoc is not installed"; exit 77; }
command -v man >/dev/null || { echo "man-db is not installed"; exit 77; }
# The pages the programs and the configuration need; any other page in
# docs/man/ is checked the same way.
for p in jgwd.8 jgwctl.8 jgw.conf.5 jgw-inspect.1 jgw-replay.1 jgw-node.1; do
	[ -f "$man/$p" ] || fail "no man page $p"
done
pages=$(cd "$man" && ls -- *.[1-8] | sort | tr '\n' ' ')
for p in $pages; do
	out=$(mandoc -T lint -W warning "$man/$p" 2>&1) || { echo "$out"; fail "mandoc -T lint: $p"; }
	[ -z "$out" ] || { echo "$out"; fail "mandoc -T lint: $p has warnings"; }
	# man-db renders with groff; --warnings passes groff's -w (all by default).
	out=$(MANWIDTH=80 man --warnings -E UTF-8 -l "$man/$p" 2>&1 >/dev/null)
	[ -z "$out" ] || { echo "$out"; fail "man --warnings: $p"; }
	# NAME names the page, and the section matches the file name.
	name=${p%.*} sec=${p##*.}
	head -5 "$man/$p" | grep -qx ".Dt $(echo "$name" | tr a-z A-Z) $sec" || fail "$p: .Dt is not '$name $sec'"
done
echo "ok: $pages pass mandoc -T lint and man --warnings"

# Options from the usage texts. A usage text is what the program prints for
# -h (or, for jgwd and jgw-node, a bad option or no arguments).
usage() {
	case $1 in
	jgwd) "$B/jgwd" -h 2>&1 ;;
	jgwctl) "$B/jgwctl" -h 2>&1; "$B/jgwctl" audit verify 2>&1; "$B/jgwctl" audit tail -x 2>&1; "$B/jgwctl" audit init -x 2>&1 ;;
	jgw-inspect) "$B/jgw-inspect" --help 2>&1 ;;
	jgw-replay) "$B/jgw-replay" --help 2>&1 ;;
	jgw-node) "$B/jgw-node" 2>&1 ;;
	*) "$B/$1" -h 2>&1 ;;
	esac
}
# Every page of a program the build makes (jgw.conf.5 is no program's).
for p in $pages; do
	name=${p%.*} sec=${p##*.}
	[ -x "$B/$name" ] || { case $name in jgwd|jgwctl|jgw-inspect|jgw-replay|jgw-node) fail "$B/$name is not built";; esac; continue; }
	text=$(usage "$name")
	opts=$(grep -oE '(^|[][ |(])--?[a-zA-Z][a-zA-Z0-9-]*' <<<"$text" | sed 's/^[][ |(]//' | sort -u)
	[ -n "$opts" ] || fail "$name: no options found in its usage text"
	page=$(MANWIDTH=200 mandoc -T utf8 "$man/$name.$sec" | col -b)
	n=0
	for o in $opts; do
		case $o in -h|--help) continue ;; esac
		grep -qE -- "(^|[^a-zA-Z0-9-])$o([^a-zA-Z0-9-]|$)" <<<"$page" || fail "$name.$sec does not mention $o (from $name's usage text)"
		n=$((n + 1))
	done
	# Commands (words at the start of usage lines) for the tools that have them.
	cmds=
	case $name in
	jgwctl) cmds=$(sed -n 's/^  \([a-z][a-z]*\( [a-z|][a-z|]*\)*\).*/\1/p' <<<"$("$B/jgwctl" -h 2>&1)" | tr '|' ' ') ;;
	jgw-node) cmds=$(sed -n 's/^\(usage:\)\{0,1\} *jgw-node \([a-z]*\).*/\2/p' <<<"$text") ;;
	esac
	for c in $cmds; do
		case $c in ADDR*|TIMEOUT*|CONFIG*|FILE*) continue ;; esac
		grep -qE "(^|[^a-z-])$c([^a-z-]|$)" <<<"$page" || fail "$name.$sec does not mention the command '$c'"
		n=$((n + 1))
	done
	echo "ok: $name.$sec names all $n options and commands of its usage text"
done
