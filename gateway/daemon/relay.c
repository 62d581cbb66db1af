/*
 * relay.c — tunnels: accept, dial, inspect, relay, close.
 *
 * A tunnel joins a LAN side (plain TCP to a site server) and a WAN side
 * (mTLS to a peer gateway). Two flows carry bytes: "up" from the LAN to the
 * WAN (inspected as INSP_FROM_LAN) and "down" from the WAN to the LAN
 * (INSP_FROM_WAN). A flow reads its source into a bounded buffer, feeds the
 * new bytes to the inspection engine, and writes to its destination only the
 * bytes below insp_allowed_offset(). After a deny nothing more is written.
 *
 * I/O readiness is tracked per side (rd_ready/wr_ready, cleared when an
 * operation would block) and every event runs tunnel_run(), which makes all
 * the progress it can and then registers interest only in what is blocked.
 * OpenSSL may hold decrypted bytes that the socket no longer signals; since
 * a TLS read clears rd_ready only on WANT_READ, or after a short read when
 * OpenSSL holds nothing (SSL_has_pending), those are never stranded.
 */
#include "gateway/daemon/relay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <limits.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "filters/base/addr.h"
#include "filters/base/log.h"
#include "filters/policy/policy.h"
#include "gateway/audit/audit.h"
#include "tunnels/tls.h"

/* ------------------------------------------------------------------ */
/* Tunnels                                                             */

#define TUNNEL_MAGIC 0x4a54554eu   /* "JTUN" */

enum tun_state {
	TS_HANDSHAKE,     /* ingress: TLS accept in progress */
	TS_WAIT_FIRST,    /* reading the first frame to choose the other side */
	TS_CONNECT,       /* TCP connect to the peer gateway or local server */
	TS_DIAL_TLS,      /* egress: TLS handshake with the peer gateway */
	TS_RELAY,
};

static const char *const state_names[] = {
	"handshake", "wait-first", "connect", "dial-tls", "relay",
};

struct tunnel;

struct side {
	struct tunnel *t;
	int fd;
	struct tls_conn *tls;        /* WAN side only */
	ev_io io;
	int events;                  /* registered with libev */
	bool open;                   /* connected (and TLS up) */
	bool rd_ready, wr_ready;
	int rd_wait, wr_wait, hs_wait;  /* what a blocked op waits for */
	bool eof;                    /* nothing more will be read */
	bool shut;                   /* our write half is closed */
	struct sockaddr_storage addr;   /* remote */
	socklen_t addrlen;
};

struct flow {
	enum insp_dir dir;
	struct side *src, *dst;
	struct relay_buf buf;
	uint64_t base;               /* stream offset of the buffer's first byte */
	uint64_t allowed;            /* insp_allowed_offset */
	uint64_t bytes, frames;      /* forwarded */
	bool finished;               /* insp_finish done */
	ev_tstamp partial_since;     /* a frame began and is not whole yet (0: none) */
};

struct tunnel {
	uint32_t magic;
	struct worker *wk;           /* the one whose loop and thread it lives on */
	struct tunnel *prev, *next;
	struct gen *gen;
	uint64_t id;
	bool ingress;
	enum tun_state state;
	struct side lan, wan;
	struct flow up, down;        /* up: LAN→WAN, down: WAN→LAN */
	struct insp_conn *insp;
	ev_timer timer;
	ev_tstamp start;
	ev_tstamp state_since;       /* handshake/connect deadlines run from here */
	/* Frames, not bytes, keep a tunnel alive (timeouts idle): the last
	 * verdict in either direction, and when the tunnel could first take
	 * frames (timeouts first-frame runs from there until one comes). */
	ev_tstamp last_frame, frames_since;
	bool framed;                 /* a frame was allowed, either direction */
	bool opened;                 /* the open record was written */
	bool dead;
	const char *reason;          /* why it ended */
	const char *first_eof;       /* "lan-closed" or "peer-closed" */
	bool rejected;               /* ended before it opened */
	node_code peer;
	size_t dial_next;            /* egress: next peer address to try */
	bool peer_counted;           /* counted in r->peers under t->peer */
	char source[RELAY_COUNT_KEY];   /* LAN source address, when counted */
	char cert_serial[80], cert_sha256[72];
	const char *tls_version, *cipher;
	bool resumed;
};

/*
 * A worker: one event loop on a thread of its own, with its own listeners
 * (SO_REUSEPORT: the kernel spreads new connections over the workers),
 * its tunnels and its counters. Its thread holds mu whenever the loop runs
 * callbacks and lets go only while the loop waits (libev's loop release
 * callbacks): the daemon's thread takes mu to look at the worker or change
 * it, then wakes the loop so that it sees changed watchers.
 */
struct worker {
	struct relay *r;
	unsigned index;
	struct ev_loop *loop;
	pthread_t thread;
	bool running;                /* the thread was started */
	bool quit;                   /* under mu: leave the loop */
	pthread_mutex_t mu;
	ev_async wake;
	ev_prepare flush;            /* the audit batch, before the loop waits */
	struct gen *gen;             /* current for new tunnels (a reference) */
	int lan_fd, wan_fd;
	ev_io lan_io, wan_io;
	struct tunnel *tunnels;
	size_t n_tunnels;
	bool stopping;
	struct relay_stats total, interval;
	struct relay_tally rejects, denies;   /* by reason, since start (metrics) */
	struct relay_type_tally types;        /* frames by type and verdict */
	struct relay_addrs addrs;             /* per peer address: last success, error */
	ev_tstamp last_accept_err;
	ev_timer resume;             /* listeners paused after EMFILE */
};

/* A source's failure, waiting for the daemon's loop (relay_failed). */
struct failure {
	struct sockaddr_storage src;
	bool lan;
	bool has_peer;
	node_code peer;
	char cause[32];
};
#define FAILURE_QUEUE_MAX 4096

struct relay {
	struct ev_loop *loop;        /* the daemon's: hooks run there */
	struct audit *audit;
	struct relay_hooks hooks;
	struct gen *gen;             /* current, as the daemon set it */
	struct worker *workers;
	unsigned n_workers;
	bool stopping;
	int fd_high;                 /* a connection accepted on this descriptor
	                              * or above is refused (fd-limit) */
	uint64_t id_base;
	atomic_uint_fast64_t id_next;
	/* Shared by the workers: limits are the gateway's, not a worker's. */
	pthread_mutex_t count_mu;
	struct relay_count peers;   /* live tunnels per peer node */
	struct relay_count sources; /* live egress tunnels per LAN source address */
	size_t n_tunnels;           /* live tunnels, every worker */
	/* Failures of sources go to the daemon's hook on its own loop. */
	pthread_mutex_t fail_mu;
	struct failure *fails;
	size_t n_fails;
	uint64_t fails_dropped;
	ev_async fail_async;
};

static void tunnel_run(struct tunnel *t);
static void tunnel_end(struct tunnel *t, const char *reason);

static void tunnel_rearm(struct tunnel *t);
static void flow_note_partial(struct tunnel *t, struct flow *f);

static int64_t now_ms(const struct worker *wk)
{
	return (int64_t)(ev_now(wk->loop) * 1000.0);
}

/* A source failed authentication or inspection: queued for the daemon's
 * loop (its quarantine and firewall are the daemon's, on its thread). A
 * full queue drops the newest and counts them: a flood that fills it has
 * been quarantined many times over by what is already queued. */
static void relay_failed(struct relay *r, const struct sockaddr *src, bool lan, const char *peer,
			 const char *cause)
{
	struct failure *f;

	if (!r->hooks.failure)
		return;
	pthread_mutex_lock(&r->fail_mu);
	if (r->n_fails >= FAILURE_QUEUE_MAX) {
		r->fails_dropped++;
		pthread_mutex_unlock(&r->fail_mu);
		return;
	}
	f = &r->fails[r->n_fails++];
	memset(f, 0, sizeof(*f));
	memcpy(&f->src, src, src->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	       sizeof(struct sockaddr_in));
	f->lan = lan;
	if (peer) {
		f->has_peer = true;
		snprintf(f->peer, sizeof(f->peer), "%s", peer);
	}
	snprintf(f->cause, sizeof(f->cause), "%s", cause ? cause : "unknown");
	pthread_mutex_unlock(&r->fail_mu);
	ev_async_send(r->loop, &r->fail_async);
}

static const char *addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	return addr_sockaddr_str((const struct sockaddr *)ss, buf, len);
}

/* The host part alone, IPv4-mapped IPv6 as IPv4: the per-source key. */
static const char *host_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	struct addr_prefix p;

	buf[0] = '\0';
	if (addr_from_sockaddr((const struct sockaddr *)ss, &p))
		addr_prefix_str(&p, buf, len);
	return buf;
}

