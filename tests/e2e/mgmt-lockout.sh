# mgmt-lockout — a change that would cut the operator off comes back by
# itself. An operator on the management network (the WAN host .66, for this
# case) reaches 東京都's gateway over SSH (a real sshd in the gateway's
# namespace, behind the real nftables table jgwd programs) and changes the
# management network to one that does not hold the operator: jgwd refuses
# the reload (it would shut out the SSH client jgwctl names), takes it with
# --force on trial, the firewall then drops the operator's new connections,
# and without a confirm the previous generation — its nftables table with
# it — is back in force on time: SSH works again. The change, the refusal
# and the revert are audit records naming the operator.
source "$(dirname "$0")/lib.sh"
e2e_need
command -v /usr/sbin/sshd >/dev/null || fail "sshd is not installed (make deps: openssh-server)"
command -v ssh >/dev/null || fail "ssh is not installed (make deps: openssh-client)"
op=10.77.0.66 port=2222
e2e_conf_hook() {
	e2e_set "$1" common/management.conf "s|network 10.99.0.0/24;|network $op/32;|"
	e2e_set "$1" common/management.conf "s|ssh-port 22;|ssh-port $port;|"
}
e2e_up tokyo
gw=$(ns_gw tokyo) conf=$(ns_conf tokyo)

# A real sshd in the gateway's namespace, on its WAN address.
sdir=$NS_WORK/sshd
mkdir -p "$sdir" /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$sdir/host" || fail "host key"
ssh-keygen -q -t ed25519 -N '' -f "$sdir/op" || fail "operator key"
cp "$sdir/op.pub" "$sdir/authorized_keys"
cat >"$sdir/sshd_config" <<EOF
ListenAddress $(ns_wan4 tokyo):$port
HostKey $sdir/host
AuthorizedKeysFile $sdir/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $sdir/sshd.pid
SetEnv JGW_CONTROL=$NS_WORK/tokyo/run/control.sock
EOF
ip netns exec "$gw" /usr/sbin/sshd -D -e -f "$sdir/sshd_config" 2>"$sdir/sshd.log" &
ns_wait_tcp "$gw" "$(ns_wan4 tokyo)" "$port" 10 || { cat "$sdir/sshd.log"; fail "sshd did not come up"; }

# op_ssh COMMAND — from the operator's host, a new connection each time.
op_ssh() {
	ip netns exec "$(ns_stranger)" ssh -i "$sdir/op" -p "$port" -o BatchMode=yes \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=3 \
		-o LogLevel=ERROR "root@$(ns_wan4 tokyo)" "$@"
}
ctl() { ip netns exec "$gw" "$B/jgwctl" -c "$conf" "$@"; }
op_ssh true || { cat "$sdir/sshd.log"; fail "the operator cannot reach SSH from the management network"; }

# The new management network no longer holds the operator.
sed -i "s|network $op/32;|network 10.99.0.0/24;|" "$NS_WORK/tokyo/etc/common/management.conf"
out=$(op_ssh "$B/jgwctl -c $conf reload --comment 'move management' 2>&1") &&
	fail "a reload that shuts out the operator's SSH was taken: $out"
grep -q "do not admit $op" <<<"$out" || fail "the refusal does not name the operator's address: $out"
e2e_audit_wait tokyo ".event == \"config\" and .action == \"reject\" and .via == \"$op\" and .operator == \"root\"" \
	>/dev/null || fail "no reject record naming the operator and the address"
ctl status | grep -qx "generation 1" || fail "the refused reload changed the generation"
op_ssh true || fail "SSH does not work after a refused reload"

# Forced, on trial: the operator is out, then back in without anyone's help.
op_ssh "$B/jgwctl -c $conf reload --force --confirm 6s --comment 'move management, on trial'" >/dev/null ||
	fail "reload --force --confirm was refused"
ctl status | grep -qx "trial_generation 2" || fail "no trial in status: $(ctl status)"
op_ssh true 2>/dev/null && fail "the new management rules still admit the operator (the case proves nothing)"
wait_for 150 bash -c "'$B/jgwctl' -s '$NS_WORK/tokyo/run/control.sock' status | grep -qx 'trial_generation 0'" ||
	fail "the trial did not end"
ctl status | grep -qx "generation 1" || fail "generation 1 is not back in force: $(ctl status)"
op_ssh true || fail "SSH does not work after the revert"
rec=$(e2e_audit_wait tokyo '.event == "config" and .action == "revert" and .generation == 1') ||
	fail "no revert record"
jq -e ".operator == \"root\" and .via == \"$op\"" >/dev/null <<<"$rec" || fail "the revert record: $rec"
e2e_audit_wait tokyo ".event == \"config\" and .action == \"reload\" and .generation == 2 and .via == \"$op\"
	and .comment == \"move management, on trial\"" >/dev/null || fail "no record of the forced reload"
e2e_audit_wait tokyo '.event == "admin" and .action == "reload" and .outcome == "error"' >/dev/null ||
	fail "no admin record of the refused reload"
echo "operator $op: refused without --force, shut out on trial, back after the revert"
