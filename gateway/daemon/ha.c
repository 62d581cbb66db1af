/*
 * ha.c — jgwd as a member of a site's pair: keepalived's state notes and
 * the quarantine sync with the partner (ha.h).
 *
 * The sync is one line protocol over TLS 1.3, from the member that made a
 * quarantine to its partner, never back:
 *
 *   hello MEMBER                    first, from the connecting member
 *   add ADDR SECONDS CAUSE          put ADDR in the set for SECONDS
 *   del ADDR                        take it out
 *
 * Each member dials its partner (the partner's addresses in order) and
 * accepts the partner's connection, so each direction has a connection
 * of its own and a member only ever sends what it made itself: nothing
 * can bounce between the two. A connection that comes up is first given
 * everything this member still holds (with the time left), then the
 * removals made while it was down; so a member that restarts, or whose
 * partner restarts, converges without any state kept on disk.
 */
#include "gateway/daemon/ha.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "filters/base/log.h"
#include "filters/policy/config.h"
#include "gateway/audit/audit.h"
#include "gateway/control/control.h"
#include "gateway/daemon/gen.h"
#include "gateway/daemon/operator.h"
#include "gateway/daemon/relay.h"
#include "tunnels/tls.h"

#define HA_LINE_MAX      256
#define HA_OUT_MAX       (1024 * 1024)   /* a partner that does not read is dropped */
#define HA_IN_CONNS      4
#define HA_HANDSHAKE_S   5.0
#define HA_RETRY_MIN_S   0.2
#define HA_RETRY_MAX_S   5.0
#define HA_LOCAL_MAX     65536           /* quarantines remembered to resend */
#define HA_DELS_MAX      1024            /* removals waiting for the partner */
#define HA_DEAD_MS       5000            /* TCP_USER_TIMEOUT: a silent partner is gone */

struct ha_conn {
	struct ha *ha;
	int fd;
	bool client;                 /* we dialled (we send), else we accepted (we read) */
	bool connecting, up;
	struct tls_conn *tls;
	ev_io io;
	ev_timer timer;              /* handshake deadline */
	char in[HA_LINE_MAX * 4];
	size_t in_len;
	char *out;
	size_t out_len, out_cap;
	char member[16];             /* the partner's, from its hello */
	char addr[64];
};

struct ha_entry {
	struct addr_prefix addr;
	int64_t until_ms;            /* monotonic */
	char cause[24];
};

struct ha {
	struct ev_loop *loop;
	struct audit *audit;
	struct relay *relay;
	struct ha_hooks hooks;
	struct gen *gen;             /* a reference: its cfg and tls stay valid */
	struct tls_ctx *tls;         /* proves the site to the partner, and only it */
	char state[8];               /* keepalived's; "" until told */
	int lfd;
	ev_io lio;
	struct ha_conn *in[HA_IN_CONNS];
	struct ha_conn *out;
	size_t next_addr;
	ev_timer retry;
	double backoff;
	struct ha_entry *local;
	size_t n_local;
	struct addr_prefix dels[HA_DELS_MAX];
	size_t n_dels;
	uint64_t sent, received;
};

static const struct jgw_config *ha_cfg(const struct ha *ha)
{
	return ha->gen ? ha->gen->cfg : NULL;
}

