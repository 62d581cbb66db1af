/*
 * reasm.c — TCP reassembly: a flow table, per-direction streams, a sorted
 * list of out-of-order pieces that never overlap each other, a sorted list
 * of the places where the capture cut a segment, and a ring of recently
 * delivered bytes to check retransmissions against. Everything that grows
 * with the capture is charged to the total bound (held_bytes).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "filters/replay/reasm.h"

#define DEF_FLOW_BYTES  (1u << 20)
#define DEF_TOTAL_BYTES ((size_t)256 << 20)
#define DEF_MAX_FLOWS   65536
#define DEF_HISTORY     (32u << 10)
#define FIXED_BUCKETS   1024   /* the flow table's first size: fixed state, not charged */

struct piece {
	struct piece *next;
	uint64_t off;
	size_t len;
	uint8_t data[];
};

/* The capture cut a segment here: the byte at off existed, the capture
 * lacks it. Final once the stream reaches it, unless another copy filled it. */
struct cut {
	struct cut *next;
	uint64_t off;
};

struct stream {
	bool started;          /* base_seq known */
	bool broken;           /* gap or conflict: nothing more is delivered */
	bool fin, done;        /* FIN seen / every byte before it delivered */
	bool unverified;       /* REASM_EV_UNVERIFIED was reported */
	bool hist_refused;     /* the total bound refused the history (counted once) */
	uint32_t base_seq;     /* sequence number of stream offset 0 */
	uint64_t next;         /* offset of the next byte to deliver */
	uint64_t fin_off;
	struct cut *cuts;      /* sorted, all >= next */
	struct piece *ooo;
	size_t ooo_bytes;      /* bytes of the pieces, and cut marks: the flow bound */
	uint8_t *hist;         /* ring: byte at offset x is hist[x % hist_cap] */
	size_t hist_cap;
};

struct flow {
	struct flow *hnext;
	struct flow *prev, *next;    /* in id order */
	struct reasm_flow_info info;
	struct stream s[2];
	void *user;
};

struct reasm {
	struct reasm_limits lim;
	struct reasm_ops ops;
	void *arg;
	struct flow **buckets;
	size_t n_buckets, n_flows;
	size_t buckets_charged;      /* bytes of the table charged (0 while fixed) */
	struct flow *first, *last;
	uint64_t next_id;
	struct reasm_stats st;
};

static void held_add(struct reasm *r, size_t n)
{
	r->st.held_bytes += n;
	if (r->st.held_bytes > r->st.held_peak)
		r->st.held_peak = r->st.held_bytes;
}

static void wipe_free(struct reasm *r, void *p, size_t n)
{
	if (!p)
		return;
	explicit_bzero(p, n);
	free(p);
	r->st.held_bytes -= n;
}

static bool fits(const struct reasm *r, size_t n)
{
	return n <= r->lim.total_bytes && r->st.held_bytes <= r->lim.total_bytes - n;
}

bool reasm_charge(struct reasm *r, size_t n)
{
	if (!fits(r, n)) {
		r->st.limit_total++;
		return false;
	}
	held_add(r, n);
	return true;
}

void reasm_uncharge(struct reasm *r, size_t n)
{
	r->st.held_bytes -= n;
}

/* ---- flow table ---- */

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--)
		h = (h ^ *b++) * 0x100000001b3ULL;
	return h;
}

/* Symmetric: both directions of a flow hash alike. */
static size_t flow_hash(const struct reasm *r, int family, const uint8_t *a, uint16_t pa,
			const uint8_t *b, uint16_t pb)
{
	uint64_t ha = hash_bytes(0xcbf29ce484222325ULL, a, 16);
	uint64_t hb = hash_bytes(0xcbf29ce484222325ULL, b, 16);

	ha = hash_bytes(ha, &pa, sizeof(pa));
	hb = hash_bytes(hb, &pb, sizeof(pb));
	return (size_t)((ha ^ hb) + (uint64_t)family) & (r->n_buckets - 1);
}

static int side_of(const struct flow *f, const struct pkt_tcp *seg)
{
	if (f->info.family != seg->family)
		return -1;
	if (f->info.port[0] == seg->sport && f->info.port[1] == seg->dport &&
	    !memcmp(f->info.addr[0], seg->src, 16) && !memcmp(f->info.addr[1], seg->dst, 16))
		return 0;
	if (f->info.port[1] == seg->sport && f->info.port[0] == seg->dport &&
	    !memcmp(f->info.addr[1], seg->src, 16) && !memcmp(f->info.addr[0], seg->dst, 16))
		return 1;
	return -1;
}

