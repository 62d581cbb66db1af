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
 * Exit: 0 nothing denied, 1 something denied (or, with --compare,
 * something differs), 2 usage, configuration or capture error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "filters/inspect.h"
#include "filters/replay/pkt.h"
#include "filters/replay/reasm.h"
#include "gateway/config.h"

#define SYNC_MAX   (64u << 10)   /* bytes searched for a frame boundary, midstream */
#define PEEK_LEN   JMSG_HDR_LEN

/* How the configuration sees a flow. */
enum kind {
	K_UNCLASSIFIED = 0,
	K_LAN_EGRESS,    /* site server -> LAN listener */
	K_LAN_INGRESS,   /* gateway -> local server (relaying a peer's frames) */
	K_WAN_INGRESS,   /* peer gateway -> WAN listener (plain JMSG) */
	K_WAN_EGRESS,    /* gateway -> peer's WAN listener (plain JMSG) */
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
	uint64_t allow, deny;
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
	bool has_type, allowed;
	const char *reason;
	jmsg_node sender, receiver;
};

struct fres_list {
	struct fres *v;
	size_t n, cap;
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
	uint64_t frames_allow, frames_deny;
	uint64_t untyped;             /* verdicts on frames whose type was never read */
};

/* One configuration's view of one flow. */
struct pview {
	struct pass *pass;
	struct flowctx *flow;
	struct insp_conn *conn;
	enum kind kind;
	enum insp_dir side_dir[2];
	bool stopped;                 /* denied, or not inspected at all */
	bool peer_known;
	jmsg_node pending_peer;       /* egress: learnt from the first LAN frame */
	uint8_t peek[PEEK_LEN];       /* lan-ingress: header held until the peer is known */
	size_t peek_len;
	uint64_t frames[2];           /* frames reported per side */
	struct fres_list res[2];      /* --compare only */
};

struct sync {
	bool active;                  /* still looking for a frame boundary */
	bool failed;
	uint8_t *buf;
	size_t len;
	uint64_t skipped;
};

struct flowctx {
	struct replay *rp;
	struct reasm_flow_info info;
	uint64_t first_packet;
	bool encrypted;
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
			bool allowed)
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
	if (allowed) {
		t->allow++;
		p->frames_allow++;
	} else {
		t->deny++;
		p->frames_deny++;
	}
}

static const char *reason_name(enum insp_reason r)
{
	const char *name = insp_reason_name(r);

	return name ? name : "unknown-reason";
}

static const char *addr_str(int family, const uint8_t *addr, uint16_t port, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(family, addr, a, sizeof(a));
	snprintf(buf, len, family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, port);
	return buf;
}

/* JSON string of a name the program made or the catalog holds: escaped
 * anyway, a catalog is a file netops edit. */
static void put_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

/* ---- configuration view of a flow ---- */

static bool ep_addr_match(const struct cfg_endpoint *ep, int family, const uint8_t *addr,
			  bool any_ok)
{
	if (ep->ss.ss_family == AF_INET && family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&ep->ss;

		if (any_ok && sin->sin_addr.s_addr == htonl(INADDR_ANY))
			return true;
		return !memcmp(&sin->sin_addr, addr, 4);
	}
	if (ep->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ep->ss;

		/* An IPv6 wildcard listener also takes IPv4 on Linux (v6only off). */
		if (any_ok && IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr))
			return true;
		return family == AF_INET6 && !memcmp(&sin6->sin6_addr, addr, 16);
	}
	return false;
}

static uint16_t ep_port(const struct cfg_endpoint *ep)
{
	if (ep->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&ep->ss)->sin_port);
	if (ep->ss.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&ep->ss)->sin6_port);
	return 0;
}

static bool ep_match(const struct cfg_endpoint *ep, int family, const uint8_t *addr,
		     uint16_t port, bool any_ok)
{
	return ep_port(ep) == port && ep_addr_match(ep, family, addr, any_ok);
}

