/*
 * jgw-replay — what the gateway did, or would do under another
 * configuration, with captured traffic.
 *
 *   jgw-replay -c CONFIG [-r FILE|-] [--compare CONFIG2] [-q]
 *
 * Packets (pcap or pcapng, through libpcap) are decoded (pkt.h), each TCP
 * flow is reassembled per direction (reasm.h), and the streams are fed to
 * the gateway's own inspection engine (inspect.h) with the configuration's
 * view of the flow: which side is the site LAN, which node the gateway
 * serves, who the peer is. One JSON line per frame verdict, in the audit
 * `message` schema plus flow and packet numbers, then a summary line.
 * Exit: 0 every frame allowed and everything inspected, 1 something denied
 * (or, with --compare, something differs), 2 usage, configuration or
 * capture error, 3 nothing denied (nothing differs) but not everything
 * could be inspected or verified (the summary's `incomplete`).
 *
 * Memory that grows with the capture — this program's per-flow state, the
 * midstream search buffers, the engine's tables, --compare's pending
 * results — is charged to reasm's total bound (reasm_charge) beside the
 * reassembly's own; what does not fit ends that flow's inspection with the
 * outcome `memory-limit`.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include "jgw_version.h"
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "filters/base/addr.h"
#include "filters/base/json.h"
#include "filters/engine/inspect.h"
#include "filters/policy/policy.h"
#include "filters/replay/pkt.h"
#include "filters/replay/reasm.h"

#define SYNC_MAX   (64u << 10)   /* bytes searched for a frame boundary, midstream */
#define SYNC_FIRST (4u << 10)    /* its first size: most flows sync at once */
#define PEEK_LEN   JMSG_HDR_LEN

/* A frame's verdict as printed; `unverified`: an answer to a request from
 * before a midstream capture began (insp_conn_set_midstream). */
enum verdict { V_ALLOW, V_DENY, V_UNVERIFIED };
static const char *const verdict_names[] = { "allow", "deny", "unverified" };

/* How the configuration sees a flow. */
/* The leg of the gateway a flow is (policy_classify). */
enum kind {
	K_UNCLASSIFIED = POLICY_LEG_NONE,
	K_LAN_EGRESS = POLICY_LEG_LAN_EGRESS,     /* site server -> LAN listener */
	K_LAN_INGRESS = POLICY_LEG_LAN_INGRESS,   /* gateway -> local server */
	K_WAN_INGRESS = POLICY_LEG_WAN_INGRESS,   /* peer gateway -> WAN listener */
	K_WAN_EGRESS = POLICY_LEG_WAN_EGRESS,     /* gateway -> peer's WAN listener */
	K_COUNT
};
static const char *const kind_names[K_COUNT] = {
	"unclassified", "lan-egress", "lan-ingress", "wan-ingress", "wan-egress",
};

struct count {
	const char *name;
	uint64_t n;
};

struct counts {
	struct count *v;
	size_t n, cap;
};

struct type_tally {
	uint16_t type;
	const char *name;
	uint64_t n[3];               /* by enum verdict */
};

/* A capture timestamp: seconds since 1970 and microseconds. */
struct cap_ts {
	int64_t sec;
	long usec;
};

/* Frame outcome kept for --compare. */
struct fres {
	uint64_t index, packet, seq;
	struct cap_ts ts;             /* of the packet that completed the verdict */
	uint16_t type;
	bool has_type;
	enum verdict verdict;
	const char *reason;           /* on a deny */
	node_code sender, receiver;
};

/* --compare: verdicts of one pass that the other has not reached yet
 * (v[head..n)); they are compared, printed and dropped as soon as it has. */
struct fres_list {
	struct fres *v;
	size_t head, n, cap;
};

struct replay;

/* One configuration's view of the replay. */
struct pass {
	int no;                       /* 0 or 1 */
	const char *path;
	struct jgw_config *cfg;
	struct insp_params params;
	struct type_tally *types;
	size_t n_types, cap_types;
	struct counts denies;         /* per reason */
	struct counts flow_outcomes;  /* not inspected / flow-level deny, per cause */
	uint64_t kinds[K_COUNT];
	uint64_t frames[3];           /* by enum verdict */
	uint64_t untyped;             /* verdicts on frames whose type was never read */
	/* What keeps the result from being complete (besides flows_refused). */
	uint64_t not_inspected;       /* flows (or their rest) not inspected */
	uint64_t unverified_overlaps; /* flows with copies that could not be compared */
};

/* One configuration's view of one flow. */
struct pview {
	struct pass *pass;
	struct flowctx *flow;
	struct insp_conn *conn;
	enum kind kind;
	enum cat_system server_system; /* lan-ingress: the local server's system */
	enum insp_dir side_dir[2];
	bool stopped;                 /* denied, or not inspected at all */
	bool unverified_noted;        /* unverified-overlap reported */
	bool peer_known;
	node_code pending_peer;       /* egress: learnt from the first LAN frame */
	uint8_t peek[PEEK_LEN];       /* lan-ingress: header held until the peer is known */
	size_t peek_len;
	uint64_t frames[2];           /* frames reported per side */
	size_t conn_charged;          /* of conn, charged to the total bound */
	struct fres_list res[2];      /* --compare only */
};

struct sync {
	bool active;                  /* still looking for a frame boundary */
	bool failed;
	uint8_t *buf;
	size_t len, cap;              /* cap: allocated and charged */
	uint64_t skipped;
};

struct flowctx {
	struct replay *rp;
	struct reasm_flow_info info;
	uint64_t first_packet;
	bool encrypted;
	bool compare_lost;            /* --compare: no room to hold results */
	struct sync sync[2];
	struct pview view[2];
};

struct replay {
	struct pass pass[2];
	int n_pass;
	bool compare, quiet;
	uint64_t packet;              /* current pcap packet number, 1-based */
	struct cap_ts ts;             /* its timestamp */
	int64_t now_ms;               /* the same, as the gateway clock */
	uint64_t records;             /* message records printed (their `seq`) */
	uint64_t pkt_status[PKT_STATUS_COUNT];
	uint64_t flows_open_at_end, midstream_flows, differences;
	uint64_t midstream_skipped;   /* directions whose bytes before the first
	                                 proven frame were skipped */
	struct reasm *reasm;          /* the total memory bound is kept there */
	bool oom;
	FILE *out;
};

