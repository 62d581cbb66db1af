/*
 * jmsg-gen — synthetic JMSG streams for the fuzz seed corpus and the
 * jgw-inspect scenarios. Every value is synthetic (tests/lib/jframe.h).
 *
 *   jmsg-gen corpus DIR     write the fuzz-inspect seeds (format below) to DIR
 *   jmsg-gen stream NAME    write one raw stream of one direction to stdout:
 *                           lan-good, lan-bad-value, wan-good, koseki
 *
 * All frames carry the time JMSG_GEN_NOW (use jgw-inspect --now 1763000000000).
 * The gateway is 131016 (千代田区); see docs/inspection.md.
 *
 * fuzz-inspect input: byte 0 chooses the set-up (bits 0-1: the WAN peer:
 * none, 131024, 130001, 000000; bits 2-3: outstanding limit 1, 2, 4, 1024);
 * then records of [dir][len:2 big-endian][len bytes]: dir bit 0 is the
 * direction (0 LAN, 1 WAN), bit 7 ends that direction (insp_finish) and
 * carries no bytes. A short last record feeds what is left.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/jframe.h"

#define NOW 1763000000000LL
#define CHIYODA "131016"
#define CHUO "131024"
#define TOKYO "130001"
#define JLIS "000000"

static struct jf_hdr hdr(uint16_t type, uint64_t seq, const char *snd, const char *rcv)
{
	return (struct jf_hdr){ .type = type, .seq = seq, .time_ms = NOW, .sender = snd,
				.receiver = rcv, .body_len_override = -1 };
}

static struct jf_hdr resp(uint16_t type, uint64_t seq, uint64_t ref, const char *snd, const char *rcv)
{
	struct jf_hdr h = hdr(type, seq, snd, rcv);
	h.flags = 1;
	h.ref = ref;
	return h;
}

static void frame(struct jf_buf *out, struct jf_hdr h, const struct jf_buf *body)
{
	jf_frame(out, &h, body ? body->data : NULL, body ? body->len : 0);
}

/* LAN → 東京都: an R batch, a 転出確定, a keepalive and another R batch
 * (one system per connection: an F batch here would be system-mismatch). */
static void lan_good(struct jf_buf *s, unsigned records)
{
	struct jf_buf b;
	jf_init(&b);
	jf_body_R(&b, records, 1, CHIYODA);
	frame(s, hdr(0x0101, 1, CHIYODA, TOKYO), &b);
	jf_reset(&b);
	jf_body_T(&b, 2, CHIYODA);
	frame(s, hdr(0x0103, 2, CHIYODA, TOKYO), &b);
	frame(s, hdr(0x0003, 3, CHIYODA, TOKYO), NULL);
	jf_reset(&b);
	jf_body_R(&b, records, 50, CHIYODA);
	frame(s, hdr(0x0101, 4, CHIYODA, TOKYO), &b);
	jf_free(&b);
}

/* The last frame's name holds a control character: a bad-value on 0x0012. */
static void lan_bad_value(struct jf_buf *s)
{
	struct jf_buf b;
	char rc[12];
	lan_good(s, 2);
	jf_init(&b);
	jf_resident_code(77, rc);
	jf_tlv_str(&b, 0x0010, rc);
	jf_tlv_str(&b, 0x0012, "試験\t太郎");
	frame(s, hdr(0x0103, 9, CHIYODA, TOKYO), &b);
	jf_free(&b);
}

/* 中央区 → 千代田区 through the tunnel: a 転入通知 and a keepalive. */
static void wan_good(struct jf_buf *s)
{
	struct jf_buf b;
	jf_init(&b);
	jf_body_T(&b, 5, CHUO);
	frame(s, hdr(0x0110, 1, CHUO, CHIYODA), &b);
	frame(s, hdr(0x0003, 2, CHUO, CHIYODA), NULL);
	jf_free(&b);
}

/* A 戸籍 message of tests/unit/data/koseki.jcat.part, 千代田区 → 機構. */
static void koseki(struct jf_buf *s)
{
	struct jf_buf b;
	char rc[12];
	jf_init(&b);
	jf_resident_code(9, rc);
	jf_tlv_str(&b, 0x0010, rc);
	jf_tlv_str(&b, 0x0012, "見本　一郎");
	jf_tlv_str(&b, 0x001C, "試験県見本市架空町一番地");
	jf_tlv_str(&b, 0x0040, "0000000042");
	frame(s, hdr(0x0301, 1, CHIYODA, JLIS), &b);
	jf_free(&b);
}

/* ---- fuzz corpus ------------------------------------------------------------- */

static void rec(struct jf_buf *seed, int dir, const uint8_t *p, size_t n)
{
	while (n > 0) {
		size_t take = n > 0xFFFF ? 0xFFFF : n;
		uint8_t h[3] = { (uint8_t)dir, (uint8_t)(take >> 8), (uint8_t)take };
		jf_bytes(seed, h, 3);
		jf_bytes(seed, p, take);
		p += take;
		n -= take;
	}
}

static void finish(struct jf_buf *seed, int dir)
{
	uint8_t h = (uint8_t)(0x80 | dir);
	jf_bytes(seed, &h, 1);
}

