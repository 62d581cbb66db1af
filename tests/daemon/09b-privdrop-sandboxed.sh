# The privilege drop of 09-privdrop again, with jgwd started as root inside
# a capability bounding set without CAP_SETPCAP — what a systemd unit with
# CapabilityBoundingSet= and a root start gives it. jgwd cannot clear the
# bounding set itself then, and must still drop to its user keeping
# CAP_NET_ADMIN only.
here=$(cd "$(dirname "$0")" && pwd)
: "${JGWD:?}"
command -v capsh >/dev/null || { echo "capsh (libcap2-bin) is not installed"; exit 77; }
# What a root start that drops to a user needs; the DAC overrides because
# 09-privdrop hands jgwd files owned by nobody.
keep='cap_net_admin cap_net_bind_service cap_setuid cap_setgid cap_chown cap_dac_override cap_dac_read_search'
all=$(capsh --print | sed -n 's/^Bounding set =//p' | tr ',' '\n')
grep -qx cap_setpcap <<<"$all" || { echo "cap_setpcap is not in this shell's bounding set"; exit 77; }
drop=$(grep -vxF "$(tr ' ' '\n' <<<"$keep")" <<<"$all" | paste -sd, -)
wrap=$(mktemp /tmp/jgwd-bounded.XXXXXX)
trap 'rm -f "$wrap"' EXIT
# capsh execs bash, which execs jgwd: the pid the scenario sees is jgwd's.
printf '#!/bin/sh\nexec capsh --drop=%s -- -c '\''exec "$0" "$@"'\'' %s "$@"\n' "$drop" "$JGWD" > "$wrap"
chmod 755 "$wrap"
JGWD=$wrap bash "$here/09-privdrop.sh"
