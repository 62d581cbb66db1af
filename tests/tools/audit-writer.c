/*
 * audit-writer — drives the audit API as the daemon does, for the audit
 * scenarios and the benchmark.
 *
 *   audit-writer -d SPOOL -k KEYFILE [options]
 *     -n COUNT     records to write (0: until killed)      [1000]
 *     -r RATE      records per second (0: as fast as possible) [0]
 *     -p PAD       bytes of padding per record             [0]
 *     -R BYTES     rotate spool files at this size
 *     -a PCT -l PCT  disk alarm / limit
 *     -L           count-loss policy (default: fail closed)
 *     -S N         fail closed as the daemon does: once audit_admit() is
 *                  false, write only N more records (live tunnels) and stop
 *     -c HOST:PORT -C CA -E CERT -K KEY   mirror to a RELP/TLS collector
 *     -w SECONDS   before closing, wait up to this long for the mirror
 *     -t SECONDS -B BYTES  retention window (age, size); -A require archive
 *     -P PCT       prune acknowledged files from this disk use on (default:
 *                  never for the disk, so that a fuller machine's /tmp does
 *                  not prune the spools of tests about something else)
 *     -F SECONDS   forecast alarm below this
 *     -s           a "state ..." line at every tick that changes it
 *
 * stdout (line-buffered): "committed SEQ" each time the durable seq moves,
 * "admit false at N" when admission stops, and a closing line
 * "done attempted=A written=W lost=L last_seq=S mirrored=M admit=0|1
 *  alarm=0|1 full=0|1 fdatasyncs=F elapsed_ms=T".
 * With -s: "state disk_pct=P alarm=0|1 full=0|1 admit=0|1 forecast_s=S
 *  forecast_alarm=0|1 pruned=N oldest=SEQ shed=SEQ last=SEQ".
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gateway/audit/audit.h"
#include "filters/base/log.h"

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool show_state;

/* The retention and disk state, when it changed (forecast_s at least by a
 * tenth or from/to none). */
static void report_state(struct audit *a)
{
	static struct audit_stats last;
	static bool have, last_admit;
	struct audit_stats st;
	if (!show_state)
		return;
	audit_get_stats(a, &st);
	bool admit = audit_admit(a);
	int64_t d = st.forecast_s - last.forecast_s;
	bool fc_moved = (st.forecast_s < 0) != (last.forecast_s < 0) ||
	                (d < 0 ? -d : d) * 10 > (last.forecast_s > 0 ? last.forecast_s : 1);
	if (have && st.disk_pct == last.disk_pct && st.disk_alarm == last.disk_alarm &&
	    st.disk_full == last.disk_full && admit == last_admit && !fc_moved &&
	    st.forecast_alarm == last.forecast_alarm && st.pruned_files == last.pruned_files)
		return;
	printf("state disk_pct=%u alarm=%d full=%d admit=%d forecast_s=%lld forecast_alarm=%d "
	       "pruned=%llu oldest=%llu shed=%llu last=%llu\n", st.disk_pct, st.disk_alarm,
	       st.disk_full, admit, (long long)st.forecast_s, st.forecast_alarm,
	       (unsigned long long)st.pruned_files, (unsigned long long)st.oldest_seq,
	       (unsigned long long)st.shed_seq, (unsigned long long)st.last_seq);
	last = st;
	last_admit = admit;
	have = true;
}

static void report_commit(struct audit *a, uint64_t *shown)
{
	report_state(a);
	struct audit_stats st;
	audit_get_stats(a, &st);
	if (st.last_seq != *shown) {
		printf("committed %llu\n", (unsigned long long)st.last_seq);
		*shown = st.last_seq;
	}
}