static struct flow *flow_find(struct reasm *r, const struct pkt_tcp *seg, int *side)
{
	size_t h = flow_hash(r, seg->family, seg->src, seg->sport, seg->dst, seg->dport);

	for (struct flow *f = r->buckets[h]; f; f = f->hnext) {
		*side = side_of(f, seg);
		if (*side >= 0)
			return f;
	}
	return NULL;
}

static size_t flow_bucket(const struct reasm *r, const struct flow *f)
{
	return flow_hash(r, f->info.family, f->info.addr[0], f->info.port[0],
			 f->info.addr[1], f->info.port[1]);
}

/* Best effort: without room the chains just grow longer. */
static bool table_grow(struct reasm *r)
{
	size_t n = r->n_buckets * 2;
	struct flow **nb;

	if (!reasm_charge(r, n * sizeof(*nb)))
		return false;
	nb = calloc(n, sizeof(*nb));
	if (!nb) {
		reasm_uncharge(r, n * sizeof(*nb));
		return false;
	}
	reasm_uncharge(r, r->buckets_charged);
	r->buckets_charged = n * sizeof(*nb);
	struct flow **old = r->buckets;
	size_t old_n = r->n_buckets;

	r->buckets = nb;
	r->n_buckets = n;
	for (size_t i = 0; i < old_n; i++) {
		struct flow *f = old[i], *nf;

		for (; f; f = nf) {
			size_t h = flow_bucket(r, f);

			nf = f->hnext;
			f->hnext = nb[h];
			nb[h] = f;
		}
	}
	free(old);
	return true;
}

/* What waits for the stream to reach it: held pieces and cut marks. */
static void stream_release_pending(struct reasm *r, struct stream *s)
{
	struct piece *p, *np;
	struct cut *c, *nc;

	for (p = s->ooo; p; p = np) {
		np = p->next;
		wipe_free(r, p, sizeof(*p) + p->len);
	}
	for (c = s->cuts; c; c = nc) {
		nc = c->next;
		wipe_free(r, c, sizeof(*c));
	}
	s->ooo = NULL;
	s->cuts = NULL;
	s->ooo_bytes = 0;
}

static void stream_release(struct reasm *r, struct stream *s)
{
	stream_release_pending(r, s);
	wipe_free(r, s->hist, s->hist_cap);
	s->hist = NULL;
	s->hist_cap = 0;
}

static void flow_unlink(struct reasm *r, struct flow *f)
{
	struct flow **link = &r->buckets[flow_bucket(r, f)];

	while (*link != f)
		link = &(*link)->hnext;
	*link = f->hnext;
	if (f->prev)
		f->prev->next = f->next;
	else
		r->first = f->next;
	if (f->next)
		f->next->prev = f->prev;
	else
		r->last = f->prev;
	r->n_flows--;
	stream_release(r, &f->s[0]);
	stream_release(r, &f->s[1]);
	free(f);
	reasm_uncharge(r, sizeof(*f));
}

static void flow_close(struct reasm *r, struct flow *f, enum reasm_close why)
{
	r->ops.close(r->arg, f->user, why);
	flow_unlink(r, f);
}

static struct flow *flow_open(struct reasm *r, const struct pkt_tcp *seg, bool initiator_is_src,
			      bool midstream)
{
	struct flow *f;
	int a = initiator_is_src ? 0 : 1;
	size_t h;

	if (r->n_flows >= r->lim.max_flows || !reasm_charge(r, sizeof(*f))) {
		r->st.flows_refused++;
		return NULL;
	}
	if (r->n_flows >= r->n_buckets)
		table_grow(r);
	f = calloc(1, sizeof(*f));
	if (!f) {
		reasm_uncharge(r, sizeof(*f));
		r->st.flows_refused++;
		return NULL;
	}
	f->info.id = ++r->next_id;
	f->info.family = seg->family;
	memcpy(f->info.addr[a], seg->src, 16);
	memcpy(f->info.addr[!a], seg->dst, 16);
	f->info.port[a] = seg->sport;
	f->info.port[!a] = seg->dport;
	f->info.midstream = midstream;
	h = flow_bucket(r, f);
	f->hnext = r->buckets[h];
	r->buckets[h] = f;
	f->prev = r->last;
	if (r->last)
		r->last->next = f;
	else
		r->first = f;
	r->last = f;
	r->n_flows++;
	f->user = r->ops.open(r->arg, &f->info);
	if (!f->user) {
		/* Refused by the caller: as if never seen, and the id is free again. */
		flow_unlink(r, f);
		r->next_id--;
		r->st.flows_refused++;
		return NULL;
	}
	r->st.flows++;
	return f;
}

