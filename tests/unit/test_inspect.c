/*
 * test_inspect.c — the inspection engine against crafted frames: every deny
 * reason of docs/protocol.md §6, every value kind inside a frame, the connection
 * state, and the same verdicts whatever the cut of the stream into reads.
 *
 * The gateway under test serves 131016 (千代田区). Run from the top of the
 * source tree (catalogs are read from conf/ and tests/unit/data/).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "filters/engine/catalog.h"
#include "filters/engine/inspect.h"
#include "tests/lib/jframe.h"

#define NOW      1763000000000LL     /* the gateway clock in every test */
#define CHIYODA  "131016"            /* this gateway */
#define CHUO     "131024"
#define TOKYO    "130001"
#define JLIS     "000000"
#define OSAKA    "270008"            /* another prefecture */

static struct cat_catalog *catalog, *kinds, *koseki;

/* ---- helpers ------------------------------------------------------------ */

struct run {
	struct insp_frame f[256];
	size_t n;
};

/* Every reason any test has seen: the last test checks all were reached. */
static bool seen[INSP_REASON_COUNT];

static void collect(void *arg, const struct insp_frame *f)
{
	struct run *r = arg;
	assert_true(r->n < 256);
	r->f[r->n++] = *f;
	if ((unsigned)f->reason < INSP_REASON_COUNT)
		seen[f->reason] = true;
}

static struct insp_conn *conn_with(const struct cat_catalog *cat, const char *peer, uint32_t max_out)
{
	struct insp_params p = { .catalog = cat, .skew_ms = 300000, .max_outstanding = max_out };
	memcpy(p.local, CHIYODA, sizeof(node_code));
	struct insp_conn *c = insp_conn_new(&p, peer);
	assert_non_null(c);
	return c;
}

static struct insp_conn *conn(const char *peer)
{
	return conn_with(catalog, peer, 1024);
}

static struct jf_hdr hdr(uint16_t type, uint64_t seq, const char *snd, const char *rcv)
{
	return (struct jf_hdr){ .type = type, .seq = seq, .time_ms = NOW, .sender = snd,
				.receiver = rcv, .body_len_override = -1 };
}

static void put(struct jf_buf *out, const struct jf_hdr *h, const struct jf_buf *body)
{
	jf_frame(out, h, body ? body->data : NULL, body ? body->len : 0);
}

/* Feed a whole stream of one direction at once, then end it. */
static void run_all(struct insp_conn *c, enum insp_dir dir, const struct jf_buf *s, struct run *r)
{
	if (insp_feed(c, dir, s->data, s->len, NOW, collect, r))
		insp_finish(c, dir, NOW, collect, r);
}

static const struct insp_frame *last(const struct run *r)
{
	assert_true(r->n > 0);
	return &r->f[r->n - 1];
}

#define assert_deny(r, want_reason, want_field) do { \
	const struct insp_frame *f_ = last(r); \
	if (f_->allowed || f_->reason != (want_reason) || f_->field != (want_field)) \
		fail_msg("frame %llu: %s field 0x%04x, wanted %s field 0x%04x", \
			 (unsigned long long)f_->index, f_->allowed ? "allow" : insp_reason_name(f_->reason), \
			 f_->field, insp_reason_name(want_reason), (unsigned)(want_field)); \
} while (0)

static void assert_all_allowed(const struct run *r, size_t n)
{
	assert_int_equal(r->n, n);
	for (size_t i = 0; i < r->n; i++)
		if (!r->f[i].allowed)
			fail_msg("frame %zu denied: %s field 0x%04x", i + 1,
				 insp_reason_name(r->f[i].reason), r->f[i].field);
}

/* One LAN frame from this site to TOKYO; h may be changed by the caller. */
static void one_lan(struct jf_hdr h, const struct jf_buf *body, struct run *r)
{
	struct jf_buf s;
	jf_init(&s);
	put(&s, &h, body);
	struct insp_conn *c = conn(NULL);
	run_all(c, INSP_FROM_LAN, &s, r);
	insp_conn_free(c);
	jf_free(&s);
}

static void body_T(struct jf_buf *b)
{
	jf_init(b);
	jf_body_T(b, 7, CHIYODA);
}

/* ---- group setup ---------------------------------------------------------- */

static char *read_all(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	if (fp == NULL)
		return NULL;
	char *buf = malloc(1 << 20);
	*len = buf ? fread(buf, 1, 1 << 20, fp) : 0;
	fclose(fp);
	return buf;
}

static int setup(void **state)
{
	(void)state;
	catalog = cat_load("conf/catalog.jcat", NULL, NULL);
	kinds = cat_load("tests/unit/data/kinds.jcat", NULL, NULL);
	size_t n1 = 0, n2 = 0;
	char *a = read_all("conf/catalog.jcat", &n1), *b = read_all("tests/unit/data/koseki.jcat.part", &n2);
	if (a && b) {
		char *all = malloc(n1 + n2);
		if (all) {
			memcpy(all, a, n1);
			memcpy(all + n1, b, n2);
			koseki = cat_load_buffer("koseki.jcat", all, n1 + n2, NULL, NULL);
		}
		free(all);
	}
	free(a);
	free(b);
	return catalog && kinds && koseki ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	cat_free(catalog);
	cat_free(kinds);
	cat_free(koseki);
	return 0;
}

/* ---- a good conversation ---------------------------------------------------- */

static void test_allowed_stream(void **state)
{
	struct jf_buf s, b;
	struct run r = { .n = 0 };
	(void)state;

	jf_init(&s);
	jf_init(&b);
	struct jf_hdr h = hdr(0x0101, 1, CHIYODA, TOKYO);
	jf_body_R(&b, 100, 1000, CHIYODA);
	put(&s, &h, &b);
	size_t first_len = s.len;
	jf_reset(&b);
	h = hdr(0x0103, 2, CHIYODA, TOKYO);
	jf_body_T(&b, 3, CHIYODA);
	put(&s, &h, &b);
	h = hdr(0x0003, 7, CHIYODA, TOKYO);
	put(&s, &h, NULL);
	jf_reset(&b);
	h = hdr(0x0101, 8, CHIYODA, TOKYO);
	jf_body_R(&b, 1000, 5, CHIYODA);            /* the most records a batch holds */
	put(&s, &h, &b);

	struct insp_conn *c = conn(NULL);
	assert_null(insp_conn_first_receiver(c));
	assert_int_equal(insp_conn_system(c), 0);
	run_all(c, INSP_FROM_LAN, &s, &r);
	assert_all_allowed(&r, 4);
	assert_int_equal(insp_conn_system(c), CAT_SYS_JUKI);
	assert_string_equal(insp_conn_first_receiver(c), TOKYO);
	assert_int_equal(insp_allowed_offset(c, INSP_FROM_LAN), s.len);
	assert_int_equal(insp_allowed_offset(c, INSP_FROM_WAN), 0);
	assert_false(insp_conn_denied(c));

	const struct insp_frame *f = &r.f[0];
	assert_int_equal(f->index, 1);
	assert_int_equal(f->offset, 0);
	assert_int_equal(f->length, first_len);
	assert_int_equal(f->type, 0x0101);
	assert_string_equal(f->type_name, "honnin-tsuchi");
	assert_int_equal(f->system, CAT_SYS_JUKI);
	assert_int_equal(f->records, 100);
	assert_string_equal(f->sender, CHIYODA);
	assert_string_equal(f->receiver, TOKYO);
	assert_int_equal(f->seq, 1);
	assert_true(f->time_ms == (uint64_t)NOW);
	assert_int_equal(f->reason, INSP_OK);
	assert_int_equal(r.f[1].offset, first_len);
	assert_int_equal(r.f[2].records, 0);
	assert_int_equal(r.f[3].records, 1000);
	assert_int_equal(r.f[2].system, 0);
	assert_int_equal(r.f[3].system, CAT_SYS_JUKI);
	insp_conn_free(c);

	/* 附票: a keepalive first (no system), then the largest F batch. */
	jf_reset(&s);
	jf_reset(&b);
	h = hdr(0x0003, 1, CHIYODA, TOKYO);
	put(&s, &h, NULL);
	h = hdr(0x0201, 2, CHIYODA, TOKYO);
	jf_body_F(&b, 1000, 5, CHIYODA);
	put(&s, &h, &b);
	r.n = 0;
	c = conn(NULL);
	run_all(c, INSP_FROM_LAN, &s, &r);
	assert_all_allowed(&r, 2);
	assert_int_equal(r.f[1].records, 1000);
	assert_int_equal(r.f[1].system, CAT_SYS_FUHYO);
	assert_int_equal(insp_conn_system(c), CAT_SYS_FUHYO);
	insp_conn_free(c);
	jf_free(&s);
	jf_free(&b);
}

/* ---- every reason ------------------------------------------------------------ */

