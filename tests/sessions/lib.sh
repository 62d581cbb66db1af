# tests/sessions/lib.sh — the daemon scenarios' world (tests/daemon/lib.sh:
# a temporary directory, configurations on loopback, jgwd started and
# stopped, everything removed on exit), plus what the session scenarios
# share: accounts made for the test and removed on exit (trap-safe, also
# after a run killed before its trap), and the audit records as JSON.
# Needs JGW_SESSIONS besides the daemon scenarios' variables.
# shellcheck source=tests/daemon/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../daemon/lib.sh"
: "${JGW_SESSIONS:?}"
command -v jq >/dev/null || skip "jq not installed"
[ "$(id -u)" = 0 ] || skip "needs root (accounts, namespaces, sshd)"

# Every account and group this test makes carries this comment, so that one
# left over by a killed run is recognised and removed, and nothing else is.
JS_MARK="jgw sessions test"
JS_USERS=()
JS_GROUPS=()
JS_CLEANUPS=()

js_cleanup() {
	local u g c
	for c in "${JS_CLEANUPS[@]}"; do eval "$c"; done
	for u in "${JS_USERS[@]}"; do userdel -r "$u" >/dev/null 2>&1 || userdel "$u" >/dev/null 2>&1; done
	for g in "${JS_GROUPS[@]}"; do groupdel "$g" >/dev/null 2>&1; done
	jg_cleanup
}
trap js_cleanup EXIT

# js_group NAME: the group, made for this test unless the system has it.
js_group() {
	getent group "$1" >/dev/null && return 0
	groupadd "$1" || fail "groupadd $1"
	JS_GROUPS+=("$1")
}

# js_stale_user NAME: remove an account of an earlier killed run; fail when
# the name belongs to someone else.
js_stale_user() {
	local ent
	ent=$(getent passwd "$1") || return 0
	[ "$(cut -d: -f5 <<<"$ent")" = "$JS_MARK" ] || skip "an account '$1' exists on this machine: not touched"
	pkill -KILL -u "$1" 2>/dev/null
	userdel -r "$1" >/dev/null 2>&1 || userdel "$1" >/dev/null 2>&1
}

# js_user NAME GROUPS: an account with its home under $T, an unusable
# password that is not a locked one (sshd without PAM refuses "!"), in
# GROUPS (comma-separated), with a fresh ed25519 key $T/keys/NAME.
js_user() {
	local name=$1 groups=$2 home=$T/home/$1
	js_stale_user "$name"
	mkdir -p "$T/home" "$T/keys"
	useradd -M -d "$home" -s /bin/sh -c "$JS_MARK" -p '*' ${groups:+-G "$groups"} "$name" ||
		fail "useradd $name"
	JS_USERS+=("$name")
	install -d -m 0700 -o "$name" -g "$name" "$home" "$home/.ssh"
	ssh-keygen -q -t ed25519 -N '' -C "$name@test" -f "$T/keys/$name" || fail "ssh-keygen $name"
	install -m 0600 -o "$name" -g "$name" "$T/keys/$name.pub" "$home/.ssh/authorized_keys"
}

# recs JQ-FILTER: the audit records of gw's spool that pass select(FILTER).
recs() { cat "$T/gw"/spool/*.jsonl 2>/dev/null | jq -c "select($1)"; }
count() { recs "$1" | wc -l; }
# at_least N JQ-FILTER: N or more records pass the filter now (for
# wait_for, which runs it again on each try).
at_least() { [ "$(count "$2")" -ge "$1" ]; }