/* ---- small helpers ---- */

static void *xrealloc(struct replay *rp, void *p, size_t n)
{
	void *q = realloc(p, n);

	if (!q)
		rp->oom = true;
	return q;
}

static void count_add(struct replay *rp, struct counts *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->v[i].name, name)) {
			c->v[i].n++;
			return;
		}
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct count *v = xrealloc(rp, c->v, cap * sizeof(*v));

		if (!v)
			return;
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n].name = name;
	c->v[c->n++].n = 1;
}

static void tally_frame(struct replay *rp, struct pass *p, uint16_t type, const char *name,
			enum verdict verdict)
{
	struct type_tally *t = NULL;

	for (size_t i = 0; i < p->n_types; i++)
		if (p->types[i].type == type) {
			t = &p->types[i];
			break;
		}
	if (!t) {
		if (p->n_types == p->cap_types) {
			size_t cap = p->cap_types ? p->cap_types * 2 : 16;
			struct type_tally *v = xrealloc(rp, p->types, cap * sizeof(*v));

			if (!v)
				return;
			p->types = v;
			p->cap_types = cap;
		}
		t = &p->types[p->n_types++];
		memset(t, 0, sizeof(*t));
		t->type = type;
		t->name = name;
	}
	if (!t->name)
		t->name = name;
	t->n[verdict]++;
	p->frames[verdict]++;
}

static const char *reason_name(enum insp_reason r)
{
	const char *name = insp_reason_name(r);

	return name ? name : "unknown-reason";
}

static void to_sockaddr(int family, const uint8_t *addr, uint16_t port,
			struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, addr, 4);
		sin->sin_port = htons(port);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, addr, 16);
		sin6->sin6_port = htons(port);
	}
}

/* Classify with side `srv` as the server (the configuration's policy);
 * returns why the flow is refused at admission (or NULL). */
static enum kind classify_as(struct pview *v, int srv, const char **why)
{
	const struct reasm_flow_info *in = &v->flow->info;
	struct sockaddr_storage c, sv;
	struct policy_flow pf;
	int cli = !srv;

	to_sockaddr(in->family, in->addr[cli], in->port[cli], &c);
	to_sockaddr(in->family, in->addr[srv], in->port[srv], &sv);
	policy_classify(v->pass->cfg, (const struct sockaddr *)&c, (const struct sockaddr *)&sv, &pf);
	*why = pf.why;
	if (pf.leg == POLICY_LEG_NONE)
		return K_UNCLASSIFIED;
	v->side_dir[cli] = pf.client_dir;
	v->side_dir[srv] = pf.client_dir == INSP_FROM_LAN ? INSP_FROM_WAN : INSP_FROM_LAN;
	v->server_system = pf.server_system;
	if (pf.peer[0])
		memcpy(v->pending_peer, pf.peer, sizeof(node_code));
	return (enum kind)pf.leg;
}

/* ---- output ---- */

/* A flow-level outcome, and what it means for the exit status. */
enum outcome { O_DENY, O_NOT_INSPECTED, O_UNVERIFIED };
static const char *const outcome_names[] = { "deny", "not-inspected", "unverified" };

static void flow_note(struct pview *v, enum outcome outcome, const char *reason)
{
	struct replay *rp = v->flow->rp;
	const struct reasm_flow_info *in = &v->flow->info;
	char a[64], b[64];

	count_add(rp, &v->pass->flow_outcomes, reason);
	if (outcome == O_NOT_INSPECTED)
		v->pass->not_inspected++;
	else if (outcome == O_UNVERIFIED)
		v->pass->unverified_overlaps++;
	if (rp->quiet || rp->compare)
		return;
	fprintf(rp->out, "{\"event\":\"flow\",\"flow\":%llu,\"pcap_packet\":%llu,\"kind\":\"%s\","
		"\"src\":\"%s\",\"dst\":\"%s\",\"midstream\":%s,\"outcome\":\"%s\",\"reason\":\"%s\"}\n",
		(unsigned long long)in->id, (unsigned long long)rp->packet, kind_names[v->kind],
		addr_endpoint_str(in->family, in->addr[0], in->port[0], a, sizeof(a)),
		addr_endpoint_str(in->family, in->addr[1], in->port[1], b, sizeof(b)),
		in->midstream ? "true" : "false", outcome_names[outcome], reason);
}

/* The view inspects nothing more of this flow. Its engine state is freed
 * by view_release, never here: this may run inside the engine's callback. */
static void view_stop(struct pview *v, const char *why)
{
	if (!v->stopped) {
		v->stopped = true;
		flow_note(v, O_NOT_INSPECTED, why);
	}
}

/* Outside any engine call: give back a stopped view's engine state. */
static void view_release(struct pview *v)
{
	insp_conn_free(v->conn);
	v->conn = NULL;
	reasm_uncharge(v->flow->rp->reasm, v->conn_charged);
	v->conn_charged = 0;
}

static void res_free(struct pview *v)
{
	for (int side = 0; side < 2; side++) {
		struct fres_list *l = &v->res[side];

		free(l->v);
		reasm_uncharge(v->flow->rp->reasm, l->cap * sizeof(*l->v));
		memset(l, 0, sizeof(*l));
	}
}

/*
 * No room under the total bound for what the flow needs next: nothing more
 * of it is inspected, under any configuration (with --compare, results of
 * one pass alone would read as differences), and it says so.
 */
static void flow_drop(struct flowctx *fc, const char *why)
{
	for (int i = 0; i < fc->rp->n_pass; i++) {
		view_stop(&fc->view[i], why);
		res_free(&fc->view[i]);
	}
	fc->compare_lost = true;
}

static const char *res_reason(const struct fres *r)
{
	return r ? (r->verdict == V_DENY ? r->reason : "") : "not-inspected";
}

/* --compare: the index-th verdict of one side under each configuration;
 * NULL: that configuration judged no such frame. */