static void test_header_reasons(void **state)
{
	struct jf_buf b;
	struct run r;
	struct jf_hdr h;
	(void)state;
	body_T(&b);

#define CASE(mod, reason) do { \
	r.n = 0; \
	h = hdr(0x0103, 1, CHIYODA, TOKYO); \
	mod; \
	one_lan(h, &b, &r); \
	assert_int_equal(r.n, 1); \
	assert_deny(&r, reason, 0); \
} while (0)
	CASE(h.magic0 = 'X', INSP_BAD_MAGIC);
	CASE(h.magic1 = 'J', INSP_BAD_MAGIC);
	CASE(h.version = 2, INSP_BAD_VERSION);
	CASE(h.flags = 0x02, INSP_BAD_FLAGS);
	CASE(h.flags = 0x80, INSP_BAD_FLAGS);
	CASE(h.flags = 0x01, INSP_BAD_FLAGS);                 /* RESPONSE on a notice */
	CASE(h.type = 0x0104, INSP_UNKNOWN_TYPE);
	CASE(h.type = 0x0000, INSP_UNKNOWN_TYPE);
	CASE(h.reserved = 1, INSP_BAD_RESERVED);
	CASE(h.body_len_override = 65537, INSP_BODY_TOO_LARGE);
	CASE((h.type = 0x0101, h.body_len_override = 4 * 1024 * 1024 + 1), INSP_BODY_TOO_LARGE);
	CASE(h.seq = 0, INSP_SEQ_NOT_INCREASING);
	CASE(h.ref = 1, INSP_BAD_REF);
	CASE(h.time_ms = NOW + 300001, INSP_CLOCK_SKEW);
	CASE(h.time_ms = NOW - 300001, INSP_CLOCK_SKEW);
	CASE(h.time_ms = -1, INSP_CLOCK_SKEW);                /* above INT64_MAX on the wire */
	CASE(h.sender = CHUO, INSP_BAD_SENDER);              /* not served here */
	CASE(h.sender = "131017", INSP_BAD_SENDER);          /* bad check digit */
	CASE(h.sender = "abcdef", INSP_BAD_SENDER);
	CASE(h.receiver = CHIYODA, INSP_BAD_RECEIVER);       /* the site itself */
	CASE(h.receiver = "130002", INSP_BAD_RECEIVER);
	CASE(h.receiver = OSAKA, INSP_DIRECTION_NOT_ALLOWED); /* not its own prefecture */
	CASE(h.receiver = CHUO, INSP_DIRECTION_NOT_ALLOWED);  /* 0x0103 goes to a prefecture */
	CASE((h.type = 0x0110, h.receiver = TOKYO), INSP_DIRECTION_NOT_ALLOWED);
	CASE((h.type = 0x0102), INSP_DIRECTION_NOT_ALLOWED);   /* prefecture → jlis only */
	CASE((h.type = 0x0001, h.flags = 0x01), INSP_UNSOLICITED_RESPONSE);
	CASE((h.type = 0x0001, h.flags = 0x01, h.ref = 1), INSP_UNSOLICITED_RESPONSE);
	CASE((h.type = 0x0002), INSP_BAD_FLAGS);                /* nack without RESPONSE */

	/* the edges of the clock window are inside */
	r.n = 0;
	h = hdr(0x0103, 1, CHIYODA, TOKYO);
	h.time_ms = NOW + 300000;
	one_lan(h, &b, &r);
	assert_all_allowed(&r, 1);
	r.n = 0;
	h.time_ms = NOW - 300000;
	one_lan(h, &b, &r);
	assert_all_allowed(&r, 1);
#undef CASE
	jf_free(&b);
}

/* Precedence: header fields in order, then parties, pair, direction, state,
 * then the body. */
static void test_precedence(void **state)
{
	struct jf_buf b;
	struct run r = { .n = 0 };
	(void)state;
	jf_init(&b);
	jf_tlv_str(&b, 0x0099, "x");                        /* a bad body too */

	struct jf_hdr h = hdr(0x0104, 0, CHUO, CHIYODA);   /* unknown type, seq 0, bad parties */
	h.version = 9;
	one_lan(h, &b, &r);
	assert_deny(&r, INSP_BAD_VERSION, 0);
	assert_int_equal(last(&r)->length, 3);             /* up to the deciding field */
	r.n = 0;
	h.version = 0;
	one_lan(h, &b, &r);
	assert_deny(&r, INSP_UNKNOWN_TYPE, 0);
	r.n = 0;
	h.type = 0x0103;
	one_lan(h, &b, &r);
	assert_deny(&r, INSP_SEQ_NOT_INCREASING, 0);
	r.n = 0;
	h.seq = 1;
	one_lan(h, &b, &r);
	assert_deny(&r, INSP_BAD_SENDER, 0);
	r.n = 0;
	h.sender = CHIYODA;
	one_lan(h, &b, &r);
	assert_deny(&r, INSP_BAD_RECEIVER, 0);
	r.n = 0;
	h.receiver = CHUO;
	one_lan(h, &b, &r);
	assert_deny(&r, INSP_DIRECTION_NOT_ALLOWED, 0);
	r.n = 0;
	h.receiver = TOKYO;
	one_lan(h, &b, &r);
	assert_deny(&r, INSP_TLV_UNKNOWN_TAG, 0x0099);
	assert_int_equal(last(&r)->length, 48 + b.len);
	jf_free(&b);
}

static void test_wan_parties(void **state)
{
	struct jf_buf s, b;
	struct run r;
	(void)state;
	jf_init(&s);
	jf_init(&b);
	jf_body_T(&b, 1, CHUO);

#define WAN(peer, snd, rcv, type) do { \
	struct jf_hdr h_ = hdr(type, 1, snd, rcv); \
	jf_reset(&s); \
	put(&s, &h_, (type) == 0x0003 ? NULL : &b); \
	r.n = 0; \
	struct insp_conn *c_ = conn(peer); \
	run_all(c_, INSP_FROM_WAN, &s, &r); \
	insp_conn_free(c_); \
} while (0)
	WAN(CHUO, CHUO, CHIYODA, 0x0110);                     /* 転入通知 中央区 → 千代田区 */
	assert_all_allowed(&r, 1);
	WAN(CHUO, JLIS, CHIYODA, 0x0110);
	assert_deny(&r, INSP_SENDER_MISMATCH, 0);
	WAN(NULL, CHUO, CHIYODA, 0x0110);                     /* no peer identity: refuse */
	assert_deny(&r, INSP_SENDER_MISMATCH, 0);
	WAN(CHUO, CHUO, "131033", 0x0110);                    /* bad check digit */
	assert_deny(&r, INSP_BAD_RECEIVER, 0);
	WAN(CHUO, CHUO, TOKYO, 0x0110);                       /* not served here */
	assert_deny(&r, INSP_RECEIVER_MISMATCH, 0);
	WAN(CHUO, CHUO, CHIYODA, 0x0103);                     /* 転出確定 goes to a prefecture */
	assert_deny(&r, INSP_DIRECTION_NOT_ALLOWED, 0);
	WAN(CHUO, CHUO, CHIYODA, 0x0003);                     /* keepalive from the peer */
	assert_all_allowed(&r, 1);
#undef WAN
	/* LAN, once the tunnel peer is known: the receiver must be it. */
	struct jf_hdr h = hdr(0x0110, 1, CHIYODA, "271004");
	jf_reset(&s);
	put(&s, &h, &b);
	r.n = 0;
	struct insp_conn *c = conn(CHUO);
	run_all(c, INSP_FROM_LAN, &s, &r);
	assert_deny(&r, INSP_RECEIVER_MISMATCH, 0);
	insp_conn_free(c);
	jf_free(&s);
	jf_free(&b);
}