/* ---- streams ---- */

/* The stream offset of sequence number seq: negative before the start. */
static int64_t seq_offset(const struct stream *s, uint32_t seq)
{
	uint32_t next_seq = s->base_seq + (uint32_t)s->next;

	return (int64_t)s->next + (int32_t)(seq - next_seq);
}

static void stream_break(struct reasm *r, struct flow *f, int side, enum reasm_event ev,
			 uint64_t off)
{
	struct stream *s = &f->s[side];

	if (ev == REASM_EV_GAP)
		r->st.gaps++;
	else if (ev == REASM_EV_OVERLAP_CONFLICT)
		r->st.overlap_conflicts++;
	s->broken = true;
	stream_release(r, s);
	r->ops.event(r->arg, f->user, side, ev, off);
}

static void hit_limit(struct reasm *r, struct flow *f, int side, bool total)
{
	if (total)
		r->st.limit_total++;
	else
		r->st.limit_flow++;
	r->ops.event(r->arg, f->user, side, REASM_EV_LIMIT, f->s[side].next);
	stream_break(r, f, side, REASM_EV_GAP, f->s[side].next);
}

/*
 * n bytes of a copy at off could not be compared with the first copy. The
 * verdicts stand on the first copy, which the endpoint may not have taken:
 * the caller must learn it, once per direction (counted every time).
 */
static void unverified(struct reasm *r, struct flow *f, int side, uint64_t off, size_t n)
{
	struct stream *s = &f->s[side];

	if (!n)
		return;
	r->st.unverified_bytes += n;
	if (s->unverified)
		return;
	s->unverified = true;
	r->st.unverified_overlaps++;
	r->ops.event(r->arg, f->user, side, REASM_EV_UNVERIFIED, off);
}

static void history_alloc(struct reasm *r, struct stream *s)
{
	if (!fits(r, r->lim.history) || !(s->hist = malloc(r->lim.history))) {
		/* Tried again at the next delivery; counted once. */
		if (!s->hist_refused)
			r->st.limit_total++;
		s->hist_refused = true;
		return;
	}
	s->hist_cap = r->lim.history;
	held_add(r, s->hist_cap);
}

static void history_append(struct reasm *r, struct stream *s, const uint8_t *d, size_t n)
{
	uint64_t at = s->next;

	if (!s->hist && r->lim.history)
		history_alloc(r, s);
	if (!s->hist)
		return;
	if (n > s->hist_cap) {
		d += n - s->hist_cap;
		at += n - s->hist_cap;
		n = s->hist_cap;
	}
	while (n) {
		size_t pos = (size_t)(at % s->hist_cap);
		size_t chunk = s->hist_cap - pos < n ? s->hist_cap - pos : n;

		memcpy(s->hist + pos, d, chunk);
		d += chunk;
		at += chunk;
		n -= chunk;
	}
}

/* Compare bytes [off, off+n) that were already delivered with d. */
static bool history_matches(struct reasm *r, struct flow *f, int side, uint64_t off,
			    const uint8_t *d, size_t n)
{
	const struct stream *s = &f->s[side];
	uint64_t start = s->hist ? (s->next > s->hist_cap ? s->next - s->hist_cap : 0) : s->next;

	if (off < start) {
		size_t old = (size_t)((start - off) < n ? start - off : n);

		unverified(r, f, side, off, old);
		off += old;
		d += old;
		n -= old;
	}
	r->st.retransmitted_bytes += n;
	while (n) {
		size_t pos = (size_t)(off % s->hist_cap);
		size_t chunk = s->hist_cap - pos < n ? s->hist_cap - pos : n;

		if (memcmp(s->hist + pos, d, chunk))
			return false;
		off += chunk;
		d += chunk;
		n -= chunk;
	}
	return true;
}