static bool ha_paired(const struct ha *ha)
{
	const struct jgw_config *cfg = ha_cfg(ha);

	return cfg && cfg->ha.enabled && cfg->ha.n_partners > 0;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- connections ---------------------------------------------------- */

static void conn_free(struct ha_conn *c)
{
	struct ha *ha = c->ha;

	ev_io_stop(ha->loop, &c->io);
	ev_timer_stop(ha->loop, &c->timer);
	if (c->tls)
		tls_conn_free(c->tls);
	if (c->fd >= 0)
		close(c->fd);
	if (c->out)
		explicit_bzero(c->out, c->out_cap);
	free(c->out);
	if (ha->out == c)
		ha->out = NULL;
	for (int i = 0; i < HA_IN_CONNS; i++)
		if (ha->in[i] == c)
			ha->in[i] = NULL;
	free(c);
}

static void schedule_dial(struct ha *ha);

/* A connection ended: an outgoing one is dialled again (the next address
 * first, with a growing pause), an incoming one waits for the partner. */
static void conn_drop(struct ha_conn *c, const char *why)
{
	struct ha *ha = c->ha;
	bool client = c->client, was_up = c->up;

	if (was_up || client)
		log_warn("ha sync %s %s: %s", client ? "to" : "from", c->addr, why);
	conn_free(c);
	if (client) {
		ha->next_addr++;
		schedule_dial(ha);
	}
}

static void conn_want(struct ha_conn *c, int events)
{
	ev_io_stop(c->ha->loop, &c->io);
	ev_io_set(&c->io, c->fd, events);
	ev_io_start(c->ha->loop, &c->io);
}

static bool conn_queue(struct ha_conn *c, const char *line)
{
	size_t n = strlen(line);

	if (c->out_len + n > HA_OUT_MAX)
		return false;
	if (c->out_len + n > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap * 2 : 4096;
		char *grown;

		while (cap < c->out_len + n)
			cap *= 2;
		if (!(grown = realloc(c->out, cap)))
			return false;
		c->out = grown;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, line, n);
	c->out_len += n;
	return true;
}

/* Write what waits; false when the connection failed. */
static bool conn_flush(struct ha_conn *c)
{
	while (c->out_len) {
		ssize_t n = tls_conn_write(c->tls, c->out, c->out_len);

		if (n == TLS_WANT_WRITE || n == TLS_WANT_READ) {
			conn_want(c, EV_READ | (n == TLS_WANT_WRITE ? EV_WRITE : 0));
			return true;
		}
		if (n <= 0)
			return false;
		memmove(c->out, c->out + n, c->out_len - (size_t)n);
		c->out_len -= (size_t)n;
	}
	conn_want(c, EV_READ);
	return true;
}

/* ---- what the partner is told --------------------------------------- */

static void entry_line(const struct ha_entry *e, int64_t now, char *line, size_t len)
{
	char a[64];
	int64_t left = (e->until_ms - now + 999) / 1000;

	snprintf(line, len, "add %s %lld %s\n", addr_prefix_str(&e->addr, a, sizeof(a)),
		 (long long)(left > 0 ? left : 1), e->cause);
}

/* Everything this member still holds, then the removals it made while
 * the partner was away. */
static bool send_snapshot(struct ha *ha, struct ha_conn *c)
{
	int64_t now = mono_ms();
	char line[HA_LINE_MAX], a[64];
	size_t keep = 0;

	snprintf(line, sizeof(line), "hello %s\n", ha_cfg(ha)->ha.member);
	if (!conn_queue(c, line))
		return false;
	for (size_t i = 0; i < ha->n_local; i++) {
		if (ha->local[i].until_ms <= now)
			continue;                /* the kernel has let it go too */
		ha->local[keep++] = ha->local[i];
		entry_line(&ha->local[i], now, line, sizeof(line));
		if (!conn_queue(c, line))
			return false;
		ha->sent++;
	}
	ha->n_local = keep;
	for (size_t i = 0; i < ha->n_dels; i++) {
		snprintf(line, sizeof(line), "del %s\n", addr_prefix_str(&ha->dels[i], a, sizeof(a)));
		if (!conn_queue(c, line))
			return false;
		ha->sent++;
	}
	ha->n_dels = 0;
	return true;
}

static void local_forget(struct ha *ha, const struct addr_prefix *addr)
{
	for (size_t i = 0; i < ha->n_local; i++) {
		if (ha->local[i].addr.family == addr->family &&
		    memcmp(ha->local[i].addr.addr, addr->addr, 16) == 0) {
			ha->local[i] = ha->local[--ha->n_local];
			return;
		}
	}
}

static void local_remember(struct ha *ha, const struct addr_prefix *addr, uint32_t timeout_s,
			   const char *cause)
{
	struct ha_entry *grown, e = { .addr = *addr, .until_ms = mono_ms() + (int64_t)timeout_s * 1000 };

	snprintf(e.cause, sizeof(e.cause), "%s", cause);
	local_forget(ha, addr);
	if (ha->n_local == HA_LOCAL_MAX)
		return;                      /* sent now; not again at a reconnect */
	grown = reallocarray(ha->local, ha->n_local + 1, sizeof(*grown));
	if (!grown)
		return;
	ha->local = grown;
	ha->local[ha->n_local++] = e;
}

void ha_quarantine_local(struct ha *ha, bool add, const struct addr_prefix *addr,
			 uint32_t timeout_s, const char *cause)
{
	char line[HA_LINE_MAX], a[64];
	struct ha_conn *c;

	if (!ha || !ha_paired(ha))
		return;
	if (add)
		local_remember(ha, addr, timeout_s, cause ? cause : "manual");
	else
		local_forget(ha, addr);
	c = ha->out;
	if (!c || !c->up) {
		if (!add && ha->n_dels < HA_DELS_MAX)
			ha->dels[ha->n_dels++] = *addr;
		return;
	}
	if (add)
		snprintf(line, sizeof(line), "add %s %u %s\n", addr_prefix_str(addr, a, sizeof(a)),
			 timeout_s, cause ? cause : "manual");
	else
		snprintf(line, sizeof(line), "del %s\n", addr_prefix_str(addr, a, sizeof(a)));
	ha->sent++;
	if (!conn_queue(c, line) || !conn_flush(c))
		conn_drop(c, "cannot send");
}

/* ---- what the partner tells ----------------------------------------- */

static void audit_partner_quarantine(struct ha *ha, const struct ha_conn *c, bool add,
				     const struct addr_prefix *addr, uint32_t timeout_s,
				     const char *cause)
{
	struct audit_rec *rec;
	char a[64];

	if (!ha->audit || !(rec = audit_rec_begin(ha->audit, "quarantine")))
		return;
	audit_rec_str(rec, "addr", addr_prefix_str(addr, a, sizeof(a)));
	audit_rec_str(rec, "action", add ? "add" : "remove");
	if (add)
		audit_rec_u64(rec, "timeout_s", timeout_s);
	audit_rec_str(rec, "cause", "partner");
	audit_rec_str(rec, "partner_member", c->member[0] ? c->member : "-");
	if (cause)
		audit_rec_str(rec, "partner_cause", cause);
	audit_rec_commit(rec);
}

static bool word_ok(const char *w)
{
	return w && *w && strlen(w) < 24 &&
	       strspn(w, "abcdefghijklmnopqrstuvwxyz0123456789-_") == strlen(w);
}

static void apply_change(struct ha *ha, struct ha_conn *c, bool add, const char *addr_text,
			 const char *secs, const char *cause)
{
	struct addr_prefix addr;
	unsigned long t = 0;
	char err[256], *end = NULL;

	if (!addr_prefix_parse(addr_text, &addr) || addr.len != addr_bytes(addr.family) * 8 ||
	    (add && (!secs || (t = strtoul(secs, &end, 10)) == 0 || *end || t > 30ul * 86400 ||
		     !word_ok(cause)))) {
		log_warn("ha sync from %s: a malformed change ignored", c->addr);
		return;
	}
	ha->received++;
	if (ha->hooks.quarantine &&
	    ha->hooks.quarantine(ha->hooks.arg, add, &addr, (uint32_t)t, err, sizeof(err)) < 0) {
		if (add)
			log_err("ha sync from %s: quarantine %s: %s", c->addr, addr_text, err);
		return;             /* a removal of what is not held is no change */
	}
	log_info("ha sync from %s (member %s): quarantine %s %s", c->addr,
		 c->member[0] ? c->member : "-", add ? "add" : "remove", addr_text);
	audit_partner_quarantine(ha, c, add, &addr, (uint32_t)t, add ? cause : NULL);
}

static void handle_line(struct ha *ha, struct ha_conn *c, char *line)
{
	char *w[5] = { 0 }, *save = NULL;
	int n = 0;

	for (char *t = strtok_r(line, " ", &save); t && n < 5; t = strtok_r(NULL, " ", &save))
		w[n++] = t;
	if (n == 2 && strcmp(w[0], "hello") == 0 && word_ok(w[1]) && strlen(w[1]) < sizeof(c->member))
		snprintf(c->member, sizeof(c->member), "%s", w[1]);
	else if (n == 4 && strcmp(w[0], "add") == 0)
		apply_change(ha, c, true, w[1], w[2], w[3]);
	else if (n == 2 && strcmp(w[0], "del") == 0)
		apply_change(ha, c, false, w[1], NULL, NULL);
	else
		log_warn("ha sync from %s: an unknown line ignored", c->addr);
}

/* Whole lines of what came in; false when the connection must end. */
static bool take_lines(struct ha *ha, struct ha_conn *c)
{
	char *nl;

	while ((nl = memchr(c->in, '\n', c->in_len)) != NULL) {
		size_t len = (size_t)(nl - c->in);

		*nl = '\0';
		handle_line(ha, c, c->in);
		memmove(c->in, nl + 1, c->in_len - len - 1);
		c->in_len -= len + 1;
	}
	return c->in_len < sizeof(c->in) - 1;
}

/* ---- driving a connection ------------------------------------------- */

static bool conn_read(struct ha_conn *c)
{
	for (;;) {
		ssize_t n;

		if (c->in_len >= sizeof(c->in) - 1)
			return false;
		n = tls_conn_read(c->tls, c->in + c->in_len, sizeof(c->in) - 1 - c->in_len);
		if (n == TLS_WANT_READ || n == TLS_WANT_WRITE)
			return true;
		if (n <= 0)
			return false;
		if (c->client) {
			c->in_len = 0;      /* the receiving side says nothing */
			continue;
		}
		c->in_len += (size_t)n;
		if (!take_lines(c->ha, c))
			return false;
	}
}

static void conn_established(struct ha_conn *c)
{
	struct ha *ha = c->ha;

	c->up = true;
	ev_timer_stop(ha->loop, &c->timer);
	if (!c->client) {
		log_info("ha sync from %s: partner connected", c->addr);
		/* Lines may have come with the handshake's last flight. */
		conn_want(c, EV_READ);
		if (!conn_read(c))
			conn_drop(c, "closed");
		return;
	}
	ha->backoff = HA_RETRY_MIN_S;
	log_info("ha sync to %s: connected", c->addr);
	if (!send_snapshot(ha, c) || !conn_flush(c))
		conn_drop(c, "cannot send");
}

static void conn_handshake(struct ha_conn *c)
{
	int rc = tls_conn_handshake(c->tls);
	const char *why;

	if (rc == TLS_WANT_READ || rc == TLS_WANT_WRITE) {
		conn_want(c, rc == TLS_WANT_READ ? EV_READ : EV_WRITE);
		return;
	}
	if (rc != TLS_OK) {
		why = tls_conn_reason(c->tls);
		conn_drop(c, why ? why : "handshake failed");
		return;
	}
	conn_established(c);
}

static void conn_connected(struct ha_conn *c)
{
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	c->connecting = false;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
		conn_drop(c, strerror(soerr ? soerr : errno));
		return;
	}
	c->tls = tls_conn_connect(c->ha->tls, c->fd, ha_cfg(c->ha)->site);
	if (!c->tls) {
		conn_drop(c, "TLS setup failed");
		return;
	}
	conn_handshake(c);
}

