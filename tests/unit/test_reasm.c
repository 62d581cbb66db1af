/*
 * test_reasm.c — TCP reassembly: order, retransmission, overlaps (first
 * copy wins, a differing copy is a conflict, a copy that cannot be compared
 * is reported), gaps, cut captures (every cut remembered), FIN/RST,
 * midstream starts, sequence wrap, data on a SYN (TCP Fast Open), address
 * reuse and every memory bound (flow state charged too).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "filters/replay/reasm.h"

#define MAXEV 64

struct rec_flow {
	struct reasm_flow_info info;
	uint8_t data[2][8192];
	size_t len[2];
	int events[MAXEV], ev_side[MAXEV];
	uint64_t ev_off[MAXEV];
	int n_ev;
	int closed;                  /* -1 open, else enum reasm_close */
};

struct rec {
	struct rec_flow flows[8];
	int n_flows;
};

/* Opens to refuse, as a caller out of room would. */
static int refuse_opens;

static void *r_open(void *arg, const struct reasm_flow_info *info)
{
	struct rec *r = arg;
	struct rec_flow *f;

	if (refuse_opens > 0) {
		refuse_opens--;
		return NULL;
	}
	assert_true(r->n_flows < 8);
	f = &r->flows[r->n_flows++];
	memset(f, 0, sizeof(*f));
	f->info = *info;
	f->closed = -1;
	return f;
}

static void r_data(void *arg, void *flow, int side, uint64_t off, const uint8_t *d, size_t n)
{
	struct rec_flow *f = flow;

	(void)arg;
	assert_int_equal(f->closed, -1);
	assert_int_equal(off, f->len[side]);     /* in order, no hole, no repeat */
	assert_true(f->len[side] + n <= sizeof(f->data[side]));
	memcpy(f->data[side] + f->len[side], d, n);
	f->len[side] += n;
}

static void r_event(void *arg, void *flow, int side, enum reasm_event ev, uint64_t off)
{
	struct rec_flow *f = flow;

	(void)arg;
	assert_true(f->n_ev < MAXEV);
	f->events[f->n_ev] = (int)ev;
	f->ev_side[f->n_ev] = side;
	f->ev_off[f->n_ev++] = off;
}

static void r_close(void *arg, void *flow, enum reasm_close why)
{
	struct rec_flow *f = flow;

	(void)arg;
	assert_int_equal(f->closed, -1);
	f->closed = (int)why;
}

static const struct reasm_ops ops = { r_open, r_data, r_event, r_close };

static uint8_t stream[4096];

static void fill_stream(void)
{
	for (size_t i = 0; i < sizeof(stream); i++)
		stream[i] = (uint8_t)(i * 7 + i / 251);
}

/* Side 0 = client 10.0.0.1:40000, side 1 = server 10.0.0.2:7000. */
static void seg(struct reasm *r, int from, uint32_t seq, uint32_t ack, uint8_t flags,
		const uint8_t *d, uint32_t len, uint32_t wire)
{
	struct pkt_tcp t = { .family = AF_INET, .seq = seq, .ack = ack, .flags = flags,
			     .payload = d, .payload_len = len, .wire_len = wire };
	uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};

	memcpy(from ? t.dst : t.src, a, 4);
	memcpy(from ? t.src : t.dst, b, 4);
	t.sport = from ? 7000 : 40000;
	t.dport = from ? 40000 : 7000;
	reasm_packet(r, &t);
}

#define ISN_C 1000u
#define ISN_S 5000u
/* Client data at stream offset off. */
#define CDATA(r, off, len) seg(r, 0, ISN_C + 1 + (off), ISN_S + 1, PKT_TCP_ACK, stream + (off), len, len)

static void handshake(struct reasm *r)
{
	seg(r, 0, ISN_C, 0, PKT_TCP_SYN, NULL, 0, 0);
	seg(r, 1, ISN_S, ISN_C + 1, PKT_TCP_SYN | PKT_TCP_ACK, NULL, 0, 0);
	seg(r, 0, ISN_C + 1, ISN_S + 1, PKT_TCP_ACK, NULL, 0, 0);
}

