/*
 * inspect.c — the JMSG inspection engine (docs/protocol.md §2–§6, docs/inspection.md).
 *
 * A streaming validator: each direction is a small state machine over the
 * byte stream (header → TLV header → value → ...). It never holds a frame
 * body. The header (48 bytes, metadata only) and a partial TLV header are
 * collected when split across reads; of a value it keeps at most one small
 * fixed-size value (a code or a date, <= 64 bytes) when that value itself
 * arrives split, and wipes it as soon as it is checked. Text and digit
 * values are checked byte by byte as they pass; uint and bytes values are
 * only skipped.
 *
 * Every decision is taken at a fixed byte position of the stream (a header
 * field is judged as soon as its last byte is in, in field order), so the
 * verdicts do not depend on how the stream was cut into reads.
 */
#include "filters/engine/inspect.h"

#include <stdlib.h>
#include <string.h>

#include "filters/engine/values.h"

#define INSP_MAGIC         0x4a47494eu   /* "JGIN" */
#define SCRATCH_MAX        64
#define DEFAULT_SKEW_MS    300000
#define DEFAULT_OUTSTANDING 1024
#define NO_ITEM            SIZE_MAX

static const char *const reason_names[INSP_REASON_COUNT] = {
	[INSP_OK] = "ok",
	[INSP_BAD_MAGIC] = "bad-magic",
	[INSP_BAD_VERSION] = "bad-version",
	[INSP_BAD_FLAGS] = "bad-flags",
	[INSP_BAD_RESERVED] = "bad-reserved",
	[INSP_UNKNOWN_TYPE] = "unknown-type",
	[INSP_DIRECTION_NOT_ALLOWED] = "direction-not-allowed",
	[INSP_BODY_TOO_LARGE] = "body-too-large",
	[INSP_SEQ_NOT_INCREASING] = "seq-not-increasing",
	[INSP_CLOCK_SKEW] = "clock-skew",
	[INSP_BAD_SENDER] = "bad-sender",
	[INSP_BAD_RECEIVER] = "bad-receiver",
	[INSP_SENDER_MISMATCH] = "sender-mismatch",
	[INSP_RECEIVER_MISMATCH] = "receiver-mismatch",
	[INSP_PAIR_CHANGED] = "pair-changed",
	[INSP_UNSOLICITED_RESPONSE] = "unsolicited-response",
	[INSP_DUPLICATE_RESPONSE] = "duplicate-response",
	[INSP_TLV_TRUNCATED] = "tlv-truncated",
	[INSP_TLV_ORDER] = "tlv-order",
	[INSP_TLV_UNKNOWN_TAG] = "tlv-unknown-tag",
	[INSP_TLV_REPEAT] = "tlv-repeat",
	[INSP_TLV_MISSING] = "tlv-missing",
	[INSP_TLV_TRAILING] = "tlv-trailing",
	[INSP_BAD_VALUE] = "bad-value",
	[INSP_RATE_LIMITED] = "rate-limited",
	[INSP_TRUNCATED_FRAME] = "truncated-frame",
	[INSP_GAP] = "gap",
	[INSP_OVERLAP_CONFLICT] = "overlap-conflict",
	[INSP_BAD_REF] = "bad-ref",
	[INSP_SYSTEM_MISMATCH] = "system-mismatch",
};

const char *insp_reason_name(enum insp_reason reason)
{
	if ((unsigned)reason >= INSP_REASON_COUNT || reason_names[reason] == NULL)
		return "unknown";
	return reason_names[reason];
}

/* One nesting level of the body: the top level or one container. */
struct level {
	const struct cat_shape *shape;   /* NULL: no field allowed */
	uint64_t left;                   /* bytes of this level not yet parsed */
	size_t item;                     /* index of the last item seen, NO_ITEM */
	uint32_t count;                  /* repeats of that item so far */
};

enum st { ST_HEADER, ST_TLV, ST_VALUE };

struct side {
	uint64_t offset;                 /* bytes consumed */
	uint64_t allowed;                /* end of the last allowed frame */
	uint64_t frames;                 /* frames started */
	uint64_t last_seq;
	uint64_t first_seq;              /* of the first frame whose header passed */
	bool has_first;
	enum st st;

	struct insp_frame fr;            /* the frame under inspection */
	const struct cat_type *type;
	uint8_t hdr[JMSG_HDR_LEN];
	size_t hdr_have;
	int hdr_checked;                 /* header checks done so far */

	struct level lv[2];
	int depth;
	uint8_t tlv[4];
	size_t tlv_have;

	const struct cat_field *vf;      /* the value being read */
	uint32_t vleft;                  /* bytes of it still to come */
	struct utf8_state utf8;
	uint8_t scratch[SCRATCH_MAX];
	size_t scratch_have;
};