static const char *local_str(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	return addr_str(&ss, buf, len);
}

/* ---- audit records ---- */

static void audit_tunnel(struct tunnel *t, const char *state)
{
	struct audit_rec *rec;
	struct side *wan = &t->wan, *lan = &t->lan;
	char a[80];

	if (!t->wk->r->audit || !(rec = audit_rec_begin(t->wk->r->audit, "tunnel")))
		return;
	audit_rec_u64(rec, "tunnel_id", t->id);
	audit_rec_str(rec, "state", state);
	audit_rec_str(rec, "side", t->ingress ? "wan" : "lan");
	if (t->peer[0])
		audit_rec_str(rec, "peer", t->peer);
	if (wan->addrlen)
		audit_rec_str(rec, "peer_addr", addr_str(&wan->addr, a, sizeof(a)));
	if (wan->fd >= 0)
		audit_rec_str(rec, "local_addr", local_str(wan->fd, a, sizeof(a)));
	if (lan->addrlen)
		audit_rec_str(rec, "lan_addr", addr_str(&lan->addr, a, sizeof(a)));
	if (t->cert_serial[0]) {
		audit_rec_str(rec, "cert_serial", t->cert_serial);
		audit_rec_str(rec, "cert_sha256", t->cert_sha256);
	}
	if (t->tls_version) {
		audit_rec_str(rec, "tls_version", t->tls_version);
		audit_rec_str(rec, "cipher", t->cipher ? t->cipher : "");
		audit_rec_bool(rec, "resumed", t->resumed);
	}
	audit_rec_u64(rec, "generation", t->gen->generation);
	if (strcmp(state, "open") != 0) {
		audit_rec_u64(rec, "bytes_in", t->down.bytes);
		audit_rec_u64(rec, "bytes_out", t->up.bytes);
		audit_rec_u64(rec, "frames_in", t->down.frames);
		audit_rec_u64(rec, "frames_out", t->up.frames);
		audit_rec_i64(rec, "duration_ms",
			      (int64_t)((ev_now(t->wk->loop) - t->start) * 1000.0));
		if (t->reason)
			audit_rec_str(rec, "reason", t->reason);
	}
	audit_rec_commit(rec);
}

/* The message record's fields go into the audit record. */
static void sink_str(void *arg, const char *key, const char *value)
{
	audit_rec_str(arg, key, value);
}

static void sink_u64(void *arg, const char *key, uint64_t value)
{
	audit_rec_u64(arg, key, value);
}

/* One record per frame verdict; the frame's fields never reach it. */
static void on_frame(void *arg, const struct insp_frame *f)
{
	struct tunnel *t = arg;
	struct worker *wk = t->wk;
	struct audit_rec *rec;
	bool allowed = f->allowed;
	struct policy_verdict v;
	struct policy_sink sink = { .str = sink_str, .u64 = sink_u64 };
	const char *why;

	t->last_frame = ev_now(wk->loop);
	relay_type_tally_add(&wk->types, f->type, f->type_name != NULL, allowed);
	if (allowed) {
		t->framed = true;
		if (f->dir == INSP_FROM_WAN)
			t->down.frames++;
		else
			t->up.frames++;
		wk->total.frames_allowed++;
		wk->interval.frames_allowed++;
		wk->total.bytes_allowed += f->length;
		wk->interval.bytes_allowed += f->length;
	} else {
		wk->total.frames_denied++;
		wk->interval.frames_denied++;
		wk->total.bytes_denied += f->length;
		wk->interval.bytes_denied += f->length;
		relay_tally_add(&wk->denies, insp_reason_name(f->reason));
	}
	/* Nothing after the end is forwarded: no record either. */
	if (t->dead || !wk->r->audit || !(rec = audit_rec_begin(wk->r->audit, "message")))
		return;
	audit_rec_u64(rec, "tunnel_id", t->id);
	policy_verdict_of(f, &v);
	sink.arg = rec;
	policy_message_fields(&v, &sink);
	/* Write-ahead: a frame whose record is lost is never forwarded under
	 * fail-closed (the tunnel ends; count-loss relays on, counted). */
	if (audit_rec_commit(rec) != 0 && (why = audit_refusal(wk->r->audit)))
		tunnel_end(t, why);
}

/* ---- I/O on one side ---- */

static bool ready(const struct side *s, int wait)
{
	return wait == EV_READ ? s->rd_ready : s->wr_ready;
}

static void blocked(struct side *s, int wait)
{
	if (wait == EV_READ)
		s->rd_ready = false;
	else
		s->wr_ready = false;
}

/* > 0 bytes, 0 end of stream, TLS_WANT_* or TLS_ERROR. */
static ssize_t side_read(struct side *s, uint8_t *p, size_t len)
{
	ssize_t n;

	if (s->tls) {
		n = tls_conn_read(s->tls, p, len);
		return n == TLS_CLOSED ? 0 : n;
	}
	n = recv(s->fd, p, len, 0);
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return TLS_WANT_READ;
	return TLS_ERROR;
}

static ssize_t side_write(struct side *s, const uint8_t *p, size_t len)
{
	ssize_t n;

	if (s->tls)
		return tls_conn_write(s->tls, p, len);
	n = send(s->fd, p, len, MSG_NOSIGNAL);
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return TLS_WANT_WRITE;
	return TLS_ERROR;
}

/* Close our write half: FIN on TCP, close_notify on TLS. true when done. */
static int side_shutdown(struct side *s)
{
	int rc;

	if (!s->tls) {
		shutdown(s->fd, SHUT_WR);
		return TLS_OK;
	}
	rc = tls_conn_shutdown(s->tls);
	return rc == TLS_WANT_READ || rc == TLS_WANT_WRITE ? rc : TLS_OK;
}

/* ---- flows ---- */

static size_t flow_forwardable(const struct flow *f)
{
	uint64_t end = f->base + relay_buf_len(&f->buf);
	uint64_t upto = f->allowed < end ? f->allowed : end;

	return upto > f->base ? (size_t)(upto - f->base) : 0;
}

static bool flow_may_read(const struct tunnel *t, const struct flow *f)
{
	const struct side *s = f->src;

	if (!s->open || s->eof || t->dead)
		return false;
	/* Before the other side exists, hold at most one frame's worth. */
	return !relay_backpressure(relay_buf_len(&f->buf), flow_forwardable(f),
				   t->gen->cfg->limits.buffer_bytes);
}

static void flow_fail(struct tunnel *t, struct flow *f, const char *cause)
{
	struct side *src = f->src;

	tunnel_end(t, cause);
	relay_failed(t->wk->r, (struct sockaddr *)&src->addr, src == &t->lan,
		     f->dir == INSP_FROM_WAN && t->peer[0] ? t->peer : NULL, cause);
}

/* One read from the flow's source: true when it made progress (bytes, in
 * *got, or the end of the stream). */
static bool flow_read_once(struct tunnel *t, struct flow *f, size_t *got)
{
	struct side *s = f->src;
	uint8_t *p;
	size_t room;
	ssize_t n;

	if (!flow_may_read(t, f) || !ready(s, s->rd_wait))
		return false;
	p = relay_buf_space(&f->buf, RELAY_READ_CHUNK, &room);
	if (!p)
		return false;
	n = side_read(s, p, room);
	if (n > 0) {
		*got = (size_t)n;
		relay_buf_commit(&f->buf, (size_t)n);
		s->rd_wait = EV_READ;
		/* A short read drained the socket, and TLS holds nothing read
		 * ahead: wait for the loop to say more came instead of asking
		 * the kernel again (a read that would only say EAGAIN). */
		if ((size_t)n < room && !(s->tls && tls_conn_has_pending(s->tls)))
			blocked(s, EV_READ);
		if (!insp_feed(t->insp, f->dir, p, (size_t)n, now_ms(t->wk), on_frame, t)) {
			flow_fail(t, f, "inspection-deny");
			return false;
		}
		f->allowed = insp_allowed_offset(t->insp, f->dir);
		flow_note_partial(t, f);
		return true;
	}
	if (n == 0) {
		s->eof = true;
		f->finished = true;
		if (!t->first_eof)
			t->first_eof = s == &t->lan ? "lan-closed" : "peer-closed";
		if (!insp_finish(t->insp, f->dir, now_ms(t->wk), on_frame, t)) {
			flow_fail(t, f, "inspection-deny");
			return false;
		}
		f->allowed = insp_allowed_offset(t->insp, f->dir);
		return true;
	}
	if (n == TLS_WANT_READ || n == TLS_WANT_WRITE) {
		s->rd_wait = n == TLS_WANT_READ ? EV_READ : EV_WRITE;
		blocked(s, s->rd_wait);
		return false;
	}
	if (s->tls) {
		const char *why = tls_conn_reason(s->tls);

		/* A TLS 1.3 client learns here that the server refused it. */
		tunnel_end(t, why ? why : "tls-error");
	} else {
		tunnel_end(t, s == &t->wan ? "peer-reset" : "lan-reset");
	}
	return false;
}

