/*
 * jframe.c — JMSG v1 frame builder for tests, seeds, corpora and load.
 *
 * The check digits are computed here independently of filters/values.c, so
 * that a test built from these frames really checks the engine's arithmetic
 * instead of repeating it.
 */
#include "tests/lib/jframe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JF_HDR_LEN 48

static void wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		explicit_bzero(p, n);
}

void jf_init(struct jf_buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void jf_free(struct jf_buf *b)
{
	wipe(b->data, b->cap);
	free(b->data);
	jf_init(b);
}

void jf_reset(struct jf_buf *b)
{
	wipe(b->data, b->len);
	b->len = 0;
}

/* Grows by moving to a fresh block so the old one can be wiped first:
 * realloc() would leave a copy of the synthetic "personal" data behind. */
static void reserve(struct jf_buf *b, size_t more)
{
	if (more <= b->cap - b->len)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap - b->len < more) {
		if (cap > SIZE_MAX / 2) {
			fprintf(stderr, "jframe: buffer size overflow\n");
			exit(EXIT_FAILURE);
		}
		cap *= 2;
	}
	uint8_t *p = malloc(cap);
	if (p == NULL) {
		fprintf(stderr, "jframe: out of memory (%zu bytes)\n", cap);
		exit(EXIT_FAILURE);
	}
	if (b->len > 0)
		memcpy(p, b->data, b->len);
	wipe(b->data, b->cap);
	free(b->data);
	b->data = p;
	b->cap = cap;
}