struct pending {
	uint64_t seq;
	const struct cat_type *type;
	bool answered;
};

/* Requests and notices sent from one direction, waiting for (or having
 * had) their answer from the other. Sorted by seq, since seq increases. */
struct table {
	struct pending *v;
	size_t n, cap, open;
};

struct insp_conn {
	uint32_t magic;
	struct insp_params params;
	node_code peer;
	bool has_peer;
	bool denied;
	bool has_pair;
	bool midstream;                  /* the capture joined late: insp_conn_set_midstream */
	enum cat_system system;          /* 0 until a system-specific frame came */
	node_code pair_lan_sender, pair_lan_receiver;  /* as seen from the LAN */
	node_code first_receiver;
	struct side side[2];
	struct table table[2];           /* by the direction the request came from */
};

/* ---- connection ------------------------------------------------------- */

struct insp_conn *insp_conn_new(const struct insp_params *params, const char *peer)
{
	struct insp_conn *c;

	if (params == NULL || params->catalog == NULL || !node_valid(params->local))
		return NULL;
	if (peer != NULL && !node_valid(peer))
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->magic = INSP_MAGIC;
	c->params = *params;
	if (c->params.skew_ms <= 0)
		c->params.skew_ms = DEFAULT_SKEW_MS;
	if (c->params.max_outstanding == 0)
		c->params.max_outstanding = DEFAULT_OUTSTANDING;
	if (peer != NULL) {
		memcpy(c->peer, peer, sizeof(node_code));
		c->has_peer = true;
	}
	return c;
}

bool insp_conn_set_peer(struct insp_conn *c, const char *peer)
{
	if (c == NULL || c->magic != INSP_MAGIC || !node_valid(peer))
		return false;
	if (c->has_peer)
		return strcmp(c->peer, peer) == 0;
	/* The LAN side already talks to someone: the tunnel must lead there. */
	if (c->has_pair && strcmp(c->pair_lan_receiver, peer) != 0)
		return false;
	memcpy(c->peer, peer, sizeof(node_code));
	c->has_peer = true;
	return true;
}

enum cat_system insp_conn_system(const struct insp_conn *c)
{
	return c->system;
}

bool insp_conn_set_system(struct insp_conn *c, enum cat_system system)
{
	if (c == NULL || c->magic != INSP_MAGIC ||
	    (system != CAT_SYS_JUKI && system != CAT_SYS_FUHYO))
		return false;
	if (c->system)
		return c->system == system;
	c->system = system;
	return true;
}

bool insp_conn_set_midstream(struct insp_conn *c)
{
	if (c == NULL || c->magic != INSP_MAGIC || c->side[0].offset || c->side[1].offset)
		return false;
	c->midstream = true;
	return true;
}

size_t insp_conn_memory(const struct insp_conn *c)
{
	return sizeof(*c) + (c->table[0].cap + c->table[1].cap) * sizeof(struct pending);
}

static void side_wipe(struct side *s)
{
	explicit_bzero(s->scratch, sizeof(s->scratch));
	explicit_bzero(s->tlv, sizeof(s->tlv));
	explicit_bzero(s->hdr, sizeof(s->hdr));
	s->scratch_have = 0;
}

void insp_conn_free(struct insp_conn *c)
{
	if (c == NULL)
		return;
	if (c->magic != INSP_MAGIC)
		abort();     /* a broken invariant (double free or stray pointer), not input */
	side_wipe(&c->side[0]);
	side_wipe(&c->side[1]);
	free(c->table[0].v);
	free(c->table[1].v);
	explicit_bzero(c, sizeof(*c));
	free(c);
}

uint64_t insp_allowed_offset(const struct insp_conn *c, enum insp_dir dir)
{
	return c->side[dir & 1].allowed;
}

const char *insp_conn_first_receiver(const struct insp_conn *c)
{
	return c->first_receiver[0] ? c->first_receiver : NULL;
}

bool insp_conn_denied(const struct insp_conn *c)
{
	return c->denied;
}

/* ---- outstanding requests ---------------------------------------------- */