/* Read until the source would block, the buffer is full or
 * RELAY_READ_BUDGET bytes came in: frames that arrived together are
 * inspected together and leave together, in whole TLS records and one
 * write toward the destination, their records in one write to the spool.
 * A read shorter than asked ends the turn when nothing is left inside
 * OpenSSL (the socket was drained: the loop says when more comes), which
 * spares a read that would only say EAGAIN; a TLS source that read ahead
 * and still holds records is read on. */
static bool flow_read(struct tunnel *t, struct flow *f)
{
	size_t total = 0, got = 0;
	bool progress = false;

	while (total < RELAY_READ_BUDGET && flow_read_once(t, f, &got)) {
		progress = true;
		if (got == 0 || t->dead)
			break;   /* the end of the stream */
		total += got;
		got = 0;
	}
	return progress;
}

static bool flow_write(struct tunnel *t, struct flow *f)
{
	struct side *d = f->dst;
	size_t n_fw;
	ssize_t n;

	if (!d->open || d->shut || t->dead || !ready(d, d->wr_wait))
		return false;
	n_fw = flow_forwardable(f);
	if (n_fw == 0) {
		/* The source ended and all it sent is delivered: pass the end on. */
		if (!f->finished || relay_buf_len(&f->buf) != 0)
			return false;
		n = side_shutdown(d);
		if (n == TLS_WANT_READ || n == TLS_WANT_WRITE) {
			d->wr_wait = n == TLS_WANT_READ ? EV_READ : EV_WRITE;
			blocked(d, d->wr_wait);
			return false;
		}
		d->shut = true;
		return true;
	}
	/* Write-ahead: the records of these frames reach the spool file
	 * before the frames leave, so a crash of jgwd after this point can
	 * lose no record of a frame that was forwarded (one write(2) for
	 * whatever this iteration inspected; nothing when it was written).
	 * When the disk does not take them (fail-closed), the frames are
	 * never forwarded: the tunnel ends, and its records wait in memory
	 * for the disk. */
	if (!audit_writeahead(t->wk->r->audit)) {
		const char *why = audit_refusal(t->wk->r->audit);

		tunnel_end(t, why ? why : "audit-write-failed");
		return false;
	}
	n = side_write(d, relay_buf_data(&f->buf), n_fw);
	if (n > 0) {
		relay_buf_consume(&f->buf, (size_t)n);
		f->base += (uint64_t)n;
		f->bytes += (uint64_t)n;
		d->wr_wait = EV_WRITE;
		return true;
	}
	if (n == TLS_WANT_READ || n == TLS_WANT_WRITE || n == 0) {
		d->wr_wait = n == TLS_WANT_READ ? EV_READ : EV_WRITE;
		blocked(d, d->wr_wait);
		return false;
	}
	tunnel_end(t, d == &t->wan ? "peer-reset" : "lan-reset");
	return false;
}

/* ---- connections ---- */

static int socket_for(int family)
{
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Start a non-blocking connect of side s to ep; false when it failed at once. */
static bool side_connect(struct side *s, const struct cfg_endpoint *ep)
{
	int fd = socket_for(ep->ss.ss_family);

	if (fd < 0)
		return false;
	if (connect(fd, (const struct sockaddr *)&ep->ss, ep->len) < 0 && errno != EINPROGRESS) {
		close(fd);
		return false;
	}
	s->fd = fd;
	memcpy(&s->addr, &ep->ss, ep->len);
	s->addrlen = ep->len;
	s->rd_ready = false;
	s->wr_ready = false;
	s->hs_wait = EV_WRITE;
	ev_io_set(&s->io, fd, 0);
	s->events = 0;
	return true;
}

static void side_close(struct tunnel *t, struct side *s)
{
	if (s->events)
		ev_io_stop(t->wk->loop, &s->io);
	s->events = 0;
	if (s->tls) {
		tls_conn_free(s->tls);
		s->tls = NULL;
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->open = false;
}

static bool connect_done(struct side *s, int *err)
{
	socklen_t el = sizeof(*err);

	*err = 0;
	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, err, &el) < 0)
		*err = errno;
	return *err != EINPROGRESS && *err != EALREADY;
}

static void tunnel_copy_cert(struct tunnel *t)
{
	const char *v;

	if ((v = tls_conn_cert_serial(t->wan.tls)))
		snprintf(t->cert_serial, sizeof(t->cert_serial), "%s", v);
	if ((v = tls_conn_cert_sha256(t->wan.tls)))
		snprintf(t->cert_sha256, sizeof(t->cert_sha256), "%s", v);
	t->tls_version = tls_conn_version(t->wan.tls);
	t->cipher = tls_conn_cipher(t->wan.tls);
	t->resumed = tls_conn_resumed(t->wan.tls);
}

/*
 * Would generation gen accept this peer now? The directory first (a peer
 * removed from it is named so), then, once the TLS handshake has proven
 * the peer, the whole check of the handshake against gen's context:
 * chain to gen's CA file, validity today, gen's CRLs and their freshness
 * under its policy, identity and the site rule (tls_conn_recheck). Used at
 * a reload for every live tunnel, and when a handshake that began under an
 * older generation completes. NULL when accepted, else the reason.
 */
static const char *gen_refuses(const struct gen *gen, const struct tunnel *t,
			       const char *peer)
{
	const struct tls_conn *tls = t->wan.tls;
	const char *why;

	if (!peer || !peer[0])
		return NULL;
	/* Ingress: the source address must be the proven peer's (egress
	 * dialled one of its addresses itself). */
	why = policy_ingress_peer(gen->cfg, peer,
				  t->ingress ? (const struct sockaddr *)&t->wan.addr : NULL);
	if (why)
		return strcmp(why, "address-mismatch") == 0 ? why : "peer-removed";
	if (tls && tls_conn_peer_node(tls))
		return tls_conn_recheck(tls, gen->tls);
	return NULL;
}

/* A handshake just completed: under the current generation if it began
 * under an older one (a reload happened meanwhile). */
static bool tunnel_current_ok(struct tunnel *t, const char *peer)
{
	const char *why;

	if (t->gen == t->wk->gen || !(why = gen_refuses(t->wk->gen, t, peer)))
		return true;
	tunnel_end(t, why);
	return false;
}

/* Count the tunnel toward its peer (limits { per-peer }), O(1). */
static bool tunnel_peer_known(struct tunnel *t, const char *peer)
{
	const struct jgw_config *cfg = t->gen->cfg;
	struct relay *r = t->wk->r;
	const char *why = NULL;

	/* Named before the limit is checked: the reject record says whose. */
	memcpy(t->peer, peer, sizeof(t->peer));
	t->peer[NODE_CODE_LEN] = '\0';
	/* Checked and counted in one step: two workers must not both take
	 * the last place. */
	pthread_mutex_lock(&r->count_mu);
	if (cfg->limits.per_peer && relay_count_get(&r->peers, peer) >= cfg->limits.per_peer)
		why = "peer-limit";
	else if (!relay_count_inc(&r->peers, peer))
		why = "internal-error";
	pthread_mutex_unlock(&r->count_mu);
	if (why) {
		tunnel_end(t, why);
		return false;
	}
	t->peer_counted = true;
	return true;
}

/* Each state has its own deadline: restart the timer on every change. */
static void tunnel_set_state(struct tunnel *t, enum tun_state st)
{
	t->state = st;
	t->state_since = ev_now(t->wk->loop);
	if (st == TS_WAIT_FIRST)
		t->frames_since = t->last_frame = t->state_since;
	tunnel_rearm(t);
}

static void tunnel_open(struct tunnel *t)
{
	tunnel_set_state(t, TS_RELAY);
	t->opened = true;
	relay_addr_ok(&t->wk->addrs, t->peer, (const struct sockaddr *)&t->wan.addr, t->ingress);
	t->wk->total.tunnels_total++;
	t->wk->interval.tunnels_total++;
	audit_tunnel(t, "open");
	log_debug("tunnel %llu open: %s peer %s", (unsigned long long)t->id,
		  t->ingress ? "ingress" : "egress", t->peer[0] ? t->peer : "-");
}

/* Drive the WAN side's TLS handshake, either direction: 1 when it is done,
 * 0 while it waits for the socket, -1 when it failed (the tunnel is ended
 * with the TLS layer's reason, handed back in *reason). */