static void test_pair_and_seq(void **state)
{
	struct jf_buf s, b;
	struct run r = { .n = 0 };
	(void)state;
	jf_init(&s);
	body_T(&b);

	struct jf_hdr h = hdr(0x0110, 5, CHIYODA, CHUO);
	put(&s, &h, &b);
	h = hdr(0x0110, 5, CHIYODA, CHUO);                    /* same seq again */
	put(&s, &h, &b);
	struct insp_conn *c = conn(NULL);
	run_all(c, INSP_FROM_LAN, &s, &r);
	assert_int_equal(r.n, 2);
	assert_true(r.f[0].allowed);
	assert_deny(&r, INSP_SEQ_NOT_INCREASING, 0);
	insp_conn_free(c);

	jf_reset(&s);
	r.n = 0;
	h = hdr(0x0110, 5, CHIYODA, CHUO);
	put(&s, &h, &b);
	h = hdr(0x0110, 6, CHIYODA, "271004");                /* another municipality */
	put(&s, &h, &b);
	c = conn(NULL);
	run_all(c, INSP_FROM_LAN, &s, &r);
	assert_int_equal(r.n, 2);
	assert_deny(&r, INSP_PAIR_CHANGED, 0);
	/* the tunnel cannot then lead elsewhere */
	assert_false(insp_conn_set_peer(c, "271004"));
	assert_true(insp_conn_set_peer(c, CHUO));
	assert_true(insp_conn_set_peer(c, CHUO));
	assert_false(insp_conn_set_peer(c, TOKYO));
	assert_false(insp_conn_set_peer(c, "123456"));
	insp_conn_free(c);

	/* the other direction must mirror the pair */
	c = conn(CHUO);
	jf_reset(&s);
	r.n = 0;
	h = hdr(0x0110, 1, CHIYODA, CHUO);
	put(&s, &h, &b);
	run_all(c, INSP_FROM_LAN, &s, &r);
	assert_all_allowed(&r, 1);
	jf_reset(&s);
	h = hdr(0x0110, 1, CHUO, CHIYODA);                    /* mirrored: fine */
	put(&s, &h, &b);
	run_all(c, INSP_FROM_WAN, &s, &r);
	assert_all_allowed(&r, 2);
	insp_conn_free(c);
	jf_free(&s);
	jf_free(&b);
}

/* A catalog whose rules do not say `own-prefecture`: docs/protocol.md §5 still keeps a
 * municipality to its own prefecture's node, whichever end sends. */
static const char roles_jcat[] =
	"type 0x0181 up { pattern notice; from municipality to prefecture; body empty; }\n"
	"type 0x0182 anyway { pattern notice; from any to any; body empty; }\n"
	"type 0x0183 down { pattern notice; from prefecture to municipality; body empty; }\n"
	"type 0x0003 keepalive { pattern notice; from any to tunnel-peer; body empty; }\n"
	"type 0x0001 ack { pattern response; answers any; body empty; }\n";

/* One empty-bodied frame, alone on a new connection of gateway `local`. */
static void one_empty(const struct cat_catalog *cat, const char *local, const char *peer,
		      enum insp_dir dir, uint16_t type, const char *snd, const char *rcv,
		      struct run *r)
{
	struct insp_params p = { .catalog = cat, .skew_ms = 300000, .max_outstanding = 8 };
	struct jf_hdr h = hdr(type, 1, snd, rcv);
	struct jf_buf s;

	memcpy(p.local, local, sizeof(node_code));
	if (type == 0x0001) {
		h.flags = JMSG_FLAG_RESPONSE;
		h.ref = 1;
	}
	jf_init(&s);
	put(&s, &h, NULL);
	struct insp_conn *c = insp_conn_new(&p, peer);
	assert_non_null(c);
	r->n = 0;
	run_all(c, dir, &s, r);
	insp_conn_free(c);
	jf_free(&s);
}

static void test_own_prefecture_always(void **state)
{
	struct run r;
	(void)state;
	struct cat_catalog *roles = cat_load_buffer("roles.jcat", roles_jcat, strlen(roles_jcat),
						    NULL, NULL);
	assert_non_null(roles);

#define LAN(cat, type, rcv) one_empty(cat, CHIYODA, NULL, INSP_FROM_LAN, type, CHIYODA, rcv, &r)
#define WAN(cat, local, type, snd) one_empty(cat, local, snd, INSP_FROM_WAN, type, snd, local, &r)
	/* from municipality to prefecture: only its own */
	LAN(roles, 0x0181, TOKYO);
	assert_all_allowed(&r, 1);
	LAN(roles, 0x0181, OSAKA);
	assert_deny(&r, INSP_DIRECTION_NOT_ALLOWED, 0);
	/* from any to any: the same for a prefecture, nothing else changes */
	LAN(roles, 0x0182, TOKYO);
	assert_all_allowed(&r, 1);
	LAN(roles, 0x0182, CHUO);
	assert_all_allowed(&r, 1);
	LAN(roles, 0x0182, JLIS);
	assert_all_allowed(&r, 1);
	LAN(roles, 0x0182, OSAKA);
	assert_deny(&r, INSP_DIRECTION_NOT_ALLOWED, 0);
	/* keepalive, in both catalogs, before the tunnel peer is known */
	LAN(roles, 0x0003, OSAKA);
	assert_deny(&r, INSP_DIRECTION_NOT_ALLOWED, 0);
	LAN(catalog, 0x0003, OSAKA);
	assert_deny(&r, INSP_DIRECTION_NOT_ALLOWED, 0);
	LAN(catalog, 0x0003, TOKYO);
	assert_all_allowed(&r, 1);
	/* an answer addressed to another prefecture's node: refused for the
	 * direction before its missing request is looked for */
	LAN(roles, 0x0001, OSAKA);
	assert_deny(&r, INSP_DIRECTION_NOT_ALLOWED, 0);
	LAN(roles, 0x0001, CHUO);
	assert_deny(&r, INSP_UNSOLICITED_RESPONSE, 0);
	/* the prefecture as sender: into this municipality, or out of its own gateway */
	WAN(roles, CHIYODA, 0x0183, TOKYO);
	assert_all_allowed(&r, 1);
	WAN(roles, CHIYODA, 0x0183, OSAKA);
	assert_deny(&r, INSP_DIRECTION_NOT_ALLOWED, 0);
	WAN(roles, CHIYODA, 0x0003, OSAKA);
	assert_deny(&r, INSP_DIRECTION_NOT_ALLOWED, 0);
	WAN(catalog, CHIYODA, 0x0003, OSAKA);
	assert_deny(&r, INSP_DIRECTION_NOT_ALLOWED, 0);
	WAN(roles, OSAKA, 0x0182, CHIYODA);                  /* at Osaka's gateway */
	assert_deny(&r, INSP_DIRECTION_NOT_ALLOWED, 0);
	one_empty(roles, OSAKA, NULL, INSP_FROM_LAN, 0x0183, OSAKA, CHIYODA, &r);
	assert_deny(&r, INSP_DIRECTION_NOT_ALLOWED, 0);
	one_empty(roles, OSAKA, NULL, INSP_FROM_LAN, 0x0183, OSAKA, "271004", &r);
	assert_all_allowed(&r, 1);
#undef LAN
#undef WAN
	cat_free(roles);
}

/*
 * The clock rule for every time the wire can carry (u64) and every clock a
 * caller may pass (i64): no overflow (run under UBSan), and the answer of
 * exact arithmetic. The old d = time - now overflowed for a negative clock
 * (INT64_MIN - ... or INT64_MAX - INT64_MIN) and then let such frames pass.
 */
static void clock_case(int64_t skew, int64_t now, int64_t wire_time, bool allowed)
{
	struct insp_params p = { .catalog = catalog, .skew_ms = skew, .max_outstanding = 8 };
	struct jf_hdr h = hdr(0x0003, 1, CHIYODA, TOKYO);
	struct run r = { .n = 0 };
	struct jf_buf s;

	memcpy(p.local, CHIYODA, sizeof(node_code));
	h.time_ms = wire_time;                  /* jframe writes it as the u64 bit pattern */
	jf_init(&s);
	put(&s, &h, NULL);
	struct insp_conn *c = insp_conn_new(&p, NULL);
	assert_non_null(c);
	if (insp_feed(c, INSP_FROM_LAN, s.data, s.len, now, collect, &r))
		insp_finish(c, INSP_FROM_LAN, now, collect, &r);
	assert_int_equal(r.n, 1);
	if (r.f[0].allowed != allowed)
		fail_msg("skew %lld now %lld time 0x%016llx: %s, wanted %s", (long long)skew,
			 (long long)now, (unsigned long long)wire_time,
			 r.f[0].allowed ? "allow" : insp_reason_name(r.f[0].reason),
			 allowed ? "allow" : "clock-skew");
	if (!allowed)
		assert_int_equal(r.f[0].reason, INSP_CLOCK_SKEW);
	assert_true(r.f[0].time_ms == (uint64_t)wire_time);   /* reported exactly */
	insp_conn_free(c);
	jf_free(&s);
}

static void test_clock_extremes(void **state)
{
	const int64_t S = 300000, MAX = INT64_MAX, MIN = INT64_MIN;
	(void)state;

	clock_case(S, MIN, MAX, false);               /* old: wrapped to -1, allowed */
	clock_case(S, NOW, MAX, false);
	clock_case(S, NOW, MIN, false);               /* 2^63 on the wire */
	clock_case(S, NOW, -1, false);                /* 2^64 - 1 */
	clock_case(S, MIN, 0, false);
	clock_case(S, MIN, -1, false);
	clock_case(S, MAX, -1, false);
	clock_case(S, MAX, MIN, true);                /* 2^63 - (2^63 - 1) = 1 */
	clock_case(S, MAX, MAX - S, true);
	clock_case(S, MAX, MAX - S - 1, false);
	clock_case(S, -1, 0, true);
	clock_case(S, -S, 0, true);
	clock_case(S, -S - 1, 0, false);
	clock_case(S, 0, S, true);
	clock_case(S, 0, S + 1, false);
	clock_case(MAX, MAX, 0, true);                /* distance INT64_MAX: inside */
	clock_case(MAX, MIN, 0, false);               /* distance 2^63: outside */
	clock_case(MAX, 0, MIN, false);               /* 2^63 on the wire, clock 0 */
	clock_case(MAX, 1, MIN, true);
	clock_case(MAX, MIN, -1, false);
}