/* The peer whose directory entry holds addr (and port, when port != 0). */
static const struct cfg_peer *peer_by_addr(const struct jgw_config *cfg, int family,
					   const uint8_t *addr, uint16_t port)
{
	for (size_t i = 0; i < cfg->n_peers; i++)
		for (size_t j = 0; j < cfg->peers[i].n_addrs; j++) {
			const struct cfg_endpoint *ep = &cfg->peers[i].addrs[j];

			if (ep_addr_match(ep, family, addr, false) && (!port || ep_port(ep) == port))
				return &cfg->peers[i];
		}
	return NULL;
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

/* Classify with side `srv` as the server; returns why not inspected (or NULL). */
static enum kind classify_as(struct pview *v, int srv, const char **why)
{
	const struct jgw_config *cfg = v->pass->cfg;
	const struct reasm_flow_info *in = &v->flow->info;
	int cli = !srv, fam = in->family;
	const uint8_t *sa = in->addr[srv], *ca = in->addr[cli];
	uint16_t sp = in->port[srv];
	const struct cfg_peer *peer;

	*why = NULL;
	if (ep_match(&cfg->lan_listen, fam, sa, sp, true)) {
		struct sockaddr_storage ss;

		to_sockaddr(fam, ca, in->port[cli], &ss);
		if (!cfg_server_allowed(cfg, (const struct sockaddr *)&ss))
			*why = "source-not-allowed";
		v->side_dir[cli] = INSP_FROM_LAN;
		v->side_dir[srv] = INSP_FROM_WAN;
		return K_LAN_EGRESS;
	}
	if ((cfg->has_juki && ep_match(&cfg->juki_server, fam, sa, sp, false)) ||
	    (cfg->has_fuhyo && ep_match(&cfg->fuhyo_server, fam, sa, sp, false))) {
		v->side_dir[cli] = INSP_FROM_WAN;
		v->side_dir[srv] = INSP_FROM_LAN;
		return K_LAN_INGRESS;
	}
	if (ep_match(&cfg->wan_listen, fam, sa, sp, true)) {
		peer = peer_by_addr(cfg, fam, ca, 0);
		if (!peer)
			*why = "unknown-peer";
		else
			memcpy(v->pending_peer, peer->node, sizeof(jmsg_node));
		v->side_dir[cli] = INSP_FROM_WAN;
		v->side_dir[srv] = INSP_FROM_LAN;
		return K_WAN_INGRESS;
	}
	peer = peer_by_addr(cfg, fam, sa, sp);
	if (peer) {
		memcpy(v->pending_peer, peer->node, sizeof(jmsg_node));
		v->side_dir[cli] = INSP_FROM_LAN;
		v->side_dir[srv] = INSP_FROM_WAN;
		return K_WAN_EGRESS;
	}
	return K_UNCLASSIFIED;
}

/* ---- output ---- */

static void flow_note(struct pview *v, const char *outcome, const char *reason)
{
	struct replay *rp = v->flow->rp;
	const struct reasm_flow_info *in = &v->flow->info;
	char a[64], b[64];

	count_add(rp, &v->pass->flow_outcomes, reason);
	if (rp->quiet || rp->compare)
		return;
	fprintf(rp->out, "{\"event\":\"flow\",\"flow\":%llu,\"pcap_packet\":%llu,\"kind\":\"%s\","
		"\"src\":\"%s\",\"dst\":\"%s\",\"midstream\":%s,\"outcome\":\"%s\",\"reason\":\"%s\"}\n",
		(unsigned long long)in->id, (unsigned long long)rp->packet, kind_names[v->kind],
		addr_str(in->family, in->addr[0], in->port[0], a, sizeof(a)),
		addr_str(in->family, in->addr[1], in->port[1], b, sizeof(b)),
		in->midstream ? "true" : "false", outcome, reason);
}

static void keep_result(struct pview *v, int side, const struct fres *r)
{
	struct fres_list *l = &v->res[side];

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct fres *nv = xrealloc(v->flow->rp, l->v, cap * sizeof(*nv));

		if (!nv)
			return;
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n++] = *r;
}

static int side_of_dir(const struct pview *v, enum insp_dir dir)
{
	return v->side_dir[0] == dir ? 0 : 1;
}