static int wan_handshake(struct tunnel *t, const char **reason)
{
	struct side *w = &t->wan;
	int rc;

	if (!ready(w, w->hs_wait))
		return 0;
	rc = tls_conn_handshake(w->tls);
	if (rc == TLS_WANT_READ || rc == TLS_WANT_WRITE) {
		w->hs_wait = rc == TLS_WANT_READ ? EV_READ : EV_WRITE;
		blocked(w, w->hs_wait);
		return 0;
	}
	if (rc != TLS_OK) {
		*reason = tls_conn_reason(w->tls);
		if (*reason == NULL)
			*reason = "handshake-failed";
		tunnel_end(t, *reason);
		return -1;
	}
	return 1;
}

/* Ingress: TLS accept. A failure counts against the source (quarantine). */
static bool step_handshake(struct tunnel *t)
{
	struct side *w = &t->wan;
	const char *reason = NULL;
	int rc = wan_handshake(t, &reason);

	if (rc <= 0) {
		if (rc < 0)
			relay_failed(t->wk->r, (struct sockaddr *)&w->addr, false, NULL, reason);
		return false;
	}
	tunnel_copy_cert(t);
	if (!tunnel_current_ok(t, tls_conn_peer_node(w->tls)))
		return false;
	/* A certificate proves who (the TLS layer ran the directory and the
	 * site rule); the address must be where that peer is (tls
	 * source-check): another peer's stolen key is not enough. */
	if (policy_ingress_peer(t->gen->cfg, tls_conn_peer_node(w->tls),
				(const struct sockaddr *)&w->addr) != NULL) {
		memcpy(t->peer, tls_conn_peer_node(w->tls), sizeof(t->peer));
		t->peer[NODE_CODE_LEN] = '\0';
		tunnel_end(t, "address-mismatch");
		relay_failed(t->wk->r, (struct sockaddr *)&w->addr, false, t->peer,
			     "address-mismatch");
		return false;
	}
	if (!tunnel_peer_known(t, tls_conn_peer_node(w->tls)))
		return false;
	if (!insp_conn_set_peer(t->insp, t->peer)) {
		tunnel_end(t, "internal-error");
		return false;
	}
	w->open = true;
	w->rd_wait = EV_READ;
	w->wr_wait = EV_WRITE;
	tunnel_open(t);
	tunnel_set_state(t, TS_WAIT_FIRST);
	return true;
}

static bool egress_dial_next(struct tunnel *t)
{
	const struct cfg_peer *p = cfg_peer_find(t->gen->cfg, t->peer);

	while (p && t->dial_next < p->n_addrs) {
		if (side_connect(&t->wan, &p->addrs[t->dial_next++])) {
			tunnel_set_state(t, TS_CONNECT);
			return true;
		}
	}
	tunnel_end(t, "connect-failed");
	return false;
}

/* The first frame decides the other end: the peer gateway of its receiver
 * (egress), or the local server of its system (ingress). */
static bool step_wait_first(struct tunnel *t)
{
	const struct jgw_config *cfg = t->gen->cfg;
	const struct cfg_endpoint *ep;
	enum cat_system pin;
	const char *why;

	if (!t->ingress) {
		const char *rcv = insp_conn_first_receiver(t->insp);

		if (!rcv || !rcv[0])
			return false;
		if ((why = policy_egress_peer(cfg, rcv)) != NULL) {
			tunnel_end(t, why);
			return false;
		}
		if (!tunnel_peer_known(t, rcv))
			return false;
		if (!insp_conn_set_peer(t->insp, t->peer)) {
			tunnel_end(t, "internal-error");
			return false;
		}
		return egress_dial_next(t);
	}
	/* The engine fixes the system at the first frame of one (either
	 * direction) and denies the other one from then on (system-mismatch). */
	ep = policy_local_server(cfg, insp_conn_system(t->insp), t->down.allowed > 0, &pin, &why);
	if (!ep) {
		if (why)
			tunnel_end(t, why);
		return false;
	}
	if (pin && !insp_conn_set_system(t->insp, pin)) {
		tunnel_end(t, "internal-error");
		return false;
	}
	if (!side_connect(&t->lan, ep)) {
		tunnel_end(t, "server-unreachable");
		return false;
	}
	tunnel_set_state(t, TS_CONNECT);
	return true;
}

static bool step_connect(struct tunnel *t)
{
	struct side *s = t->ingress ? &t->lan : &t->wan;
	int err;

	if (!s->wr_ready)
		return false;
	if (!connect_done(s, &err))
		return false;
	if (err) {
		char a[80];

		log_info("tunnel %llu: connect to %s failed: %s", (unsigned long long)t->id,
			 addr_str(&s->addr, a, sizeof(a)), strerror(err));
		if (!t->ingress)
			relay_addr_error(&t->wk->addrs, t->peer, (const struct sockaddr *)&s->addr,
					 false, "connect-failed");
		side_close(t, s);
		if (t->ingress) {
			tunnel_end(t, "server-unreachable");
			return false;
		}
		return egress_dial_next(t);
	}
	s->rd_ready = true;
	if (t->ingress) {
		s->open = true;
		s->rd_wait = EV_READ;
		s->wr_wait = EV_WRITE;
		tunnel_set_state(t, TS_RELAY);
		return true;
	}
	s->tls = tls_conn_connect(t->gen->tls, s->fd, t->peer);
	if (!s->tls) {
		tunnel_end(t, "internal-error");
		return false;
	}
	s->hs_wait = EV_WRITE;
	tunnel_set_state(t, TS_DIAL_TLS);
	return true;
}

/* Egress: TLS connect to the peer gateway. */
static bool step_dial_tls(struct tunnel *t)
{
	struct side *w = &t->wan;
	const char *reason = NULL;

	if (wan_handshake(t, &reason) <= 0)
		return false;
	tunnel_copy_cert(t);
	if (!tunnel_current_ok(t, t->peer))
		return false;
	w->open = true;
	w->rd_wait = EV_READ;
	w->wr_wait = EV_WRITE;
	tunnel_open(t);
	return true;
}

static bool tunnel_step(struct tunnel *t)
{
	switch (t->state) {
	case TS_HANDSHAKE: return step_handshake(t);
	case TS_WAIT_FIRST: return step_wait_first(t);
	case TS_CONNECT: return step_connect(t);
	case TS_DIAL_TLS: return step_dial_tls(t);
	case TS_RELAY: return false;
	}
	return false;
}

static int side_interest(const struct tunnel *t, const struct side *s, const struct flow *out,
			 const struct flow *in)
{
	int ev = 0;

	if (s->fd < 0)
		return 0;
	if (!s->open) {
		bool handshaking = (t->state == TS_HANDSHAKE || t->state == TS_DIAL_TLS) && s == &t->wan;
		bool connecting = t->state == TS_CONNECT && s == (t->ingress ? &t->lan : &t->wan);

		if (handshaking && !ready(s, s->hs_wait))
			ev |= s->hs_wait;
		if (connecting && !s->wr_ready)
			ev |= EV_WRITE;
		return ev;
	}
	/* out: the flow whose source is s; in: the flow whose destination is s. */
	if (flow_may_read(t, out) && !ready(s, s->rd_wait))
		ev |= s->rd_wait;
	if (!s->shut && (flow_forwardable(in) > 0 || (in->finished && relay_buf_len(&in->buf) == 0)) &&
	    !ready(s, s->wr_wait))
		ev |= s->wr_wait;
	return ev;
}

static void side_arm(struct tunnel *t, struct side *s, int ev)
{
	if (ev == s->events)
		return;
	if (s->events)
		ev_io_stop(t->wk->loop, &s->io);
	s->events = ev;
	if (ev) {
		ev_io_set(&s->io, s->fd, ev);
		ev_io_start(t->wk->loop, &s->io);
	}
}

/* When the tunnel times out, and why: handshake and connect run from the
 * start of their state; a tunnel that takes frames ends when none came for
 * `idle`, when its first frame did not come within `first-frame`, or when a
 * frame that began did not end within `frame` (a byte now and then keeps a
 * partial header alive no longer). */
static ev_tstamp tunnel_deadline(const struct tunnel *t, const char **why)
{
	const struct jgw_config *cfg = t->gen->cfg;
	const struct flow *flows[2] = { &t->up, &t->down };
	ev_tstamp at;

	switch (t->state) {
	case TS_HANDSHAKE:
	case TS_DIAL_TLS:
		*why = "handshake-timeout";
		return t->state_since + cfg->timeouts.handshake_ms / 1000.0;
	case TS_CONNECT:
		*why = "connect-timeout";
		return t->state_since + cfg->timeouts.connect_ms / 1000.0;
	default:
		break;
	}
	*why = "idle-timeout";
	at = t->last_frame + cfg->timeouts.idle_ms / 1000.0;
	if (!t->framed && t->frames_since + cfg->timeouts.first_frame_ms / 1000.0 < at) {
		at = t->frames_since + cfg->timeouts.first_frame_ms / 1000.0;
		*why = "first-frame-timeout";
	}
	for (int i = 0; i < 2; i++) {
		if (flows[i]->partial_since > 0 &&
		    flows[i]->partial_since + cfg->timeouts.frame_ms / 1000.0 < at) {
			at = flows[i]->partial_since + cfg->timeouts.frame_ms / 1000.0;
			*why = "frame-timeout";
		}
	}
	return at;
}