static int setup(void **state)
{
	struct rec *rec = calloc(1, sizeof(*rec));

	refuse_opens = 0;
	fill_stream();
	*state = rec;
	return rec ? 0 : -1;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static int count_ev(const struct rec_flow *f, enum reasm_event ev)
{
	int n = 0;

	for (int i = 0; i < f->n_ev; i++)
		n += f->events[i] == (int)ev;
	return n;
}

/* What one tracked flow costs of the total bound, before any byte. */
static size_t flow_cost(struct rec *rec)
{
	struct reasm *r = reasm_new(NULL, &ops, rec);
	struct reasm_stats st;

	handshake(r);
	reasm_get_stats(r, &st);
	reasm_free(r);
	memset(rec, 0, sizeof(*rec));
	assert_true(st.held_bytes > 0);
	return st.held_bytes;
}

static void test_in_order_fin(void **state)
{
	struct rec *rec = *state;
	struct reasm *r = reasm_new(NULL, &ops, rec);
	struct reasm_stats st;

	handshake(r);
	CDATA(r, 0, 100);
	CDATA(r, 100, 1);
	CDATA(r, 101, 99);
	seg(r, 1, ISN_S + 1, ISN_C + 201, PKT_TCP_ACK, stream + 1000, 50, 50);
	seg(r, 0, ISN_C + 201, ISN_S + 51, PKT_TCP_FIN | PKT_TCP_ACK, NULL, 0, 0);
	assert_int_equal(rec->flows[0].closed, -1);
	seg(r, 1, ISN_S + 51, ISN_C + 202, PKT_TCP_FIN | PKT_TCP_ACK, NULL, 0, 0);
	assert_int_equal(rec->n_flows, 1);
	struct rec_flow *f = &rec->flows[0];
	assert_false(f->info.midstream);
	assert_int_equal(f->info.port[0], 40000);
	assert_int_equal(f->len[0], 200);
	assert_memory_equal(f->data[0], stream, 200);
	assert_int_equal(f->len[1], 50);
	assert_memory_equal(f->data[1], stream + 1000, 50);
	assert_int_equal(count_ev(f, REASM_EV_FIN), 2);
	assert_int_equal(f->closed, REASM_CLOSE_FIN);
	reasm_get_stats(r, &st);
	assert_int_equal(st.flows, 1);
	assert_int_equal(st.held_bytes, 0);
	reasm_free(r);
}

static void test_reorder_and_retransmit(void **state)
{
	struct rec *rec = *state;
	struct reasm *r = reasm_new(NULL, &ops, rec);
	struct reasm_stats st;
	struct rec_flow *f = &rec->flows[0];

	handshake(r);
	CDATA(r, 300, 100);
	CDATA(r, 100, 200);
	assert_int_equal(f->len[0], 0);
	CDATA(r, 150, 100);            /* overlaps a held piece, same bytes */
	CDATA(r, 0, 100);
	assert_int_equal(f->len[0], 400);
	CDATA(r, 0, 400);              /* a whole retransmission */
	CDATA(r, 350, 60);             /* half old, half new */
	assert_int_equal(f->len[0], 410);
	assert_memory_equal(f->data[0], stream, 410);
	assert_int_equal(f->n_ev, 0);
	reasm_get_stats(r, &st);
	assert_int_equal(st.overlap_conflicts, 0);
	assert_true(st.retransmitted_bytes >= 100 + 400 + 50);
	reasm_finish(r);
	assert_int_equal(f->closed, REASM_CLOSE_END);
	assert_int_equal(f->n_ev, 0);  /* nothing missing: no gap */
	reasm_free(r);
}

static void test_conflict_held(void **state)
{
	struct rec *rec = *state;
	struct reasm *r = reasm_new(NULL, &ops, rec);
	struct rec_flow *f = &rec->flows[0];
	uint8_t other[100];

	handshake(r);
	CDATA(r, 100, 100);
	memcpy(other, stream + 150, 100);
	other[30] ^= 0x55;             /* offset 180 differs */
	seg(r, 0, ISN_C + 1 + 150, ISN_S + 1, PKT_TCP_ACK, other, 100, 100);
	assert_int_equal(count_ev(f, REASM_EV_OVERLAP_CONFLICT), 1);
	assert_int_equal(f->ev_off[0], 150);   /* the overlap starts there */
	CDATA(r, 0, 100);              /* fills the hole: nothing after a conflict */
	assert_int_equal(f->len[0], 0);
	reasm_finish(r);
	assert_int_equal(count_ev(f, REASM_EV_GAP), 0);
	reasm_free(r);
}

static void test_conflict_delivered(void **state)
{
	struct rec *rec = *state;
	struct reasm *r = reasm_new(NULL, &ops, rec);
	struct rec_flow *f = &rec->flows[0];
	uint8_t other[100];

	handshake(r);
	CDATA(r, 0, 200);
	memcpy(other, stream + 50, 100);
	other[99] ^= 1;
	seg(r, 0, ISN_C + 1 + 50, ISN_S + 1, PKT_TCP_ACK, other, 100, 100);
	assert_int_equal(count_ev(f, REASM_EV_OVERLAP_CONFLICT), 1);
	CDATA(r, 200, 100);
	assert_int_equal(f->len[0], 200);
	reasm_free(r);
}

static void test_gap_at_fin(void **state)
{
	struct rec *rec = *state;
	struct reasm *r = reasm_new(NULL, &ops, rec);
	struct rec_flow *f = &rec->flows[0];
	struct reasm_stats st;

	handshake(r);
	CDATA(r, 0, 100);
	CDATA(r, 200, 100);            /* 100..199 never captured */
	seg(r, 0, ISN_C + 301, ISN_S + 1, PKT_TCP_FIN | PKT_TCP_ACK, NULL, 0, 0);
	assert_int_equal(f->len[0], 100);
	assert_int_equal(count_ev(f, REASM_EV_GAP), 0);   /* could still come */
	/* The server's FIN acknowledges nothing past what it got so far. */
	seg(r, 1, ISN_S + 1, ISN_C + 101, PKT_TCP_FIN | PKT_TCP_ACK, NULL, 0, 0);
	assert_int_equal(count_ev(f, REASM_EV_GAP), 0);
	reasm_finish(r);
	assert_int_equal(count_ev(f, REASM_EV_GAP), 1);
	for (int i = 0; i < f->n_ev; i++)
		if (f->events[i] == REASM_EV_GAP) {
			assert_int_equal(f->ev_off[i], 100);
			assert_int_equal(f->ev_side[i], 0);
		}
	assert_int_equal(f->len[0], 100);     /* nothing after the gap */
	reasm_get_stats(r, &st);
	assert_int_equal(st.gaps, 1);
	assert_int_equal(st.held_bytes, 0);
	reasm_free(r);
}

/* The receiver acknowledged bytes the capture lacks: a gap at once. */
static void test_gap_by_ack(void **state)
{
	struct rec *rec = *state;
	struct reasm *r = reasm_new(NULL, &ops, rec);
	struct rec_flow *f = &rec->flows[0];

	handshake(r);
	CDATA(r, 0, 100);
	CDATA(r, 200, 100);
	seg(r, 1, ISN_S + 1, ISN_C + 1 + 100, PKT_TCP_ACK, NULL, 0, 0);   /* up to the hole */
	assert_int_equal(f->n_ev, 0);
	seg(r, 1, ISN_S + 1, ISN_C + 1 + 300, PKT_TCP_ACK, stream, 10, 10);
	assert_int_equal(count_ev(f, REASM_EV_GAP), 1);
	assert_int_equal(f->ev_side[0], 0);
	assert_int_equal(f->ev_off[0], 100);
	assert_int_equal(f->len[1], 10);     /* the other side goes on */
	CDATA(r, 100, 100);                  /* too late */
	assert_int_equal(f->len[0], 100);
	/* A FIN acknowledged with its own sequence number is no gap. */
	seg(r, 0, ISN_C + 1 + 300, ISN_S + 11, PKT_TCP_ACK, NULL, 0, 0);
	reasm_free(r);
}

static void test_fin_ack_no_gap(void **state)
{
	struct rec *rec = *state;
	struct reasm *r = reasm_new(NULL, &ops, rec);
	struct rec_flow *f = &rec->flows[0];

	handshake(r);
	seg(r, 0, ISN_C + 1, ISN_S + 1, PKT_TCP_ACK | PKT_TCP_FIN, stream, 50, 50);
	seg(r, 1, ISN_S + 1, ISN_C + 1 + 51, PKT_TCP_ACK, NULL, 0, 0);
	assert_int_equal(count_ev(f, REASM_EV_GAP), 0);
	assert_int_equal(count_ev(f, REASM_EV_FIN), 1);
	reasm_free(r);
}

static void test_cut_capture(void **state)
{
	struct rec *rec = *state;
	struct reasm *r = reasm_new(NULL, &ops, rec);
	struct rec_flow *f = &rec->flows[0];

	handshake(r);
	CDATA(r, 0, 100);
	/* snaplen kept 60 of 100 payload bytes */
	seg(r, 0, ISN_C + 101, ISN_S + 1, PKT_TCP_ACK, stream + 100, 60, 100);
	assert_int_equal(f->len[0], 160);
	assert_int_equal(count_ev(f, REASM_EV_GAP), 1);
	assert_int_equal(f->ev_off[0], 160);
	CDATA(r, 200, 100);
	assert_int_equal(f->len[0], 160);
	reasm_free(r);
}

static void test_cut_then_full_copy(void **state)
{
	struct rec *rec = *state;
	struct reasm *r = reasm_new(NULL, &ops, rec);
	struct rec_flow *f = &rec->flows[0];

	handshake(r);
	/* A cut copy out of order, then the full copy fills the hole: no gap. */
	seg(r, 0, ISN_C + 101, ISN_S + 1, PKT_TCP_ACK, stream + 100, 60, 100);
	CDATA(r, 0, 200);
	CDATA(r, 200, 10);
	assert_int_equal(f->len[0], 210);
	assert_int_equal(count_ev(f, REASM_EV_GAP), 0);
	reasm_finish(r);
	assert_int_equal(count_ev(f, REASM_EV_GAP), 0);
	reasm_free(r);
}

/*
 * Two segments cut by the capture, both held out of order. A full copy fills
 * the first cut; the second is still remembered: a gap there, at once.
 */
static void test_two_cuts(void **state)
{
	struct rec *rec = *state;
	struct reasm *r = reasm_new(NULL, &ops, rec);
	struct rec_flow *f = &rec->flows[0];
	struct reasm_stats st;

	handshake(r);
	seg(r, 0, ISN_C + 1 + 100, ISN_S + 1, PKT_TCP_ACK, stream + 100, 60, 100);  /* cut at 160 */
	seg(r, 0, ISN_C + 1 + 300, ISN_S + 1, PKT_TCP_ACK, stream + 300, 50, 100);  /* cut at 350 */
	assert_int_equal(f->n_ev, 0);
	CDATA(r, 0, 300);                    /* fills the first cut, reaches the second */
	assert_int_equal(f->len[0], 350);
	assert_memory_equal(f->data[0], stream, 350);
	assert_int_equal(count_ev(f, REASM_EV_GAP), 1);
	assert_int_equal(f->ev_off[0], 350);
	CDATA(r, 350, 50);                   /* too late: the direction ended */
	assert_int_equal(f->len[0], 350);
	reasm_finish(r);
	assert_int_equal(count_ev(f, REASM_EV_GAP), 1);
	reasm_get_stats(r, &st);
	assert_int_equal(st.held_bytes, 0);
	reasm_free(r);
}

/* Cuts filled in any order; one only the end of the capture reveals. */
static void test_cuts_filled_and_last(void **state)
{
	struct rec *rec = *state;
	struct reasm *r = reasm_new(NULL, &ops, rec);
	struct rec_flow *f = &rec->flows[0];

	handshake(r);
	seg(r, 0, ISN_C + 1 + 400, ISN_S + 1, PKT_TCP_ACK, stream + 400, 10, 100);  /* cut at 410 */
	seg(r, 0, ISN_C + 1 + 200, ISN_S + 1, PKT_TCP_ACK, stream + 200, 0, 100);   /* only headers */
	seg(r, 0, ISN_C + 1 + 100, ISN_S + 1, PKT_TCP_ACK, stream + 100, 20, 100);  /* cut at 120 */
	CDATA(r, 400, 100);                  /* fills 410 */
	CDATA(r, 0, 300);                    /* fills 120 and 200 */
	assert_int_equal(f->len[0], 300);
	assert_int_equal(count_ev(f, REASM_EV_GAP), 0);
	CDATA(r, 300, 100);
	assert_int_equal(f->len[0], 500);
	/* The last segment of the capture is cut: no copy can come now. */
	seg(r, 0, ISN_C + 1 + 600, ISN_S + 1, PKT_TCP_ACK, stream + 600, 30, 200);
	assert_int_equal(count_ev(f, REASM_EV_GAP), 0);   /* 500..599 may still come */
	CDATA(r, 500, 100);
	assert_int_equal(f->len[0], 630);
	assert_int_equal(count_ev(f, REASM_EV_GAP), 1);
	assert_int_equal(f->ev_off[f->n_ev - 1], 630);
	reasm_free(r);
}

/* A copy older than the history cannot be compared: reported once, and the
 * direction goes on. */
static void test_unverified_old_copy(void **state)
{
	struct rec *rec = *state;
	struct reasm_limits lim = { .history = 512 };
	struct reasm *r = reasm_new(&lim, &ops, rec);
	struct rec_flow *f = &rec->flows[0];
	struct reasm_stats st;
	uint8_t other[100];

	handshake(r);
	CDATA(r, 0, 2000);
	CDATA(r, 1900, 100);                 /* in the history: compared */
	assert_int_equal(f->n_ev, 0);
	memcpy(other, stream + 100, 100);
	other[5] ^= 1;                       /* differs, but nothing to tell it by */
	seg(r, 0, ISN_C + 1 + 100, ISN_S + 1, PKT_TCP_ACK, other, 100, 100);
	assert_int_equal(count_ev(f, REASM_EV_UNVERIFIED), 1);
	assert_int_equal(f->ev_off[0], 100);
	assert_int_equal(f->ev_side[0], 0);
	CDATA(r, 0, 10);                     /* again: counted, not reported again */
	CDATA(r, 2000, 10);
	assert_int_equal(count_ev(f, REASM_EV_UNVERIFIED), 1);
	assert_int_equal(count_ev(f, REASM_EV_OVERLAP_CONFLICT), 0);
	assert_int_equal(f->len[0], 2010);
	reasm_get_stats(r, &st);
	assert_int_equal(st.unverified_bytes, 110);
	assert_int_equal(st.unverified_overlaps, 1);
	assert_int_equal(st.retransmitted_bytes, 100);
	reasm_free(r);
}

/* No history under the total bound (counted once), and bytes from before
 * the stream start: both unverified. */
static void test_unverified_no_history(void **state)
{
	struct rec *rec = *state;
	struct reasm_limits lim = { .total_bytes = flow_cost(rec) + 100, .history = 512 };
	struct reasm *r = reasm_new(&lim, &ops, rec);
	struct rec_flow *f = &rec->flows[0];
	struct reasm_stats st;

	handshake(r);
	CDATA(r, 0, 50);
	CDATA(r, 50, 50);
	CDATA(r, 20, 10);                    /* delivered, but nothing kept to compare */
	assert_int_equal(count_ev(f, REASM_EV_UNVERIFIED), 1);
	/* The server's copy of bytes before its stream start (its SYN's). */
	seg(r, 1, ISN_S - 5, ISN_C + 101, PKT_TCP_ACK, stream, 10, 10);
	assert_int_equal(count_ev(f, REASM_EV_UNVERIFIED), 2);
	assert_int_equal(f->ev_side[1], 1);
	assert_int_equal(f->ev_off[1], 0);
	assert_int_equal(f->len[1], 4);      /* the bytes after the start are new */
	reasm_get_stats(r, &st);
	assert_int_equal(st.limit_total, 2); /* each direction's history refused, once */
	assert_int_equal(st.unverified_bytes, 10 + 6);
	assert_int_equal(st.unverified_overlaps, 2);
	reasm_free(r);
}

/* After the FIN the history is kept: a late copy is still compared. */
static void test_copy_after_fin(void **state)
{
	struct rec *rec = *state;
	struct reasm *r = reasm_new(NULL, &ops, rec);
	struct rec_flow *f = &rec->flows[0];
	struct reasm_stats st;
	uint8_t other[50];

	handshake(r);
	seg(r, 0, ISN_C + 1, ISN_S + 1, PKT_TCP_ACK | PKT_TCP_FIN, stream, 100, 100);
	assert_int_equal(count_ev(f, REASM_EV_FIN), 1);
	seg(r, 0, ISN_C + 1 + 50, ISN_S + 1, PKT_TCP_ACK | PKT_TCP_FIN, stream + 50, 50, 50);
	reasm_get_stats(r, &st);
	assert_int_equal(st.retransmitted_bytes, 50);
	assert_int_equal(f->n_ev, 1);
	memcpy(other, stream + 50, 50);
	other[49] ^= 1;
	seg(r, 0, ISN_C + 1 + 50, ISN_S + 1, PKT_TCP_ACK | PKT_TCP_FIN, other, 50, 50);
	assert_int_equal(count_ev(f, REASM_EV_OVERLAP_CONFLICT), 1);
	assert_int_equal(f->len[0], 100);
	reasm_free(r);
}

static void test_rst(void **state)
{
	struct rec *rec = *state;
	struct reasm *r = reasm_new(NULL, &ops, rec);
	struct rec_flow *f = &rec->flows[0];
	struct reasm_stats st;

	handshake(r);
	CDATA(r, 0, 10);
	CDATA(r, 20, 10);
	seg(r, 1, ISN_S + 1, 0, PKT_TCP_RST, NULL, 0, 0);
	assert_int_equal(f->closed, REASM_CLOSE_RST);
	assert_int_equal(count_ev(f, REASM_EV_RST), 2);
	assert_int_equal(count_ev(f, REASM_EV_GAP), 1);   /* 10..19 missing */
	seg(r, 0, ISN_C + 31, ISN_S + 1, PKT_TCP_ACK, NULL, 0, 0);   /* stray */
	reasm_get_stats(r, &st);
	assert_int_equal(st.stray, 1);
	assert_int_equal(rec->n_flows, 1);
	reasm_free(r);
}

static void test_midstream(void **state)
{
	struct rec *rec = *state;
	struct reasm *r = reasm_new(NULL, &ops, rec);
	struct rec_flow *f = &rec->flows[0];

	/* The server talks first in the capture; the client's data then
	 * starts at what the server acknowledged. */
	seg(r, 1, 777777, 123456, PKT_TCP_ACK, stream, 30, 30);
	seg(r, 0, 123456, 777807, PKT_TCP_ACK, stream + 100, 20, 20);
	seg(r, 0, 123456 - 10, 777807, PKT_TCP_ACK, stream + 90, 40, 40);  /* older bytes too */
	assert_int_equal(rec->n_flows, 1);
	assert_true(f->info.midstream);
	assert_int_equal(f->info.port[0], 7000);     /* first talker is side 0 */
	assert_int_equal(f->len[0], 30);
	assert_int_equal(f->len[1], 30);
	assert_memory_equal(f->data[1], stream + 100, 30);
	/* The 10 bytes before the start were never compared: reported once. */
	assert_int_equal(count_ev(f, REASM_EV_UNVERIFIED), 1);
	assert_int_equal(count_ev(f, REASM_EV_GAP), 0);
	reasm_free(r);
}

static void test_wrap(void **state)
{
	struct rec *rec = *state;
	struct reasm *r = reasm_new(NULL, &ops, rec);
	struct rec_flow *f = &rec->flows[0];
	uint32_t isn = 0xFFFFFF00u;

	seg(r, 0, isn, 0, PKT_TCP_SYN, NULL, 0, 0);
	seg(r, 0, isn + 1 + 200, 0, PKT_TCP_ACK, stream + 200, 200, 200);
	seg(r, 0, isn + 1, 0, PKT_TCP_ACK, stream, 200, 200);
	seg(r, 0, isn + 1 + 400, 0, PKT_TCP_ACK, stream + 400, 100, 100);
	assert_int_equal(f->len[0], 500);
	assert_memory_equal(f->data[0], stream, 500);
	reasm_free(r);
}

/* TCP Fast Open: a SYN takes sequence number ISN, its data starts at ISN + 1
 * (the same for data on the SYN-ACK); no byte is lost or shifted. */
static void test_syn_data(void **state)
{
	struct rec *rec = *state;
	struct reasm *r = reasm_new(NULL, &ops, rec);
	struct rec_flow *f = &rec->flows[0];
	struct reasm_stats st;

	seg(r, 0, ISN_C, 0, PKT_TCP_SYN, stream, 100, 100);
	seg(r, 1, ISN_S, ISN_C + 101, PKT_TCP_SYN | PKT_TCP_ACK, stream + 1000, 20, 20);
	seg(r, 0, ISN_C + 101, ISN_S + 21, PKT_TCP_ACK, NULL, 0, 0);
	assert_int_equal(f->len[0], 100);
	assert_memory_equal(f->data[0], stream, 100);
	assert_int_equal(f->len[1], 20);
	assert_memory_equal(f->data[1], stream + 1000, 20);
	CDATA(r, 100, 50);
	seg(r, 0, ISN_C, 0, PKT_TCP_SYN, stream, 100, 100);   /* the SYN again: same flow, same bytes */
	CDATA(r, 0, 100);                                     /* sent again after the handshake */
	assert_int_equal(rec->n_flows, 1);
	assert_int_equal(f->len[0], 150);
	assert_memory_equal(f->data[0], stream, 150);
	seg(r, 0, ISN_C + 151, ISN_S + 21, PKT_TCP_FIN | PKT_TCP_ACK, NULL, 0, 0);
	seg(r, 1, ISN_S + 21, ISN_C + 152, PKT_TCP_FIN | PKT_TCP_ACK, NULL, 0, 0);
	assert_int_equal(count_ev(f, REASM_EV_FIN), 2);
	assert_int_equal(count_ev(f, REASM_EV_GAP), 0);
	assert_int_equal(f->closed, REASM_CLOSE_FIN);
	reasm_get_stats(r, &st);
	assert_int_equal(st.overlap_conflicts, 0);
	assert_int_equal(st.unverified_bytes, 0);
	assert_int_equal(st.retransmitted_bytes, 200);
	reasm_free(r);
}

static void test_reuse(void **state)
{
	struct rec *rec = *state;
	struct reasm *r = reasm_new(NULL, &ops, rec);

	handshake(r);
	CDATA(r, 0, 10);
	seg(r, 0, ISN_C, 0, PKT_TCP_SYN, NULL, 0, 0);   /* retransmitted SYN: same flow */
	assert_int_equal(rec->n_flows, 1);
	seg(r, 0, 9999, 0, PKT_TCP_SYN, NULL, 0, 0);    /* a new connection */
	assert_int_equal(rec->n_flows, 2);
	assert_int_equal(rec->flows[0].closed, REASM_CLOSE_REUSED);
	assert_int_equal(rec->flows[1].info.id, 2);
	seg(r, 0, 10000, 0, PKT_TCP_ACK, stream, 5, 5);
	assert_int_equal(rec->flows[1].len[0], 5);
	reasm_finish(r);
	assert_int_equal(rec->flows[1].closed, REASM_CLOSE_END);
	reasm_free(r);
}

static void test_flow_bound(void **state)
{
	struct rec *rec = *state;
	size_t cost = flow_cost(rec);
	struct reasm_limits lim = { .flow_bytes = 250 };
	struct reasm *r = reasm_new(&lim, &ops, rec);
	struct rec_flow *f = &rec->flows[0];
	struct reasm_stats st;

	handshake(r);
	CDATA(r, 100, 200);            /* held: 200 */
	assert_int_equal(f->n_ev, 0);
	CDATA(r, 400, 100);            /* would hold 300 > 250 */
	assert_int_equal(count_ev(f, REASM_EV_LIMIT), 1);
	assert_int_equal(count_ev(f, REASM_EV_GAP), 1);
	CDATA(r, 0, 100);
	assert_int_equal(f->len[0], 0);
	reasm_get_stats(r, &st);
	assert_int_equal(st.limit_flow, 1);
	assert_int_equal(st.held_bytes, cost);   /* the flow's own state only */
	/* In-order data needs no holding: no bound applies to it. */
	seg(r, 1, ISN_S + 1, ISN_C + 1, PKT_TCP_ACK, stream, 1000, 1000);
	assert_int_equal(f->len[1], 1000);
	reasm_free(r);
}

static void test_total_bound(void **state)
{
	struct rec *rec = *state;
	/* Room for the flow, its history and a little more. */
	struct reasm_limits lim = { .total_bytes = flow_cost(rec) + 1000, .history = 512 };
	struct reasm *r = reasm_new(&lim, &ops, rec);
	struct rec_flow *f = &rec->flows[0];
	struct reasm_stats st;

	handshake(r);
	CDATA(r, 0, 10);               /* allocates the 512-byte history */
	CDATA(r, 100, 300);            /* 300 + piece header: fits */
	assert_int_equal(f->n_ev, 0);
	CDATA(r, 500, 300);            /* does not */
	assert_int_equal(count_ev(f, REASM_EV_LIMIT), 1);
	assert_int_equal(count_ev(f, REASM_EV_GAP), 1);
	reasm_get_stats(r, &st);
	assert_int_equal(st.limit_total, 1);
	assert_true(st.held_peak <= lim.total_bytes);
	reasm_free(r);
}

/* Flow state is charged: a flow that does not fit is not tracked. */
static void test_total_bound_flows(void **state)
{
	struct rec *rec = *state;
	size_t cost = flow_cost(rec);
	struct reasm_limits lim = { .total_bytes = cost + cost / 2 };
	struct reasm *r = reasm_new(&lim, &ops, rec);
	struct pkt_tcp t = { .family = AF_INET, .sport = 1, .dport = 2, .flags = PKT_TCP_SYN };
	struct reasm_stats st;

	handshake(r);
	reasm_packet(r, &t);            /* a second flow: no room */
	reasm_get_stats(r, &st);
	assert_int_equal(rec->n_flows, 1);
	assert_int_equal(st.flows, 1);
	assert_int_equal(st.flows_refused, 1);
	assert_int_equal(st.limit_total, 1);
	assert_true(st.held_peak <= lim.total_bytes);
	/* The caller's own state is charged to the same bound. */
	assert_false(reasm_charge(r, cost));
	assert_true(reasm_charge(r, cost / 4));
	reasm_uncharge(r, cost / 4);
	reasm_get_stats(r, &st);
	assert_int_equal(st.limit_total, 2);
	assert_int_equal(st.held_bytes, cost);
	reasm_finish(r);
	reasm_get_stats(r, &st);
	assert_int_equal(st.held_bytes, 0);
	reasm_free(r);
}

/* The caller may refuse a flow: not tracked, counted, and its id unused. */
static void test_open_refused(void **state)
{
	struct rec *rec = *state;
	struct reasm *r = reasm_new(NULL, &ops, rec);
	struct reasm_stats st;

	refuse_opens = 2;
	seg(r, 0, ISN_C, 0, PKT_TCP_SYN, NULL, 0, 0);                       /* refused */
	seg(r, 1, ISN_S, ISN_C + 1, PKT_TCP_SYN | PKT_TCP_ACK, NULL, 0, 0); /* refused */
	CDATA(r, 0, 10);                                                    /* taken, midstream */
	CDATA(r, 10, 10);
	reasm_get_stats(r, &st);
	assert_int_equal(st.flows_refused, 2);
	assert_int_equal(st.flows, 1);
	assert_int_equal(rec->n_flows, 1);
	assert_int_equal(rec->flows[0].info.id, 1);
	assert_true(rec->flows[0].info.midstream);
	assert_int_equal(rec->flows[0].len[0], 20);
	reasm_finish(r);
	reasm_get_stats(r, &st);
	assert_int_equal(st.held_bytes, 0);
	reasm_free(r);
}

static void test_max_flows(void **state)
{
	struct rec *rec = *state;
	struct reasm_limits lim = { .max_flows = 1 };
	struct reasm *r = reasm_new(&lim, &ops, rec);
	struct pkt_tcp t = { .family = AF_INET, .sport = 1, .dport = 2, .flags = PKT_TCP_SYN };
	struct reasm_stats st;

	handshake(r);
	reasm_packet(r, &t);
	reasm_get_stats(r, &st);
	assert_int_equal(rec->n_flows, 1);
	assert_int_equal(st.flows_refused, 1);
	reasm_free(r);
}

static void test_interleaved(void **state)
{
	struct rec *rec = *state;
	struct reasm *r = reasm_new(NULL, &ops, rec);
	struct pkt_tcp t = { .family = AF_INET6, .flags = PKT_TCP_ACK };

	t.src[15] = 1;
	t.dst[15] = 2;
	for (int i = 0; i < 6; i++) {
		t.sport = (uint16_t)(50000 + i % 3);
		t.dport = 7000;
		t.seq = 100u + (uint32_t)(i / 3) * 10;
		t.payload = stream + 10 * i;
		t.payload_len = t.wire_len = 10;
		reasm_packet(r, &t);
	}
	assert_int_equal(rec->n_flows, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(rec->flows[i].len[0], 20);
		assert_memory_equal(rec->flows[i].data[0], stream + 10 * i, 10);
		assert_memory_equal(rec->flows[i].data[0] + 10, stream + 10 * (i + 3), 10);
		assert_int_equal(rec->flows[i].info.id, (uint64_t)i + 1);
	}
	reasm_finish(r);
	reasm_free(r);
}

/* Many small out-of-order pieces in reverse: every byte once, in order. */
static void test_reverse_bytes(void **state)
{
	struct rec *rec = *state;
	struct reasm *r = reasm_new(NULL, &ops, rec);
	struct rec_flow *f = &rec->flows[0];

	handshake(r);
	for (int off = 1023; off >= 0; off -= 3)
		CDATA(r, (uint32_t)off, off + 3 > 1024 ? 1 : 3);
	CDATA(r, 0, 1);
	assert_int_equal(f->len[0], 1024);
	assert_memory_equal(f->data[0], stream, 1024);
	reasm_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_in_order_fin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reorder_and_retransmit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conflict_held, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conflict_delivered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gap_at_fin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gap_by_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fin_ack_no_gap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut_capture, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut_then_full_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_cuts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cuts_filled_and_last, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unverified_old_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unverified_no_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_after_fin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rst, setup, teardown),
		cmocka_unit_test_setup_teardown(test_midstream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syn_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flow_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_total_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_total_bound_flows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_flows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interleaved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reverse_bytes, setup, teardown),
	};
	return cmocka_run_group_tests_name("reasm", tests, NULL, NULL);
}