static void deliver(struct reasm *r, struct flow *f, int side, const uint8_t *d, size_t n)
{
	struct stream *s = &f->s[side];

	r->ops.data(r->arg, f->user, side, s->next, d, n);
	history_append(r, s, d, n);
	s->next += n;
	/* Another copy carried what a cut copy lacked: those cuts are filled. */
	while (s->cuts && s->cuts->off < s->next) {
		struct cut *c = s->cuts;

		s->cuts = c->next;
		s->ooo_bytes -= sizeof(*c);
		wipe_free(r, c, sizeof(*c));
	}
}

/* Room to hold one more thing in this direction: n bytes against the flow
 * bound, size against the total; else a limit (the direction ends with a
 * gap). */
static bool room_for(struct reasm *r, struct flow *f, int side, size_t n, size_t size)
{
	if (f->s[side].ooo_bytes + n > r->lim.flow_bytes) {
		hit_limit(r, f, side, false);
		return false;
	}
	if (!fits(r, size)) {
		hit_limit(r, f, side, true);
		return false;
	}
	return true;
}

/* Remember that the capture lacks the byte at off (>= next). */
static bool cut_add(struct reasm *r, struct flow *f, int side, uint64_t off)
{
	struct stream *s = &f->s[side];
	struct cut **link = &s->cuts, *c;

	while (*link && (*link)->off < off)
		link = &(*link)->next;
	if (*link && (*link)->off == off)
		return true;
	if (!room_for(r, f, side, sizeof(*c), sizeof(*c)))
		return false;
	if (!(c = malloc(sizeof(*c)))) {
		hit_limit(r, f, side, true);
		return false;
	}
	c->off = off;
	c->next = *link;
	*link = c;
	s->ooo_bytes += sizeof(*c);
	held_add(r, sizeof(*c));
	return true;
}

static bool piece_add(struct reasm *r, struct flow *f, int side, struct piece **link,
		      uint64_t off, const uint8_t *d, size_t n)
{
	struct stream *s = &f->s[side];
	struct piece *p;

	if (!room_for(r, f, side, n, sizeof(*p) + n))
		return false;
	if (!(p = malloc(sizeof(*p) + n))) {
		hit_limit(r, f, side, true);
		return false;
	}
	p->off = off;
	p->len = n;
	memcpy(p->data, d, n);
	p->next = *link;
	*link = p;
	s->ooo_bytes += n;
	held_add(r, sizeof(*p) + n);
	return true;
}

/* Insert [a, b) (d[0] at offset a, a >= next) around the pieces already held:
 * the first copy wins, a differing copy is a conflict. */
static bool ooo_insert(struct reasm *r, struct flow *f, int side, uint64_t a, uint64_t b,
		       const uint8_t *d)
{
	struct stream *s = &f->s[side];
	struct piece **link = &s->ooo;
	uint64_t cur = a;

	while (cur < b) {
		struct piece *e = *link;
		uint64_t e_end, ov_end;

		if (!e || e->off >= b)
			return piece_add(r, f, side, link, cur, d + (cur - a), (size_t)(b - cur));
		e_end = e->off + e->len;
		if (e_end <= cur) {
			link = &e->next;
			continue;
		}
		if (e->off > cur) {
			if (!piece_add(r, f, side, link, cur, d + (cur - a), (size_t)(e->off - cur)))
				return false;
			link = &(*link)->next;
			cur = e->off;
		}
		ov_end = b < e_end ? b : e_end;
		if (memcmp(d + (cur - a), e->data + (cur - e->off), (size_t)(ov_end - cur))) {
			stream_break(r, f, side, REASM_EV_OVERLAP_CONFLICT, cur);
			return false;
		}
		r->st.retransmitted_bytes += ov_end - cur;
		cur = ov_end;
		link = &e->next;
	}
	return true;
}

static void drain(struct reasm *r, struct flow *f, int side)
{
	struct stream *s = &f->s[side];

	while (!s->broken && s->ooo && s->ooo->off == s->next) {
		struct piece *p = s->ooo;

		s->ooo = p->next;
		s->ooo_bytes -= p->len;
		deliver(r, f, side, p->data, p->len);
		wipe_free(r, p, sizeof(*p) + p->len);
	}
}