/*
 * audit.md's `ts`: RFC 3339 UTC with microseconds, 27 characters. A capture
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

/* One frame verdict: printed, tallied, kept for --compare. */
static void emit(struct pview *v, enum insp_dir dir, const struct fres *r,
		 const struct insp_frame *f)
{
	struct replay *rp = v->flow->rp;
	FILE *out = rp->out;

	if (r->has_type) {
		tally_frame(rp, v->pass, r->type, f && f->type_name ? f->type_name : NULL, r->allowed);
	} else {
		/* Denied before its type was read (bad magic, a gap, a refused peer). */
		v->pass->untyped++;
		if (r->allowed)
			v->pass->frames_allow++;
		else
			v->pass->frames_deny++;
	}
	if (!r->allowed)
		count_add(rp, &v->pass->denies, r->reason);
	if (rp->compare) {
		keep_result(v, side_of_dir(v, dir), r);
		return;
	}
	if (rp->quiet)
		return;
	/* ts and seq as on every audit record (audit.md): the capture time of
	 * the packet that completed the verdict, and the record's number. */
	char ts[32];
	if (format_ts(&r->ts, ts))
		fprintf(out, "{\"ts\":\"%s\"", ts);
	else
		fputs("{\"ts\":null", out);
	fprintf(out, ",\"seq\":%llu,\"event\":\"message\",\"flow\":%llu,\"tunnel_id\":%llu,"
		"\"pcap_packet\":%llu,\"gw\":\"%s\",\"dir\":\"%s\",\"index\":%llu",
		(unsigned long long)++rp->records,
		(unsigned long long)v->flow->info.id, (unsigned long long)v->flow->info.id,
		(unsigned long long)r->packet, v->pass->cfg->site,
		dir == INSP_FROM_LAN ? "out" : "in", (unsigned long long)r->index);
	if (r->has_type) {
		fprintf(out, ",\"type\":\"0x%04x\"", r->type);
		if (f && f->type_name) {
			fputs(",\"type_name\":", out);
			put_str(out, f->type_name);
		}
	}
	if (r->sender[0])
		fprintf(out, ",\"sender\":\"%s\",\"receiver\":\"%s\",\"frame_seq\":%llu",
			r->sender, r->receiver, (unsigned long long)r->seq);
	if (f)
		fprintf(out, ",\"bytes\":%llu,\"records\":%u",
			(unsigned long long)f->length, f->records);
	fprintf(out, ",\"verdict\":\"%s\"", r->allowed ? "allow" : "deny");
	if (!r->allowed)
		fprintf(out, ",\"reason\":\"%s\"", r->reason);
	if (f && !f->allowed && f->field)
		fprintf(out, ",\"field\":\"0x%04x\"", f->field);
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
		.allowed = false, .reason = reason,
	};

	if (hdr) {
		r.has_type = true;
		r.type = jmsg_be16(hdr + JMSG_OFF_TYPE);
		r.seq = jmsg_be64(hdr + JMSG_OFF_SEQ);
		if (jmsg_node_role(hdr + JMSG_OFF_SENDER) != JMSG_ROLE_INVALID &&
		    jmsg_node_role(hdr + JMSG_OFF_RECEIVER) != JMSG_ROLE_INVALID) {
			memcpy(r.sender, hdr + JMSG_OFF_SENDER, JMSG_NODE_LEN);
			memcpy(r.receiver, hdr + JMSG_OFF_RECEIVER, JMSG_NODE_LEN);
		}
	}
	v->stopped = true;
	emit(v, dir, &r, NULL);
}

/* ---- inspection ---- */