static void diff_one(struct flowctx *fc, int side, const struct fres *ra, const struct fres *rb)
{
	struct replay *rp = fc->rp;
	const struct fres *any = ra ? ra : rb;

	if (ra && rb && ra->verdict == rb->verdict &&
	    (ra->verdict != V_DENY || !strcmp(ra->reason, rb->reason)))
		return;
	rp->differences++;
	if (rp->quiet)
		return;
	fprintf(rp->out, "{\"event\":\"differs\",\"flow\":%llu,\"pcap_packet\":%llu,"
		"\"dir\":\"%s\",\"index\":%llu",
		(unsigned long long)fc->info.id, (unsigned long long)any->packet,
		fc->view[0].side_dir[side] == INSP_FROM_LAN ? "out" : "in",
		(unsigned long long)any->index);
	if (any->has_type)
		fprintf(rp->out, ",\"type\":\"0x%04x\"", any->type);
	if (any->sender[0])
		fprintf(rp->out, ",\"sender\":\"%s\",\"receiver\":\"%s\",\"frame_seq\":%llu",
			any->sender, any->receiver, (unsigned long long)any->seq);
	fprintf(rp->out, ",\"a\":{\"verdict\":\"%s\",\"reason\":\"%s\"}"
		",\"b\":{\"verdict\":\"%s\",\"reason\":\"%s\"}}\n",
		ra ? verdict_names[ra->verdict] : "none", res_reason(ra),
		rb ? verdict_names[rb->verdict] : "none", res_reason(rb));
}

/*
 * Compare what both configurations have judged of this side, and what one
 * has judged where the other will judge nothing more (stopped, or the flow
 * closed). Only verdicts one pass is ahead by stay held.
 */
static void compare_settle(struct flowctx *fc, int side, bool closing)
{
	struct fres_list *a = &fc->view[0].res[side], *b = &fc->view[1].res[side];

	if (fc->compare_lost)
		return;
	while (a->head < a->n && b->head < b->n)
		diff_one(fc, side, &a->v[a->head++], &b->v[b->head++]);
	if (closing || fc->view[1].stopped)
		while (a->head < a->n)
			diff_one(fc, side, &a->v[a->head++], NULL);
	if (closing || fc->view[0].stopped)
		while (b->head < b->n)
			diff_one(fc, side, NULL, &b->v[b->head++]);
	if (a->head == a->n)
		a->head = a->n = 0;
	if (b->head == b->n)
		b->head = b->n = 0;
}

/* Room for one more pending result, charged to the total bound. */
static bool res_room(struct pview *v, struct fres_list *l)
{
	struct replay *rp = v->flow->rp;
	size_t cap = l->cap ? l->cap * 2 : 8;
	struct fres *nv;

	if (l->head > 0) {
		memmove(l->v, l->v + l->head, (l->n - l->head) * sizeof(*l->v));
		l->n -= l->head;
		l->head = 0;
		return true;
	}
	if (!reasm_charge(rp->reasm, (cap - l->cap) * sizeof(*nv)))
		return false;
	nv = xrealloc(rp, l->v, cap * sizeof(*nv));
	if (!nv) {
		reasm_uncharge(rp->reasm, (cap - l->cap) * sizeof(*nv));
		return false;
	}
	l->v = nv;
	l->cap = cap;
	return true;
}

static void keep_result(struct pview *v, int side, const struct fres *r)
{
	struct flowctx *fc = v->flow;
	struct fres_list *l = &v->res[side];

	if (fc->compare_lost)
		return;
	if (l->n == l->cap && !res_room(v, l)) {
		flow_drop(fc, "memory-limit");
		return;
	}
	l->v[l->n++] = *r;
	compare_settle(fc, side, false);
}

static int side_of_dir(const struct pview *v, enum insp_dir dir)
{
	return v->side_dir[0] == dir ? 0 : 1;
}

/*
 * docs/audit.md's `ts`: RFC 3339 UTC with microseconds, 27 characters. A capture
 * can hold any timestamp (pcapng: 64 bits in any unit): a year outside
 * 0000-9999 or a broken fraction has no such form, and gives false.
 */
static bool format_ts(const struct cap_ts *ts, char out[32])
{
	time_t t = (time_t)ts->sec;
	struct tm tm;

	if ((int64_t)t != ts->sec || ts->usec < 0 || ts->usec > 999999 || !gmtime_r(&t, &tm) ||
	    tm.tm_year < -1900 || tm.tm_year > 9999 - 1900 ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm) != 19)
		return false;
	snprintf(out + 19, 32 - 19, ".%06ldZ", ts->usec);
	return true;
}

/* The message record's fields as JSON members of the line being printed. */
static void json_field_str(void *arg, const char *key, const char *value)
{
	fprintf(arg, ",\"%s\":", key);
	json_put_str(arg, value);
}

static void json_field_u64(void *arg, const char *key, uint64_t value)
{
	fprintf(arg, ",\"%s\":%llu", key, (unsigned long long)value);
}

/* One frame verdict: printed, tallied, kept for --compare. */
static void emit(struct pview *v, enum insp_dir dir, const struct fres *r,
		 const struct insp_frame *f)
{
	struct replay *rp = v->flow->rp;
	FILE *out = rp->out;

	if (r->has_type) {
		tally_frame(rp, v->pass, r->type, f && f->type_name ? f->type_name : NULL, r->verdict);
	} else {
		/* Denied before its type was read (bad magic, a gap, a refused peer). */
		v->pass->untyped++;
		v->pass->frames[r->verdict]++;
	}
	if (r->verdict == V_DENY)
		count_add(rp, &v->pass->denies, r->reason);
	if (rp->compare) {
		keep_result(v, side_of_dir(v, dir), r);
		return;
	}
	if (rp->quiet)
		return;
	/* ts and seq as on every audit record (docs/audit.md): the capture time of
	 * the packet that completed the verdict, and the record's number. */
	char ts[32];
	if (format_ts(&r->ts, ts))
		fprintf(out, "{\"ts\":\"%s\"", ts);
	else
		fputs("{\"ts\":null", out);
	fprintf(out, ",\"seq\":%llu,\"event\":\"message\",\"flow\":%llu,\"tunnel_id\":%llu,"
		"\"pcap_packet\":%llu,\"gw\":\"%s\",\"index\":%llu",
		(unsigned long long)++rp->records,
		(unsigned long long)v->flow->info.id, (unsigned long long)v->flow->info.id,
		(unsigned long long)r->packet, v->pass->cfg->site, (unsigned long long)r->index);
	/* The same fields, in the same order, as the gateway's own record. */
	struct policy_verdict pv = {
		.dir = dir, .has_type = r->has_type, .type = r->type,
		.type_name = f ? f->type_name : NULL, .sender = r->sender, .receiver = r->receiver,
		.frame_seq = r->seq, .has_size = f != NULL, .bytes = f ? f->length : 0,
		.records = f ? f->records : 0, .verdict = verdict_names[r->verdict],
		.reason = r->verdict == V_DENY ? r->reason : NULL,
		.field = f && !f->allowed ? f->field : 0,
	};
	struct policy_sink sink = { .str = json_field_str, .u64 = json_field_u64, .arg = out };
	policy_message_fields(&pv, &sink);
	if (v->flow->info.midstream)
		fputs(",\"midstream\":true", out);
	fputs("}\n", out);
}