/* After bytes moved: a cut reached, or the FIN reached. */
static void stream_settle(struct reasm *r, struct flow *f, int side)
{
	struct stream *s = &f->s[side];

	if (s->broken || s->done)
		return;
	if (s->cuts && s->cuts->off <= s->next) {
		stream_break(r, f, side, REASM_EV_GAP, s->next);
		return;
	}
	if (s->fin && s->next >= s->fin_off) {
		s->done = true;
		/* The history stays: copies after the FIN are still compared. */
		stream_release_pending(r, s);
		r->ops.event(r->arg, f->user, side, REASM_EV_FIN, s->next);
	}
}

/* The sequence number of a segment's first payload byte: a SYN takes one
 * number itself, so data on a SYN (TCP Fast Open) starts after it. */
static uint32_t data_seq(const struct pkt_tcp *seg)
{
	return seg->seq + ((seg->flags & PKT_TCP_SYN) ? 1u : 0u);
}

/*
 * The capture cut this segment (snaplen): the bytes after what it holds
 * existed. The first of them that no copy delivered yet is a cut, final
 * when the stream reaches it (stream_settle) unless another copy fills it.
 */
static bool note_cut(struct reasm *r, struct flow *f, int side, const struct pkt_tcp *seg,
		     int64_t start)
{
	struct stream *s = &f->s[side];
	int64_t held_end = start + (int64_t)seg->payload_len;
	int64_t wire_end = start + (int64_t)seg->wire_len;

	if (seg->wire_len <= seg->payload_len || s->done || wire_end <= (int64_t)s->next)
		return true;
	return cut_add(r, f, side, held_end > (int64_t)s->next ? (uint64_t)held_end : s->next);
}

static void stream_data(struct reasm *r, struct flow *f, int side, const struct pkt_tcp *seg)
{
	struct stream *s = &f->s[side];
	int64_t start = seq_offset(s, data_seq(seg));
	const uint8_t *d = seg->payload;
	size_t n = seg->payload_len;
	uint64_t a, b;

	if (s->broken) {
		r->st.after_gap_bytes += n;
		return;
	}
	if (!note_cut(r, f, side, seg, start))
		return;
	if (start < 0) {  /* bytes from before the stream start: nothing to compare with */
		size_t skip = (uint64_t)-start < n ? (size_t)-start : n;

		unverified(r, f, side, 0, skip);
		d += skip;
		n -= skip;
		start += (int64_t)skip;
		if (!n)
			goto settle;
	}
	a = (uint64_t)start;
	b = a + n;
	if (a < s->next) {
		uint64_t end = b < s->next ? b : s->next;

		if (!history_matches(r, f, side, a, d, (size_t)(end - a))) {
			stream_break(r, f, side, REASM_EV_OVERLAP_CONFLICT, a);
			return;
		}
		d += end - a;
		a = end;
	}
	if (a < b && s->done) {  /* past the FIN: no byte of the stream */
		r->st.after_gap_bytes += b - a;
		return;
	}
	if (a < b) {
		if (a == s->next && !s->ooo)
			deliver(r, f, side, d, (size_t)(b - a));   /* no copy */
		else if (!ooo_insert(r, f, side, a, b, d))
			return;
		drain(r, f, side);
	}
settle:
	stream_settle(r, f, side);
}

/* End of a stream that will get nothing more: anything still missing is a gap. */
static void stream_end(struct reasm *r, struct flow *f, int side)
{
	struct stream *s = &f->s[side];

	if (s->broken || s->done || !s->started)
		return;
	if (s->ooo || s->cuts || (s->fin && s->next < s->fin_off))
		stream_break(r, f, side, REASM_EV_GAP, s->next);
}

static void stream_start(struct stream *s, uint32_t seq)
{
	s->started = true;
	s->base_seq = seq;
	s->next = 0;
}

/* ---- packets ---- */

static struct flow *flow_for(struct reasm *r, const struct pkt_tcp *seg, int *side)
{
	bool syn = seg->flags & PKT_TCP_SYN, ack = seg->flags & PKT_TCP_ACK;
	struct flow *f = flow_find(r, seg, side);