static struct pending *table_find(struct table *t, uint64_t seq)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->v[mid].seq == seq)
			return &t->v[mid];
		if (t->v[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Answered entries are kept to tell a duplicate answer from an unsolicited
 * one, until room is needed: then they are dropped and a late duplicate is
 * reported as unsolicited (still a deny). */
static bool table_add(struct table *t, uint64_t seq, const struct cat_type *type, uint32_t limit)
{
	if (t->n == t->cap) {
		size_t j = 0;
		for (size_t i = 0; i < t->n; i++)
			if (!t->v[i].answered)
				t->v[j++] = t->v[i];
		t->n = j;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		if (cap > 2 * (size_t)limit)
			cap = 2 * (size_t)limit;
		if (cap <= t->n)
			return false;
		struct pending *v = reallocarray(t->v, cap, sizeof(*v));
		if (v == NULL)
			return false;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n++] = (struct pending){ .seq = seq, .type = type };
	t->open++;
	return true;
}

/* ---- header ------------------------------------------------------------ */

static bool digits6(const uint8_t *p)
{
	return val_digits(p, NODE_CODE_LEN);
}

static void node_copy(node_code out, const uint8_t *p)
{
	memcpy(out, p, NODE_CODE_LEN);
	out[NODE_CODE_LEN] = '\0';
}

static bool node_eq(const uint8_t *p, const char *node)
{
	return memcmp(p, node, NODE_CODE_LEN) == 0;
}

/*
 * docs/protocol.md §5: a municipality may reach only its own prefecture's node. That
 * holds for every type, not only those written `to own-prefecture`: a rule
 * `from municipality to prefecture` or `from any`, keepalive, and answers
 * too. A connection between a municipality and a prefecture node is one
 * pair (§5), so the rule binds the pair whichever end sends the frame.
 */
static bool other_prefecture(enum node_role rs, enum node_role rr, const uint8_t *snd,
			     const uint8_t *rcv)
{
	bool muni_pref = (rs == NODE_ROLE_MUNICIPALITY && rr == NODE_ROLE_PREFECTURE) ||
			 (rs == NODE_ROLE_PREFECTURE && rr == NODE_ROLE_MUNICIPALITY);

	return muni_pref && node_prefecture(snd) != node_prefecture(rcv);
}

static enum insp_reason check_direction(const struct insp_conn *c, enum insp_dir dir,
					const struct cat_type *t, const uint8_t *snd,
					const uint8_t *rcv)
{
	enum node_role rs = node_role(snd), rr = node_role(rcv);

	if (other_prefecture(rs, rr, snd, rcv))
		return INSP_DIRECTION_NOT_ALLOWED;
	switch (t->dir) {
	case CAT_DIR_ROLES:
		if ((t->from != NODE_ROLE_INVALID && rs != t->from) ||
		    (t->to != NODE_ROLE_INVALID && rr != t->to))
			return INSP_DIRECTION_NOT_ALLOWED;
		return INSP_OK;
	case CAT_DIR_OWN_PREF:
		/* The prefecture itself was checked above, for every type. */
		if (rs != NODE_ROLE_MUNICIPALITY || rr != NODE_ROLE_PREFECTURE)
			return INSP_DIRECTION_NOT_ALLOWED;
		return INSP_OK;
	case CAT_DIR_ANY_TUNNEL:
		/* The receiver must be the tunnel's other end: the peer seen from
		 * the LAN, this gateway's node seen from the WAN. */
		if (dir == INSP_FROM_LAN ? (c->has_peer && !node_eq(rcv, c->peer))
					 : !node_eq(rcv, c->params.local))
			return INSP_DIRECTION_NOT_ALLOWED;
		return INSP_OK;
	case CAT_DIR_ANSWER:
		return INSP_OK;   /* follows its request: checked with the state */
	}
	return INSP_DIRECTION_NOT_ALLOWED;
}

static enum insp_reason check_parties(const struct insp_conn *c, enum insp_dir dir,
				      const uint8_t *snd, const uint8_t *rcv)
{
	const char *local = c->params.local;

	if (node_role(snd) == NODE_ROLE_INVALID)
		return INSP_BAD_SENDER;
	if (dir == INSP_FROM_LAN && !node_eq(snd, local))
		return INSP_BAD_SENDER;
	if (dir == INSP_FROM_WAN && (!c->has_peer || !node_eq(snd, c->peer)))
		return INSP_SENDER_MISMATCH;
	if (node_role(rcv) == NODE_ROLE_INVALID)
		return INSP_BAD_RECEIVER;
	if (dir == INSP_FROM_LAN && node_eq(rcv, local))
		return INSP_BAD_RECEIVER;
	if (dir == INSP_FROM_LAN && c->has_peer && !node_eq(rcv, c->peer))
		return INSP_RECEIVER_MISMATCH;
	if (dir == INSP_FROM_WAN && !node_eq(rcv, local))
		return INSP_RECEIVER_MISMATCH;
	return INSP_OK;
}

static enum insp_reason check_pair(const struct insp_conn *c, enum insp_dir dir,
				   const uint8_t *snd, const uint8_t *rcv)
{
	if (!c->has_pair)
		return INSP_OK;
	const uint8_t *ls = dir == INSP_FROM_LAN ? snd : rcv;
	const uint8_t *lr = dir == INSP_FROM_LAN ? rcv : snd;
	if (!node_eq(ls, c->pair_lan_sender) || !node_eq(lr, c->pair_lan_receiver))
		return INSP_PAIR_CHANGED;
	return INSP_OK;
}

/* One connection carries one system (docs/catalog.md): the far end relays it to
 * the local server of that system. System-less types (ack, nack, keepalive)
 * go with either. The first one fixes it, in header_accept. */
static enum insp_reason check_system(const struct insp_conn *c, const struct cat_type *t)
{
	return t->system && c->system && t->system != c->system ? INSP_SYSTEM_MISMATCH : INSP_OK;
}

/* Midstream only: nothing seen from the other direction yet, or only frames
 * after the one this answers — its request predates the capture. */
static bool predates_capture(const struct insp_conn *c, enum insp_dir dir, uint64_t ref)
{
	const struct side *other = &c->side[!dir];

	return c->midstream && (!other->has_first || ref < other->first_seq);
}

static enum insp_reason check_state(struct insp_conn *c, enum insp_dir dir,
				    const struct cat_type *t, struct insp_frame *f)
{
	if (t->pattern == CAT_RESPONSE) {
		struct pending *p = table_find(&c->table[!dir], f->ref);
		if (p == NULL && predates_capture(c, dir, f->ref)) {
			f->unverified = true;
			return INSP_OK;
		}
		if (p == NULL || !cat_answers(t, p->type))
			return INSP_UNSOLICITED_RESPONSE;
		if (p->answered)
			return INSP_DUPLICATE_RESPONSE;
		return INSP_OK;
	}
	if (c->table[dir].open >= c->params.max_outstanding)
		return INSP_RATE_LIMITED;
	return INSP_OK;
}

/*
 * |time - now| <= skew for any time the wire can carry (u64, so above
 * INT64_MAX too) and any clock the caller passes (negative too): the
 * distance is taken in u64, where nothing overflows. skew is > 0.
 */
static bool within_skew(uint64_t time, int64_t now, int64_t skew)
{
	uint64_t dist;

	if (now < 0) {
		uint64_t below = 0 - (uint64_t)now;          /* |now|, at most 2^63 */
		dist = time > UINT64_MAX - below ? UINT64_MAX : time + below;
	} else {
		uint64_t n = (uint64_t)now;
		dist = time >= n ? time - n : n - time;
	}
	return dist <= (uint64_t)skew;
}

/* Header checks, in field order, each as soon as its bytes are in. */
enum { HC_MAGIC, HC_VERSION, HC_FLAGS, HC_TYPE, HC_RESERVED, HC_BODY_LEN, HC_SEQ,
       HC_REF, HC_TIME, HC_SENDER, HC_RECEIVER, HC_DONE };
static const uint8_t hc_end[HC_DONE] = { 2, 3, 4, 6, 8, 12, 20, 28, 36, 42, 48 };

static enum insp_reason header_check(struct insp_conn *c, enum insp_dir dir, struct side *s,
				     int check, int64_t now_ms)
{
	const uint8_t *h = s->hdr;
	struct insp_frame *f = &s->fr;

	switch (check) {
	case HC_MAGIC:
		return h[0] == JMSG_MAGIC0 && h[1] == JMSG_MAGIC1 ? INSP_OK : INSP_BAD_MAGIC;
	case HC_VERSION:
		return h[2] == JMSG_VERSION ? INSP_OK : INSP_BAD_VERSION;
	case HC_FLAGS:
		f->flags = h[3];
		return (h[3] & ~JMSG_FLAG_RESPONSE) == 0 ? INSP_OK : INSP_BAD_FLAGS;
	case HC_TYPE:
		f->type = jmsg_be16(h + JMSG_OFF_TYPE);
		s->type = cat_type_by_code(c->params.catalog, f->type);
		if (s->type == NULL)
			return INSP_UNKNOWN_TYPE;
		f->type_name = s->type->name;
		f->system = s->type->system;
		/* RESPONSE is set exactly on the response types. */
		if (((h[3] & JMSG_FLAG_RESPONSE) != 0) != (s->type->pattern == CAT_RESPONSE))
			return INSP_BAD_FLAGS;
		return INSP_OK;
	case HC_RESERVED:
		return jmsg_be16(h + JMSG_OFF_RESERVED) == 0 ? INSP_OK : INSP_BAD_RESERVED;
	case HC_BODY_LEN:
		f->body_len = jmsg_be32(h + JMSG_OFF_BODY_LEN);
		return f->body_len <= s->type->max_body && f->body_len <= JMSG_BODY_HARD_MAX
			       ? INSP_OK : INSP_BODY_TOO_LARGE;
	case HC_SEQ:
		f->seq = jmsg_be64(h + JMSG_OFF_SEQ);
		return f->seq > s->last_seq ? INSP_OK : INSP_SEQ_NOT_INCREASING;
	case HC_REF:
		f->ref = jmsg_be64(h + JMSG_OFF_REF);
		return s->type->pattern == CAT_RESPONSE || f->ref == 0 ? INSP_OK : INSP_BAD_REF;
	case HC_TIME:
		f->time_ms = jmsg_be64(h + JMSG_OFF_TIME);
		return within_skew(f->time_ms, now_ms, c->params.skew_ms) ? INSP_OK : INSP_CLOCK_SKEW;
	case HC_SENDER:
		/* Metadata only, and only a well-formed one: never arbitrary bytes. */
		if (digits6(h + JMSG_OFF_SENDER))
			node_copy(f->sender, h + JMSG_OFF_SENDER);
		return INSP_OK;     /* judged with the receiver, below */
	case HC_RECEIVER: {
		const uint8_t *snd = h + JMSG_OFF_SENDER, *rcv = h + JMSG_OFF_RECEIVER;
		enum insp_reason r;
		if (digits6(rcv))
			node_copy(f->receiver, rcv);
		if ((r = check_parties(c, dir, snd, rcv)) != INSP_OK ||
		    (r = check_pair(c, dir, snd, rcv)) != INSP_OK ||
		    (r = check_system(c, s->type)) != INSP_OK ||
		    (r = check_direction(c, dir, s->type, snd, rcv)) != INSP_OK ||
		    (r = check_state(c, dir, s->type, f)) != INSP_OK)
			return r;
		return INSP_OK;
	}
	}
	return INSP_OK;
}

/* The header is whole and good: remember what the connection learnt. */
static void header_accept(struct insp_conn *c, enum insp_dir dir, struct side *s)
{
	const uint8_t *snd = s->hdr + JMSG_OFF_SENDER, *rcv = s->hdr + JMSG_OFF_RECEIVER;

	s->last_seq = s->fr.seq;
	if (!s->has_first) {
		s->first_seq = s->fr.seq;
		s->has_first = true;
	}
	if (!c->system)
		c->system = s->type->system;
	if (!c->has_pair) {
		node_copy(c->pair_lan_sender, dir == INSP_FROM_LAN ? snd : rcv);
		node_copy(c->pair_lan_receiver, dir == INSP_FROM_LAN ? rcv : snd);
		c->has_pair = true;
	}
	if (dir == INSP_FROM_LAN && !c->first_receiver[0])
		node_copy(c->first_receiver, rcv);
	s->lv[0] = (struct level){ .shape = s->type->body, .left = s->fr.body_len, .item = NO_ITEM };
	s->depth = 0;
	s->tlv_have = 0;
	s->st = ST_TLV;
}

/* ---- body -------------------------------------------------------------- */

static void frame_start(struct side *s, enum insp_dir dir)
{
	memset(&s->fr, 0, sizeof(s->fr));
	s->fr.dir = dir;
	s->fr.index = ++s->frames;
	s->fr.offset = s->offset;
	s->fr.allowed = true;
	s->type = NULL;
	s->hdr_have = 0;
	s->hdr_checked = 0;
	s->st = ST_HEADER;
}

/* Items of the level from `from` on that are required but were not seen. */
static enum insp_reason missing(const struct level *l, size_t from, uint16_t *field)
{
	if (l->shape == NULL)
		return INSP_OK;
	for (size_t i = from; i < l->shape->n_items; i++) {
		if (l->shape->items[i].min > 0) {
			*field = l->shape->items[i].field->tag;
			return INSP_TLV_MISSING;
		}
	}
	return INSP_OK;
}

static enum insp_reason level_end(const struct level *l, uint16_t *field)
{
	if (l->shape == NULL)
		return INSP_OK;
	if (l->item != NO_ITEM && l->count < l->shape->items[l->item].min) {
		*field = l->shape->items[l->item].field->tag;
		return INSP_TLV_MISSING;
	}
	return missing(l, l->item == NO_ITEM ? 0 : l->item + 1, field);
}

static size_t shape_find(const struct cat_shape *sh, size_t hint, uint16_t tag)
{
	if (sh == NULL)
		return NO_ITEM;
	/* The usual case: the same item again, or the next one. */
	const struct cat_item *items = sh->items;
	if (hint != NO_ITEM && items[hint].tag == tag)
		return hint;
	size_t next = hint == NO_ITEM ? 0 : hint + 1;
	if (next < sh->n_items && items[next].tag == tag)
		return next;
	size_t lo = 0, hi = sh->n_items;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint16_t t = items[mid].tag;
		if (t == tag)
			return mid;
		if (t < tag)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NO_ITEM;
}

/* A TLV header at the current level is whole: judge tag and length. */
static enum insp_reason tlv_begin(struct side *s, uint16_t tag, uint16_t len)
{
	struct level *l = &s->lv[s->depth];
	struct insp_frame *f = &s->fr;

	f->field = tag;
	l->left -= 4;
	if (len > l->left)
		return INSP_TLV_TRUNCATED;
	size_t idx = shape_find(l->shape, l->item, tag);
	if (idx == NO_ITEM)
		return INSP_TLV_UNKNOWN_TAG;
	const struct cat_item *it = &l->shape->items[idx];
	if (l->item != NO_ITEM && idx < l->item)
		return INSP_TLV_ORDER;
	if (idx == l->item) {
		if (l->count >= it->max)
			return INSP_TLV_REPEAT;
		l->count++;
	} else {
		enum insp_reason r = INSP_OK;
		uint16_t miss = 0;
		if (l->item != NO_ITEM && l->count < l->shape->items[l->item].min) {
			miss = l->shape->items[l->item].field->tag;
			r = INSP_TLV_MISSING;
		}
		for (size_t i = l->item == NO_ITEM ? 0 : l->item + 1; r == INSP_OK && i < idx; i++)
			if (l->shape->items[i].min > 0) {
				miss = l->shape->items[i].field->tag;
				r = INSP_TLV_MISSING;
			}
		if (r != INSP_OK) {
			f->field = miss;
			return r;
		}
		l->item = idx;
		l->count = 1;
	}
	l->left -= len;
	if (it->field->kind == CAT_CONTAINER) {
		if (s->depth == 0)
			f->records++;
		s->lv[1] = (struct level){ .shape = it->inner, .left = len, .item = NO_ITEM };
		s->depth = 1;
		return INSP_OK;
	}
	if (len < it->field->len_min || len > it->field->len_max)
		return INSP_BAD_VALUE;
	s->vf = it->field;
	s->vleft = len;
	s->st = ST_VALUE;
	return INSP_OK;
}

/* The value is split across reads: set up the streaming check. */
static void value_stream_start(struct side *s)
{
	s->scratch_have = 0;
	utf8_text_init(&s->utf8);
}

static bool fast_container(const struct cat_shape *inner, const uint8_t *p, size_t len);

/* A value wholly in the buffer (the usual case): checked in place. The
 * length was checked against the kind's bounds already. */
static inline enum insp_reason value_whole(const struct cat_field *f, const uint8_t *p, size_t n)
{
	return val_value(f, p, n) ? INSP_OK : INSP_BAD_VALUE;
}

/*
 * The common case in one tight loop: whole fields of one level that follow
 * the shape (the same item again, the next one, or one after optional ones)
 * and hold good values; at the top level also whole containers whose fields
 * all pass the same way and end their record complete. It stops, without a
 * verdict, at anything else — a field or container cut by the read, any rule
 * broken — and the general path below takes that field (or that container)
 * from its first byte, so both give the same verdicts. Only fields it
 * accepted change *l; *records counts the containers it accepted.
 */
static size_t fast_level(struct level *l, bool top, const uint8_t *p, size_t n,
			 uint32_t *records)
{
	const struct cat_shape *sh = l->shape;
	size_t used = 0;

	if (sh == NULL)
		return 0;
	const struct cat_item *items = sh->items;
	size_t n_items = sh->n_items, item = l->item;
	uint32_t count = l->count;
	uint64_t left = l->left;
	while (n - used >= 4 && left >= 4) {
		uint16_t tag = jmsg_be16(p + used), len = jmsg_be16(p + used + 2);
		if (len > left - 4 || len > n - used - 4)
			break;
		size_t idx;
		if (item != NO_ITEM && items[item].tag == tag) {
			if (count >= items[item].max)
				break;
			idx = item;
		} else {
			if (item != NO_ITEM && count < items[item].min)
				break;
			idx = item == NO_ITEM ? 0 : item + 1;
			while (idx < n_items && items[idx].tag < tag && items[idx].min == 0)
				idx++;
			if (idx >= n_items || items[idx].tag != tag)
				break;
		}
		const struct cat_field *f = items[idx].field;
		const uint8_t *v = p + used + 4;
		if (f->kind == CAT_CONTAINER) {
			if (!top || !fast_container(items[idx].inner, v, len))
				break;
			(*records)++;
		} else if (len < f->len_min || len > f->len_max || !val_value(f, v, len)) {
			break;
		}
		count = idx == item ? count + 1 : 1;
		item = idx;
		used += 4 + (size_t)len;
		left -= 4 + (uint64_t)len;
	}
	l->item = item;
	l->count = count;
	l->left = left;
	return used;
}

/* A whole container in the buffer: true when its fields fill it, all pass,
 * and none required is missing at its end. */
static bool fast_container(const struct cat_shape *inner, const uint8_t *p, size_t len)
{
	struct level in = { .shape = inner, .left = len, .item = NO_ITEM };
	uint32_t none = 0;
	uint16_t field;

	return fast_level(&in, false, p, len, &none) == len && level_end(&in, &field) == INSP_OK;
}

static size_t fast_fields(struct side *s, const uint8_t *p, size_t n)
{
	return fast_level(&s->lv[s->depth], s->depth == 0, p, n, &s->fr.records);
}

/* n more bytes of the current value; the last call completes it. */
static enum insp_reason value_feed(struct side *s, const uint8_t *p, size_t n)
{
	const struct cat_field *f = s->vf;
	bool last = n == s->vleft;

	s->vleft -= (uint32_t)n;
	switch (f->kind) {
	case CAT_TEXT:
		if (!utf8_text_feed(&s->utf8, p, n) || (last && !utf8_text_complete(&s->utf8)))
			return INSP_BAD_VALUE;
		return INSP_OK;
	case CAT_DIGITS:
		return val_digits(p, n) ? INSP_OK : INSP_BAD_VALUE;
	case CAT_UINT:
	case CAT_BYTES:
		return INSP_OK;
	default:
		break;
	}
	/* Small fixed-size kinds: in place when whole, else via the scratch. */
	if (last && s->scratch_have == 0)
		return val_check(f, p, n) ? INSP_OK : INSP_BAD_VALUE;
	if (n > sizeof(s->scratch) - s->scratch_have)
		return INSP_BAD_VALUE;   /* the catalog bounds these kinds; never here */
	memcpy(s->scratch + s->scratch_have, p, n);
	s->scratch_have += n;
	if (!last)
		return INSP_OK;
	bool ok = val_check(f, s->scratch, s->scratch_have);
	explicit_bzero(s->scratch, s->scratch_have);
	s->scratch_have = 0;
	return ok ? INSP_OK : INSP_BAD_VALUE;
}

/*
 * After a field: close every level that is now complete. Returns INSP_OK and
 * sets *done when the whole frame is.
 */
static enum insp_reason close_levels(struct side *s, bool *done)
{
	*done = false;
	while (s->lv[s->depth].left == 0) {
		enum insp_reason r = level_end(&s->lv[s->depth], &s->fr.field);
		if (r != INSP_OK)
			return r;
		if (s->depth == 0) {
			*done = true;
			s->fr.field = 0;
			return INSP_OK;
		}
		s->depth = 0;
	}
	return INSP_OK;
}

/* ---- feeding ----------------------------------------------------------- */

struct feed_ctx {
	struct insp_conn *c;
	enum insp_dir dir;
	int64_t now_ms;
	insp_frame_fn fn;
	void *arg;
};

static void verdict(struct feed_ctx *x, struct side *s, enum insp_reason r)
{
	struct insp_frame *f = &s->fr;

	f->allowed = r == INSP_OK;
	f->reason = r;
	if (r != INSP_BAD_VALUE && (r < INSP_TLV_TRUNCATED || r > INSP_TLV_TRAILING))
		f->field = 0;
	/* Lengths that do not depend on how the stream was cut into reads: what
	 * was seen of a truncated frame, the header up to the deciding field, or
	 * the whole frame as its header declares it. */
	if (r == INSP_TRUNCATED_FRAME)
		f->length = s->offset - f->offset;
	else if (s->st == ST_HEADER)
		f->length = s->hdr_checked > 0 ? hc_end[s->hdr_checked - 1] : 0;
	else
		f->length = JMSG_HDR_LEN + (uint64_t)f->body_len;
	if (f->allowed) {
		struct insp_conn *c = x->c;
		s->allowed = f->offset + f->length;
		/* Only a whole, allowed frame changes what is outstanding. */
		if (s->type->pattern == CAT_RESPONSE) {
			struct pending *p = table_find(&c->table[!x->dir], f->ref);
			if (p != NULL && !p->answered) {
				p->answered = true;
				c->table[!x->dir].open--;
			}
		} else if (!table_add(&c->table[x->dir], f->seq, s->type, c->params.max_outstanding)) {
			f->allowed = false;
			f->reason = INSP_RATE_LIMITED;
			s->allowed = f->offset;
		}
	}
	if (!f->allowed) {
		f->unverified = false;   /* a deny is a deny, whatever it answered */
		x->c->denied = true;
		side_wipe(s);
	}
	if (x->fn)
		x->fn(x->arg, f);
	s->st = ST_HEADER;
	s->hdr_have = 0;
}

static size_t feed_header(struct feed_ctx *x, struct side *s, const uint8_t *p, size_t n,
			  enum insp_reason *r)
{
	size_t take = JMSG_HDR_LEN - s->hdr_have;

	if (take > n)
		take = n;
	memcpy(s->hdr + s->hdr_have, p, take);
	s->hdr_have += take;
	while (s->hdr_checked < HC_DONE && s->hdr_have >= hc_end[s->hdr_checked]) {
		*r = header_check(x->c, x->dir, s, s->hdr_checked, x->now_ms);
		s->hdr_checked++;
		if (*r != INSP_OK)
			return take;
	}
	if (s->hdr_have == JMSG_HDR_LEN)
		header_accept(x->c, x->dir, s);
	return take;
}

/* Consume body bytes; returns how many, with *r set on a deny and *done
 * when the frame is complete. */
static size_t feed_body(struct side *s, const uint8_t *p, size_t n, enum insp_reason *r, bool *done)
{
	size_t used = 0;

	*done = false;
	/* An empty body is complete before any byte of it. */
	if (s->st == ST_TLV && s->lv[s->depth].left == 0) {
		*r = close_levels(s, done);
		return 0;
	}
	while (used < n) {
		if (s->st == ST_VALUE) {
			size_t take = n - used < s->vleft ? n - used : s->vleft;
			*r = value_feed(s, p + used, take);
			used += take;
			if (*r != INSP_OK)
				return used;
			if (s->vleft > 0)
				continue;
			s->st = ST_TLV;
			s->fr.field = 0;
			*r = close_levels(s, done);
			if (*r != INSP_OK || *done)
				return used;
			continue;
		}
		/* ST_TLV: a field header at the current level. */
		if (s->tlv_have == 0) {
			size_t k = fast_fields(s, p + used, n - used);
			used += k;
			if (k > 0 && s->lv[s->depth].left == 0) {
				*r = close_levels(s, done);
				if (*r != INSP_OK || *done)
					return used;
				continue;
			}
			if (used == n)
				return used;
		}
		struct level *l = &s->lv[s->depth];
		if (s->tlv_have == 0 && l->left < 4) {
			s->fr.field = 0;
			*r = INSP_TLV_TRAILING;
			return used;
		}
		uint16_t tag, len;
		if (s->tlv_have == 0 && n - used >= 4) {
			tag = jmsg_be16(p + used);
			len = jmsg_be16(p + used + 2);
			used += 4;
		} else {
			size_t take = 4 - s->tlv_have < n - used ? 4 - s->tlv_have : n - used;
			memcpy(s->tlv + s->tlv_have, p + used, take);
			s->tlv_have += take;
			used += take;
			if (s->tlv_have < 4)
				return used;
			tag = jmsg_be16(s->tlv);
			len = jmsg_be16(s->tlv + 2);
			s->tlv_have = 0;
		}
		*r = tlv_begin(s, tag, len);
		if (*r != INSP_OK)
			return used;
		if (s->st == ST_VALUE) {
			if (n - used < len) {
				value_stream_start(s);  /* split: the streaming path */
				continue;
			}
			*r = value_whole(s->vf, p + used, len);
			used += len;
			s->vleft = 0;
			s->st = ST_TLV;
			if (*r != INSP_OK)
				return used;
			s->fr.field = 0;
			if (s->lv[s->depth].left != 0)
				continue;
		}
		/* A container: it may be empty, and end its parent too. */
		*r = close_levels(s, done);
		if (*r != INSP_OK || *done)
			return used;
	}
	return used;
}

bool insp_feed(struct insp_conn *c, enum insp_dir dir, const uint8_t *data, size_t len,
	       int64_t now_ms, insp_frame_fn fn, void *arg)
{
	struct feed_ctx x = { c, dir, now_ms, fn, arg };

	if (c == NULL || c->magic != INSP_MAGIC || (dir != INSP_FROM_LAN && dir != INSP_FROM_WAN))
		return false;
	struct side *s = &c->side[dir];
	while (!c->denied) {
		enum insp_reason r = INSP_OK;
		bool done = false;
		size_t used;

		if (s->st == ST_HEADER) {
			if (len == 0)
				break;
			if (s->hdr_have == 0)
				frame_start(s, dir);
			used = feed_header(&x, s, data, len, &r);
			s->offset += used;
			data += used;
			len -= used;
			if (r != INSP_OK) {
				verdict(&x, s, r);
				break;
			}
			if (s->st == ST_HEADER)
				continue;
		}
		/* A frame's end is decided without waiting for more bytes, so a
		 * complete frame gets its verdict in the read that completes it. */
		used = feed_body(s, data, len, &r, &done);
		s->offset += used;
		data += used;
		len -= used;
		if (r != INSP_OK || done) {
			verdict(&x, s, r);
			continue;
		}
		if (len == 0)
			break;
	}
	return !c->denied;
}

bool insp_finish(struct insp_conn *c, enum insp_dir dir, int64_t now_ms, insp_frame_fn fn, void *arg)
{
	struct feed_ctx x = { c, dir, now_ms, fn, arg };

	if (c == NULL || c->magic != INSP_MAGIC || (dir != INSP_FROM_LAN && dir != INSP_FROM_WAN))
		return false;
	if (c->denied)
		return false;
	struct side *s = &c->side[dir];
	if (s->st == ST_HEADER && s->hdr_have == 0)
		return true;
	verdict(&x, s, INSP_TRUNCATED_FRAME);
	return false;
}