/* Requests, answers, duplicates, and the bounded table. */
static void test_state(void **state)
{
	struct jf_buf lan, wan, b;
	struct run r = { .n = 0 };
	(void)state;
	jf_init(&lan);
	jf_init(&wan);
	jf_init(&b);

	struct insp_conn *c = conn(CHUO);
	/* 広域交付 request out, its answer back */
	jf_body_Q(&b, 1, CHUO);
	struct jf_hdr h = hdr(0x0112, 10, CHIYODA, CHUO);
	put(&lan, &h, &b);
	assert_true(insp_feed(c, INSP_FROM_LAN, lan.data, lan.len, NOW, collect, &r));
	jf_reset(&b);
	jf_body_D(&b, 3000);
	h = hdr(0x0113, 1, CHUO, CHIYODA);
	h.flags = 1;
	h.ref = 10;
	put(&wan, &h, &b);
	assert_true(insp_feed(c, INSP_FROM_WAN, wan.data, wan.len, NOW, collect, &r));
	assert_all_allowed(&r, 2);
	/* a second answer to the same request */
	jf_reset(&wan);
	h.seq = 2;
	put(&wan, &h, &b);
	assert_false(insp_feed(c, INSP_FROM_WAN, wan.data, wan.len, NOW, collect, &r));
	assert_deny(&r, INSP_DUPLICATE_RESPONSE, 0);
	/* after a deny nothing more is inspected */
	size_t n = r.n;
	assert_false(insp_feed(c, INSP_FROM_LAN, lan.data, lan.len, NOW, collect, &r));
	assert_false(insp_finish(c, INSP_FROM_LAN, NOW, collect, &r));
	assert_int_equal(r.n, n);
	assert_true(insp_conn_denied(c));
	insp_conn_free(c);

	/* an answer of the wrong type, and an ack to our own request */
	c = conn(CHUO);
	r.n = 0;
	jf_reset(&lan);
	jf_reset(&b);
	jf_body_Q(&b, 1, CHUO);
	h = hdr(0x0112, 10, CHIYODA, CHUO);
	put(&lan, &h, &b);
	assert_true(insp_feed(c, INSP_FROM_LAN, lan.data, lan.len, NOW, collect, &r));
	jf_reset(&wan);
	jf_reset(&b);
	jf_body_N(&b, 1);
	h = hdr(0x0121, 1, CHUO, CHIYODA);                    /* 番号通知 does not answer 広域交付 */
	h.flags = 1;
	h.ref = 10;
	put(&wan, &h, &b);
	assert_false(insp_feed(c, INSP_FROM_WAN, wan.data, wan.len, NOW, collect, &r));
	assert_deny(&r, INSP_UNSOLICITED_RESPONSE, 0);
	insp_conn_free(c);

	c = conn(CHUO);
	r.n = 0;
	assert_true(insp_feed(c, INSP_FROM_LAN, lan.data, lan.len, NOW, collect, &r));
	jf_reset(&lan);
	jf_reset(&b);
	jf_body_A(&b, 0);
	h = hdr(0x0001, 11, CHIYODA, CHUO);                   /* ack from the side that asked */
	h.flags = 1;
	h.ref = 10;
	put(&lan, &h, &b);
	assert_false(insp_feed(c, INSP_FROM_LAN, lan.data, lan.len, NOW, collect, &r));
	assert_deny(&r, INSP_UNSOLICITED_RESPONSE, 0);
	insp_conn_free(c);

	/* an answer to a request whose frame is not complete yet */
	c = conn(CHUO);
	r.n = 0;
	jf_reset(&lan);
	jf_reset(&b);
	jf_body_Q(&b, 1, CHUO);
	h = hdr(0x0112, 10, CHIYODA, CHUO);
	put(&lan, &h, &b);
	assert_true(insp_feed(c, INSP_FROM_LAN, lan.data, lan.len - 1, NOW, collect, &r));
	assert_int_equal(r.n, 0);
	assert_int_equal(insp_allowed_offset(c, INSP_FROM_LAN), 0);
	jf_reset(&wan);
	jf_reset(&b);
	jf_body_A(&b, 0);
	h = hdr(0x0001, 1, CHUO, CHIYODA);
	h.flags = 1;
	h.ref = 10;
	put(&wan, &h, &b);
	assert_false(insp_feed(c, INSP_FROM_WAN, wan.data, wan.len, NOW, collect, &r));
	assert_deny(&r, INSP_UNSOLICITED_RESPONSE, 0);
	insp_conn_free(c);

	jf_free(&lan);
	jf_free(&wan);
	jf_free(&b);
}

static void test_rate_limited(void **state)
{
	struct jf_buf s, wan, b, a;
	struct run r = { .n = 0 };
	(void)state;
	jf_init(&s);
	jf_init(&wan);
	jf_init(&a);
	body_T(&b);
	jf_body_A(&a, 0);

	struct insp_conn *c = conn_with(catalog, CHUO, 2);
	for (uint64_t seq = 1; seq <= 2; seq++) {
		struct jf_hdr h = hdr(0x0110, seq, CHIYODA, CHUO);
		put(&s, &h, &b);
	}
	assert_true(insp_feed(c, INSP_FROM_LAN, s.data, s.len, NOW, collect, &r));
	/* an answer frees a place ... */
	struct jf_hdr h = hdr(0x0001, 1, CHUO, CHIYODA);
	h.flags = 1;
	h.ref = 2;
	put(&wan, &h, &a);
	assert_true(insp_feed(c, INSP_FROM_WAN, wan.data, wan.len, NOW, collect, &r));
	jf_reset(&s);
	h = hdr(0x0110, 3, CHIYODA, CHUO);
	put(&s, &h, &b);
	assert_true(insp_feed(c, INSP_FROM_LAN, s.data, s.len, NOW, collect, &r));
	assert_all_allowed(&r, 4);
	/* ... and the next one finds the table full */
	jf_reset(&s);
	h = hdr(0x0110, 4, CHIYODA, CHUO);
	put(&s, &h, &b);
	assert_false(insp_feed(c, INSP_FROM_LAN, s.data, s.len, NOW, collect, &r));
	assert_deny(&r, INSP_RATE_LIMITED, 0);
	insp_conn_free(c);

	/* many answered requests in a row never fill it */
	c = conn_with(catalog, CHUO, 2);
	r.n = 0;
	for (uint64_t seq = 1; seq <= 50; seq++) {
		jf_reset(&s);
		jf_reset(&wan);
		h = hdr(0x0110, seq, CHIYODA, CHUO);
		put(&s, &h, &b);
		assert_true(insp_feed(c, INSP_FROM_LAN, s.data, s.len, NOW, collect, &r));
		h = hdr(0x0002, seq, CHUO, CHIYODA);
		h.flags = 1;
		h.ref = seq;
		put(&wan, &h, &a);
		assert_true(insp_feed(c, INSP_FROM_WAN, wan.data, wan.len, NOW, collect, &r));
	}
	assert_all_allowed(&r, 100);
	insp_conn_free(c);
	jf_free(&s);
	jf_free(&wan);
	jf_free(&b);
	jf_free(&a);
}

/*
 * One system per connection (docs/catalog.md: 0x01xx 住基ネット, 0x02xx 附票連携
 * システム): the first frame of a system-specific type fixes it, in either
 * direction; ack, nack and keepalive (0x00xx) go with either.
 */