static void tunnel_rearm(struct tunnel *t)
{
	const char *why;
	ev_tstamp left = tunnel_deadline(t, &why) - ev_now(t->wk->loop);

	/* libev's "timer again" idiom: one timer, its repeat moved. */
	t->timer.repeat = left > 0.01 ? left + 0.001 : 0.01;
	ev_timer_again(t->wk->loop, &t->timer);
}

/* After a read: has a frame begun that is not whole yet? Its deadline may
 * come before the timer's. */
static void flow_note_partial(struct tunnel *t, struct flow *f)
{
	bool partial = f->base + relay_buf_len(&f->buf) > f->allowed;

	if (!partial) {
		f->partial_since = 0;
	} else if (f->partial_since == 0) {
		f->partial_since = ev_now(t->wk->loop);
		tunnel_rearm(t);
	}
}

static void tunnel_free(struct tunnel *t)
{
	struct worker *wk = t->wk;
	struct relay *r = wk->r;

	side_close(t, &t->lan);
	side_close(t, &t->wan);
	ev_timer_stop(wk->loop, &t->timer);
	insp_conn_free(t->insp);
	relay_buf_free(&t->up.buf);
	relay_buf_free(&t->down.buf);
	if (t->prev)
		t->prev->next = t->next;
	else
		wk->tunnels = t->next;
	if (t->next)
		t->next->prev = t->prev;
	wk->n_tunnels--;
	pthread_mutex_lock(&r->count_mu);
	r->n_tunnels--;
	if (t->peer_counted)
		relay_count_dec(&r->peers, t->peer);
	if (t->source[0])
		relay_count_dec(&r->sources, t->source);
	pthread_mutex_unlock(&r->count_mu);
	if (t->ingress)
		wk->total.ingress_open--;
	else
		wk->total.egress_open--;
	gen_put(t->gen);
	t->magic = 0;
	free(t);
}

/* Mark the tunnel as ending; tunnel_finish does the rest once the current
 * step has returned (no frees under our own feet). */
static void tunnel_end(struct tunnel *t, const char *reason)
{
	if (t->dead)
		return;
	t->dead = true;
	t->reason = reason;
}

static void tunnel_finish(struct tunnel *t)
{
	struct worker *wk = t->wk;
	char wa[80], la[80];

	/* Best effort close_notify so the peer sees an orderly end. */
	if (t->wan.tls && t->wan.open && !t->wan.shut)
		(void)tls_conn_shutdown(t->wan.tls);
	if (t->opened) {
		audit_tunnel(t, "close");
	} else {
		wk->total.tunnels_rejected++;
		wk->interval.tunnels_rejected++;
		relay_tally_add(&wk->rejects, t->reason ? t->reason : "unknown");
		if (t->wan.addrlen)
			relay_addr_error(&wk->addrs, t->peer, (const struct sockaddr *)&t->wan.addr,
					 t->ingress, t->reason ? t->reason : "unknown");
		audit_tunnel(t, "reject");
	}
	wk->total.bytes_in += t->down.bytes;
	wk->total.bytes_out += t->up.bytes;
	wk->interval.bytes_in += t->down.bytes;
	wk->interval.bytes_out += t->up.bytes;
	/* A reject names who and where: the peer, the address at the WAN side
	 * (the peer's, when there was one), and the LAN side's. */
	log_info("tunnel %llu %s: %s peer %s addr %s lan %s reason %s in %llu out %llu bytes",
		 (unsigned long long)t->id, t->opened ? "closed" : "rejected",
		 t->ingress ? "ingress" : "egress", t->peer[0] ? t->peer : "-",
		 t->wan.addrlen ? addr_str(&t->wan.addr, wa, sizeof(wa)) : "-",
		 t->lan.addrlen ? addr_str(&t->lan.addr, la, sizeof(la)) : "-",
		 t->reason ? t->reason : "-", (unsigned long long)t->down.bytes,
		 (unsigned long long)t->up.bytes);
	/* The records of this tunnel are in the spool file before its
	 * connections are seen to close. */
	audit_flush(wk->r->audit);
	tunnel_free(t);
}

static void tunnel_run(struct tunnel *t)
{
	bool progress;

	do {
		progress = false;
		if (t->state != TS_RELAY)
			progress |= tunnel_step(t);
		if (t->dead)
			break;
		progress |= flow_read(t, &t->up);
		progress |= flow_read(t, &t->down);
		progress |= flow_write(t, &t->up);
		progress |= flow_write(t, &t->down);
	} while (progress && !t->dead);

	if (!t->dead && t->up.finished && t->down.finished && t->lan.shut && t->wan.shut)
		tunnel_end(t, t->first_eof ? t->first_eof : "peer-closed");
	if (!t->dead && t->state == TS_WAIT_FIRST && t->ingress && t->down.finished)
		tunnel_end(t, "peer-closed");
	if (!t->dead && t->state == TS_WAIT_FIRST && !t->ingress && t->up.finished)
		tunnel_end(t, "lan-closed");
	if (t->dead) {
		tunnel_finish(t);
		return;
	}
	if (relay_buf_len(&t->up.buf) == 0 && !t->lan.rd_ready)
		relay_buf_trim(&t->up.buf);
	if (relay_buf_len(&t->down.buf) == 0 && !t->wan.rd_ready)
		relay_buf_trim(&t->down.buf);
	side_arm(t, &t->lan, side_interest(t, &t->lan, &t->up, &t->down));
	side_arm(t, &t->wan, side_interest(t, &t->wan, &t->down, &t->up));
}

static void on_side_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct side *s = w->data;
	struct tunnel *t = s->t;

	(void)loop;
	if (t->magic != TUNNEL_MAGIC) {
		log_err("relay: event on a freed tunnel");
		ev_io_stop(loop, w);
		return;
	}
	if (revents & EV_READ)
		s->rd_ready = true;
	if (revents & EV_WRITE)
		s->wr_ready = true;
	tunnel_run(t);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tunnel *t = w->data;
	const char *why;

	(void)revents;
	if (ev_now(loop) >= tunnel_deadline(t, &why)) {
		tunnel_end(t, why);
		tunnel_finish(t);
		return;
	}
	tunnel_rearm(t);
}

static void side_init(struct tunnel *t, struct side *s)
{
	s->t = t;
	s->fd = -1;
	s->rd_wait = EV_READ;
	s->wr_wait = EV_WRITE;
	s->hs_wait = EV_READ;
	ev_io_init(&s->io, on_side_io, -1, 0);
	s->io.data = s;
}

/* counted: accept_one already counted it in r->n_tunnels (with its limit
 * check, in one step). */
static struct tunnel *tunnel_new(struct worker *wk, bool ingress, int fd,
				 const struct sockaddr_storage *src, socklen_t srclen, bool counted)
{
	struct relay *r = wk->r;
	struct tunnel *t = calloc(1, sizeof(*t));
	size_t limit = RELAY_MAX_FRAME + wk->gen->cfg->limits.buffer_bytes;

	if (!t)
		return NULL;
	t->magic = TUNNEL_MAGIC;
	t->wk = wk;
	t->gen = gen_hold(wk->gen);
	t->id = r->id_base |
		(atomic_fetch_add_explicit(&r->id_next, 1, memory_order_relaxed) & 0xffffffffu);
	t->ingress = ingress;
	t->start = ev_now(wk->loop);
	side_init(t, &t->lan);
	side_init(t, &t->wan);
	t->up = (struct flow){ .dir = INSP_FROM_LAN, .src = &t->lan, .dst = &t->wan };
	t->down = (struct flow){ .dir = INSP_FROM_WAN, .src = &t->wan, .dst = &t->lan };
	relay_buf_init(&t->up.buf, limit);
	relay_buf_init(&t->down.buf, limit);
	{
		struct side *s = ingress ? &t->wan : &t->lan;

		s->fd = fd;
		memcpy(&s->addr, src, srclen);
		s->addrlen = srclen;
		s->rd_ready = s->wr_ready = true;
		ev_io_set(&s->io, fd, 0);
	}
	ev_init(&t->timer, on_timer);
	t->timer.data = t;
	t->next = wk->tunnels;
	if (wk->tunnels)
		wk->tunnels->prev = t;
	wk->tunnels = t;
	wk->n_tunnels++;
	if (!counted) {
		pthread_mutex_lock(&r->count_mu);
		r->n_tunnels++;
		pthread_mutex_unlock(&r->count_mu);
	}
	if (ingress)
		wk->total.ingress_open++;
	else
		wk->total.egress_open++;
	return t;
}