/* A deny that the engine did not make (gap, conflict, peer refused). */
static void emit_deny(struct pview *v, enum insp_dir dir, const char *reason,
		      const uint8_t *hdr)
{
	int side = side_of_dir(v, dir);
	struct fres r = {
		.index = ++v->frames[side], .packet = v->flow->rp->packet, .ts = v->flow->rp->ts,
		.verdict = V_DENY, .reason = reason,
	};

	if (hdr) {
		r.has_type = true;
		r.type = jmsg_be16(hdr + JMSG_OFF_TYPE);
		r.seq = jmsg_be64(hdr + JMSG_OFF_SEQ);
		if (node_role(hdr + JMSG_OFF_SENDER) != NODE_ROLE_INVALID &&
		    node_role(hdr + JMSG_OFF_RECEIVER) != NODE_ROLE_INVALID) {
			memcpy(r.sender, hdr + JMSG_OFF_SENDER, NODE_CODE_LEN);
			memcpy(r.receiver, hdr + JMSG_OFF_RECEIVER, NODE_CODE_LEN);
		}
	}
	v->stopped = true;
	emit(v, dir, &r, NULL);
}

/* ---- inspection ---- */

static enum verdict frame_verdict(const struct insp_frame *f)
{
	return !f->allowed ? V_DENY : f->unverified ? V_UNVERIFIED : V_ALLOW;
}

static void on_frame(void *arg, const struct insp_frame *f)
{
	struct pview *v = arg;
	int side = side_of_dir(v, f->dir);
	struct fres r = {
		.packet = v->flow->rp->packet, .ts = v->flow->rp->ts, .seq = f->seq, .type = f->type,
		.has_type = f->length >= JMSG_OFF_TYPE + 2, .verdict = frame_verdict(f),
		.reason = f->allowed ? NULL : reason_name(f->reason),
	};

	if (v->stopped)
		return;   /* after a deny the gateway forwards nothing */
	if (f->sender[0] && f->receiver[0]) {
		memcpy(r.sender, f->sender, sizeof(node_code));
		memcpy(r.receiver, f->receiver, sizeof(node_code));
	}
	/* Egress: the first frame's receiver picks the peer (peer directory). */
	if (f->allowed && v->kind == K_LAN_EGRESS && !v->peer_known && f->dir == INSP_FROM_LAN &&
	    !v->pending_peer[0]) {
		const char *why = policy_egress_peer(v->pass->cfg, f->receiver);

		if (why) {
			r.verdict = V_DENY;
			r.reason = why;
		} else {
			memcpy(v->pending_peer, f->receiver, sizeof(node_code));
		}
	}
	r.index = ++v->frames[side];
	emit(v, f->dir, &r, f);
	if (r.verdict == V_DENY)
		v->stopped = true;
}

/*
 * The tunnel peer is known: tell the engine. It refuses a peer other than
 * the node the LAN side already addresses — a lan-ingress flow whose local
 * server spoke first, to someone else than the relayed peer. The flow is
 * then denied here, by name, on the frame (dir, hdr) that made the peer
 * known, rather than left to the engine without a peer, which would judge
 * that frame `sender-mismatch` though its sender is the peer.
 */
static bool set_pending_peer(struct pview *v, enum insp_dir dir, const uint8_t *hdr)
{
	if (v->peer_known || !v->pending_peer[0] || v->stopped)
		return true;
	v->peer_known = true;
	if (insp_conn_set_peer(v->conn, v->pending_peer))
		return true;
	emit_deny(v, dir, "peer-mismatch", hdr);
	flow_note(v, O_DENY, "peer-mismatch");
	return false;
}

/* The engine's tables grow with the requests it holds: charge what they
 * took. Without room the flow is inspected no further (memory-limit). */
static void view_recharge(struct pview *v)
{
	size_t now;

	if (!v->conn)
		return;
	now = insp_conn_memory(v->conn);
	if (now <= v->conn_charged)
		return;
	if (reasm_charge(v->flow->rp->reasm, now - v->conn_charged))
		v->conn_charged = now;
	else
		flow_drop(v->flow, "memory-limit");
}

static void feed(struct pview *v, enum insp_dir dir, const uint8_t *d, size_t n)
{
	struct replay *rp = v->flow->rp;

	if (!insp_feed(v->conn, dir, d, n, rp->now_ms, on_frame, v))
		v->stopped = true;
	view_recharge(v);
	if (v->stopped)
		view_release(v);   /* denied or dropped: nothing more is fed */
	else
		set_pending_peer(v, dir, NULL);
}

/* lan-ingress: hold the first header from the WAN side until its sender,
 * the peer whose frames the gateway relays, is known and accepted. */
static void feed_ingress_first(struct pview *v, enum insp_dir dir, const uint8_t *d, size_t n)
{
	size_t take = PEEK_LEN - v->peek_len;
	const char *why;
	node_code sender;

	if (take > n)
		take = n;
	memcpy(v->peek + v->peek_len, d, take);
	v->peek_len += take;
	if (v->peek_len < PEEK_LEN)
		return;
	memcpy(sender, v->peek + JMSG_OFF_SENDER, NODE_CODE_LEN);
	sender[NODE_CODE_LEN] = '\0';
	if (node_valid(sender) && (why = policy_ingress_peer(v->pass->cfg, sender, NULL)) != NULL) {
		emit_deny(v, dir, why, v->peek);
		explicit_bzero(v->peek, sizeof(v->peek));
		return;
	}
	/* An invalid sender is the engine's to judge (bad-sender). */
	if (node_valid(sender)) {
		memcpy(v->pending_peer, sender, sizeof(node_code));
		if (!set_pending_peer(v, dir, v->peek)) {
			explicit_bzero(v->peek, sizeof(v->peek));
			return;
		}
	}
	v->peer_known = true;
	feed(v, dir, v->peek, PEEK_LEN);
	explicit_bzero(v->peek, sizeof(v->peek));
	if (!v->stopped && n > take)
		feed(v, dir, d + take, n - take);
}