void jf_bytes(struct jf_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	reserve(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void put16(struct jf_buf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	jf_bytes(b, x, 2);
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

void jf_tlv(struct jf_buf *b, uint16_t tag, const void *value, size_t len)
{
	put16(b, tag);
	put16(b, (uint16_t)len);
	jf_bytes(b, value, len);
}

void jf_tlv_str(struct jf_buf *b, uint16_t tag, const char *value)
{
	jf_tlv(b, tag, value, strlen(value));
}

size_t jf_container_begin(struct jf_buf *b, uint16_t tag)
{
	size_t mark = b->len;
	put16(b, tag);
	put16(b, 0);
	return mark;
}

void jf_container_end(struct jf_buf *b, size_t mark)
{
	size_t len = b->len - mark - 4;
	put_be(b->data + mark + 2, len > 0xFFFF ? 0xFFFF : len, 2);
}

/* A spread of 10/11-digit numbers from an index, so that neighbouring
 * records do not share long prefixes. */
static uint64_t spread(uint64_t index, uint64_t modulus)
{
	return (index * 2654435761u + 1234567891u) % modulus;
}

void jf_resident_code(uint64_t index, char out[12])
{
	static const int weight[10] = { 5, 4, 3, 2, 7, 6, 5, 4, 3, 2 };
	uint64_t v = spread(index, 10000000000ull);
	int sum = 0;

	snprintf(out, 12, "%010llu", (unsigned long long)v);
	for (int i = 0; i < 10; i++)
		sum += (out[i] - '0') * weight[i];
	int r = sum % 11;
	out[10] = (char)('0' + (r <= 1 ? 0 : 11 - r));
	out[11] = '\0';
}

void jf_individual_number(uint64_t index, char out[13])
{
	static const int weight[11] = { 6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2 };
	uint64_t v = spread(index + 77, 100000000000ull);
	int sum = 0;

	snprintf(out, 13, "%011llu", (unsigned long long)v);
	for (int i = 0; i < 11; i++)
		sum += (out[i] - '0') * weight[i];
	int r = sum % 11;
	out[11] = (char)('0' + (r <= 1 ? 0 : 11 - r));
	out[12] = '\0';
}

static const char *const family[] = { "試験", "見本", "仮名", "例示", "架空" };
static const char *const given[] = { "太郎", "花子", "一郎", "次子", "三郎", "桜" };
static const char *const family_kana[] = { "シケン", "ミホン", "カメイ", "レイジ", "カクウ" };
static const char *const given_kana[] = { "タロウ", "ハナコ", "イチロウ", "ツギコ", "サブロウ", "サクラ" };
#define NFAMILY (sizeof(family) / sizeof(family[0]))
#define NGIVEN (sizeof(given) / sizeof(given[0]))

static void tlv_name(struct jf_buf *b, uint64_t index)
{
	char s[64];
	snprintf(s, sizeof(s), "%s　%s", family[index % NFAMILY], given[index / NFAMILY % NGIVEN]);
	jf_tlv_str(b, 0x0012, s);
}

static void tlv_kana(struct jf_buf *b, uint64_t index)
{
	char s[64];
	snprintf(s, sizeof(s), "%s　%s", family_kana[index % NFAMILY],
		 given_kana[index / NFAMILY % NGIVEN]);
	jf_tlv_str(b, 0x0013, s);
}

static void tlv_date(struct jf_buf *b, uint16_t tag, int year, uint64_t index)
{
	char s[16];
	snprintf(s, sizeof(s), "%04d%02d%02d", year, (int)(index % 12) + 1,
		 (int)(index / 12 % 28) + 1);
	jf_tlv(b, tag, s, 8);
}

static void tlv_address(struct jf_buf *b, uint16_t tag, uint64_t index)
{
	char s[128];
	snprintf(s, sizeof(s), "試験県見本市架空町%u丁目%u番%u号",
		 (unsigned)(index % 9) + 1, (unsigned)(index / 9 % 30) + 1,
		 (unsigned)(index / 270 % 20) + 1);
	jf_tlv_str(b, tag, s);
}

static void tlv_resident(struct jf_buf *b, uint64_t index)
{
	char rc[12];
	jf_resident_code(index, rc);
	jf_tlv(b, 0x0010, rc, 11);
	wipe(rc, sizeof(rc));
}

static void tlv_individual(struct jf_buf *b, uint64_t index)
{
	char in[13];
	jf_individual_number(index, in);
	jf_tlv(b, 0x0011, in, 12);
	wipe(in, sizeof(in));
}

static void tlv_lg(struct jf_buf *b, uint16_t tag, const char *lgcode)
{
	jf_tlv(b, tag, lgcode, 6);
}

/* One 本人確認情報 record (R) or 附票 record (F: no individual number). */
static void record(struct jf_buf *b, uint64_t index, const char *lgcode, bool with_number)
{
	size_t mark = jf_container_begin(b, 0x8001);

	tlv_resident(b, index);
	if (with_number)
		tlv_individual(b, index);
	tlv_name(b, index);
	if (index % 4 != 3)          /* the optional kana, absent now and then */
		tlv_kana(b, index);
	tlv_date(b, 0x0014, 1930 + (int)(index % 80), index);
	jf_tlv_str(b, 0x0015, index % 2 ? "2" : "1");
	tlv_address(b, 0x0016, index);
	jf_tlv_str(b, 0x0017, index % 3 ? "01" : "12");
	tlv_date(b, 0x0018, 2026, index / 7);
	tlv_lg(b, 0x0019, lgcode);
	jf_container_end(b, mark);
}

void jf_body_R(struct jf_buf *b, unsigned n, uint64_t index, const char *lgcode)
{
	for (unsigned i = 0; i < n; i++)
		record(b, index + i, lgcode, true);
}

void jf_body_F(struct jf_buf *b, unsigned n, uint64_t index, const char *lgcode)
{
	for (unsigned i = 0; i < n; i++)
		record(b, index + i, lgcode, false);
}

void jf_body_T(struct jf_buf *b, uint64_t index, const char *lgcode)
{
	tlv_resident(b, index);
	tlv_name(b, index);
	tlv_kana(b, index);
	tlv_date(b, 0x0014, 1950 + (int)(index % 60), index);
	jf_tlv_str(b, 0x0015, index % 2 ? "2" : "1");
	tlv_address(b, 0x0016, index);
	tlv_lg(b, 0x0019, lgcode);
	if (index % 2 == 0)
		tlv_address(b, 0x001A, index + 1);
	tlv_date(b, 0x001B, 2026, index);
	if (index % 3 == 0)
		jf_tlv_str(b, 0x001C, "試験県見本市架空町一番地");
}

void jf_body_Q(struct jf_buf *b, uint64_t index, const char *lgcode)
{
	tlv_resident(b, index);
	tlv_lg(b, 0x0019, lgcode);
}

void jf_body_G(struct jf_buf *b, uint64_t index, const char *lgcode)
{
	tlv_resident(b, index);
	tlv_lg(b, 0x0019, lgcode);
}

void jf_body_N(struct jf_buf *b, uint64_t index)
{
	tlv_resident(b, index);
	tlv_individual(b, index);
}

void jf_body_D(struct jf_buf *b, size_t doc_len)
{
	uint8_t result[2] = { 0, 0 };

	jf_tlv(b, 0x0030, result, 2);
	if (doc_len > 0xFFFF)        /* a TLV length is 16 bits */
		doc_len = 0xFFFF;
	if (doc_len == 0)
		return;
	put16(b, 0x0032);
	put16(b, (uint16_t)doc_len);
	reserve(b, doc_len);
	for (size_t i = 0; i < doc_len; i++)
		b->data[b->len + i] = (uint8_t)(i * 31 + 7);
	b->len += doc_len;
}

void jf_body_A(struct jf_buf *b, uint16_t result)
{
	uint8_t r[2] = { (uint8_t)(result >> 8), (uint8_t)result };

	jf_tlv(b, 0x0030, r, 2);
	if (result != 0)
		jf_tlv_str(b, 0x0031, "受理できません");
}

static void put_node(uint8_t *p, const char *code)
{
	size_t n = code ? strlen(code) : 0;

	memset(p, ' ', 6);
	if (n > 0)
		memcpy(p, code, n > 6 ? 6 : n);
}

void jf_frame(struct jf_buf *out, const struct jf_hdr *h, const uint8_t *body, size_t body_len)
{
	uint8_t hdr[JF_HDR_LEN];
	uint64_t claimed = h->body_len_override >= 0 ? (uint64_t)h->body_len_override : body_len;

	hdr[0] = h->magic0 ? h->magic0 : 0x4A;
	hdr[1] = h->magic1 ? h->magic1 : 0x4B;
	hdr[2] = h->version ? h->version : 1;
	hdr[3] = h->flags;
	put_be(hdr + 4, h->type, 2);
	put_be(hdr + 6, h->reserved, 2);
	put_be(hdr + 8, claimed, 4);
	put_be(hdr + 12, h->seq, 8);
	put_be(hdr + 20, h->ref, 8);
	put_be(hdr + 28, (uint64_t)h->time_ms, 8);
	put_node(hdr + 36, h->sender);
	put_node(hdr + 42, h->receiver);
	jf_bytes(out, hdr, sizeof(hdr));
	jf_bytes(out, body, body_len);
}