int main(int argc, char **argv)
{
	struct audit_params p = {
		.gw = "131016", .commit_ms = 100, .epoch_s = 3600,
		.disk_alarm_pct = 80, .disk_limit_pct = 95, .fail_closed = true, .prune_pct = 101,
	};
	long count = 1000, rate = 0, pad = 0, wait_s = 0, stop_after = -1;
	char *collector = NULL;
	int c;

	while ((c = getopt(argc, argv, "d:k:g:n:r:p:R:a:l:LS:c:C:E:K:w:e:t:B:AF:sP:")) != -1) {
		switch (c) {
		case 'd': p.spool_dir = optarg; break;
		case 'k': p.key_file = optarg; break;
		case 'g': p.gw = optarg; break;
		case 'n': count = atol(optarg); break;
		case 'r': rate = atol(optarg); break;
		case 'p': pad = atol(optarg); break;
		case 'R': p.rotate_bytes = strtoull(optarg, NULL, 10); break;
		case 'a': p.disk_alarm_pct = (uint8_t)atoi(optarg); break;
		case 'l': p.disk_limit_pct = (uint8_t)atoi(optarg); break;
		case 'L': p.fail_closed = false; break;
		case 'S': stop_after = atol(optarg); break;
		case 'c': collector = optarg; break;
		case 'C': p.collector_ca = optarg; break;
		case 'E': p.collector_cert = optarg; break;
		case 'K': p.collector_key = optarg; break;
		case 'w': wait_s = atol(optarg); break;
		case 'e': p.epoch_s = (uint32_t)atol(optarg); break;
		case 't': p.retain_s = (uint32_t)atol(optarg); break;
		case 'B': p.retain_bytes = strtoull(optarg, NULL, 10); break;
		case 'A': p.require_archive = true; break;
		case 'F': p.forecast_alarm_s = (uint32_t)atol(optarg); break;
		case 's': show_state = true; break;
		case 'P': p.prune_pct = (uint8_t)atoi(optarg); break;
		default:
			fprintf(stderr, "usage: see the comment at the top of audit-writer.c\n");
			return 2;
		}
	}
	if (!p.spool_dir || !p.key_file || pad < 0 || pad > 2000) {
		fprintf(stderr, "audit-writer: -d and -k are required; -p at most 2000\n");
		return 2;
	}
	if (collector) {
		char *colon = strrchr(collector, ':');
		if (!colon) {
			fprintf(stderr, "audit-writer: -c HOST:PORT\n");
			return 2;
		}
		*colon = '\0';
		p.collector_host = collector;
		p.collector_port = (uint16_t)atoi(colon + 1);
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	log_init("audit-writer", 0, LOG_INFO);

	char err[512], padding[2001];
	memset(padding, 'p', (size_t)pad);
	padding[pad] = '\0';
	struct audit *a = audit_open(&p, err, sizeof(err));
	if (!a) {
		fprintf(stderr, "audit-writer: %s\n", err);
		return 1;
	}
	uint64_t shown = 0, written = 0, lost = 0;
	long attempted = 0, after_refusal = -1;
	int64_t start = now_ms();
	for (long i = 0; count == 0 || i < count; i++) {
		if (rate > 0) {
			int64_t due = start + (int64_t)(i * 1000 / rate);
			while (now_ms() < due) {
				audit_tick(a, now_ms());
				report_commit(a, &shown);
				struct timespec pause = { 0, 1000 * 1000 };
				nanosleep(&pause, NULL);
			}
		}
		if (stop_after >= 0 && after_refusal < 0 && !audit_admit(a)) {
			printf("admit false at %ld\n", i);
			after_refusal = 0;
		}
		if (after_refusal >= 0 && after_refusal++ >= stop_after)
			break;
		struct audit_rec *r = audit_rec_begin(a, "message");
		audit_rec_u64(r, "tunnel_id", (uint64_t)(i / 100));
		audit_rec_str(r, "dir", i % 2 ? "in" : "out");
		audit_rec_str(r, "type", "0x0101");
		audit_rec_str(r, "type_name", "juki-query");
		audit_rec_str(r, "sender", "131016");
		audit_rec_str(r, "receiver", "000000");
		audit_rec_u64(r, "frame_seq", (uint64_t)i);
		audit_rec_u64(r, "bytes", 512);
		audit_rec_str(r, "verdict", "allow");
		if (pad > 0)
			audit_rec_str(r, "pad", padding);
		attempted++;
		if (audit_rec_commit(r) == 0)
			written++;
		else
			lost++;
		if ((i & 63) == 0) {
			audit_tick(a, now_ms());
			report_commit(a, &shown);
		}
	}
	/* One group-commit interval makes everything written durable. */
	for (int64_t until = now_ms() + p.commit_ms + 20; now_ms() < until; ) {
		audit_tick(a, now_ms());
		struct timespec pause = { 0, 5 * 1000 * 1000 };
		nanosleep(&pause, NULL);
	}
	report_commit(a, &shown);
	struct audit_stats st;
	for (int64_t until = now_ms() + wait_s * 1000; ; ) {
		audit_tick(a, now_ms());
		report_commit(a, &shown);
		audit_get_stats(a, &st);
		/* The mirror acknowledges up to a window of records behind the last. */
		if (!p.collector_host || st.mirrored_seq + AUDIT_MIRROR_INFLIGHT >= st.last_seq ||
		    now_ms() >= until)
			break;
		struct timespec pause = { 0, 50 * 1000 * 1000 };
		nanosleep(&pause, NULL);
	}
	int64_t elapsed = now_ms() - start;
	audit_get_stats(a, &st);
	bool admit = audit_admit(a);
	audit_close(a);
	printf("done attempted=%ld written=%llu lost=%llu last_seq=%llu mirrored=%llu admit=%d "
	       "alarm=%d full=%d fdatasyncs=%llu elapsed_ms=%lld\n", attempted,
	       (unsigned long long)written, (unsigned long long)lost,
	       (unsigned long long)st.last_seq, (unsigned long long)st.mirrored_seq, admit,
	       st.disk_alarm, st.disk_full, (unsigned long long)st.fdatasyncs, (long long)elapsed);
	return 0;
}