/* Refuse a connection before a tunnel exists; audited as a reject. */
static void refuse(struct worker *wk, bool ingress, int fd, const struct sockaddr_storage *src,
		   socklen_t srclen, const char *reason, bool failure)
{
	struct tunnel *t = wk->gen ? tunnel_new(wk, ingress, fd, src, srclen, false) : NULL;

	if (!t) {
		close(fd);
		return;
	}
	tunnel_end(t, reason);
	tunnel_finish(t);
	if (failure)
		relay_failed(wk->r, (const struct sockaddr *)src, !ingress, NULL, reason);
}

/* The gateway's limits on live tunnels, for a new connection: checked and
 * counted in one step under the workers' shared lock, so that two workers
 * never both take the last place. NULL when admitted (then counted, and
 * *source_counted says whether under host); else the reason. */
static const char *count_admit(struct relay *r, const struct jgw_config *cfg, bool ingress,
			       const char *host, bool *source_counted)
{
	const char *why = NULL;

	*source_counted = false;
	pthread_mutex_lock(&r->count_mu);
	if (cfg->limits.tunnels && r->n_tunnels >= cfg->limits.tunnels) {
		why = "tunnel-limit";
	} else if (!ingress && relay_count_get(&r->sources, host) >= cfg->limits.per_source) {
		/* One LAN address must not take every tunnel, the peers' included. */
		why = "source-limit";
	} else {
		r->n_tunnels++;
		if (!ingress && host[0])
			*source_counted = relay_count_inc(&r->sources, host);
	}
	pthread_mutex_unlock(&r->count_mu);
	return why;
}

static void accept_one(struct worker *wk, bool ingress, int fd, struct sockaddr_storage *src,
		       socklen_t srclen)
{
	struct relay *r = wk->r;
	const struct jgw_config *cfg = wk->gen->cfg;
	const char *why = NULL;
	struct tunnel *t;
	char host[RELAY_COUNT_KEY] = "";
	bool source_counted;
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* A stranger is a stranger whatever the load: name it first. */
	if (!ingress && (why = policy_lan_source(cfg, (struct sockaddr *)src)) != NULL) {
		refuse(wk, ingress, fd, src, srclen, why, true);
		return;
	}
	if (r->hooks.admit && !r->hooks.admit(r->hooks.arg, &why)) {
		refuse(wk, ingress, fd, src, srclen, why ? why : "not-admitted", false);
		return;
	}
	if (!ingress)
		host_str(src, host, sizeof(host));
	if ((why = count_admit(r, cfg, ingress, host, &source_counted)) != NULL) {
		refuse(wk, ingress, fd, src, srclen, why, false);
		return;
	}
	t = tunnel_new(wk, ingress, fd, src, srclen, true);
	if (!t) {
		pthread_mutex_lock(&r->count_mu);
		r->n_tunnels--;
		if (source_counted)
			relay_count_dec(&r->sources, host);
		pthread_mutex_unlock(&r->count_mu);
		close(fd);
		return;
	}
	if (source_counted)
		memcpy(t->source, host, sizeof(t->source));
	t->insp = insp_conn_new(&t->gen->insp, NULL);
	if (!t->insp) {
		tunnel_end(t, "internal-error");
		tunnel_finish(t);
		return;
	}
	if (ingress) {
		t->wan.tls = tls_conn_accept(t->gen->tls, fd);
		if (!t->wan.tls) {
			tunnel_end(t, "internal-error");
			tunnel_finish(t);
			return;
		}
		tunnel_set_state(t, TS_HANDSHAKE);
	} else {
		t->lan.open = true;
		tunnel_set_state(t, TS_WAIT_FIRST);
	}
	tunnel_run(t);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct worker *wk = w->data;
	bool ingress = w == &wk->wan_io;

	(void)revents;
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage src;
		socklen_t sl = sizeof(src);
		int fd = accept4(w->fd, (struct sockaddr *)&src, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			int e = errno;

			if (e == EAGAIN || e == EWOULDBLOCK || e == EINTR || e == ECONNABORTED)
				return;
			if (ev_now(loop) - wk->last_accept_err > 1.0) {
				wk->last_accept_err = ev_now(loop);
				log_err("accept on the %s listener: %s", ingress ? "WAN" : "LAN",
					strerror(e));
			}
			/* Out of descriptors or memory: the pending connection would
			 * wake us again at once. Pause the listeners for a second. */
			if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
				ev_io_stop(loop, &wk->lan_io);
				ev_io_stop(loop, &wk->wan_io);
				ev_timer_set(&wk->resume, 1.0, 0.0);
				ev_timer_start(loop, &wk->resume);
			}
			return;
		}
		if (wk->stopping || !wk->gen) {
			close(fd);
			continue;
		}
		/* A tunnel needs a second descriptor, and the rest of the daemon
		 * (control socket, audit files, netlink) must never find none. */
		if (fd + 1 >= wk->r->fd_high) {
			refuse(wk, ingress, fd, &src, sl, "fd-limit", false);
			continue;
		}
		accept_one(wk, ingress, fd, &src, sl);
	}
}

/* ------------------------------------------------------------------ */
/* Workers                                                             */

static void on_resume(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct worker *wk = w->data;

	(void)revents;
	if (wk->stopping)
		return;
	if (wk->lan_fd >= 0)
		ev_io_start(loop, &wk->lan_io);
	if (wk->wan_fd >= 0)
		ev_io_start(loop, &wk->wan_io);
}

static void on_wake(struct ev_loop *loop, ev_async *w, int revents)
{
	struct worker *wk = w->data;

	(void)revents;
	if (wk->quit)
		ev_break(loop, EVBREAK_ALL);
}

/* Before the loop waits: the records of everything this iteration did go
 * to the spool in one write (a busy loop makes one write per iteration,
 * not per frame). */
static void on_flush(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct worker *wk = w->data;

	(void)loop;
	(void)revents;
	audit_flush(wk->r->audit);
}

static void loop_release(struct ev_loop *loop)
{
	struct worker *wk = ev_userdata(loop);

	pthread_mutex_unlock(&wk->mu);
}

static void loop_acquire(struct ev_loop *loop)
{
	struct worker *wk = ev_userdata(loop);

	pthread_mutex_lock(&wk->mu);
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;

	pthread_mutex_lock(&wk->mu);
	ev_run(wk->loop, 0);
	pthread_mutex_unlock(&wk->mu);
	/* Its spare buffers are this thread's. */
	relay_buf_drain_spares();
	return NULL;
}

/* The daemon's thread looks at or changes a worker under its lock. A
 * look (stats, metrics, peers) leaves the loop asleep; a change (listeners,
 * tunnels closed, a new generation, quit) wakes it on the way out, so that
 * it takes up changed watchers. */
static void worker_lock(const struct worker *wk)
{
	pthread_mutex_lock((pthread_mutex_t *)&wk->mu);
}

static void worker_unlock(const struct worker *wk)
{
	pthread_mutex_unlock((pthread_mutex_t *)&wk->mu);
}

static void worker_unlock_wake(struct worker *wk)
{
	if (wk->running)
		ev_async_send(wk->loop, &wk->wake);
	pthread_mutex_unlock(&wk->mu);
}

static int worker_init(struct relay *r, struct worker *wk, unsigned index)
{
	wk->r = r;
	wk->index = index;
	wk->lan_fd = wk->wan_fd = -1;
	wk->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
	if (!wk->loop)
		return -1;
	pthread_mutex_init(&wk->mu, NULL);
	ev_set_userdata(wk->loop, wk);
	ev_set_loop_release_cb(wk->loop, loop_release, loop_acquire);
	ev_async_init(&wk->wake, on_wake);
	wk->wake.data = wk;
	ev_async_start(wk->loop, &wk->wake);
	ev_prepare_init(&wk->flush, on_flush);
	wk->flush.data = wk;
	ev_prepare_start(wk->loop, &wk->flush);
	ev_io_init(&wk->lan_io, on_accept, -1, EV_READ);
	ev_io_init(&wk->wan_io, on_accept, -1, EV_READ);
	wk->lan_io.data = wk->wan_io.data = wk;
	ev_timer_init(&wk->resume, on_resume, 1.0, 0.0);
	wk->resume.data = wk;
	return 0;
}

/* Threads take no signals: the daemon's loop handles them. */
static int worker_start(struct worker *wk)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&wk->thread, NULL, worker_main, wk);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		log_err("relay: cannot start worker %u: %s", wk->index, strerror(rc));
		return -1;
	}
	wk->running = true;
	/* `top -H`, /proc/PID/task/TID/comm: which thread is which. */
	char name[16];
	snprintf(name, sizeof(name), "jgw-relay%u", wk->index);
	pthread_setname_np(wk->thread, name);
	return 0;
}