static void view_data(struct pview *v, int side, const uint8_t *d, size_t n)
{
	enum insp_dir dir = v->side_dir[side];

	if (v->stopped || !n)
		return;
	if (v->kind == K_LAN_INGRESS && dir == INSP_FROM_WAN && !v->peer_known)
		feed_ingress_first(v, dir, d, n);
	else
		feed(v, dir, d, n);
}

/* End of one side's stream: a frame left partial is truncated-frame. */
static void view_finish(struct pview *v, int side)
{
	if (v->stopped || !v->conn)
		return;
	if (v->kind == K_LAN_INGRESS && v->side_dir[side] == INSP_FROM_WAN && !v->peer_known &&
	    v->peek_len) {
		/* Fewer bytes than a header and then the end: the engine judges. */
		v->peer_known = true;
		feed(v, INSP_FROM_WAN, v->peek, v->peek_len);
		explicit_bzero(v->peek, sizeof(v->peek));
	}
	if (!v->stopped && v->conn &&
	    !insp_finish(v->conn, v->side_dir[side], v->flow->rp->now_ms, on_frame, v))
		v->stopped = true;
	if (v->stopped)
		view_release(v);
}

/* How pass p sees the flow; *why: the flow-level deny, if any. */
static void view_classify(struct flowctx *fc, struct pass *p, const char **why)
{
	struct pview *v = &fc->view[p->no];

	v->pass = p;
	v->flow = fc;
	v->kind = classify_as(v, 1, why);
	/* Midstream, the first talker may be either end: try the other one. */
	if (v->kind == K_UNCLASSIFIED && fc->info.midstream)
		v->kind = classify_as(v, 0, why);
	p->kinds[v->kind]++;
}

/* False when the total bound has no room for the engine's state. */
static bool view_open(struct pview *v, const char *why)
{
	struct flowctx *fc = v->flow;
	struct pass *p = v->pass;

	if (v->stopped)
		return true;      /* already dropped, with the whole flow */
	if (v->kind == K_UNCLASSIFIED) {
		v->stopped = true;
		flow_note(v, O_NOT_INSPECTED, "unclassified");
		return true;
	}
	if (why) {
		v->stopped = true;
		emit_deny(v, v->side_dir[0], why, NULL);
		flow_note(v, O_DENY, why);
		return true;
	}
	v->conn = insp_conn_new(&p->params, NULL);
	if (!v->conn) {
		fc->rp->oom = true;
		v->stopped = true;
		return true;
	}
	if (!reasm_charge(fc->rp->reasm, insp_conn_memory(v->conn))) {
		insp_conn_free(v->conn);
		v->conn = NULL;
		return false;
	}
	v->conn_charged = insp_conn_memory(v->conn);
	/* The capture missed the start: answers to what came before it are
	 * unverified, not unsolicited. */
	if (fc->info.midstream)
		insp_conn_set_midstream(v->conn);
	if (v->server_system)
		insp_conn_set_system(v->conn, v->server_system);
	if (v->kind == K_WAN_INGRESS || v->kind == K_WAN_EGRESS)
		set_pending_peer(v, v->side_dir[0], NULL);
	return true;
}

/* ---- midstream: find a frame boundary that two headers prove ---- */

static bool plausible_header(const uint8_t *h)
{
	return h[0] == JMSG_MAGIC0 && h[1] == JMSG_MAGIC1 && h[2] == JMSG_VERSION &&
	       !(h[3] & ~JMSG_FLAG_RESPONSE) && jmsg_be16(h + JMSG_OFF_RESERVED) == 0 &&
	       jmsg_be32(h + JMSG_OFF_BODY_LEN) <= JMSG_BODY_HARD_MAX &&
	       node_role(h + JMSG_OFF_SENDER) != NODE_ROLE_INVALID &&
	       node_role(h + JMSG_OFF_RECEIVER) != NODE_ROLE_INVALID;
}

/* The offset of a proven frame start in buf, or -1. At the end of the
 * stream a single header whose frame ends exactly at the end also counts. */
static long find_boundary(const uint8_t *buf, size_t len, bool at_end)
{
	for (size_t o = 0; o + JMSG_HDR_LEN <= len; o++) {
		uint64_t end;

		if (!plausible_header(buf + o))
			continue;
		end = o + JMSG_HDR_LEN + (uint64_t)jmsg_be32(buf + o + JMSG_OFF_BODY_LEN);
		if (end + JMSG_HDR_LEN <= len && plausible_header(buf + end))
			return (long)o;
		if (at_end && end == len)
			return (long)o;
	}
	return -1;
}

static void fan_out(struct flowctx *fc, int side, const uint8_t *d, size_t n)
{
	for (int i = 0; i < fc->rp->n_pass; i++)
		view_data(&fc->view[i], side, d, n);
}

static void sync_release(struct replay *rp, struct sync *s)
{
	if (s->buf) {
		explicit_bzero(s->buf, s->cap);
		free(s->buf);
		reasm_uncharge(rp->reasm, s->cap);
	}
	s->buf = NULL;
	s->len = s->cap = 0;
}

static void sync_fail(struct flowctx *fc, struct sync *s, const char *why)
{
	s->active = false;
	s->failed = true;
	sync_release(fc->rp, s);
	for (int i = 0; i < fc->rp->n_pass; i++)
		view_stop(&fc->view[i], why);
}

/* The search buffer doubles up to SYNC_MAX, each size charged. A copy, not
 * realloc: the old bytes are wiped before they are freed. */