static void test_system(void **state)
{
	struct jf_buf lan, wan, b;
	struct run r = { .n = 0 };
	(void)state;
	jf_init(&lan);
	jf_init(&wan);
	jf_init(&b);

	/* 住基 then 附票 from the LAN: the second is denied at its header. */
	struct jf_hdr h = hdr(0x0003, 1, CHIYODA, TOKYO);
	put(&lan, &h, NULL);
	jf_body_R(&b, 2, 1, CHIYODA);
	h = hdr(0x0101, 2, CHIYODA, TOKYO);
	put(&lan, &h, &b);
	jf_reset(&b);
	jf_body_F(&b, 2, 1, CHIYODA);
	h = hdr(0x0201, 3, CHIYODA, TOKYO);
	put(&lan, &h, &b);
	struct insp_conn *c = conn(TOKYO);
	run_all(c, INSP_FROM_LAN, &lan, &r);
	assert_int_equal(r.n, 3);
	assert_true(r.f[0].allowed && r.f[1].allowed);
	assert_deny(&r, INSP_SYSTEM_MISMATCH, 0);
	assert_int_equal(last(&r)->length, JMSG_HDR_LEN);      /* decided at the header */
	assert_int_equal(last(&r)->system, CAT_SYS_FUHYO);
	assert_int_equal(insp_conn_system(c), CAT_SYS_JUKI);
	assert_string_equal(insp_reason_name(INSP_SYSTEM_MISMATCH), "system-mismatch");
	insp_conn_free(c);

	/* The other direction is held to the same system: 附票 out, then a
	 * 住基 answer back (before it could be unsolicited). */
	c = conn(TOKYO);
	r.n = 0;
	jf_reset(&lan);
	h = hdr(0x0201, 1, CHIYODA, TOKYO);
	put(&lan, &h, &b);
	/* Only the header: the system is fixed before the body is in. */
	assert_true(insp_feed(c, INSP_FROM_LAN, lan.data, JMSG_HDR_LEN, NOW, collect, &r));
	assert_int_equal(insp_conn_system(c), CAT_SYS_FUHYO);
	jf_reset(&b);
	jf_body_D(&b, 10);
	h = hdr(0x0113, 1, TOKYO, CHIYODA);
	h.flags = JMSG_FLAG_RESPONSE;
	h.ref = 1;
	put(&wan, &h, &b);
	assert_false(insp_feed(c, INSP_FROM_WAN, wan.data, wan.len, NOW, collect, &r));
	assert_int_equal(r.n, 1);
	assert_deny(&r, INSP_SYSTEM_MISMATCH, 0);
	assert_int_equal(last(&r)->dir, INSP_FROM_WAN);
	insp_conn_free(c);

	/* Answers and keepalives of any system leave it open; the pair is
	 * judged before the system, the direction rule after it. */
	c = conn(CHUO);
	r.n = 0;
	jf_reset(&lan);
	jf_reset(&wan);
	h = hdr(0x0003, 1, CHIYODA, CHUO);
	put(&lan, &h, NULL);
	jf_reset(&b);
	jf_body_A(&b, 0);
	h = hdr(0x0001, 1, CHUO, CHIYODA);
	h.flags = JMSG_FLAG_RESPONSE;
	h.ref = 1;
	put(&wan, &h, &b);
	assert_true(insp_feed(c, INSP_FROM_LAN, lan.data, lan.len, NOW, collect, &r));
	assert_true(insp_feed(c, INSP_FROM_WAN, wan.data, wan.len, NOW, collect, &r));
	assert_all_allowed(&r, 2);
	assert_int_equal(insp_conn_system(c), 0);
	jf_reset(&lan);
	jf_reset(&b);
	jf_body_T(&b, 3, CHIYODA);
	h = hdr(0x0110, 2, CHIYODA, CHUO);                     /* 住基 */
	put(&lan, &h, &b);
	h = hdr(0x0201, 3, CHIYODA, CHUO);                     /* 附票, and the wrong direction */
	put(&lan, &h, &b);
	assert_false(insp_feed(c, INSP_FROM_LAN, lan.data, lan.len, NOW, collect, &r));
	assert_int_equal(r.n, 4);
	assert_deny(&r, INSP_SYSTEM_MISMATCH, 0);
	insp_conn_free(c);
	r.n = 0;
	jf_reset(&lan);
	h = hdr(0x0110, 1, CHIYODA, CHUO);
	put(&lan, &h, &b);
	h = hdr(0x0201, 2, CHIYODA, "271004");                 /* another pair as well */
	put(&lan, &h, &b);
	c = conn(NULL);
	run_all(c, INSP_FROM_LAN, &lan, &r);
	assert_deny(&r, INSP_PAIR_CHANGED, 0);
	insp_conn_free(c);

	/* Fixed from outside (a relay that chose its only server). */
	c = conn(TOKYO);
	assert_false(insp_conn_set_system(c, 0));
	assert_false(insp_conn_set_system(c, (enum cat_system)3));
	assert_true(insp_conn_set_system(c, CAT_SYS_FUHYO));
	assert_true(insp_conn_set_system(c, CAT_SYS_FUHYO));
	assert_false(insp_conn_set_system(c, CAT_SYS_JUKI));
	r.n = 0;
	jf_reset(&lan);
	jf_reset(&b);
	jf_body_R(&b, 1, 1, CHIYODA);
	h = hdr(0x0101, 1, CHIYODA, TOKYO);
	put(&lan, &h, &b);
	run_all(c, INSP_FROM_LAN, &lan, &r);
	assert_deny(&r, INSP_SYSTEM_MISMATCH, 0);
	insp_conn_free(c);

	jf_free(&lan);
	jf_free(&wan);
	jf_free(&b);
}

/* A capture that began mid-connection: an answer to a request from before
 * it is unverified (allowed, flagged), not unsolicited-response. */
static void test_midstream_unverified(void **state)
{
	struct jf_buf lan, wan, a, t;
	struct run r = { .n = 0 };
	(void)state;
	jf_init(&lan);
	jf_init(&wan);
	jf_init(&a);
	jf_init(&t);
	jf_body_A(&a, 0);
	jf_body_T(&t, 4, CHIYODA);

#define ACK(seq_, ref_) do { \
	struct jf_hdr h_ = hdr(0x0001, seq_, CHUO, CHIYODA); \
	h_.flags = JMSG_FLAG_RESPONSE; \
	h_.ref = ref_; \
	jf_reset(&wan); \
	put(&wan, &h_, &a); \
} while (0)
	struct insp_conn *c = conn(CHUO);
	assert_true(insp_conn_set_midstream(c));
	ACK(3, 5);                        /* nothing seen from the LAN yet */
	assert_true(insp_feed(c, INSP_FROM_WAN, wan.data, wan.len, NOW, collect, &r));
	assert_int_equal(r.n, 1);
	assert_true(r.f[0].allowed && r.f[0].unverified && r.f[0].reason == INSP_OK);
	struct jf_hdr h = hdr(0x0110, 10, CHIYODA, CHUO);
	put(&lan, &h, &t);
	assert_true(insp_feed(c, INSP_FROM_LAN, lan.data, lan.len, NOW, collect, &r));
	ACK(4, 10);                       /* answers what was seen: verified */
	assert_true(insp_feed(c, INSP_FROM_WAN, wan.data, wan.len, NOW, collect, &r));
	ACK(5, 7);                        /* below the first seq seen: before the capture */
	assert_true(insp_feed(c, INSP_FROM_WAN, wan.data, wan.len, NOW, collect, &r));
	ACK(6, 7);                        /* again: still nothing to check it against */
	assert_true(insp_feed(c, INSP_FROM_WAN, wan.data, wan.len, NOW, collect, &r));
	assert_all_allowed(&r, 5);
	assert_false(r.f[1].unverified || r.f[2].unverified);
	assert_true(r.f[3].unverified && r.f[4].unverified);
	assert_int_equal(insp_allowed_offset(c, INSP_FROM_WAN), 4 * wan.len);
	ACK(7, 10);                       /* seen and answered: still a duplicate */
	assert_false(insp_feed(c, INSP_FROM_WAN, wan.data, wan.len, NOW, collect, &r));
	assert_deny(&r, INSP_DUPLICATE_RESPONSE, 0);
	assert_false(last(&r)->unverified);
	insp_conn_free(c);

	/* A ref at or above the first seq seen was never sent: unsolicited. */
	c = conn(CHUO);
	assert_true(insp_conn_set_midstream(c));
	r.n = 0;
	assert_true(insp_feed(c, INSP_FROM_LAN, lan.data, lan.len, NOW, collect, &r));
	ACK(1, 12);
	assert_false(insp_feed(c, INSP_FROM_WAN, wan.data, wan.len, NOW, collect, &r));
	assert_deny(&r, INSP_UNSOLICITED_RESPONSE, 0);
	assert_false(insp_conn_set_midstream(c));    /* only before the first byte */
	insp_conn_free(c);

	/* An unverified answer with a bad body is a plain deny. */
	c = conn(CHUO);
	assert_true(insp_conn_set_midstream(c));
	r.n = 0;
	h = hdr(0x0001, 1, CHUO, CHIYODA);
	h.flags = JMSG_FLAG_RESPONSE;
	h.ref = 3;
	jf_reset(&wan);
	put(&wan, &h, &t);                /* an ack with a T body */
	assert_false(insp_feed(c, INSP_FROM_WAN, wan.data, wan.len, NOW, collect, &r));
	assert_false(last(&r)->allowed || last(&r)->unverified);
	insp_conn_free(c);

	/* Live (not midstream): the same first answer is unsolicited. */
	c = conn(CHUO);
	r.n = 0;
	ACK(3, 5);
	assert_false(insp_feed(c, INSP_FROM_WAN, wan.data, wan.len, NOW, collect, &r));
	assert_deny(&r, INSP_UNSOLICITED_RESPONSE, 0);
	assert_false(last(&r)->unverified);
	insp_conn_free(c);