static void on_frame(void *arg, const struct insp_frame *f)
{
	struct pview *v = arg;
	int side = side_of_dir(v, f->dir);
	struct fres r = {
		.packet = v->flow->rp->packet, .ts = v->flow->rp->ts, .seq = f->seq, .type = f->type,
		.has_type = f->length >= JMSG_OFF_TYPE + 2, .allowed = f->allowed,
		.reason = f->allowed ? NULL : reason_name(f->reason),
	};

	if (v->stopped)
		return;   /* after a deny the gateway forwards nothing */
	if (f->sender[0] && f->receiver[0]) {
		memcpy(r.sender, f->sender, sizeof(jmsg_node));
		memcpy(r.receiver, f->receiver, sizeof(jmsg_node));
	}
	/* Egress: the first frame's receiver picks the peer (peer directory). */
	if (f->allowed && v->kind == K_LAN_EGRESS && !v->peer_known && f->dir == INSP_FROM_LAN &&
	    !v->pending_peer[0]) {
		const char *why = "unknown-peer";

		if (!cfg_peer_allowed(v->pass->cfg, f->receiver, &why)) {
			r.allowed = false;
			r.reason = why ? why : "unknown-peer";
		} else {
			memcpy(v->pending_peer, f->receiver, sizeof(jmsg_node));
		}
	}
	r.index = ++v->frames[side];
	emit(v, f->dir, &r, f);
	if (!r.allowed)
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
	flow_note(v, "deny", "peer-mismatch");
	return false;
}

static void feed(struct pview *v, enum insp_dir dir, const uint8_t *d, size_t n)
{
	struct replay *rp = v->flow->rp;

	if (!insp_feed(v->conn, dir, d, n, rp->now_ms, on_frame, v))
		v->stopped = true;
	set_pending_peer(v, dir, NULL);
}

/* lan-ingress: hold the first header from the WAN side until its sender,
 * the peer whose frames the gateway relays, is known and accepted. */
