# 200 reloads: descriptors stay the same and memory does not creep (hitch
# leaked both on reload).
. "$(dirname "$0")/lib.sh"

write_conf gw 131016 22161 22162 22163 130001 22172
start_jgwd gw
pid=$(pid_of gw)
fds() { ls "/proc/$pid/fd" | wc -l; }
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$pid/status"; }
for i in $(seq 1 20); do ctl gw reload >/dev/null || fail "reload $i failed"; done
fd0=$(fds); rss0=$(rss)
for i in $(seq 1 180); do ctl gw reload >/dev/null || fail "reload $((i + 20)) failed"; done
fd1=$(fds); rss1=$(rss)
echo "fds $fd0 -> $fd1, rss ${rss0} KiB -> ${rss1} KiB over 180 reloads"
[ "$(status_of gw generation)" = 201 ] || fail "generation is not 201"
[ "$fd1" -eq "$fd0" ] || fail "descriptors grew from $fd0 to $fd1"
# A leak of even one small config per reload would show as > 1 MiB here.
# Under AddressSanitizer freed memory is held in quarantine, so RSS says
# nothing there; LeakSanitizer checks at exit instead (non-zero status).
if ! grep -q __asan_init "$JGWD"; then
	[ "$rss1" -le $((rss0 + 1024)) ] || fail "memory grew from $rss0 to $rss1 KiB"
fi
stop_jgwd gw || fail "jgwd exited non-zero (a leak report under ASan?)"
exit 0