/* The daemon's loop: the failures the workers queued, to the hook. */
static void on_failures(struct ev_loop *loop, ev_async *w, int revents)
{
	struct relay *r = w->data;
	struct failure batch[64];
	size_t n;
	uint64_t dropped;

	(void)loop;
	(void)revents;
	do {
		pthread_mutex_lock(&r->fail_mu);
		n = r->n_fails < 64 ? r->n_fails : 64;
		memcpy(batch, r->fails, n * sizeof(batch[0]));
		memmove(r->fails, r->fails + n, (r->n_fails - n) * sizeof(batch[0]));
		r->n_fails -= n;
		dropped = r->fails_dropped;
		r->fails_dropped = 0;
		pthread_mutex_unlock(&r->fail_mu);
		if (dropped)
			log_warn("relay: %llu source failures not counted toward quarantine "
				 "(queue full)", (unsigned long long)dropped);
		for (size_t i = 0; i < n; i++)
			r->hooks.failure(r->hooks.arg, (const struct sockaddr *)&batch[i].src,
					 batch[i].lan, batch[i].has_peer ? batch[i].peer : NULL,
					 batch[i].cause);
	} while (n == 64);
}

/* ------------------------------------------------------------------ */
/* The relay                                                           */

unsigned relay_default_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > RELAY_WORKERS_MAX ? RELAY_WORKERS_MAX : (unsigned)n;
}

struct relay *relay_new(struct ev_loop *loop, struct audit *audit,
			const struct relay_hooks *hooks, unsigned n_workers)
{
	struct relay *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	if (n_workers < 1)
		n_workers = 1;
	if (n_workers > RELAY_WORKERS_MAX)
		n_workers = RELAY_WORKERS_MAX;
	r->loop = loop;
	r->audit = audit;
	if (hooks)
		r->hooks = *hooks;
	r->fd_high = INT_MAX;
	r->id_base = (uint64_t)time(NULL) << 32;
	atomic_init(&r->id_next, 1);
	pthread_mutex_init(&r->count_mu, NULL);
	pthread_mutex_init(&r->fail_mu, NULL);
	r->fails = calloc(FAILURE_QUEUE_MAX, sizeof(*r->fails));
	r->workers = calloc(n_workers, sizeof(*r->workers));
	if (!r->fails || !r->workers) {
		relay_free(r);
		return NULL;
	}
	ev_async_init(&r->fail_async, on_failures);
	r->fail_async.data = r;
	ev_async_start(loop, &r->fail_async);
	ev_unref(loop);             /* it alone must not keep the loop running */
	for (unsigned i = 0; i < n_workers; i++) {
		if (worker_init(r, &r->workers[i], i) < 0) {
			relay_free(r);
			return NULL;
		}
		r->n_workers = i + 1;
	}
	return r;
}

unsigned relay_workers(const struct relay *r)
{
	return r->n_workers;
}

/* freebind: the address may not be here yet (a pair's virtual address,
 * which keepalived brings when this member becomes the master). reuseport:
 * one listener per worker on the same address. */
