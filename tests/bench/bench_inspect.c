/*
 * bench_inspect.c — inspection throughput on one core (run pinned by
 * tests/bench/bench-inspect.sh), for a realistic mix: per cycle one
 * 本人確認情報通知 batch of 100 records and two 転出確定通知 from the LAN,
 * and the three acks from the WAN; fed in 16 KiB reads like the relay's.
 * A memcpy of the same bytes in the same reads is measured in the same run.
 * Time is the thread's CPU time, as `openssl speed` counts CPU time by
 * default: a busy machine then slows neither side of the comparison.
 * Prints key=value lines for the script.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "filters/engine/catalog.h"
#include "filters/engine/inspect.h"
#include "tests/lib/jframe.h"

#define NOW 1763000000000LL
#define CYCLES 100
#define READ 16384
#define MIN_SECONDS 2.0

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct count {
	unsigned long allowed, denied;
};

static void on_frame(void *arg, const struct insp_frame *f)
{
	struct count *c = arg;
	if (f->allowed)
		c->allowed++;
	else
		c->denied++;
}

static void build(struct jf_buf *lan, struct jf_buf *wan)
{
	struct jf_buf b, a;
	jf_init(&b);
	jf_init(&a);
	jf_body_A(&a, 0);
	uint64_t seq = 0, wseq = 0;
	for (int i = 0; i < CYCLES; i++) {
		for (int k = 0; k < 3; k++) {
			jf_reset(&b);
			uint16_t type = k == 0 ? 0x0101 : 0x0103;
			if (k == 0)
				jf_body_R(&b, 100, (uint64_t)i * 100, "131016");
			else
				jf_body_T(&b, (uint64_t)i * 3 + (uint64_t)k, "131016");
			struct jf_hdr h = { .type = type, .seq = ++seq, .time_ms = NOW, .sender = "131016",
					    .receiver = "130001", .body_len_override = -1 };
			jf_frame(lan, &h, b.data, b.len);
			struct jf_hdr r = { .flags = 1, .type = 0x0001, .seq = ++wseq, .ref = seq,
					    .time_ms = NOW, .sender = "130001", .receiver = "131016",
					    .body_len_override = -1 };
			jf_frame(wan, &r, a.data, a.len);
		}
	}
	jf_free(&b);
	jf_free(&a);
}

static void feed_all(struct insp_conn *c, enum insp_dir dir, const struct jf_buf *s, struct count *n)
{
	for (size_t at = 0; at < s->len; at += READ) {
		size_t len = s->len - at < READ ? s->len - at : READ;
		insp_feed(c, dir, s->data + at, len, NOW, on_frame, n);
	}
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "conf/catalog.jcat";
	struct cat_catalog *cat = cat_load(path, NULL, NULL);
	struct jf_buf lan, wan;

	if (cat == NULL)
		return 1;
	jf_init(&lan);
	jf_init(&wan);
	build(&lan, &wan);
	struct insp_params p = { .catalog = cat, .skew_ms = 300000, .max_outstanding = 1024 };
	memcpy(p.local, "131016", sizeof(node_code));

	/* inspection */
	struct count n = { 0, 0 };
	unsigned long rounds = 0;
	double t0 = now_s(), t1;
	do {
		struct insp_conn *c = insp_conn_new(&p, "130001");
		feed_all(c, INSP_FROM_LAN, &lan, &n);
		feed_all(c, INSP_FROM_WAN, &wan, &n);
		insp_conn_free(c);
		rounds++;
	} while ((t1 = now_s()) - t0 < MIN_SECONDS);
	double secs = t1 - t0, bytes = (double)(lan.len + wan.len) * (double)rounds;
	if (n.denied != 0 || n.allowed != rounds * CYCLES * 6) {
		fprintf(stderr, "bench_inspect: unexpected verdicts (%lu allowed, %lu denied)\n",
			n.allowed, n.denied);
		return 1;
	}

	/* memcpy of the same bytes in the same reads */
	static unsigned char sink[READ];
	unsigned long mrounds = 0;
	double m0 = now_s(), m1;
	do {
		for (int d = 0; d < 2; d++) {
			const struct jf_buf *s = d ? &wan : &lan;
			for (size_t at = 0; at < s->len; at += READ) {
				size_t len = s->len - at < READ ? s->len - at : READ;
				memcpy(sink, s->data + at, len);
				__asm__ __volatile__("" : : "r"(sink) : "memory");
			}
		}
		mrounds++;
	} while ((m1 = now_s()) - m0 < MIN_SECONDS);
	double mbytes = (double)(lan.len + wan.len) * (double)mrounds;

	printf("mix_bytes=%zu\n", lan.len + wan.len);
	printf("mix_frames=%d\n", CYCLES * 6);
	printf("mix_records=%d\n", CYCLES * 100);
	printf("inspect_frames_per_s=%.0f\n", (double)n.allowed / secs);
	printf("inspect_MBps=%.1f\n", bytes / secs / 1e6);
	printf("memcpy_MBps=%.1f\n", mbytes / (m1 - m0) / 1e6);
	jf_free(&lan);
	jf_free(&wan);
	cat_free(cat);
	return 0;
}
