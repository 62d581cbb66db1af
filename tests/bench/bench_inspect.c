/*
 * bench_inspect.c — inspection throughput on one core (run pinned by
 * tests/bench/bench-inspect.sh), for a realistic mix: per cycle one
 * 本人確認情報通知 batch of 100 records and two 転出確定通知 from the LAN,
 * and the three acks from the WAN; fed in 16 KiB reads like the relay's.
 *
 * Beside it, in the same process and in turns with it: AES-128-GCM
 * decryption of the same bytes in 16 KiB records, each with its own nonce
 * and tag checked (what a TLS 1.3 record costs to open), and a memcpy of
 * the same bytes in the same reads. The run is cut into slices, each one
 * inspection pass, then the same bytes decrypted: the ratio of each slice
 * compares the two at the same moment, so a virtual machine whose speed
 * drifts from second to second (steal, frequency) does not tilt it; the
 * median slice is reported. Time is the thread's CPU time.
 * Prints key=value lines for the script.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "filters/engine/catalog.h"
#include "filters/engine/inspect.h"
#include "tests/lib/jframe.h"

#define NOW 1763000000000LL
#define CYCLES 100
#define READ 16384
#define MIN_SECONDS 4.0
#define MAX_SLICES 256
#define GCM_TAG 16

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_inspect: %s\n", what);
	exit(1);
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

/* The mix as TLS records: 16 KiB of ciphertext each, its tag, its nonce. */
struct sealed {
	unsigned char *ct, *tags;
	size_t len, n_rec;
};

static const unsigned char gcm_key[16] = "jgw bench key 16";

static void nonce_of(size_t i, unsigned char iv[12])
{
	memset(iv, 0, 12);
	memcpy(iv + 4, &i, sizeof(i) < 8 ? sizeof(i) : 8);
}

static void seal(struct sealed *z, const struct jf_buf *lan, const struct jf_buf *wan)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	unsigned char iv[12], *all;
	int out;

	/* Both directions' bytes, one after the other, cut in 16 KiB records. */
	z->len = lan->len + wan->len;
	z->n_rec = (z->len + READ - 1) / READ;
	z->ct = malloc(z->len);
	z->tags = malloc(z->n_rec * GCM_TAG);
	all = malloc(z->len);
	if (ctx == NULL || z->ct == NULL || z->tags == NULL || all == NULL ||
	    !EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), NULL, gcm_key, NULL))
		die("cannot set up AES-128-GCM");
	memcpy(all, lan->data, lan->len);
	memcpy(all + lan->len, wan->data, wan->len);
	for (size_t rec = 0, at = 0; at < z->len; rec++, at += READ) {
		size_t len = z->len - at < READ ? z->len - at : READ;
		nonce_of(rec, iv);
		if (!EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, iv) ||
		    !EVP_EncryptUpdate(ctx, z->ct + at, &out, all + at, (int)len) ||
		    !EVP_EncryptFinal_ex(ctx, z->ct + at + out, &out) ||
		    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, GCM_TAG, z->tags + rec * GCM_TAG))
			die("AES-128-GCM encryption failed");
	}
	free(all);
	EVP_CIPHER_CTX_free(ctx);
}

/* One pass: every record opened (nonce, decrypt, tag checked). */
static void open_all(EVP_CIPHER_CTX *ctx, const struct sealed *z, unsigned char *plain)
{
	unsigned char iv[12];
	size_t at = 0;
	int out;

	for (size_t rec = 0; rec < z->n_rec; rec++) {
		size_t len = z->len - at < READ ? z->len - at : READ;
		nonce_of(rec, iv);
		if (!EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, iv) ||
		    !EVP_DecryptUpdate(ctx, plain, &out, z->ct + at, (int)len) ||
		    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, GCM_TAG,
					 z->tags + rec * GCM_TAG) ||
		    EVP_DecryptFinal_ex(ctx, plain + out, &out) != 1)
			die("AES-128-GCM: a record did not open");
		at += len;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "conf/catalog.jcat";
	struct cat_catalog *cat = cat_load(path, NULL, NULL);
	struct jf_buf lan, wan;
	struct sealed z;

	if (cat == NULL)
		return 1;
	jf_init(&lan);
	jf_init(&wan);
	build(&lan, &wan);
	seal(&z, &lan, &wan);
	struct insp_params p = { .catalog = cat, .skew_ms = 300000, .max_outstanding = 1024 };
	memcpy(p.local, "131016", sizeof(node_code));
	EVP_CIPHER_CTX *dctx = EVP_CIPHER_CTX_new();
	static unsigned char plain[READ + GCM_TAG];
	if (dctx == NULL || !EVP_DecryptInit_ex(dctx, EVP_aes_128_gcm(), NULL, gcm_key, NULL))
		die("cannot set up AES-128-GCM");

	/* Slices: one inspection pass, then the same bytes decrypted. */
	struct count n = { 0, 0 };
	static double ratio[MAX_SLICES];
	unsigned long slices = 0;
	double t_insp = 0, t_gcm = 0, start = now_s();
	do {
		double t0 = now_s();
		struct insp_conn *c = insp_conn_new(&p, "130001");
		feed_all(c, INSP_FROM_LAN, &lan, &n);
		feed_all(c, INSP_FROM_WAN, &wan, &n);
		insp_conn_free(c);
		double t1 = now_s();
		open_all(dctx, &z, plain);
		double t2 = now_s();
		t_insp += t1 - t0;
		t_gcm += t2 - t1;
		ratio[slices++] = (t2 - t1) / (t1 - t0);   /* same bytes: time ratio */
	} while (slices < MAX_SLICES && now_s() - start < MIN_SECONDS);
	double bytes = (double)z.len * (double)slices;
	if (n.denied != 0 || n.allowed != slices * CYCLES * 6) {
		fprintf(stderr, "bench_inspect: unexpected verdicts (%lu allowed, %lu denied)\n",
			n.allowed, n.denied);
		return 1;
	}
	qsort(ratio, slices, sizeof(ratio[0]), cmp_double);

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
	} while ((m1 = now_s()) - m0 < 1.0);
	double mbytes = (double)z.len * (double)mrounds;

	printf("mix_bytes=%zu\n", z.len);
	printf("mix_frames=%d\n", CYCLES * 6);
	printf("mix_records=%d\n", CYCLES * 100);
	printf("slices=%lu\n", slices);
	printf("inspect_frames_per_s=%.0f\n", (double)n.allowed / t_insp);
	printf("inspect_MBps=%.1f\n", bytes / t_insp / 1e6);
	printf("gcm_decrypt_MBps=%.1f\n", bytes / t_gcm / 1e6);
	printf("ratio_median=%.3f\n", ratio[slices / 2]);
	printf("ratio_p10=%.3f\n", ratio[slices / 10]);
	printf("ratio_p90=%.3f\n", ratio[slices * 9 / 10]);
	printf("memcpy_MBps=%.1f\n", mbytes / (m1 - m0) / 1e6);
	EVP_CIPHER_CTX_free(dctx);
	free(z.ct);
	free(z.tags);
	jf_free(&lan);
	jf_free(&wan);
	cat_free(cat);
	return 0;
}