static int listen_on(const struct cfg_endpoint *ep, const char *what, bool freebind,
		     bool reuseport, char *err, size_t errlen)
{
	int fd = socket(ep->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	char a[80];

	if (fd < 0) {
		snprintf(err, errlen, "%s listener: socket: %s", what, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
		snprintf(err, errlen, "%s listener: SO_REUSEPORT: %s", what, strerror(errno));
		close(fd);
		return -1;
	}
	if (freebind)
		setsockopt(fd, SOL_IP, IP_FREEBIND, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&ep->ss, ep->len) < 0 || listen(fd, 511) < 0) {
		snprintf(err, errlen, "%s listener %s: %s", what,
			 addr_str(&ep->ss, a, sizeof(a)), strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Descriptors the relay leaves to the rest of jgwd: a quarter of the limit,
 * at most RELAY_FD_RESERVE. */
#define RELAY_FD_RESERVE 64

static int fd_high_mark(void)
{
	struct rlimit rl;
	rlim_t keep;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > INT_MAX)
		return INT_MAX;
	keep = rl.rlim_cur / 4 < RELAY_FD_RESERVE ? rl.rlim_cur / 4 : RELAY_FD_RESERVE;
	return (int)(rl.rlim_cur - keep);
}

static void close_listener(struct worker *wk, ev_io *io, int *fd)
{
	ev_io_stop(wk->loop, io);
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void close_listeners(struct relay *r)
{
	for (unsigned i = 0; i < r->n_workers; i++) {
		struct worker *wk = &r->workers[i];

		close_listener(wk, &wk->lan_io, &wk->lan_fd);
		close_listener(wk, &wk->wan_io, &wk->wan_fd);
	}
}

/* Before the workers run: no locking. */
int relay_listen(struct relay *r, const struct jgw_config *cfg, char *err, size_t errlen)
{
	bool many = r->n_workers > 1;

	r->fd_high = fd_high_mark();
	for (unsigned i = 0; i < r->n_workers; i++) {
		struct worker *wk = &r->workers[i];

		wk->lan_fd = listen_on(&cfg->lan_listen, "LAN", cfg->ha.n_partners > 0, many,
				       err, errlen);
		if (wk->lan_fd >= 0)
			wk->wan_fd = listen_on(&cfg->wan_listen, "WAN", false, many, err, errlen);
		if (wk->lan_fd < 0 || wk->wan_fd < 0) {
			close_listeners(r);
			return -1;
		}
		ev_io_set(&wk->lan_io, wk->lan_fd, EV_READ);
		ev_io_set(&wk->wan_io, wk->wan_fd, EV_READ);
	}
	return 0;
}

static int worker_wan_listen(struct worker *wk, bool on, char *err, size_t errlen)
{
	if (!on) {
		close_listener(wk, &wk->wan_io, &wk->wan_fd);
		return 0;
	}
	if (wk->wan_fd >= 0 || !wk->gen || wk->stopping)
		return 0;
	wk->wan_fd = listen_on(&wk->gen->cfg->wan_listen, "WAN", false, wk->r->n_workers > 1,
			       err, errlen);
	if (wk->wan_fd < 0)
		return -1;
	ev_io_set(&wk->wan_io, wk->wan_fd, EV_READ);
	ev_io_start(wk->loop, &wk->wan_io);
	return 0;
}

int relay_wan_listen(struct relay *r, bool on, char *err, size_t errlen)
{
	int rc = 0;

	for (unsigned i = 0; i < r->n_workers && rc == 0; i++) {
		worker_lock(&r->workers[i]);
		rc = worker_wan_listen(&r->workers[i], on, err, errlen);
		worker_unlock_wake(&r->workers[i]);
	}
	if (rc < 0 && on) {
		/* All or none: a worker without its listener would leave the
		 * connections the kernel hands it. */
		for (unsigned i = 0; i < r->n_workers; i++) {
			worker_lock(&r->workers[i]);
			worker_wan_listen(&r->workers[i], false, NULL, 0);
			worker_unlock_wake(&r->workers[i]);
		}
	}
	return rc;
}

static void worker_set_gen(struct worker *wk, struct gen *gen)
{
	struct gen *old = wk->gen;
	struct tunnel *t, *next;

	wk->gen = gen_hold(gen);
	wk->total.generation = gen->generation;
	if (!old) {
		if (wk->lan_fd >= 0)
			ev_io_start(wk->loop, &wk->lan_io);
		if (wk->wan_fd >= 0)
			ev_io_start(wk->loop, &wk->wan_io);
		return;
	}
	gen_put(old);
	/* Handshakes in progress are checked when they complete. */
	for (t = wk->tunnels; t; t = next) {
		const char *why = gen_refuses(gen, t, t->peer);

		next = t->next;
		if (why) {
			log_warn("tunnel %llu to %s closed by the new configuration: %s",
				 (unsigned long long)t->id, t->peer, why);
			tunnel_end(t, why);
			tunnel_finish(t);
		}
	}
}

void relay_set_gen(struct relay *r, struct gen *gen)
{
	struct gen *old = r->gen;

	r->gen = gen_hold(gen);
	for (unsigned i = 0; i < r->n_workers; i++) {
		struct worker *wk = &r->workers[i];

		worker_lock(wk);
		worker_set_gen(wk, gen);
		worker_unlock_wake(wk);
		/* The first generation starts the workers (after the privilege
		 * drop: they run as the daemon's account). */
		if (!old && !wk->running && worker_start(wk) < 0)
			log_err("relay: worker %u does not run; its listener's "
				"connections wait", i);
	}
	gen_put(old);
}

static size_t worker_check_crl(struct worker *wk)
{
	struct tunnel *t, *next;
	size_t closed = 0;

	/* Only tunnels whose peer was proven: a handshake still running fails
	 * on its own (identity_check), and a tunnel without TLS yet will run
	 * one. */
	for (t = wk->tunnels; t; t = next) {
		next = t->next;
		if (t->wan.tls && tls_conn_peer_node(t->wan.tls)) {
			tunnel_end(t, "crl-stale");
			tunnel_finish(t);
			closed++;
		}
	}
	return closed;
}

size_t relay_check_crl(struct relay *r, int64_t now_s)
{
	const struct gen *gen = r->gen;
	size_t closed = 0;

	if (!gen || gen->cfg->tls.crl_policy != CFG_CRL_FAIL_CLOSED ||
	    tls_ctx_crl_remaining(gen->tls, now_s) > 0)
		return 0;
	for (unsigned i = 0; i < r->n_workers; i++) {
		worker_lock(&r->workers[i]);
		closed += worker_check_crl(&r->workers[i]);
		worker_unlock_wake(&r->workers[i]);
	}
	if (closed)
		log_warn("CRL stale (fail-closed): %zu tunnel%s closed", closed, closed == 1 ? "" : "s");
	return closed;
}

size_t relay_peer_tunnels(const struct relay *r, const char *node)
{
	pthread_mutex_lock((pthread_mutex_t *)&r->count_mu);
	size_t n = relay_count_get(&r->peers, node);
	pthread_mutex_unlock((pthread_mutex_t *)&r->count_mu);
	return n;
}

void relay_tallies(const struct relay *r, struct relay_tallies *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < r->n_workers; i++) {
		const struct worker *wk = &r->workers[i];

		worker_lock(wk);
		relay_tally_merge(&out->rejects, &wk->rejects);
		relay_tally_merge(&out->denies, &wk->denies);
		relay_type_tally_merge(&out->types, &wk->types);
		worker_unlock(wk);
	}
}

bool relay_peer_addr(const struct relay *r, const char *node, const struct sockaddr *sa,
		     struct relay_addr_slot *out)
{
	bool found = false;

	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < r->n_workers; i++) {
		worker_lock(&r->workers[i]);
		const struct relay_addr_slot *s = relay_addr_get(&r->workers[i].addrs, node, sa);
		if (s) {
			relay_addr_merge(out, s);
			found = true;
		}
		worker_unlock(&r->workers[i]);
	}
	return found;
}

static bool worker_close(struct worker *wk, uint64_t id, const char *reason)
{
	for (struct tunnel *t = wk->tunnels; t; t = t->next) {
		if (t->id != id || t->dead)
			continue;
		log_info("tunnel %llu to %s closed by an operator", (unsigned long long)id,
			 t->peer[0] ? t->peer : "-");
		tunnel_end(t, reason);
		tunnel_finish(t);
		return true;
	}
	return false;
}

bool relay_close(struct relay *r, uint64_t id, const char *reason)
{
	bool done = false;

	for (unsigned i = 0; i < r->n_workers && !done; i++) {
		worker_lock(&r->workers[i]);
		done = worker_close(&r->workers[i], id, reason);
		worker_unlock_wake(&r->workers[i]);
	}
	return done;
}

const struct gen *relay_current(const struct relay *r)
{
	return r->gen;
}

static void worker_stop(struct worker *wk)
{
	wk->stopping = true;
	ev_timer_stop(wk->loop, &wk->resume);
	close_listener(wk, &wk->lan_io, &wk->lan_fd);
	close_listener(wk, &wk->wan_io, &wk->wan_fd);
	while (wk->tunnels) {
		tunnel_end(wk->tunnels, "shutdown");
		tunnel_finish(wk->tunnels);
	}
}

void relay_stop(struct relay *r)
{
	if (r->stopping)
		return;
	r->stopping = true;
	for (unsigned i = 0; i < r->n_workers; i++) {
		worker_lock(&r->workers[i]);
		worker_stop(&r->workers[i]);
		worker_unlock_wake(&r->workers[i]);
	}
	if (r->hooks.stopped)
		r->hooks.stopped(r->hooks.arg);
}

/* Its thread is gone (or never ran): the daemon's thread owns it now. */
static void worker_free(struct worker *wk)
{
	if (!wk->loop)
		return;
	ev_timer_stop(wk->loop, &wk->resume);
	while (wk->tunnels) {
		tunnel_end(wk->tunnels, "shutdown");
		tunnel_finish(wk->tunnels);
	}
	close_listener(wk, &wk->lan_io, &wk->lan_fd);
	close_listener(wk, &wk->wan_io, &wk->wan_fd);
	ev_async_stop(wk->loop, &wk->wake);
	ev_prepare_stop(wk->loop, &wk->flush);
	gen_put(wk->gen);
	relay_addrs_free(&wk->addrs);
	ev_loop_destroy(wk->loop);
	pthread_mutex_destroy(&wk->mu);
}

void relay_free(struct relay *r)
{
	if (!r)
		return;
	r->hooks.stopped = NULL;
	for (unsigned i = 0; i < r->n_workers; i++) {
		struct worker *wk = &r->workers[i];

		if (!wk->running)
			continue;
		worker_lock(wk);
		wk->quit = true;
		worker_unlock_wake(wk);
		pthread_join(wk->thread, NULL);
		wk->running = false;
	}
	for (unsigned i = 0; i < r->n_workers; i++)
		worker_free(&r->workers[i]);
	if (ev_is_active(&r->fail_async)) {
		ev_ref(r->loop);
		ev_async_stop(r->loop, &r->fail_async);
	}
	gen_put(r->gen);
	relay_count_free(&r->peers);
	relay_count_free(&r->sources);
	pthread_mutex_destroy(&r->count_mu);
	pthread_mutex_destroy(&r->fail_mu);
	free(r->fails);
	free(r->workers);
	free(r);
	relay_buf_drain_spares();
}

static void add_live(const struct worker *wk, struct relay_stats *out)
{
	out->tunnels_open += wk->n_tunnels;
	out->egress_open += wk->total.egress_open;
	out->ingress_open += wk->total.ingress_open;
	for (const struct tunnel *t = wk->tunnels; t; t = t->next)
		out->buffered_bytes += t->up.buf.cap + t->down.buf.cap;
}

/* Counters of out, summed over the workers (generation is the relay's). */
static void stats_add(struct relay_stats *out, const struct relay_stats *in)
{
	out->tunnels_total += in->tunnels_total;
	out->tunnels_rejected += in->tunnels_rejected;
	out->frames_allowed += in->frames_allowed;
	out->frames_denied += in->frames_denied;
	out->bytes_allowed += in->bytes_allowed;
	out->bytes_denied += in->bytes_denied;
	out->bytes_in += in->bytes_in;
	out->bytes_out += in->bytes_out;
}

void relay_get_stats(const struct relay *r, struct relay_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < r->n_workers; i++) {
		const struct worker *wk = &r->workers[i];

		worker_lock(wk);
		stats_add(out, &wk->total);
		/* Live tunnels' bytes so far count too, not only the closed ones'. */
		for (const struct tunnel *t = wk->tunnels; t; t = t->next) {
			out->bytes_in += t->down.bytes;
			out->bytes_out += t->up.bytes;
		}
		add_live(wk, out);
		worker_unlock(wk);
	}
	out->generation = r->gen ? r->gen->generation : 0;
}

void relay_take_interval(struct relay *r, struct relay_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < r->n_workers; i++) {
		struct worker *wk = &r->workers[i];

		worker_lock(wk);
		stats_add(out, &wk->interval);
		add_live(wk, out);
		memset(&wk->interval, 0, sizeof(wk->interval));
		worker_unlock(wk);
	}
	out->generation = r->gen ? r->gen->generation : 0;
}

void relay_foreach(const struct relay *r, relay_tunnel_fn fn, void *arg)
{
	char a[80];

	for (unsigned i = 0; i < r->n_workers; i++) {
		const struct worker *wk = &r->workers[i];

		worker_lock(wk);
		for (const struct tunnel *t = wk->tunnels; t; t = t->next) {
			struct relay_tunnel_info info = {
				.id = t->id,
				.worker = wk->index,
				.side = t->ingress ? "wan" : "lan",
				.state = state_names[t->state],
				.peer = t->peer,
				.peer_addr = t->wan.addrlen ? addr_str(&t->wan.addr, a, sizeof(a)) : "-",
				.generation = t->gen->generation,
				.bytes_in = t->down.bytes,
				.bytes_out = t->up.bytes,
				.frames_in = t->down.frames,
				.frames_out = t->up.frames,
				.age_ms = (int64_t)((ev_now(wk->loop) - t->start) * 1000.0),
			};
			fn(arg, &info);
		}
		worker_unlock(wk);
	}
}