static void on_conn_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ha_conn *c = w->data;

	(void)loop;
	if (c->connecting) {
		conn_connected(c);
		return;
	}
	if (!c->up) {
		conn_handshake(c);
		return;
	}
	if ((revents & EV_WRITE) && !conn_flush(c)) {
		conn_drop(c, "cannot send");
		return;
	}
	if ((revents & EV_READ) && !conn_read(c))
		conn_drop(c, "closed");
}

static void on_conn_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	conn_drop(w->data, "handshake timed out");
}

/* A dead partner (its link cut) must not hold a connection for the
 * quarter of an hour TCP would otherwise retry. */
static void sock_tune(int fd)
{
	int one = 1, idle = 5, intvl = 2, cnt = 2;
	unsigned dead = HA_DEAD_MS;

	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &dead, sizeof(dead));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static struct ha_conn *conn_new(struct ha *ha, int fd, bool client, const char *addr)
{
	struct ha_conn *c = calloc(1, sizeof(*c));

	if (!c) {
		close(fd);
		return NULL;
	}
	c->ha = ha;
	c->fd = fd;
	c->client = client;
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	sock_tune(fd);
	ev_io_init(&c->io, on_conn_io, fd, EV_READ);
	c->io.data = c;
	ev_timer_init(&c->timer, on_conn_timer, HA_HANDSHAKE_S, 0.0);
	c->timer.data = c;
	ev_timer_start(ha->loop, &c->timer);
	return c;
}