	if (f && syn && !ack) {
		const struct stream *s = &f->s[*side];

		if (s->started && s->base_seq == seg->seq + 1)
			return f;       /* a retransmitted SYN */
		flow_close(r, f, REASM_CLOSE_REUSED);
		f = NULL;
	}
	if (f)
		return f;
	if (seg->flags & PKT_TCP_RST)
		goto stray;
	if (syn && !ack)
		f = flow_open(r, seg, true, false);
	else if (syn && ack)
		f = flow_open(r, seg, false, false);
	else if (seg->wire_len > 0)
		f = flow_open(r, seg, true, true);
	else
		goto stray;
	if (f)
		*side = side_of(f, seg);
	return f;
stray:
	r->st.stray++;
	return NULL;
}

/*
 * The other side acknowledged bytes the capture never held: the endpoint got
 * them, we did not, and they will not come again. A gap, known at once
 * (rather than at the end), so that nothing later is judged without them.
 */
static void ack_check(struct reasm *r, struct flow *f, int other, uint32_t ack)
{
	struct stream *s = &f->s[other];
	int64_t off;
	uint64_t acked;

	if (!s->started || s->broken || s->done)
		return;
	off = seq_offset(s, ack);
	if (off < 0 || (uint64_t)off <= s->next)
		return;
	acked = (uint64_t)off;
	if (s->fin && s->next == s->fin_off && acked == s->fin_off + 1)
		return;   /* the FIN's own sequence number */
	if (acked - s->next > (1u << 30))
		return;   /* not a plausible acknowledgement: ignore it */
	stream_break(r, f, other, REASM_EV_GAP, s->next);
}

void reasm_packet(struct reasm *r, const struct pkt_tcp *seg)
{
	struct flow *f;
	int side, other;
	struct stream *s;

	r->st.packets++;
	f = flow_for(r, seg, &side);
	if (!f)
		return;
	other = !side;
	s = &f->s[side];
	if (seg->flags & PKT_TCP_RST) {
		for (int i = 0; i < 2; i++) {
			stream_end(r, f, i);
			r->ops.event(r->arg, f->user, i, REASM_EV_RST, f->s[i].next);
		}
		flow_close(r, f, REASM_CLOSE_RST);
		return;
	}
	if ((seg->flags & PKT_TCP_SYN) && !s->started)
		stream_start(s, seg->seq + 1);
	if ((seg->flags & PKT_TCP_ACK) && !f->s[other].started)
		stream_start(&f->s[other], seg->ack);
	else if (seg->flags & PKT_TCP_ACK)
		ack_check(r, f, other, seg->ack);
	if (seg->wire_len > 0) {
		if (!s->started)
			stream_start(s, seg->seq);
		stream_data(r, f, side, seg);
	}
	if ((seg->flags & PKT_TCP_FIN) && s->started && !s->fin && !s->broken) {
		int64_t at = seq_offset(s, data_seq(seg));

		s->fin = true;
		s->fin_off = at < 0 ? 0 : (uint64_t)at + seg->wire_len;
		stream_settle(r, f, side);
	}
	if ((f->s[0].done || f->s[0].broken) && (f->s[1].done || f->s[1].broken) &&
	    (f->s[0].fin || f->s[1].fin))
		flow_close(r, f, REASM_CLOSE_FIN);
}

void reasm_finish(struct reasm *r)
{
	while (r->first) {
		struct flow *f = r->first;

		stream_end(r, f, 0);
		stream_end(r, f, 1);
		flow_close(r, f, REASM_CLOSE_END);
	}
}

struct reasm *reasm_new(const struct reasm_limits *lim, const struct reasm_ops *ops, void *arg)
{
	struct reasm *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	if (lim)
		r->lim = *lim;
	if (!r->lim.flow_bytes)
		r->lim.flow_bytes = DEF_FLOW_BYTES;
	if (!r->lim.total_bytes)
		r->lim.total_bytes = DEF_TOTAL_BYTES;
	if (!r->lim.max_flows)
		r->lim.max_flows = DEF_MAX_FLOWS;
	if (!r->lim.history)
		r->lim.history = DEF_HISTORY;
	r->ops = *ops;
	r->arg = arg;
	r->n_buckets = FIXED_BUCKETS;
	r->buckets = calloc(r->n_buckets, sizeof(*r->buckets));
	if (!r->buckets) {
		free(r);
		return NULL;
	}
	return r;
}

void reasm_free(struct reasm *r)
{
	if (!r)
		return;
	while (r->first)
		flow_unlink(r, r->first);
	free(r->buckets);
	free(r);
}

void reasm_get_stats(const struct reasm *r, struct reasm_stats *out)
{
	*out = r->st;
}