#undef ACK
	jf_free(&lan);
	jf_free(&wan);
	jf_free(&a);
	jf_free(&t);
}

/* Body rules of docs/protocol.md §3 on the default catalog's shapes. */
static void test_tlv_reasons(void **state)
{
	struct jf_buf b;
	struct run r;
	char rc[12], in[13];
	(void)state;
	jf_init(&b);
	jf_resident_code(3, rc);
	jf_individual_number(3, in);

#define BODY(type, build, reason, field) do { \
	jf_reset(&b); \
	build; \
	r.n = 0; \
	one_lan(hdr(type, 1, CHIYODA, JLIS), &b, &r); \
	assert_deny(&r, reason, field); \
} while (0)
	/* 0x0120 番号生成要求 (G: 0x0010, 0x0019) to 機構 */
	BODY(0x0120, (jf_tlv_str(&b, 0x0010, rc), jf_tlv_str(&b, 0x0019, CHIYODA), jf_tlv_str(&b, 0x0010, rc)),
	     INSP_TLV_ORDER, 0x0010);
	/* a field that skips a required one: the skipped one is missing */
	BODY(0x0120, (jf_tlv_str(&b, 0x0019, CHIYODA), jf_tlv_str(&b, 0x0010, rc)),
	     INSP_TLV_MISSING, 0x0010);
	BODY(0x0120, (jf_tlv_str(&b, 0x0010, rc), jf_tlv_str(&b, 0x0010, rc), jf_tlv_str(&b, 0x0019, CHIYODA)),
	     INSP_TLV_REPEAT, 0x0010);
	BODY(0x0120, (jf_tlv_str(&b, 0x0010, rc), jf_tlv_str(&b, 0x0011, in), jf_tlv_str(&b, 0x0019, CHIYODA)),
	     INSP_TLV_UNKNOWN_TAG, 0x0011);                    /* a field of another shape */
	BODY(0x0120, (jf_tlv_str(&b, 0x0010, rc)), INSP_TLV_MISSING, 0x0019);
	BODY(0x0120, (jf_tlv_str(&b, 0x0019, CHIYODA)), INSP_TLV_MISSING, 0x0010);
	BODY(0x0120, (void)0, INSP_TLV_MISSING, 0x0010);        /* empty body */
	BODY(0x0120, (jf_tlv_str(&b, 0x0010, rc), jf_tlv_str(&b, 0x0019, CHIYODA), jf_bytes(&b, "\0\0", 2)),
	     INSP_TLV_TRAILING, 0);
	BODY(0x0120, (jf_tlv_str(&b, 0x0010, rc), jf_bytes(&b, "\x00\x19\x00\x07" CHIYODA, 10)),
	     INSP_TLV_TRUNCATED, 0x0019);                      /* claims 7, 6 left */
	BODY(0x0120, (jf_tlv_str(&b, 0x0010, rc), jf_bytes(&b, "\x00\x19\x00", 3)),
	     INSP_TLV_TRAILING, 0);                            /* 3 bytes: no room for a field */
	BODY(0x0120, (jf_tlv_str(&b, 0x8001, ""), jf_tlv_str(&b, 0x0010, rc)),
	     INSP_TLV_UNKNOWN_TAG, 0x8001);                    /* no container in G */
	/* containers */
	BODY(0x0101, (void)0, INSP_DIRECTION_NOT_ALLOWED, 0); /* to 機構: wrong way first */
#undef BODY
#define BODY(type, build, reason, field) do { \
	jf_reset(&b); \
	build; \
	r.n = 0; \
	one_lan(hdr(type, 1, CHIYODA, TOKYO), &b, &r); \
	assert_deny(&r, reason, field); \
} while (0)
	BODY(0x0101, (void)0, INSP_TLV_MISSING, 0x8001);       /* no record */
	/* an optional field after a later one is out of order all the same */
	BODY(0x0103, (jf_body_T(&b, 1, CHIYODA), jf_tlv_str(&b, 0x001A, "試験県見本市架空町二番地")),
	     INSP_TLV_ORDER, 0x001A);
	BODY(0x0101, (jf_tlv_str(&b, 0x0010, rc)), INSP_TLV_UNKNOWN_TAG, 0x0010); /* outside a record */
	BODY(0x0101, (jf_tlv_str(&b, 0x8001, "")), INSP_TLV_MISSING, 0x0010);      /* an empty record */
	BODY(0x0101, (jf_body_F(&b, 1, 1, CHIYODA)), INSP_TLV_MISSING, 0x0011);    /* F record in an R batch */
	BODY(0x0201, (jf_body_R(&b, 1, 1, CHIYODA)), INSP_TLV_UNKNOWN_TAG, 0x0011);
	BODY(0x0101, (jf_body_R(&b, 1001, 1, CHIYODA)), INSP_TLV_REPEAT, 0x8001);  /* 1001 records */
	BODY(0x0101, ({ size_t m = jf_container_begin(&b, 0x8001);
			size_t m2 = jf_container_begin(&b, 0x8001);
			jf_container_end(&b, m2); jf_container_end(&b, m); }),
	     INSP_TLV_UNKNOWN_TAG, 0x8001);                    /* containers do not nest */
	BODY(0x0101, ({ jf_body_R(&b, 1, 1, CHIYODA); b.data[3] -= 1; jf_bytes(&b, "", 0); }),
	     INSP_TLV_TRUNCATED, 0x0019);                      /* record one byte short */
	BODY(0x0101, ({ jf_body_R(&b, 1, 1, CHIYODA); b.data[3] += 2; jf_bytes(&b, "\0\0", 2); }),
	     INSP_TLV_TRAILING, 0);                            /* 2 stray bytes in a record */
	BODY(0x0101, ({ jf_body_R(&b, 1, 1, CHIYODA); b.data[3] += 1; }),
	     INSP_TLV_TRUNCATED, 0x8001);                      /* record longer than the body */
#undef BODY
	/* ack without its result */
	jf_reset(&b);
	r.n = 0;
	struct jf_buf s, q;
	jf_init(&s);
	jf_init(&q);
	jf_body_Q(&q, 1, CHUO);
	struct jf_hdr h = hdr(0x0112, 4, CHIYODA, CHUO);
	put(&s, &h, &q);
	struct insp_conn *c = conn(CHUO);
	assert_true(insp_feed(c, INSP_FROM_LAN, s.data, s.len, NOW, collect, &r));
	jf_reset(&s);
	h = hdr(0x0001, 1, CHUO, CHIYODA);
	h.flags = 1;
	h.ref = 4;
	put(&s, &h, NULL);
	assert_false(insp_feed(c, INSP_FROM_WAN, s.data, s.len, NOW, collect, &r));
	assert_deny(&r, INSP_TLV_MISSING, 0x0030);
	insp_conn_free(c);
	/* keepalive has an empty body */
	r.n = 0;
	jf_tlv_str(&b, 0x0030, "\x00");
	one_lan(hdr(0x0003, 1, CHIYODA, TOKYO), &b, &r);
	assert_deny(&r, INSP_TLV_UNKNOWN_TAG, 0x0030);
	jf_free(&b);
	jf_free(&s);
	jf_free(&q);
}

static void test_truncated_frame(void **state)
{
	struct jf_buf s, b;
	struct run r = { .n = 0 };
	(void)state;
	jf_init(&s);
	body_T(&b);
	struct jf_hdr h = hdr(0x0103, 1, CHIYODA, TOKYO);
	put(&s, &h, &b);
	h.seq = 2;
	put(&s, &h, &b);
	size_t one = 48 + b.len;

	/* cut in the body, in the header, and after two bytes */
	const size_t cuts[] = { s.len - 1, one + 47, one + 2, one + 1 };
	for (size_t i = 0; i < 4; i++) {
		r.n = 0;
		struct insp_conn *c = conn(NULL);
		assert_true(insp_feed(c, INSP_FROM_LAN, s.data, cuts[i], NOW, collect, &r));
		assert_int_equal(r.n, 1);
		assert_int_equal(insp_allowed_offset(c, INSP_FROM_LAN), one);
		assert_false(insp_finish(c, INSP_FROM_LAN, NOW, collect, &r));
		assert_deny(&r, INSP_TRUNCATED_FRAME, 0);
		assert_int_equal(last(&r)->offset, one);
		assert_int_equal(last(&r)->length, cuts[i] - one);
		assert_int_equal(last(&r)->index, 2);
		insp_conn_free(c);
	}
	/* a clean end */
	r.n = 0;
	struct insp_conn *c = conn(NULL);
	assert_true(insp_feed(c, INSP_FROM_LAN, s.data, s.len, NOW, collect, &r));
	assert_true(insp_finish(c, INSP_FROM_LAN, NOW, collect, &r));
	assert_all_allowed(&r, 2);
	insp_conn_free(c);
	jf_free(&s);
	jf_free(&b);
}