static void feed_ingress_first(struct pview *v, enum insp_dir dir, const uint8_t *d, size_t n)
{
	size_t take = PEEK_LEN - v->peek_len;
	const char *why = "unknown-peer";
	jmsg_node sender;

	if (take > n)
		take = n;
	memcpy(v->peek + v->peek_len, d, take);
	v->peek_len += take;
	if (v->peek_len < PEEK_LEN)
		return;
	memcpy(sender, v->peek + JMSG_OFF_SENDER, JMSG_NODE_LEN);
	sender[JMSG_NODE_LEN] = '\0';
	if (jmsg_node_valid(sender) && !cfg_peer_allowed(v->pass->cfg, sender, &why)) {
		emit_deny(v, dir, why ? why : "unknown-peer", v->peek);
		explicit_bzero(v->peek, sizeof(v->peek));
		return;
	}
	/* An invalid sender is the engine's to judge (bad-sender). */
	if (jmsg_node_valid(sender)) {
		memcpy(v->pending_peer, sender, sizeof(jmsg_node));
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
	if (!v->stopped && !insp_finish(v->conn, v->side_dir[side], v->flow->rp->now_ms, on_frame, v))
		v->stopped = true;
}

static void view_open(struct flowctx *fc, struct pass *p)
{
	struct pview *v = &fc->view[p->no];
	const char *why = NULL;

	v->pass = p;
	v->flow = fc;
	v->kind = classify_as(v, 1, &why);
	/* Midstream, the first talker may be either end: try the other one. */
	if (v->kind == K_UNCLASSIFIED && fc->info.midstream)
		v->kind = classify_as(v, 0, &why);
	p->kinds[v->kind]++;
	if (v->kind == K_UNCLASSIFIED) {
		v->stopped = true;
		flow_note(v, "not-inspected", "unclassified");
		return;
	}
	if (why) {
		v->stopped = true;
		emit_deny(v, v->side_dir[0], why, NULL);
		flow_note(v, "deny", why);
		return;
	}
	v->conn = insp_conn_new(&p->params, NULL);
	if (!v->conn) {
		fc->rp->oom = true;
		v->stopped = true;
		return;
	}
	if (v->kind == K_WAN_INGRESS || v->kind == K_WAN_EGRESS)
		set_pending_peer(v, v->side_dir[0], NULL);
}

/* ---- midstream: find a frame boundary that two headers prove ---- */

static bool plausible_header(const uint8_t *h)
{
	return h[0] == JMSG_MAGIC0 && h[1] == JMSG_MAGIC1 && h[2] == JMSG_VERSION &&
	       !(h[3] & ~JMSG_FLAG_RESPONSE) && jmsg_be16(h + JMSG_OFF_RESERVED) == 0 &&
	       jmsg_be32(h + JMSG_OFF_BODY_LEN) <= JMSG_BODY_HARD_MAX &&
	       jmsg_node_role(h + JMSG_OFF_SENDER) != JMSG_ROLE_INVALID &&
	       jmsg_node_role(h + JMSG_OFF_RECEIVER) != JMSG_ROLE_INVALID;
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

static void sync_release(struct sync *s)
{
	if (s->buf) {
		explicit_bzero(s->buf, SYNC_MAX);
		free(s->buf);
	}
	s->buf = NULL;
	s->len = 0;
}

static void sync_fail(struct flowctx *fc, struct sync *s)
{
	s->active = false;
	s->failed = true;
	sync_release(s);
	for (int i = 0; i < fc->rp->n_pass; i++) {
		struct pview *v = &fc->view[i];

		if (!v->stopped) {
			v->stopped = true;
			flow_note(v, "not-inspected", "midstream-unsynced");
		}
	}
}

static void sync_try(struct flowctx *fc, int side, bool at_end)
{
	struct sync *s = &fc->sync[side];
	long o = find_boundary(s->buf, s->len, at_end);

	if (o < 0) {
		if (at_end || s->len == SYNC_MAX)
			sync_fail(fc, s);
		return;
	}
	s->active = false;
	s->skipped = (uint64_t)o;
	fan_out(fc, side, s->buf + o, s->len - (size_t)o);
	sync_release(s);
}

static void sync_data(struct flowctx *fc, int side, const uint8_t *d, size_t n)
{
	struct sync *s = &fc->sync[side];

	while (n && s->active) {
		size_t take = SYNC_MAX - s->len < n ? SYNC_MAX - s->len : n;

		if (!s->buf && !(s->buf = malloc(SYNC_MAX))) {
			fc->rp->oom = true;
			sync_fail(fc, s);
			return;
		}
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

static void *cb_open(void *arg, const struct reasm_flow_info *info)
{
	struct replay *rp = arg;
	struct flowctx *fc = calloc(1, sizeof(*fc));

	if (!fc) {
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
	for (int i = 0; i < rp->n_pass; i++)
		view_open(fc, &rp->pass[i]);
	return fc;
}

static void cb_data(void *arg, void *flow, int side, uint64_t offset, const uint8_t *d, size_t n)
{
	struct flowctx *fc = flow;

	(void)arg;
	if (!fc)
		return;
	/* A TLS record at the start of a stream: a tunnel, not inspectable here. */
	if (offset == 0 && !fc->info.midstream && !fc->encrypted && n >= 2 && d[0] == 0x16 &&
	    d[1] == 0x03) {
		fc->encrypted = true;
		for (int i = 0; i < fc->rp->n_pass; i++) {
			struct pview *v = &fc->view[i];

			if (!v->stopped) {
				v->stopped = true;
				flow_note(v, "not-inspected", "encrypted");
			}
		}
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
	if (!fc)
		return;
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
		}
	}
}

static const char *res_reason(const struct fres *r)
{
	return r ? (r->allowed ? "" : r->reason) : "not-inspected";
}

static void diff_side(struct flowctx *fc, int side)
{
	struct replay *rp = fc->rp;
	struct fres_list *a = &fc->view[0].res[side], *b = &fc->view[1].res[side];
	size_t n = a->n > b->n ? a->n : b->n;

	for (size_t i = 0; i < n; i++) {
		const struct fres *ra = i < a->n ? &a->v[i] : NULL, *rb = i < b->n ? &b->v[i] : NULL;
		const struct fres *any = ra ? ra : rb;
		bool va = ra && ra->allowed, vb = rb && rb->allowed;

		if (ra && rb && va == vb && (va || !strcmp(ra->reason, rb->reason)))
			continue;
		rp->differences++;
		if (rp->quiet)
			continue;
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
			ra ? (va ? "allow" : "deny") : "none", res_reason(ra),
			rb ? (vb ? "allow" : "deny") : "none", res_reason(rb));
	}
}

static void cb_close(void *arg, void *flow, enum reasm_close why)
{
	struct replay *rp = arg;
	struct flowctx *fc = flow;

	if (!fc)
		return;
	if (why == REASM_CLOSE_END)
		rp->flows_open_at_end++;
	for (int s = 0; s < 2; s++) {
		if (fc->sync[s].active)
			sync_try(fc, s, true);
		sync_release(&fc->sync[s]);
	}
	if (rp->compare) {
		/* Sides are in reasm order, the same in both passes. */
		diff_side(fc, 0);
		diff_side(fc, 1);
	}
	for (int i = 0; i < rp->n_pass; i++) {
		struct pview *v = &fc->view[i];

		insp_conn_free(v->conn);
		free(v->res[0].v);
		free(v->res[1].v);
	}
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

static void summary(struct replay *rp, struct pass *p, const struct reasm_stats *st)
{
	FILE *out = rp->out;

	if (p->n_types > 1)
		qsort(p->types, p->n_types, sizeof(*p->types), cmp_types);
	fprintf(out, "{\"event\":\"summary\",\"config\":");
	put_str(out, p->path);
	fprintf(out, ",\"gw\":\"%s\",\"packets\":%llu,\"frames\":{\"allow\":%llu,\"deny\":%llu}",
		p->cfg->site, (unsigned long long)rp->packet, (unsigned long long)p->frames_allow,
		(unsigned long long)p->frames_deny);
	fputs(",\"types\":{", out);
	for (size_t i = 0; i < p->n_types; i++) {
		const struct type_tally *t = &p->types[i];

		fprintf(out, "%s\"0x%04x\":{", i ? "," : "", t->type);
		if (t->name) {
			fputs("\"name\":", out);
			put_str(out, t->name);
			fputc(',', out);
		}
		fprintf(out, "\"allow\":%llu,\"deny\":%llu}", (unsigned long long)t->allow,
			(unsigned long long)t->deny);
	}
	fprintf(out, "},\"untyped\":%llu", (unsigned long long)p->untyped);
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
		"\"overlap_conflicts\":%llu,\"gaps\":%llu,\"limit_flow\":%llu,\"limit_total\":%llu,"
		"\"after_gap_bytes\":%llu,\"held_peak\":%zu}}\n",
		(unsigned long long)st->packets, (unsigned long long)st->flows,
		(unsigned long long)st->flows_refused, (unsigned long long)st->stray,
		(unsigned long long)st->retransmitted_bytes, (unsigned long long)st->unverified_bytes,
		(unsigned long long)st->overlap_conflicts, (unsigned long long)st->gaps,
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
		"exit: 0 nothing denied (nothing differs), 1 some, 2 error\n");
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
	p->params.catalog = p->cfg->catalog;
	memcpy(p->params.local, p->cfg->site, sizeof(jmsg_node));
	p->params.skew_ms = p->cfg->limits.skew_ms ? p->cfg->limits.skew_ms : 300000;
	p->params.max_outstanding = p->cfg->limits.outstanding ? p->cfg->limits.outstanding : 1024;
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
	const u_char *data;
	struct reasm_stats st;
	int linktype = pcap_datalink(pc), rc;

	if (!r) {
		fprintf(stderr, "jgw-replay: out of memory\n");
		return 2;
	}
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
	if (rp->compare) {
		fprintf(rp->out, "{\"event\":\"compare\",\"a\":");
		put_str(rp->out, rp->pass[0].path);
		fputs(",\"b\":", rp->out);
		put_str(rp->out, rp->pass[1].path);
		fprintf(rp->out, ",\"packets\":%llu,\"a_frames\":{\"allow\":%llu,\"deny\":%llu}"
			",\"b_frames\":{\"allow\":%llu,\"deny\":%llu},\"differences\":%llu}\n",
			(unsigned long long)rp->packet,
			(unsigned long long)rp->pass[0].frames_allow, (unsigned long long)rp->pass[0].frames_deny,
			(unsigned long long)rp->pass[1].frames_allow, (unsigned long long)rp->pass[1].frames_deny,
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
		return rp->differences ? 1 : 0;
	return rp->pass[0].frames_deny ? 1 : 0;
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