static bool sync_grow(struct flowctx *fc, struct sync *s)
{
	struct replay *rp = fc->rp;
	size_t cap = s->cap ? s->cap * 2 : SYNC_FIRST;
	uint8_t *buf;

	if (cap > SYNC_MAX)
		cap = SYNC_MAX;
	if (!reasm_charge(rp->reasm, cap))
		return false;
	if (!(buf = malloc(cap))) {
		reasm_uncharge(rp->reasm, cap);
		rp->oom = true;
		return false;
	}
	if (s->buf)
		memcpy(buf, s->buf, s->len);
	sync_release(rp, s);
	s->buf = buf;
	s->cap = cap;
	return true;
}

static void sync_try(struct flowctx *fc, int side, bool at_end)
{
	struct sync *s = &fc->sync[side];
	long o;

	if (at_end && s->len == 0) {   /* that side sent nothing: nothing to find */
		s->active = false;
		return;
	}
	o = find_boundary(s->buf, s->len, at_end);
	if (o < 0) {
		if (at_end || s->len == SYNC_MAX)
			sync_fail(fc, s, "midstream-unsynced");
		return;
	}
	s->active = false;
	s->skipped = (uint64_t)o;
	if (o > 0)
		fc->rp->midstream_skipped++;   /* bytes of a frame no one judged */
	fan_out(fc, side, s->buf + o, s->len - (size_t)o);
	sync_release(fc->rp, s);
}

static void sync_data(struct flowctx *fc, int side, const uint8_t *d, size_t n)
{
	struct sync *s = &fc->sync[side];

	while (n && s->active) {
		size_t take;

		if (s->len == s->cap && !sync_grow(fc, s)) {
			sync_fail(fc, s, "memory-limit");
			return;
		}
		take = s->cap - s->len < n ? s->cap - s->len : n;
		memcpy(s->buf + s->len, d, take);
		s->len += take;
		d += take;
		n -= take;
		sync_try(fc, side, false);
	}
	if (n && !s->failed)
		fan_out(fc, side, d, n);
}

/* ---- reassembly callbacks ---- */

/* NULL refuses the flow: no room for its state under the total bound. */
static void *cb_open(void *arg, const struct reasm_flow_info *info)
{
	struct replay *rp = arg;
	struct flowctx *fc;
	const char *why[2] = { NULL, NULL };
	bool room = true;

	if (!reasm_charge(rp->reasm, sizeof(*fc)))
		return NULL;
	fc = calloc(1, sizeof(*fc));
	if (!fc) {
		reasm_uncharge(rp->reasm, sizeof(*fc));
		rp->oom = true;
		return NULL;
	}
	fc->rp = rp;
	fc->info = *info;
	fc->first_packet = rp->packet;
	if (info->midstream) {
		rp->midstream_flows++;
		fc->sync[0].active = fc->sync[1].active = true;
	}
	/* Every view is classified before any reports: a report may drop
	 * the whole flow (flow_drop, --compare out of room). */
	for (int i = 0; i < rp->n_pass; i++)
		view_classify(fc, &rp->pass[i], &why[i]);
	for (int i = 0; i < rp->n_pass; i++)
		room = view_open(&fc->view[i], why[i]) && room;
	if (!room)
		flow_drop(fc, "memory-limit");
	return fc;
}

static void cb_data(void *arg, void *flow, int side, uint64_t offset, const uint8_t *d, size_t n)
{
	struct flowctx *fc = flow;

	(void)arg;
	/* A TLS record at the start of a stream: a tunnel, not inspectable here. */
	if (offset == 0 && !fc->info.midstream && !fc->encrypted && n >= 2 && d[0] == 0x16 &&
	    d[1] == 0x03) {
		fc->encrypted = true;
		for (int i = 0; i < fc->rp->n_pass; i++)
			if (!fc->view[i].stopped)
				view_stop(&fc->view[i], "encrypted");
	}
	if (fc->encrypted)
		return;
	if (fc->sync[side].active || fc->sync[side].failed)
		sync_data(fc, side, d, n);
	else
		fan_out(fc, side, d, n);
}

static void cb_event(void *arg, void *flow, int side, enum reasm_event ev, uint64_t offset)
{
	struct flowctx *fc = flow;

	(void)arg;
	(void)offset;
	if ((ev == REASM_EV_FIN || ev == REASM_EV_RST) && fc->sync[side].active)
		sync_try(fc, side, true);
	for (int i = 0; i < fc->rp->n_pass; i++) {
		struct pview *v = &fc->view[i];

		if (v->stopped)
			continue;
		switch (ev) {
		case REASM_EV_GAP:
			emit_deny(v, v->side_dir[side], reason_name(INSP_GAP), NULL);
			break;
		case REASM_EV_OVERLAP_CONFLICT:
			emit_deny(v, v->side_dir[side], reason_name(INSP_OVERLAP_CONFLICT), NULL);
			break;
		case REASM_EV_FIN:
		case REASM_EV_RST:
			view_finish(v, side);
			break;
		case REASM_EV_LIMIT:
			count_add(fc->rp, &v->pass->flow_outcomes, "reassembly-limit");
			break;
		case REASM_EV_UNVERIFIED:
			/* The verdicts stand on the first copy; the endpoint may
			 * have taken another. Once per flow. */
			if (!v->unverified_noted) {
				v->unverified_noted = true;
				flow_note(v, O_UNVERIFIED, "unverified-overlap");
			}
			break;
		}
	}
}

static void cb_close(void *arg, void *flow, enum reasm_close why)
{
	struct replay *rp = arg;
	struct flowctx *fc = flow;

	if (why == REASM_CLOSE_END)
		rp->flows_open_at_end++;
	for (int s = 0; s < 2; s++) {
		if (fc->sync[s].active)
			sync_try(fc, s, true);
		sync_release(rp, &fc->sync[s]);
	}
	/* Neither FIN nor RST ended it: whatever frame is still open is cut. */
	if (why == REASM_CLOSE_END || why == REASM_CLOSE_REUSED)
		for (int i = 0; i < rp->n_pass; i++)
			for (int s = 0; s < 2; s++)
				view_finish(&fc->view[i], s);
	if (rp->compare) {
		/* Sides are in reasm order, the same in both passes. */
		compare_settle(fc, 0, true);
		compare_settle(fc, 1, true);
	}
	for (int i = 0; i < rp->n_pass; i++) {
		view_release(&fc->view[i]);
		res_free(&fc->view[i]);
	}
	reasm_uncharge(rp->reasm, sizeof(*fc));
	free(fc);
}