/* ---- value kinds inside frames ------------------------------------------------ */

struct kv {
	uint16_t tag;
	const char *v;
	size_t len;
};

static void kinds_body(struct jf_buf *b, const struct kv *fields, size_t n)
{
	for (size_t i = 0; i < n; i++)
		jf_tlv(b, fields[i].tag, fields[i].v, fields[i].len);
}

#define KV(tag, s) { tag, s, sizeof(s) - 1 }

static const struct kv good[] = {
	KV(0x0001, "042"), KV(0x0002, "000000"), KV(0x0003, "401307"), KV(0x0004, "24727059608"),
	KV(0x0005, "983205673214"), KV(0x0006, "20240229"), KV(0x0007, "千代"),
	KV(0x0008, "yes"), KV(0x0009, "\x00\x00\x00\x00"), KV(0x000A, "\xff\x00\x7f"),
};
#define N_GOOD (sizeof(good) / sizeof(good[0]))

static void kinds_case(uint16_t type, const struct kv *bad, bool in_record, struct run *r)
{
	struct jf_buf b, s;
	struct kv fields[N_GOOD];
	jf_init(&b);
	jf_init(&s);
	memcpy(fields, good, sizeof(fields));
	if (bad)
		fields[bad->tag - 1] = *bad;
	size_t mark = in_record ? jf_container_begin(&b, 0x8001) : 0;
	kinds_body(&b, fields, N_GOOD);
	if (in_record)
		jf_container_end(&b, mark);
	struct jf_hdr h = hdr(type, 1, CHIYODA, "352063");
	put(&s, &h, &b);
	struct insp_conn *c = conn_with(kinds, NULL, 8);
	r->n = 0;
	run_all(c, INSP_FROM_LAN, &s, r);
	insp_conn_free(c);
	jf_free(&b);
	jf_free(&s);
}

static void test_value_kinds(void **state)
{
	static const struct kv bad[] = {
		KV(0x0001, "04"), KV(0x0001, "0420"), KV(0x0001, "04a"),
		KV(0x0002, "000001"), KV(0x0002, "13101"), KV(0x0002, "131017"),
		KV(0x0003, "000000"), KV(0x0003, "401306"), KV(0x0003, "480001"),
		KV(0x0004, "24727059609"), KV(0x0004, "2472705960"), KV(0x0004, "2472705960X"),
		KV(0x0005, "983205673215"), KV(0x0005, "98320567321"), KV(0x0005, "24727059608"),
		KV(0x0006, "20230229"), KV(0x0006, "18671231"), KV(0x0006, "22010101"),
		KV(0x0006, "20241301"), KV(0x0006, "2024023"),
		KV(0x0007, ""), KV(0x0007, "千代田区"), KV(0x0007, "a\tb"), KV(0x0007, "\xc0\xaf"),
		KV(0x0007, "\xed\xa0\x80"), KV(0x0007, "ab\x7f"), KV(0x0007, "\xe5\x8d"),
		KV(0x0008, "YES"), KV(0x0008, "maybe"), KV(0x0008, ""),
		KV(0x0009, "\x00\x00\x00"), KV(0x0009, "\x00\x00\x00\x00\x00"),
		KV(0x000A, ""), KV(0x000A, "\x01\x02\x03\x04"),
	};
	struct run r;
	(void)state;

	kinds_case(0x0101, NULL, false, &r);
	assert_all_allowed(&r, 1);
	kinds_case(0x0102, NULL, true, &r);
	assert_all_allowed(&r, 1);
	assert_int_equal(r.f[0].records, 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (int in_record = 0; in_record <= 1; in_record++) {
			kinds_case(in_record ? 0x0102 : 0x0101, &bad[i], in_record, &r);
			assert_int_equal(r.n, 1);
			assert_deny(&r, INSP_BAD_VALUE, bad[i].tag);
		}
	}
}

static void test_repeat_bounds(void **state)
{
	struct run r;
	(void)state;
	for (int n = 0; n <= 4; n++) {
		struct jf_buf b, s;
		jf_init(&b);
		jf_init(&s);
		for (int i = 0; i < n; i++)
			jf_tlv_str(&b, 0x0001, "123");
		jf_tlv_str(&b, 0x0007, "x");
		struct jf_hdr h = hdr(0x0103, 1, CHIYODA, TOKYO);
		put(&s, &h, &b);
		struct insp_conn *c = conn_with(kinds, NULL, 8);
		r.n = 0;
		run_all(c, INSP_FROM_LAN, &s, &r);
		if (n == 2 || n == 3)
			assert_all_allowed(&r, 1);
		else if (n < 2)
			assert_deny(&r, INSP_TLV_MISSING, 0x0001);
		else
			assert_deny(&r, INSP_TLV_REPEAT, 0x0001);
		insp_conn_free(c);
		jf_free(&b);
		jf_free(&s);
	}
}

/* A 2024 戸籍 message, added to the catalog file only. */
static void test_extended_catalog_enforced(void **state)
{
	struct jf_buf b, s;
	struct run r = { .n = 0 };
	char rc[12];
	(void)state;
	jf_init(&b);
	jf_init(&s);
	jf_resident_code(42, rc);
	jf_tlv_str(&b, 0x0010, rc);
	jf_tlv_str(&b, 0x0012, "試験　花子");
	jf_tlv_str(&b, 0x001C, "試験県見本市一番地");
	jf_tlv_str(&b, 0x0040, "0000012345");
	struct jf_hdr h = hdr(0x0301, 1, CHIYODA, JLIS);
	put(&s, &h, &b);

	struct insp_conn *c = conn_with(koseki, NULL, 8);
	run_all(c, INSP_FROM_LAN, &s, &r);
	assert_all_allowed(&r, 1);
	assert_string_equal(r.f[0].type_name, "koseki-kankei-tsuchi");
	assert_int_equal(r.f[0].system, CAT_SYS_FUHYO);
	insp_conn_free(c);

	r.n = 0;
	c = conn(NULL);                                        /* the default catalog */
	run_all(c, INSP_FROM_LAN, &s, &r);
	assert_deny(&r, INSP_UNKNOWN_TYPE, 0);
	insp_conn_free(c);

	r.n = 0;                                               /* its rules hold */
	jf_reset(&s);
	h.receiver = TOKYO;
	put(&s, &h, &b);
	c = conn_with(koseki, NULL, 8);
	run_all(c, INSP_FROM_LAN, &s, &r);
	assert_deny(&r, INSP_DIRECTION_NOT_ALLOWED, 0);
	insp_conn_free(c);

	r.n = 0;
	jf_reset(&s);
	b.data[b.len - 1] = 'x';                               /* koseki-number not digits */
	h.receiver = JLIS;
	put(&s, &h, &b);
	c = conn_with(koseki, NULL, 8);
	run_all(c, INSP_FROM_LAN, &s, &r);
	assert_deny(&r, INSP_BAD_VALUE, 0x0040);
	insp_conn_free(c);
	jf_free(&b);
	jf_free(&s);
}

/* ---- the cut of the stream does not matter ---------------------------------------- */

static bool same_frame(const struct insp_frame *a, const struct insp_frame *b)
{
	return a->index == b->index && a->offset == b->offset && a->length == b->length &&
	       a->type == b->type && a->allowed == b->allowed && a->reason == b->reason &&
	       a->field == b->field && a->records == b->records && a->seq == b->seq &&
	       a->ref == b->ref && a->body_len == b->body_len && a->flags == b->flags &&
	       strcmp(a->sender, b->sender) == 0 && strcmp(a->receiver, b->receiver) == 0;
}

static void assert_same(const struct run *a, const struct run *b, const char *what, size_t at)
{
	if (a->n != b->n)
		fail_msg("%s %zu: %zu verdicts, %zu whole", what, at, b->n, a->n);
	for (size_t i = 0; i < a->n; i++)
		if (!same_frame(&a->f[i], &b->f[i]))
			fail_msg("%s %zu: frame %zu differs (%s vs %s)", what, at, i + 1,
				 insp_reason_name(b->f[i].reason), insp_reason_name(a->f[i].reason));
}

/* Feed s cut at the given points. */
static void run_cut(const struct jf_buf *s, const size_t *cuts, size_t n_cuts, struct run *r)
{
	struct insp_conn *c = conn(NULL);
	size_t at = 0;
	bool ok = true;
	r->n = 0;
	for (size_t i = 0; ok && i <= n_cuts; i++) {
		size_t end = i < n_cuts ? cuts[i] : s->len;
		ok = insp_feed(c, INSP_FROM_LAN, s->data + at, end - at, NOW, collect, r);
		at = end;
	}
	if (ok)
		insp_finish(c, INSP_FROM_LAN, NOW, collect, r);
	insp_conn_free(c);
}