/* ---- dialling the partner ------------------------------------------- */

static void dial(struct ha *ha)
{
	const struct jgw_config *cfg = ha_cfg(ha);
	const struct addr_prefix *p;
	struct cfg_endpoint ep = { 0 };
	char a[64];
	int fd;

	if (!ha_paired(ha) || ha->out || !ha->tls)
		return;
	p = &cfg->ha.partners[ha->next_addr % cfg->ha.n_partners];
	addr_prefix_str(p, a, sizeof(a));
	if (p->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ep.ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(cfg->ha.sync_port);
		memcpy(&sin->sin_addr, p->addr, 4);
		ep.len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ep.ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(cfg->ha.sync_port);
		memcpy(&sin6->sin6_addr, p->addr, 16);
		/* A link-local partner is reached through the HA interface. */
		if (p->addr[0] == 0xfe && (p->addr[1] & 0xc0) == 0x80)
			sin6->sin6_scope_id = if_nametoindex(cfg->ha.ifname);
		ep.len = sizeof(*sin6);
	}
	fd = socket(p->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		schedule_dial(ha);
		return;
	}
	if (!(ha->out = conn_new(ha, fd, true, a)))
		return;
	ha->out->connecting = true;
	if (connect(fd, (struct sockaddr *)&ep.ss, ep.len) < 0 && errno != EINPROGRESS) {
		conn_drop(ha->out, strerror(errno));
		return;
	}
	conn_want(ha->out, EV_WRITE);
}

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	dial(w->data);
}

