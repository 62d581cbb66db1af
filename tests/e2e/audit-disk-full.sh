# audit-disk-full — write-ahead under a full disk (disk-policy fail-closed).
# 東京都's spool is a small tmpfs; 千代田区 sends a pipelined load until the
# disk refuses 東京都's records. Then:
#   - the refusal shows at once in `jgwctl status` (audit_write_failing,
#     audit_held) and new tunnels are refused;
#   - nothing crosses without its record: every frame 東京都's server
#     received has an allowed `message` record in 東京都's spool;
#   - once space is back the records held in memory reach the spool, the
#     tunnel's close is audited with reason audit-disk-full, nothing is
#     lost, and the spool verifies.
source "$(dirname "$0")/lib.sh"
e2e_need
e2e_topology chiyoda tokyo

spool=$NS_WORK/tokyo/lib/audit
mkdir -p "$spool"
mount -t tmpfs -o size=4m jgw-e2e-disk "$spool" || fail "cannot mount a tmpfs for the spool"
umount_spool() { umount "$spool" 2>/dev/null; }
trap 'umount_spool; e2e_cleanup' EXIT
# 1.5 MiB taken by something else: freed at the end to give the spool room.
head -c $((1536 * 1024)) /dev/zero >"$spool/filler"
e2e_start chiyoda tokyo
status() { e2e_ctl tokyo status; }

ip netns exec "$(ns_srv chiyoda)" "$B/jgw-node" load --connect "$(ns_lan_gw chiyoda):7000" \
	--from 131016 --to 130001 --mix honnin-tsuchi --records 20 --duration 60 --window 16 \
	--conns 1 --timeout 3 >"$NS_WORK/load.out" 2>&1 &
load=$!

# The disk fills within seconds at this rate; the status must say so.
full=
for _ in $(seq 600); do
	st=$(status 2>/dev/null)
	if grep -q '^audit_write_failing yes' <<<"$st"; then full=1; break; fi
	sleep 0.1
done
[ -n "$full" ] || { echo "$st"; fail "the spool never reported a failing write"; }
echo "$st" | grep -E '^audit_(disk|write_failing|held|lost) '
kill "$load" 2>/dev/null; wait "$load" 2>/dev/null

# New tunnels are refused while the disk is full.
e2e_send_refused chiyoda --to 130001 --type honnin-tsuchi --records 1 >/dev/null

received=$(jq -r 'select(.event == "frame" and .type == "0x0101") | "\(.conn) \(.seq)"' \
	"$NS_WORK/tokyo/juki.log" | sort -u)
n_received=$(wc -l <<<"$received")
[ "$n_received" -ge 100 ] || fail "only $n_received frames reached 東京都; the case proves little"

# While the disk is still full: each tunnel's allowed 0x0101 records in the
# spool file, against what the server received per connection. A received
# frame whose record is not on disk crossed ahead of its record.
# The server numbers connections; frame seqs are per connection, so the
# comparison is per seq set of each tunnel that carried frames.
audited=$(ns_audit tokyo | jq -r 'select(.event == "message" and .dir == "in" and .type == "0x0101" and .verdict == "allow") | "\(.tunnel_id) \(.frame_seq)"' | sort -u)
n_audited=$(wc -l <<<"$audited")
missing=0
while read -r conn; do
	want=$(awk -v c="$conn" '$1 == c { print $2 }' <<<"$received" | sort -n)
	best=0
	for tid in $(awk '{ print $1 }' <<<"$audited" | sort -u); do
		have=$(awk -v t="$tid" '$1 == t { print $2 }' <<<"$audited" | sort -n)
		m=$(comm -23 <(echo "$want") <(echo "$have") | wc -l)
		[ "$best" = 0 ] || [ "$m" -lt "$best" ] && best=$m
		[ "$m" = 0 ] && { best=0; break; }
	done
	missing=$((missing + best))
done < <(awk '{ print $1 }' <<<"$received" | sort -u)
[ "$missing" = 0 ] || fail "$missing frames reached 東京都's server without their message record"

# Space is back: the held records are written, in order, nothing lost.
rm -f "$spool/filler"
ok=
for _ in $(seq 100); do
	st=$(status 2>/dev/null)
	if grep -q '^audit_write_failing no' <<<"$st" && grep -q '^audit_held 0$' <<<"$st"; then
		ok=1; break
	fi
	sleep 0.1
done
[ -n "$ok" ] || { echo "$st"; fail "the held records did not reach the spool once space was back"; }
grep -q '^audit_lost 0$' <<<"$st" || { echo "$st"; fail "records were lost"; }

closes=$(ns_audit tokyo | jq -c 'select(.event == "tunnel" and .state == "close" and .reason == "audit-disk-full")')
[ -n "$closes" ] || fail "no tunnel close audited with reason audit-disk-full"

ns_jgwd_stop tokyo
out=$("$B/jgwctl" audit verify --key "$NS_WORK/tokyo/k0" "$spool" 2>&1) ||
	{ echo "$out"; fail "東京都's spool does not verify"; }
echo "$out" | tail -1
echo "disk full: $n_received frames received, $n_audited allowed records, each received frame audited, nothing lost"