static void check_every_cut(const struct jf_buf *s)
{
	static struct run whole, part;
	run_cut(s, NULL, 0, &whole);
	assert_true(whole.n > 0);
	for (size_t k = 0; k <= s->len; k++) {
		run_cut(s, &k, 1, &part);
		assert_same(&whole, &part, "split at", k);
	}
	/* one byte at a time */
	size_t *all = malloc(s->len * sizeof(*all));
	assert_non_null(all);
	for (size_t k = 0; k < s->len; k++)
		all[k] = k;
	run_cut(s, all, s->len, &part);
	assert_same(&whole, &part, "byte by byte", 0);
	/* random cuts, reproducibly */
	uint32_t x = 2463534242u;
	for (int round = 0; round < 50; round++) {
		size_t n = 0, at = 0;
		while (at < s->len) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			at += 1 + x % 97;
			if (at < s->len)
				all[n++] = at;
		}
		run_cut(s, all, n, &part);
		assert_same(&whole, &part, "random round", (size_t)round);
	}
	free(all);
}

/* 住基: an R batch, a 転出確定, a keepalive and another R batch. */
static void good_stream(struct jf_buf *s)
{
	struct jf_buf b;
	jf_init(&b);
	struct jf_hdr h = hdr(0x0101, 1, CHIYODA, TOKYO);
	jf_body_R(&b, 4, 1, CHIYODA);
	put(s, &h, &b);
	jf_reset(&b);
	h = hdr(0x0103, 2, CHIYODA, TOKYO);
	jf_body_T(&b, 8, CHIYODA);
	put(s, &h, &b);
	h = hdr(0x0003, 3, CHIYODA, TOKYO);
	put(s, &h, NULL);
	jf_reset(&b);
	h = hdr(0x0101, 4, CHIYODA, TOKYO);
	jf_body_R(&b, 3, 11, CHIYODA);
	put(s, &h, &b);
	jf_free(&b);
}

/* 附票: a keepalive and two F batches. */
static void good_fuhyo_stream(struct jf_buf *s)
{
	struct jf_buf b;
	jf_init(&b);
	struct jf_hdr h = hdr(0x0003, 1, CHIYODA, TOKYO);
	put(s, &h, NULL);
	h = hdr(0x0201, 2, CHIYODA, TOKYO);
	jf_body_F(&b, 3, 11, CHIYODA);
	put(s, &h, &b);
	jf_reset(&b);
	h = hdr(0x0201, 3, CHIYODA, TOKYO);
	jf_body_F(&b, 2, 21, CHIYODA);
	put(s, &h, &b);
	jf_free(&b);
}

static void test_split_allowed(void **state)
{
	struct jf_buf s;
	(void)state;
	jf_init(&s);
	good_stream(&s);
	check_every_cut(&s);
	jf_reset(&s);
	good_fuhyo_stream(&s);
	check_every_cut(&s);
	jf_free(&s);
}

/* Streams that end in a bad frame: the deny is the same wherever the cuts. */
static void test_split_denied(void **state)
{
	struct jf_buf s, b;
	(void)state;
	jf_init(&s);
	jf_init(&b);
	for (int variant = 0; variant < 8; variant++) {
		jf_reset(&s);
		jf_reset(&b);
		good_stream(&s);
		struct jf_hdr h = hdr(0x0101, 9, CHIYODA, TOKYO);
		jf_body_R(&b, 2, 5, CHIYODA);
		if (variant == 7) {                                      /* 附票 after 住基 */
			jf_reset(&b);
			h.type = 0x0201;
			jf_body_F(&b, 2, 5, CHIYODA);
		}
		switch (variant) {
		case 0: b.data[b.len - 200] = 0x01; break;               /* a byte of record 2 changed */
		case 1: b.data[4 + 4 + 10] ^= 1; break;                  /* resident-code check digit */
		case 2: jf_bytes(&b, "\0", 1); break;                    /* trailing byte */
		case 3: h.time_ms = NOW + 400000; break;                 /* clock skew */
		case 4: h.receiver = OSAKA; break;                       /* direction */
		case 5: b.len -= 1; break;                               /* truncated at the end */
		case 6: b.data[4 + 4 + 11 + 4 + 12 + 1] ^= 0x01; break;  /* name tag 0x12 → 0x13 */
		}
		put(&s, &h, &b);
		if (variant == 5)
			s.len -= 3;                                      /* and the stream cut short */
		check_every_cut(&s);
	}
	jf_free(&s);
	jf_free(&b);
}

/* Records that the whole-record fast path must refuse, between good ones:
 * the general path then takes the record from its first byte, and the deny
 * (reason, field, records counted) is the same wherever the cuts. */
static void bad_record(struct jf_buf *b, int variant)
{
	size_t mark = jf_container_begin(b, 0x8001);

	jf_tlv(b, 0x0010, "24727059608", 11);
	jf_tlv(b, 0x0011, "983205673214", 12);
	jf_tlv_str(b, 0x0012, "試験　太郎");
	jf_tlv(b, 0x0014, "19890108", 8);
	jf_tlv_str(b, 0x0015, "1");
	jf_tlv_str(b, 0x0016, "試験県見本市架空町1丁目2番3号");
	jf_tlv_str(b, 0x0017, "01");
	jf_tlv(b, 0x0018, variant == 1 ? "20260230" : "20260228", 8);   /* 1: no such day */
	if (variant == 2)
		jf_tlv(b, 0x0019, "131017", 6);       /* wrong check digit */
	else if (variant != 0)
		jf_tlv(b, 0x0019, CHIYODA, 6);
	if (variant == 3) {                          /* a container inside a record */
		size_t inner = jf_container_begin(b, 0x8001);
		jf_container_end(b, inner);
	}
	if (variant == 4)
		b->len = mark + 4;                   /* 4: an empty record */
	jf_container_end(b, mark);                   /* 0: the last field missing */
}

static void test_split_record_denies(void **state)
{
	struct jf_buf s, b;
	(void)state;
	jf_init(&s);
	jf_init(&b);
	for (int variant = 0; variant < 6; variant++) {
		jf_reset(&s);
		jf_reset(&b);
		jf_body_R(&b, 3, 20, CHIYODA);
		bad_record(&b, variant);
		jf_body_R(&b, 2, 30, CHIYODA);
		if (variant == 5)
			b.data[3] += 1;              /* 5: record 1 one byte too long */
		struct jf_hdr h = hdr(0x0101, 1, CHIYODA, TOKYO);
		put(&s, &h, &b);
		static struct run r;
		r.n = 0;
		one_lan(h, &b, &r);
		assert_false(last(&r)->allowed);
		check_every_cut(&s);
	}
	jf_free(&s);
	jf_free(&b);
}

/* docs/protocol.md §6: each reason was produced by a crafted frame above (the replay
 * reasons gap and overlap-conflict belong to jgw-replay, not the engine). */
static void test_every_reason_reached(void **state)
{
	(void)state;
	for (int i = 1; i < INSP_REASON_COUNT; i++) {
		if (i == INSP_GAP || i == INSP_OVERLAP_CONFLICT)
			continue;
		if (!seen[i])
			fail_msg("no test reached %s", insp_reason_name((enum insp_reason)i));
		assert_string_not_equal(insp_reason_name((enum insp_reason)i), "unknown");
	}
	assert_true(seen[INSP_OK]);
	assert_string_equal(insp_reason_name(INSP_TLV_MISSING), "tlv-missing");
	assert_string_equal(insp_reason_name(INSP_REASON_COUNT), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed_stream),
		cmocka_unit_test(test_header_reasons),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_wan_parties),
		cmocka_unit_test(test_pair_and_seq),
		cmocka_unit_test(test_own_prefecture_always),
		cmocka_unit_test(test_clock_extremes),
		cmocka_unit_test(test_state),
		cmocka_unit_test(test_rate_limited),
		cmocka_unit_test(test_system),
		cmocka_unit_test(test_midstream_unverified),
		cmocka_unit_test(test_tlv_reasons),
		cmocka_unit_test(test_truncated_frame),
		cmocka_unit_test(test_value_kinds),
		cmocka_unit_test(test_repeat_bounds),
		cmocka_unit_test(test_extended_catalog_enforced),
		cmocka_unit_test(test_split_allowed),
		cmocka_unit_test(test_split_denied),
		cmocka_unit_test(test_split_record_denies),
		cmocka_unit_test(test_every_reason_reached),
	};
	return cmocka_run_group_tests_name("inspect", tests, setup, teardown);
}