static void schedule_dial(struct ha *ha)
{
	if (!ha_paired(ha) || ev_is_active(&ha->retry))
		return;
	ev_timer_set(&ha->retry, ha->backoff, 0.0);
	ev_timer_start(ha->loop, &ha->retry);
	ha->backoff = ha->backoff * 2 > HA_RETRY_MAX_S ? HA_RETRY_MAX_S : ha->backoff * 2;
}

/* ---- the partner dialling us ---------------------------------------- */

static bool from_partner(const struct ha *ha, const struct sockaddr *sa)
{
	const struct jgw_config *cfg = ha_cfg(ha);
	struct addr_prefix a;

	if (!addr_from_sockaddr(sa, &a))
		return false;
	for (size_t i = 0; i < cfg->ha.n_partners; i++)
		if (cfg->ha.partners[i].family == a.family &&
		    memcmp(cfg->ha.partners[i].addr, a.addr, 16) == 0)
			return true;
	return false;
}

static void accept_one(struct ha *ha, int fd, const struct sockaddr *sa)
{
	struct ha_conn *c;
	char a[80];
	int slot = -1;

	addr_sockaddr_str(sa, a, sizeof(a));
	if (!from_partner(ha, sa)) {
		log_warn("ha sync: refused a connection from %s (not the partner)", a);
		close(fd);
		return;
	}
	for (int i = 0; i < HA_IN_CONNS && slot < 0; i++)
		if (!ha->in[i])
			slot = i;
	if (slot < 0 || !(c = conn_new(ha, fd, false, a))) {
		if (slot < 0)
			close(fd);
		return;
	}
	ha->in[slot] = c;
	if (!(c->tls = tls_conn_accept(ha->tls, fd))) {
		conn_drop(c, "TLS setup failed");
		return;
	}
	conn_handshake(c);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ha *ha = w->data;

	(void)loop;
	(void)revents;
	for (int i = 0; i < 8; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(ha->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		accept_one(ha, fd, (struct sockaddr *)&ss);
	}
}

/* Both families on one socket; the firewall and from_partner() decide who
 * gets further than the SYN. */
static int sync_listen(uint16_t port, char *err, size_t errlen)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(port),
				     .sin6_addr = IN6ADDR_ANY_INIT };
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1, zero = 0;

	if (fd < 0) {
		snprintf(err, errlen, "ha sync listener: socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) < 0 || listen(fd, 16) < 0) {
		snprintf(err, errlen, "ha sync listener port %u: %s", port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- configuration -------------------------------------------------- */

static bool same_site(void *arg, const char *node, const char **why)
{
	const struct jgw_config *cfg = arg;

	if (strcmp(node, cfg->site) == 0)
		return true;
	*why = "not-partner";
	return false;
}

static struct tls_ctx *sync_tls(const struct gen *gen, char *err, size_t errlen)
{
	const struct jgw_config *cfg = gen->cfg;
	struct tls_params p = {
		.cert_file = cfg->tls.cert, .key_file = cfg->tls.key, .ca_file = cfg->tls.ca,
		.crl_files = (const char *const *)cfg->tls.crls, .n_crl = cfg->tls.n_crls,
		.allow_tls12 = false,
		.crl_policy = cfg->tls.crl_policy == CFG_CRL_FAIL_OPEN ? TLS_CRL_FAIL_OPEN
								     : TLS_CRL_FAIL_CLOSED,
		.crl_alarm_s = cfg->tls.crl_alarm_s, .generation = gen->generation,
		.peer_ok = same_site, .peer_ok_arg = (void *)(uintptr_t)cfg,
	};

	return tls_ctx_new(&p, err, errlen);
}

static void drop_all(struct ha *ha)
{
	ev_timer_stop(ha->loop, &ha->retry);
	if (ha->out)
		conn_free(ha->out);
	for (int i = 0; i < HA_IN_CONNS; i++)
		if (ha->in[i])
			conn_free(ha->in[i]);
}

static void listener_close(struct ha *ha)
{
	if (ha->lfd < 0)
		return;
	ev_io_stop(ha->loop, &ha->lio);
	close(ha->lfd);
	ha->lfd = -1;
}

struct ha *ha_new(struct ev_loop *loop, struct audit *audit, struct relay *relay,
		  const struct ha_hooks *hooks)
{
	struct ha *ha = calloc(1, sizeof(*ha));

	if (!ha)
		return NULL;
	ha->loop = loop;
	ha->audit = audit;
	ha->relay = relay;
	if (hooks)
		ha->hooks = *hooks;
	ha->lfd = -1;
	ha->backoff = HA_RETRY_MIN_S;
	ev_init(&ha->retry, on_retry);
	ha->retry.data = ha;
	return ha;
}

/* The connections are made anew with the new generation's certificate
 * (they come back within a retry: nothing is lost, a snapshot follows). */
int ha_configure(struct ha *ha, struct gen *gen, char *err, size_t errlen)
{
	uint16_t old_port = ha_paired(ha) ? ha_cfg(ha)->ha.sync_port : 0;
	struct tls_ctx *tls = NULL;

	if (gen->cfg->ha.enabled && gen->cfg->ha.n_partners > 0 &&
	    !(tls = sync_tls(gen, err, errlen)))
		return -1;
	drop_all(ha);
	if (ha->tls)
		tls_ctx_free(ha->tls);
	ha->tls = tls;
	if (ha->gen)
		gen_put(ha->gen);
	ha->gen = gen_hold(gen);
	if (!ha_paired(ha) || ha->gen->cfg->ha.sync_port != old_port)
		listener_close(ha);
	if (!ha_paired(ha))
		return 0;
	if (ha->lfd < 0) {
		if ((ha->lfd = sync_listen(gen->cfg->ha.sync_port, err, errlen)) < 0)
			return -1;
		ev_io_init(&ha->lio, on_accept, ha->lfd, EV_READ);
		ha->lio.data = ha;
		ev_io_start(ha->loop, &ha->lio);
	}
	ha->backoff = HA_RETRY_MIN_S;
	dial(ha);
	return 0;
}

void ha_free(struct ha *ha)
{
	if (!ha)
		return;
	drop_all(ha);
	listener_close(ha);
	if (ha->tls)
		tls_ctx_free(ha->tls);
	if (ha->gen)
		gen_put(ha->gen);
	free(ha->local);
	free(ha);
}

/* ---- keepalived's state --------------------------------------------- */

struct close_list {
	uint64_t ids[4096];
	size_t n;
};

static void collect_tunnel(void *arg, const struct relay_tunnel_info *info)
{
	struct close_list *cl = arg;

	if (cl->n < sizeof(cl->ids) / sizeof(cl->ids[0]))
		cl->ids[cl->n++] = info->id;
}

/* In FAULT nothing passes this member: the peers go to the partner, and
 * what was open ends now (clients resend) rather than hang on a dead link. */
static void enter_fault(struct ha *ha)
{
	struct close_list *cl = calloc(1, sizeof(*cl));
	char err[256];

	if (relay_wan_listen(ha->relay, false, err, sizeof(err)) < 0)
		log_err("ha: %s", err);
	if (!cl)
		return;
	relay_foreach(ha->relay, collect_tunnel, cl);
	for (size_t i = 0; i < cl->n; i++)
		relay_close(ha->relay, cl->ids[i], "ha-fault");
	if (cl->n)
		log_warn("ha: FAULT: %zu tunnels ended, the WAN listener closed", cl->n);
	free(cl);
}

static void leave_fault(struct ha *ha)
{
	char err[256];

	if (relay_wan_listen(ha->relay, true, err, sizeof(err)) < 0)
		log_err("ha: the WAN listener cannot be opened again: %s", err);
}

static void audit_state(struct ha *ha, const char *state, const char *previous)
{
	struct audit_rec *rec;

	if (!ha->audit || !(rec = audit_rec_begin(ha->audit, "ha")))
		return;
	audit_rec_str(rec, "state", state);
	audit_rec_str(rec, "previous", previous[0] ? previous : "-");
	audit_rec_str(rec, "member", ha_cfg(ha)->ha.member);
	audit_rec_commit(rec);
}

void ha_note(struct ha *ha, const struct operator *op, const char *state,
	     struct control_reply *rep)
{
	char previous[8];

	if (!op->known || op->uid != 0) {
		operator_record(ha->audit, op, "ha state", "refused",
				"only root may send notes for the audit trail");
		control_reply_error(rep, "only root may send ha state notes");
		return;
	}
	if (!ha_cfg(ha) || !ha_cfg(ha)->ha.enabled) {
		control_reply_error(rep, "this gateway is no pair member (no ha block)");
		return;
	}
	memcpy(previous, ha->state, sizeof(previous));
	snprintf(ha->state, sizeof(ha->state), "%s", state);
	if (strcmp(previous, state) == 0) {
		control_reply_line(rep, "ha_state %s (unchanged)", state);
		return;
	}
	audit_state(ha, state, previous);
	log_info("ha: member %s is %s (was %s)", ha_cfg(ha)->ha.member, state,
		 previous[0] ? previous : "-");
	if (strcmp(state, "FAULT") == 0)
		enter_fault(ha);
	else if (strcmp(previous, "FAULT") == 0)
		leave_fault(ha);
	control_reply_line(rep, "ha_state %s", state);
}

void ha_status(const struct ha *ha, struct control_reply *rep)
{
	const struct jgw_config *cfg = ha ? ha_cfg(ha) : NULL;

	if (!cfg || !cfg->ha.enabled)
		return;
	control_reply_str(rep, "ha_member", cfg->ha.member);
	control_reply_str(rep, "ha_state", ha->state[0] ? ha->state : "-");
	control_reply_str(rep, "ha_sync", !ha_paired(ha) ? "none" :
			  ha->out && ha->out->up ? "up" : "down");
	control_reply_u64(rep, "ha_sync_sent", ha->sent);
	control_reply_u64(rep, "ha_sync_received", ha->received);
}