/* ---- summary ---- */

static void put_counts(FILE *out, const char *key, const struct counts *c)
{
	fprintf(out, ",\"%s\":{", key);
	for (size_t i = 0; i < c->n; i++)
		fprintf(out, "%s\"%s\":%llu", i ? "," : "", c->v[i].name, (unsigned long long)c->v[i].n);
	fputc('}', out);
}

static int cmp_types(const void *a, const void *b)
{
	const struct type_tally *x = a, *y = b;

	return (x->type > y->type) - (x->type < y->type);
}

/* What was not inspected or not verified, under one configuration: each
 * count makes the exit status 3 when nothing was denied. */
static uint64_t incomplete(const struct replay *rp, const struct pass *p,
			   const struct reasm_stats *st)
{
	return p->not_inspected + st->flows_refused + rp->midstream_skipped +
	       p->unverified_overlaps + p->frames[V_UNVERIFIED];
}

static void put_incomplete(FILE *out, const char *key, const struct replay *rp,
			   const struct pass *p, const struct reasm_stats *st)
{
	fprintf(out, ",\"%s\":{\"flows_not_inspected\":%llu,\"flows_refused\":%llu,"
		"\"midstream_skipped\":%llu,\"unverified_overlaps\":%llu,\"unverified_frames\":%llu}",
		key, (unsigned long long)p->not_inspected, (unsigned long long)st->flows_refused,
		(unsigned long long)rp->midstream_skipped, (unsigned long long)p->unverified_overlaps,
		(unsigned long long)p->frames[V_UNVERIFIED]);
}

static void put_frames(FILE *out, const char *key, const uint64_t n[3])
{
	fprintf(out, ",\"%s\":{\"allow\":%llu,\"deny\":%llu,\"unverified\":%llu}", key,
		(unsigned long long)n[V_ALLOW], (unsigned long long)n[V_DENY],
		(unsigned long long)n[V_UNVERIFIED]);
}

static void summary(struct replay *rp, struct pass *p, const struct reasm_stats *st)
{
	FILE *out = rp->out;

	if (p->n_types > 1)
		qsort(p->types, p->n_types, sizeof(*p->types), cmp_types);
	fprintf(out, "{\"event\":\"summary\",\"config\":");
	json_put_str(out, p->path);
	fprintf(out, ",\"gw\":\"%s\",\"packets\":%llu", p->cfg->site, (unsigned long long)rp->packet);
	put_frames(out, "frames", p->frames);
	fputs(",\"types\":{", out);
	for (size_t i = 0; i < p->n_types; i++) {
		const struct type_tally *t = &p->types[i];

		fprintf(out, "%s\"0x%04x\":{", i ? "," : "", t->type);
		if (t->name) {
			fputs("\"name\":", out);
			json_put_str(out, t->name);
			fputc(',', out);
		}
		fprintf(out, "\"allow\":%llu,\"deny\":%llu,\"unverified\":%llu}",
			(unsigned long long)t->n[V_ALLOW], (unsigned long long)t->n[V_DENY],
			(unsigned long long)t->n[V_UNVERIFIED]);
	}
	fprintf(out, "},\"untyped\":%llu", (unsigned long long)p->untyped);
	put_incomplete(out, "incomplete", rp, p, st);
	put_counts(out, "denies", &p->denies);
	put_counts(out, "flow_outcomes", &p->flow_outcomes);
	fputs(",\"flows\":{", out);
	for (int k = 0; k < K_COUNT; k++)
		fprintf(out, "%s\"%s\":%llu", k ? "," : "", kind_names[k], (unsigned long long)p->kinds[k]);
	fprintf(out, ",\"midstream\":%llu,\"open_at_end\":%llu}", (unsigned long long)rp->midstream_flows,
		(unsigned long long)rp->flows_open_at_end);
	fputs(",\"packets_by_status\":{", out);
	for (int s = 0; s < PKT_STATUS_COUNT; s++)
		fprintf(out, "%s\"%s\":%llu", s ? "," : "", pkt_status_name(s),
			(unsigned long long)rp->pkt_status[s]);
	fprintf(out, "},\"reassembly\":{\"segments\":%llu,\"flows\":%llu,\"flows_refused\":%llu,"
		"\"stray\":%llu,\"retransmitted_bytes\":%llu,\"unverified_bytes\":%llu,"
		"\"unverified_overlaps\":%llu,"
		"\"overlap_conflicts\":%llu,\"gaps\":%llu,\"limit_flow\":%llu,\"limit_total\":%llu,"
		"\"after_gap_bytes\":%llu,\"held_peak\":%zu}}\n",
		(unsigned long long)st->packets, (unsigned long long)st->flows,
		(unsigned long long)st->flows_refused, (unsigned long long)st->stray,
		(unsigned long long)st->retransmitted_bytes, (unsigned long long)st->unverified_bytes,
		(unsigned long long)st->unverified_overlaps, (unsigned long long)st->overlap_conflicts, (unsigned long long)st->gaps,
		(unsigned long long)st->limit_flow, (unsigned long long)st->limit_total,
		(unsigned long long)st->after_gap_bytes, st->held_peak);
}

/* ---- main ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: jgw-replay -c CONFIG [-r FILE|-] [--compare CONFIG2] [-q]\n"
		"                  [--flow-bytes N] [--total-bytes N] [--max-flows N]\n"
		"  -c CONFIG        the gateway configuration to judge the traffic with\n"
		"  -r FILE          pcap or pcapng capture; - or none: standard input\n"
		"  --compare CONF2  list only the frames whose verdict differs under CONF2\n"
		"  -q               the summary only\n"
		"  --flow-bytes N   out-of-order bytes held per flow direction (1 MiB)\n"
		"  --total-bytes N  all memory that grows with the capture (256 MiB)\n"
		"  --max-flows N    flows tracked at once (65536)\n"
		"  --version        print the version\n"
		"exit: 0 all allowed (nothing differs) and all inspected, 1 a deny (a difference),\n"
		"      2 error, 3 no deny (no difference) but something not inspected or verified\n");
}

static bool parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v == 0 || s[0] == '-') {
		fprintf(stderr, "jgw-replay: not a positive number: `%s'\n", s);
		return false;
	}
	*out = (size_t)v;
	return true;
}

static bool pass_load(struct pass *p, int no, const char *path)
{
	p->no = no;
	p->path = path;
	p->cfg = cfg_load(path, NULL, NULL);
	if (!p->cfg) {
		fprintf(stderr, "jgw-replay: %s: configuration not loaded\n", path);
		return false;
	}
	policy_insp_params(p->cfg, &p->params);
	return true;
}

static void pass_free(struct pass *p)
{
	cfg_free(p->cfg);
	free(p->types);
	free(p->denies.v);
	free(p->flow_outcomes.v);
}

/* The gateway clock of a packet, in ms. A pcapng timestamp may be any
 * 64-bit count: clamp rather than overflow (the engine takes any clock). */
