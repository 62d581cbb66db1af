# A message to the collector never holds records of two UTC days: the
# collector files a message by its TIMESTAMP (the first record's ts), so a
# record of the next day inside it would land in the wrong day's file.
#
# Deterministic on purpose: t-collector-daily lets a running writer cross
# midnight, and where its day boundary falls among the messages depends on
# timing (one run in about 25 puts it between two messages by chance, and
# then says nothing about this promise). Here a writer whose wall clock
# (libfaketime) reads 23:59:50 writes a known number of records and stops;
# a second one on the same spool, at 00:00:10 the next day, writes more with
# the collector still down; the collector comes up only once all of them
# are durable. The mirror then holds both days' records at once and far
# fewer day-1 records than a message takes: the first message must be
# exactly the day-1 records, and no message may mix the days.
source tests/audit/lib.sh
need_pki
need_faketime
chain_init
port=$(pick_port)
midnight=$(( ($(date +%s) / 86400 + 1) * 86400 ))
d1=$(date -u -d "@$(( midnight - 1 ))" +%F)

# at SECONDS ARGS...: the writer on this test's spool, its clock at that
# time (the certificates are valid then: the next midnight is at most a day
# away).
at() { local t=$1; shift; writer_at "$t" -d "$W/spool" -k "$W/audit.key" "$@"; }

# Day 1: 10 records and the shutdown seal, never mirrored.
at $(( midnight - 10 )) -n 10 >"$W/w1.out" 2>"$W/w1.err" || die "day-1 writer: $(cat "$W/w1.err")"
n1=$(sed -n 's/^done .*last_seq=\([0-9]*\).*/\1/p' "$W/w1.out"); n1=$((n1 + 1))
# Day 2: 600 more with the mirror on, the collector not yet listening (more
# than the mirror may have in flight: the writer waits for it before closing).
# shellcheck disable=SC2046
at $(( midnight + 10 )) -n 600 -w 30 $(mirror_args "$port") >"$W/w2.out" 2>"$W/w2.err" &
writer=$!
wait_for 200 committed_over "$W/w2.out" $(( n1 + 599 )) || die "the day-2 writer did not commit its records"
collector_start "$port"
wait "$writer" || die "day-2 writer failed: $(cat "$W/w2.err")"
last=$(sed -n 's/^done .*last_seq=\([0-9]*\).*/\1/p' "$W/w2.out"); last=$((last + 1))
collector_wait "$last"
collector_stop
log=$W/collector.log
# The first message: seq 1..n1, all of day 1, as one batch.
first=$(awk '/^jgw / { n++ } n == 1' "$log")
[ "$(echo "$first" | head -1 | cut -d' ' -f2)" = batch ] || die "the day-1 records did not go out as a batch"
[ "$(echo "$first" | wc -l)" = "$n1" ] ||
	die "the first message holds $(echo "$first" | wc -l) records; the day-1 records are $n1"
echo "$first" | grep -vq "{\"ts\":\"$d1" && die "the first message holds a record of the next day"
collector_check "$last"
echo "day 1: seq 1..$n1 in one message; $(grep -c '^jgw ' "$log") messages for $last records"