static int write_file(const char *dir, const char *name, const struct jf_buf *b)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *fp = fopen(path, "wb");
	if (fp == NULL || fwrite(b->data, 1, b->len, fp) != b->len || fclose(fp) != 0) {
		fprintf(stderr, "jmsg-gen: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* A stream fed in chunks of `chunk` bytes (0: whole). */
static void chunked(struct jf_buf *seed, int dir, const struct jf_buf *s, size_t chunk)
{
	if (chunk == 0) {
		rec(seed, dir, s->data, s->len);
		return;
	}
	for (size_t at = 0; at < s->len; at += chunk)
		rec(seed, dir, s->data + at, at + chunk <= s->len ? chunk : s->len - at);
}

static int corpus(const char *dir)
{
	struct jf_buf s, w, b, seed;
	int rc = 0;
	jf_init(&s);
	jf_init(&w);
	jf_init(&b);
	jf_init(&seed);

	/* 1: egress batches, whole and in odd chunks (peer unknown) */
	lan_good(&s, 3);
	jf_bytes(&seed, "\x0c", 1);
	chunked(&seed, 0, &s, 0);
	finish(&seed, 0);
	rc |= write_file(dir, "lan-batches", &seed);
	jf_reset(&seed);
	jf_bytes(&seed, "\x0c", 1);
	chunked(&seed, 0, &s, 7);
	rc |= write_file(dir, "lan-batches-chunked", &seed);

	/* 2: 広域交付 out, its answer back; the peer is 中央区 */
	jf_reset(&s);
	jf_reset(&seed);
	jf_body_Q(&b, 4, CHUO);
	frame(&s, hdr(0x0112, 10, CHIYODA, CHUO), &b);
	jf_reset(&b);
	jf_body_D(&b, 600);
	frame(&w, resp(0x0113, 1, 10, CHUO, CHIYODA), &b);
	jf_reset(&b);
	jf_body_A(&b, 0);
	frame(&w, resp(0x0001, 2, 10, CHUO, CHIYODA), &b);   /* a second answer: duplicate */
	jf_bytes(&seed, "\x05", 1);
	chunked(&seed, 0, &s, 0);
	chunked(&seed, 1, &w, 13);
	finish(&seed, 1);
	rc |= write_file(dir, "koiki-kofu", &seed);

	/* 3: ingress 転入通知, acked from the LAN */
	jf_reset(&s);
	jf_reset(&w);
	jf_reset(&seed);
	wan_good(&w);
	jf_reset(&b);
	jf_body_A(&b, 0);
	frame(&s, resp(0x0001, 1, 1, CHIYODA, CHUO), &b);
	jf_reset(&b);
	jf_body_A(&b, 3);
	frame(&s, resp(0x0002, 2, 2, CHIYODA, CHUO), &b);
	jf_bytes(&seed, "\x0d", 1);
	chunked(&seed, 1, &w, 0);
	chunked(&seed, 0, &s, 5);
	rc |= write_file(dir, "ingress-acked", &seed);

	/* 4: 番号生成 to 機構 and its 番号通知 */
	jf_reset(&s);
	jf_reset(&w);
	jf_reset(&seed);
	jf_reset(&b);
	jf_body_G(&b, 8, CHIYODA);
	frame(&s, hdr(0x0120, 1, CHIYODA, JLIS), &b);
	jf_reset(&b);
	jf_body_N(&b, 8);
	frame(&w, resp(0x0121, 1, 1, JLIS, CHIYODA), &b);
	jf_bytes(&seed, "\x03", 1);
	chunked(&seed, 0, &s, 0);
	chunked(&seed, 1, &w, 0);
	rc |= write_file(dir, "bango", &seed);

	/* 5: streams ending in a deny, one seed each */
	static const char *const names[] = {
		"deny-bad-value", "deny-trailing", "deny-direction", "deny-truncated", "deny-order",
	};
	for (int v = 0; v < 5; v++) {
		jf_reset(&s);
		jf_reset(&seed);
		jf_reset(&b);
		if (v == 0) {
			lan_bad_value(&s);
		} else {
			jf_body_T(&b, 3, CHIYODA);
			if (v == 1)
				jf_bytes(&b, "\0\0", 2);
			if (v == 4)
				jf_tlv_str(&b, 0x0010, "24727059608");
			frame(&s, hdr(0x0103, 1, CHIYODA, v == 2 ? "270008" : TOKYO), &b);
			if (v == 3)
				s.len -= 10;
		}
		jf_bytes(&seed, "\x00", 1);
		chunked(&seed, 0, &s, 0);
		finish(&seed, 0);
		rc |= write_file(dir, names[v], &seed);
	}
	jf_free(&s);
	jf_free(&w);
	jf_free(&b);
	jf_free(&seed);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct jf_buf s;

	if (argc == 3 && strcmp(argv[1], "corpus") == 0)
		return corpus(argv[2]);
	if (argc != 3 || strcmp(argv[1], "stream") != 0) {
		fprintf(stderr, "usage: jmsg-gen corpus DIR | jmsg-gen stream lan-good|lan-bad-value|wan-good|koseki\n");
		return 2;
	}
	jf_init(&s);
	if (strcmp(argv[2], "lan-good") == 0)
		lan_good(&s, 100);
	else if (strcmp(argv[2], "lan-bad-value") == 0)
		lan_bad_value(&s);
	else if (strcmp(argv[2], "wan-good") == 0)
		wan_good(&s);
	else if (strcmp(argv[2], "koseki") == 0)
		koseki(&s);
	else {
		fprintf(stderr, "jmsg-gen: unknown stream `%s'\n", argv[2]);
		return 2;
	}
	int rc = fwrite(s.data, 1, s.len, stdout) == s.len && fflush(stdout) == 0 ? 0 : 1;
	jf_free(&s);
	return rc;
}