static int64_t capture_ms(const struct cap_ts *ts)
{
	int64_t ms = ts->usec >= 0 && ts->usec <= 999999 ? ts->usec / 1000 : 0;

	if (ts->sec > INT64_MAX / 1000 - 1)
		return INT64_MAX;
	if (ts->sec < INT64_MIN / 1000 + 1)
		return INT64_MIN;
	return ts->sec * 1000 + ms;
}

static int run(struct replay *rp, pcap_t *pc, const struct reasm_limits *lim)
{
	static const struct reasm_ops ops = {
		.open = cb_open, .data = cb_data, .event = cb_event, .close = cb_close,
	};
	struct reasm *r = reasm_new(lim, &ops, rp);
	struct pcap_pkthdr *h;
	struct pass *a = &rp->pass[0], *b = &rp->pass[1];
	const u_char *data;
	struct reasm_stats st;
	int linktype = pcap_datalink(pc), rc;

	if (!r) {
		fprintf(stderr, "jgw-replay: out of memory\n");
		return 2;
	}
	rp->reasm = r;
	if (!pkt_linktype_supported(linktype)) {
		fprintf(stderr, "jgw-replay: unsupported link type %d (%s)\n", linktype,
			pcap_datalink_val_to_name(linktype) ? pcap_datalink_val_to_name(linktype) : "?");
		reasm_free(r);
		return 2;
	}
	while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
		struct pkt_tcp seg;
		enum pkt_status s;

		rp->packet++;
		rp->ts = (struct cap_ts){ .sec = (int64_t)h->ts.tv_sec, .usec = (long)h->ts.tv_usec };
		rp->now_ms = capture_ms(&rp->ts);
		s = pkt_decode(linktype, data, h->caplen, &seg, NULL);
		rp->pkt_status[s]++;
		if (s == PKT_OK)
			reasm_packet(r, &seg);
	}
	if (rc == PCAP_ERROR) {
		/* A cut capture still says what it holds; the error is reported. */
		fprintf(stderr, "jgw-replay: capture read error after packet %llu: %s\n",
			(unsigned long long)rp->packet, pcap_geterr(pc));
	}
	reasm_finish(r);
	reasm_get_stats(r, &st);
	reasm_free(r);
	rp->reasm = NULL;
	if (rp->compare) {
		fprintf(rp->out, "{\"event\":\"compare\",\"a\":");
		json_put_str(rp->out, a->path);
		fputs(",\"b\":", rp->out);
		json_put_str(rp->out, b->path);
		fprintf(rp->out, ",\"packets\":%llu", (unsigned long long)rp->packet);
		put_frames(rp->out, "a_frames", a->frames);
		put_frames(rp->out, "b_frames", b->frames);
		put_incomplete(rp->out, "a_incomplete", rp, a, &st);
		put_incomplete(rp->out, "b_incomplete", rp, b, &st);
		fprintf(rp->out, ",\"limit_total\":%llu,\"held_peak\":%zu,\"differences\":%llu}\n",
			(unsigned long long)st.limit_total, st.held_peak,
			(unsigned long long)rp->differences);
	} else {
		summary(rp, &rp->pass[0], &st);
	}
	if (fflush(rp->out) || ferror(rp->out)) {
		fprintf(stderr, "jgw-replay: write error: %s\n", strerror(errno));
		return 2;
	}
	if (rp->oom || rc == PCAP_ERROR) {
		if (rp->oom)
			fprintf(stderr, "jgw-replay: out of memory: the results are incomplete\n");
		return 2;
	}
	if (rp->compare)
		return rp->differences ? 1 : incomplete(rp, a, &st) || incomplete(rp, b, &st) ? 3 : 0;
	return a->frames[V_DENY] ? 1 : incomplete(rp, a, &st) ? 3 : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"read", required_argument, NULL, 'r'},
		{"compare", required_argument, NULL, 'C'},
		{"quiet", no_argument, NULL, 'q'},
		{"flow-bytes", required_argument, NULL, 'F'},
		{"total-bytes", required_argument, NULL, 'T'},
		{"max-flows", required_argument, NULL, 'M'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *config = NULL, *config2 = NULL, *file = "-";
	struct reasm_limits lim = {0};
	struct replay rp = {0};
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *pc;
	int c, rc;

	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("jgw-replay %s\n", JGW_VERSION);
		return 0;
	}
	while ((c = getopt_long(argc, argv, "c:r:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'r': file = optarg; break;
		case 'C': config2 = optarg; break;
		case 'q': rp.quiet = true; break;
		case 'F': if (!parse_size(optarg, &lim.flow_bytes)) return 2; break;
		case 'T': if (!parse_size(optarg, &lim.total_bytes)) return 2; break;
		case 'M': if (!parse_size(optarg, &lim.max_flows)) return 2; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!config || optind != argc) {
		usage(stderr);
		return 2;
	}
	rp.out = stdout;
	rp.compare = config2 != NULL;
	rp.n_pass = rp.compare ? 2 : 1;
	if (!pass_load(&rp.pass[0], 0, config) || (rp.compare && !pass_load(&rp.pass[1], 1, config2))) {
		pass_free(&rp.pass[0]);
		pass_free(&rp.pass[1]);
		return 2;
	}
	pc = pcap_open_offline(file, errbuf);
	if (!pc) {
		fprintf(stderr, "jgw-replay: %s: %s\n", file, errbuf);
		rc = 2;
	} else {
		rc = run(&rp, pc, &lim);
		pcap_close(pc);
	}
	for (int i = 0; i < rp.n_pass; i++)
		pass_free(&rp.pass[i]);
	return rc;
}
