/*
 * audit_mirror.c — the mirror thread: reads the spool (the source of truth)
 * and sends each durable record to the collector over RELP with TLS
 * (librelp). One syslog message carries a batch of records, their JSON
 * lines joined by LF: APP-NAME jgw, MSGID = the event of a lone record or
 * "batch", TIMESTAMP = the first record's ts. The collector's cost is per
 * message (35-55 us of rsyslog CPU each), so one record per message
 * bounded the mirror at ~30,000 records/s, below what a relay at full load
 * writes. A batch stays within one UTC date (the collector files by the
 * TIMESTAMP's day), AUDIT_MIRROR_BATCH records (the records in flight stay
 * bounded) and MIRROR_MSG_MAX bytes, under rsyslog's default
 * maxMessageSize, so a collector that never raised it truncates nothing.
 *
 * Delivery is at-least-once. librelp has no per-message ack callback, but
 * a send only returns once the window has room, so after sending message i
 * with window W every message up to i - W has been acknowledged: the last
 * seq of each message in flight is kept in a ring of W. That bound is
 * persisted (AUDIT_ACK_FILE in the spool directory) and a new connection or
 * a restart resumes right after it; the collector drops duplicates by seq.
 *
 * The collector is authenticated by name (librelp auth mode "name"): its
 * certificate must chain to the configured CA *and* carry the collector's
 * name (CN or subjectAltName). Chain validity alone ("certvalid") would let
 * any holder of a certificate of that CA — another gateway — pose as the
 * collector and receive (and drop) the audit trail.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>   /* librelp.h needs it first */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <librelp.h>

#include "gateway/audit/audit.h"
#include "gateway/audit/chain.h"
#include "gateway/audit/spool.h"
#include "gateway/audit/mirror.h"
#include "filters/base/log.h"

#define BACKOFF_MIN_MS   200
#define BACKOFF_MAX_MS   10000
#define ACK_SAVE_MS      500
#define READ_CHUNK       (64 * 1024)
/* One RELP message, header included: rsyslog's default maxMessageSize is
 * 8 KiB; a lone record (AUDIT_LINE_MAX) always fits. */
#define MIRROR_MSG_MAX   8000
#define MIRROR_HDR_MAX   160   /* "<110>1 " ts host "jgw - " msgid " - " */
#define MIRROR_DATE_LEN  10    /* YYYY-MM-DD of a record's ts */

_Static_assert(MIRROR_MSG_MAX >= MIRROR_HDR_MAX + AUDIT_LINE_MAX, "a lone record fits");

/* The records of the next message, their lines joined by LF, with room for
 * the syslog header before them. */
struct mirror_batch {
	char buf[MIRROR_MSG_MAX];
	size_t len;               /* bytes after MIRROR_HDR_MAX */
	size_t count;
	uint64_t last;            /* seq of the last record in it */
	char ts[27 + 1];          /* the first record's ts: TIMESTAMP */
	char event[32];           /* the first record's event */
};

struct audit_mirror {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;                /* under mu */
	int64_t drain_until_ms;   /* under mu: stop once caught up or at this time */
	uint64_t durable;         /* under mu */
	bool rewind;              /* under mu: the writer cut uncommitted records */
	_Atomic uint64_t acked;
	_Atomic bool up;

	char *dir, *host, *name, *ca, *cert, *key;
	char port[8], hostname[64];
	relpEngine_t *engine;
	relpClt_t *clt;
	bool refused;             /* the last connect refused the collector's certificate */

	/* Reading position. */
	int fd;
	uint64_t file_first;
	char *buf;
	size_t off, len;          /* unread bytes: buf[off..len) */
	uint64_t sent;            /* last seq handed to librelp */
	struct mirror_batch batch;
	uint64_t inflight[AUDIT_MIRROR_WINDOW];   /* last seq of message i at i % W */
	uint64_t msgs;            /* messages sent on this connection */
	uint64_t ack_saved;
	int64_t ack_saved_ms;
	bool warned_bad_line;
};

static void on_err(void *usr, char *objinfo, char *errmsg, relpRetVal code)
{
	(void)usr;
	log_warn("audit mirror: %s: %s (relp %d)", objinfo ? objinfo : "-",
	         errmsg ? errmsg : "-", code);
}

/* librelp's auth messages span lines ("...depth: 0 \n\tissuer = ..."): one
 * log line each, control characters as single spaces, no trailing "; ". */
static void one_line(char *dst, size_t len, const char *src)
{
	size_t n = 0;
	for (; src && *src && n + 1 < len; src++) {
		bool space = (unsigned char)*src < 0x20 || *src == ' ';
		if (space && (n == 0 || dst[n - 1] == ' '))
			continue;
		dst[n++] = space ? ' ' : *src;
	}
	while (n > 0 && (dst[n - 1] == ' ' || dst[n - 1] == ';'))
		n--;
	dst[n] = '\0';
}

/* The collector's certificate was refused (wrong name, invalid chain, none):
 * librelp calls this during relpCltConnect, in the mirror thread; usr is the
 * mirror (relpCltSetUsrPtr). The connect then fails and nothing is sent, so
 * the records stay in the spool until the right collector answers. */
static void on_auth_err(void *usr, char *authinfo, char *errmsg, relpRetVal code)
{
	struct audit_mirror *m = usr;
	const char *host = m ? m->host : "?", *port = m ? m->port : "?";
	char info[512], why[512];
	if (m)
		m->refused = true;
	one_line(info, sizeof(info), authinfo && *authinfo ? authinfo : "nothing");
	if (code == RELP_RET_AUTH_ERR_NAME) {
		/* info lists the certificate's names ("DNSname: a; b"). */
		log_warn("audit mirror: refused the collector at %s port %s: its certificate "
		         "does not name \"%s\" (it names %s); records stay in the spool",
		         host, port, m ? m->name : "?", info);
		return;
	}
	one_line(why, sizeof(why), errmsg ? errmsg : "-");
	log_warn("audit mirror: refused the collector at %s port %s: %s (%s, relp %d); "
	         "records stay in the spool", host, port, why, info, code);
}

static void on_generic_err(char *objinfo, char *errmsg, relpRetVal code)
{
	on_err(NULL, objinfo, errmsg, code);
}

/* librelp calls its debug printer unconditionally (a NULL one crashes). */
static void __attribute__((format(printf, 1, 2)))
no_debug(char *fmt, ...)
{
	(void)fmt;
}

static void disconnect(struct audit_mirror *m)
{
	if (m->clt)
		relpEngineCltDestruct(m->engine, &m->clt);
	m->clt = NULL;
	atomic_store(&m->up, false);
}

/*
 * The client is made once and kept across failed connects: librelp (1.11)
 * leaks its permitted-peer list with every client it destructs, which a
 * collector away for days would turn into a steady leak. A failed
 * relpCltConnect has already dropped its session, so the same client may
 * connect again; only a client whose session was up is destructed.
 */
static int make_client(struct audit_mirror *m)
{
	relpRetVal r;
	if ((r = relpEngineCltConstruct(m->engine, &m->clt)) != RELP_RET_OK) {
		m->clt = NULL;
		log_warn("audit mirror: cannot make a RELP client (%d)", r);
		return -1;
	}
	if ((r = relpCltSetTimeout(m->clt, 5)) != RELP_RET_OK ||
	    (r = relpCltSetConnTimeout(m->clt, 3)) != RELP_RET_OK ||
	    (r = relpCltSetWindowSize(m->clt, AUDIT_MIRROR_WINDOW)) != RELP_RET_OK ||
	    (r = relpCltSetUsrPtr(m->clt, m)) != RELP_RET_OK ||
	    (r = relpCltEnableTLS(m->clt)) != RELP_RET_OK ||
	    (r = relpCltSetAuthMode(m->clt, (char *)"name")) != RELP_RET_OK ||
	    (r = relpCltAddPermittedPeer(m->clt, m->name)) != RELP_RET_OK ||
	    (m->ca && (r = relpCltSetCACert(m->clt, m->ca)) != RELP_RET_OK) ||
	    (m->cert && (r = relpCltSetOwnCert(m->clt, m->cert)) != RELP_RET_OK) ||
	    (m->key && (r = relpCltSetPrivKey(m->clt, m->key)) != RELP_RET_OK)) {
		log_warn("audit mirror: cannot set up the RELP client (%d)", r);
		disconnect(m);
		return -1;
	}
	return 0;
}

static int connect_collector(struct audit_mirror *m)
{
	relpRetVal r;
	m->refused = false;
	if (!m->clt && make_client(m) != 0)
		return -1;
	r = relpCltConnect(m->clt, AF_UNSPEC, (unsigned char *)m->port, (unsigned char *)m->host);
	if (r != RELP_RET_OK) {
		if (!m->refused)   /* a refusal has been logged with its reason */
			log_warn("audit mirror: no collector at %s port %s (relp %d)", m->host,
			         m->port, r);
		return -1;   /* m->up stays false: nothing is sent on this client */
	}
	atomic_store(&m->up, true);
	log_info("audit mirror: connected to %s port %s (certificate names %s)", m->host, m->port,
	         m->name);
	return 0;
}

static void save_ack(struct audit_mirror *m, bool force)
{
	uint64_t acked = atomic_load(&m->acked);
	int64_t now = audit_now_ms();
	if (acked == m->ack_saved || (!force && now - m->ack_saved_ms < ACK_SAVE_MS))
		return;
	char path[4096], line[32], err[512];
	snprintf(path, sizeof(path), "%s/" AUDIT_ACK_FILE, m->dir);
	int n = snprintf(line, sizeof(line), "%llu\n", (unsigned long long)acked);
	if (audit_write_atomic(path, line, (size_t)n, 0640, err, sizeof(err)) != 0) {
		log_warn("audit mirror: %s", err);
		return;
	}
	m->ack_saved = acked;
	m->ack_saved_ms = now;
}

static void close_file(struct audit_mirror *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	m->off = m->len = 0;
}

/* Open the file that holds seq `want` (the last one starting at or before it). */
static int open_for(struct audit_mirror *m, uint64_t want)
{
	char **names, path[4096];
	uint64_t *firsts;
	size_t n, pick = SIZE_MAX;
	close_file(m);
	if (audit_spool_list(m->dir, &names, &firsts, &n) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (firsts[i] <= want)
			pick = i;
	if (pick == SIZE_MAX && n > 0)
		pick = 0;
	if (pick != SIZE_MAX) {
		snprintf(path, sizeof(path), "%s/%s", m->dir, names[pick]);
		m->fd = open(path, O_RDONLY | O_CLOEXEC);
		m->file_first = firsts[pick];
	}
	audit_spool_list_free(names, firsts, n);
	return m->fd >= 0 ? 0 : -1;
}

/* Is there a spool file after the current one? Opens it if so. */
static bool advance_file(struct audit_mirror *m)
{
	char **names, path[4096];
	uint64_t *firsts;
	size_t n;
	bool moved = false;
	if (audit_spool_list(m->dir, &names, &firsts, &n) != 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (firsts[i] > m->file_first) {
			snprintf(path, sizeof(path), "%s/%s", m->dir, names[i]);
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0) {
				close_file(m);
				m->fd = fd;
				m->file_first = firsts[i];
				moved = true;
			}
			break;
		}
	}
	audit_spool_list_free(names, firsts, n);
	return moved;
}

static int fill(struct audit_mirror *m)
{
	if (m->off > 0) {
		memmove(m->buf, m->buf + m->off, m->len - m->off);
		m->len -= m->off;
		m->off = 0;
	}
	if (m->len == READ_CHUNK)
		m->len = 0;   /* a line longer than any record: skip it */
	ssize_t r;
	do
		r = read(m->fd, m->buf + m->len, READ_CHUNK - m->len);
	while (r < 0 && errno == EINTR);
	if (r > 0)
		m->len += (size_t)r;
	return r > 0 ? 1 : 0;
}

static bool newer_file_exists(struct audit_mirror *m)
{
	char **names;
	uint64_t *firsts;
	size_t n;
	bool newer = false;
	if (audit_spool_list(m->dir, &names, &firsts, &n) == 0) {
		newer = n > 0 && firsts[n - 1] > m->file_first;
		audit_spool_list_free(names, firsts, n);
	}
	return newer;
}

/* Next complete line; 1 found, 0 none available yet. */
static int next_line(struct audit_mirror *m, const char **line, size_t *len)
{
	for (;;) {
		const char *nl = memchr(m->buf + m->off, '\n', m->len - m->off);
		if (nl) {
			*line = m->buf + m->off;
			*len = (size_t)(nl - *line);
			return 1;
		}
		if (m->fd >= 0 && fill(m) > 0)
			continue;
		/* End of this file. The writer only starts a newer file once this
		 * one is complete, so after seeing one, a last read catches a line
		 * written just before the rotation; what remains is a torn tail. */
		if (!newer_file_exists(m))
			return 0;
		if (m->fd >= 0 && fill(m) > 0)
			continue;
		if (!advance_file(m))
			return 0;
	}
}

static void consume(struct audit_mirror *m, size_t len)
{
	m->off += len + 1;
}

/* Can the batch take this record? Below the count, the same UTC date as its
 * first, and room. */
static bool batch_takes(const struct mirror_batch *b, const struct audit_line *l)
{
	if (b->count == 0)
		return true;
	return b->count < AUDIT_MIRROR_BATCH &&
	       memcmp(b->ts, l->text + 7, MIRROR_DATE_LEN) == 0 &&
	       MIRROR_HDR_MAX + b->len + 1 + l->len <= sizeof(b->buf);
}

/* Copies the line: the read buffer moves on the next fill. */
static void batch_add(struct mirror_batch *b, const struct audit_line *l)
{
	if (b->count == 0) {
		snprintf(b->ts, sizeof(b->ts), "%.27s", l->text + 7);
		snprintf(b->event, sizeof(b->event), "%s", l->event);
	} else {
		b->buf[MIRROR_HDR_MAX + b->len++] = '\n';
	}
	memcpy(b->buf + MIRROR_HDR_MAX + b->len, l->text, l->len);
	b->len += l->len;
	b->count++;
	b->last = l->seq;
}

/* Message i is handed to librelp: message i - W has been acknowledged. */
static void note_sent(struct audit_mirror *m, uint64_t last)
{
	uint64_t *slot = &m->inflight[m->msgs++ % AUDIT_MIRROR_WINDOW];
	if (*slot > atomic_load(&m->acked))
		atomic_store(&m->acked, *slot);
	*slot = last;
	m->sent = last;
}

/* Send the batch as one message; it is empty afterwards, sent or not. */
static int batch_send(struct audit_mirror *m)
{
	struct mirror_batch *b = &m->batch;
	if (b->count == 0)
		return 0;
	char hdr[MIRROR_HDR_MAX + 1];
	/* RFC 5424: <PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG; facility 13 (log audit). */
	int n = snprintf(hdr, sizeof(hdr), "<110>1 %s %s jgw - %s - ", b->ts, m->hostname,
	                 b->count == 1 ? b->event : "batch");
	size_t count = b->count, len = b->len;
	b->count = b->len = 0;
	if (n < 0 || n > MIRROR_HDR_MAX) {
		/* Cannot happen (the host name and the event are bounded); were it
		 * to, reconnecting resends from the acknowledged seq: nothing is
		 * skipped, as dropping the batch here would. */
		log_warn("audit mirror: a syslog header longer than %d bytes; reconnecting",
		         MIRROR_HDR_MAX);
		return -1;
	}
	char *msg = b->buf + MIRROR_HDR_MAX - n;
	memcpy(msg, hdr, (size_t)n);
	relpRetVal r = relpCltSendSyslog(m->clt, (unsigned char *)msg, (size_t)n + len);
	if (r != RELP_RET_OK) {
		log_warn("audit mirror: send of %zu records up to seq %llu failed (relp %d); "
		         "reconnecting", count, (unsigned long long)b->last, r);
		return -1;
	}
	note_sent(m, b->last);
	return 0;
}

static bool wait_ms(struct audit_mirror *m, int64_t ms)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&m->mu);
	if (!m->stop)
		pthread_cond_timedwait(&m->cv, &m->mu, &until);
	bool stop = m->stop;
	pthread_mutex_unlock(&m->mu);
	return stop;
}

/* The pause between two connect attempts. A stop ends it early, but while
 * the mirror drains (stopping, collector still away) it still pauses, up to
 * the drain deadline: a refused connect answers at once, and without the
 * pause the drain would be a busy loop of connects. */
static void backoff_wait(struct audit_mirror *m, int64_t ms)
{
	pthread_mutex_lock(&m->mu);
	bool stopping = m->stop;
	if (stopping) {
		int64_t left = m->drain_until_ms - audit_now_ms();
		ms = left < ms ? left : ms;
	}
	pthread_mutex_unlock(&m->mu);
	if (ms <= 0)
		return;
	if (!stopping) {
		wait_ms(m, ms);
		return;
	}
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Send what is durable; 1 sent something, 0 idle, -1 connection lost. */
static int pump(struct audit_mirror *m)
{
	pthread_mutex_lock(&m->mu);
	uint64_t durable = m->durable;
	bool rewind = m->rewind;
	m->rewind = false;
	pthread_mutex_unlock(&m->mu);
	/* Lines read past the last committed record may have been cut from the
	 * spool and their seqs given to other records: read them again from
	 * the spool. The writer sets rewind before any of the new records is
	 * committed, so a durable seq that covers them comes with it. */
	if (rewind)
		open_for(m, m->sent + 1);
	int sent = 0;
	const char *text;
	size_t len;
	uint64_t taken = m->sent;   /* last seq sent or in the batch */
	while (sent < 1024 && taken < durable && next_line(m, &text, &len) == 1) {
		struct audit_line l;
		const char *start = audit_line_find(text, len);
		if (!start || audit_line_parse(start, len - (size_t)(start - text), &l) != 0) {
			if (!m->warned_bad_line)
				log_warn("audit mirror: skipping a line that is not a record");
			m->warned_bad_line = true;
			consume(m, len);
			continue;
		}
		if (l.seq <= taken) {
			consume(m, len);
			continue;
		}
		if (l.seq > durable)
			break;   /* written, not yet durable: wait for the group commit */
		if (!batch_takes(&m->batch, &l) && batch_send(m) != 0)
			return -1;
		batch_add(&m->batch, &l);
		consume(m, len);
		taken = l.seq;
		sent++;
	}
	if (batch_send(m) != 0)
		return -1;
	save_ack(m, false);
	return sent > 0;
}

static bool drained(struct audit_mirror *m)
{
	pthread_mutex_lock(&m->mu);
	bool stop = m->stop && (m->sent >= m->durable || audit_now_ms() >= m->drain_until_ms);
	pthread_mutex_unlock(&m->mu);
	return stop;
}

static void *mirror_main(void *arg)
{
	struct audit_mirror *m = arg;
	int64_t backoff = BACKOFF_MIN_MS;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	while (!drained(m)) {
		if (!atomic_load(&m->up)) {
			if (connect_collector(m) != 0) {
				backoff_wait(m, backoff);
				if (drained(m))
					break;
				backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
				continue;
			}
			backoff = BACKOFF_MIN_MS;
			m->sent = atomic_load(&m->acked);   /* resend what was not acked */
			memset(m->inflight, 0, sizeof(m->inflight));   /* a new window */
			m->msgs = 0;
			open_for(m, m->sent + 1);
		}
		if (m->fd < 0)
			open_for(m, m->sent + 1);
		int r = pump(m);
		if (r < 0) {
			disconnect(m);
			continue;
		}
		if (r == 0) {
			pthread_mutex_lock(&m->mu);
			bool stopping = m->stop;
			pthread_mutex_unlock(&m->mu);
			if (stopping)
				break;   /* caught up or nothing readable */
			wait_ms(m, 100);
		}
	}
	disconnect(m);
	save_ack(m, true);
	close_file(m);
	return NULL;
}

/* The name the collector's certificate must carry: the configured one, else
 * the host when it is a DNS name. An address names no certificate (librelp
 * compares names as text, never an IP subjectAltName): NULL then. */
static const char *collector_name(const struct audit_params *p)
{
	unsigned char addr[sizeof(struct in6_addr)];
	if (p->collector_name && *p->collector_name)
		return p->collector_name;
	if (inet_pton(AF_INET, p->collector_host, addr) == 1 ||
	    inet_pton(AF_INET6, p->collector_host, addr) == 1)
		return NULL;
	return p->collector_host;
}

struct audit_mirror *audit_mirror_start(const struct audit_params *p, char *err, size_t errlen)
{
	struct audit_mirror *m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "audit mirror: out of memory");
		return NULL;
	}
	m->fd = -1;
	snprintf(m->port, sizeof(m->port), "%u", p->collector_port);
	if (gethostname(m->hostname, sizeof(m->hostname) - 1) != 0 || !m->hostname[0])
		snprintf(m->hostname, sizeof(m->hostname), "%s", p->gw);
	const char *name = collector_name(p);
	if (!name) {
		snprintf(err, errlen, "audit mirror: the collector %s is an address and no name "
		         "is given: its certificate could not be checked (set the collector's name)",
		         p->collector_host);
		free(m);
		return NULL;
	}
	m->dir = strdup(p->spool_dir);
	m->host = strdup(p->collector_host);
	m->name = strdup(name);
	m->ca = p->collector_ca ? strdup(p->collector_ca) : NULL;
	m->cert = p->collector_cert ? strdup(p->collector_cert) : NULL;
	m->key = p->collector_key ? strdup(p->collector_key) : NULL;
	m->buf = malloc(READ_CHUNK);
	if (!m->dir || !m->host || !m->name || !m->buf || (p->collector_ca && !m->ca) ||
	    (p->collector_cert && !m->cert) || (p->collector_key && !m->key)) {
		snprintf(err, errlen, "audit mirror: out of memory");
		goto fail;
	}
	atomic_store(&m->acked, audit_seq_file_read(m->dir, AUDIT_ACK_FILE));
	m->ack_saved = m->sent = atomic_load(&m->acked);
	if (relpEngineConstruct(&m->engine) != RELP_RET_OK ||
	    relpEngineSetDbgprint(m->engine, no_debug) != RELP_RET_OK ||
	    relpEngineSetEnableCmd(m->engine, (unsigned char *)"syslog",
	                           eRelpCmdState_Required) != RELP_RET_OK ||
	    relpEngineSetTLSLibByName(m->engine, "openssl") != RELP_RET_OK ||
	    relpEngineSetOnErr(m->engine, on_err) != RELP_RET_OK ||
	    relpEngineSetOnGenericErr(m->engine, on_generic_err) != RELP_RET_OK ||
	    relpEngineSetOnAuthErr(m->engine, on_auth_err) != RELP_RET_OK) {
		snprintf(err, errlen, "audit mirror: cannot set up librelp with OpenSSL");
		goto fail;
	}
	pthread_mutex_init(&m->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&m->thread, NULL, mirror_main, m) != 0) {
		snprintf(err, errlen, "audit mirror: cannot start its thread");
		pthread_cond_destroy(&m->cv);
		pthread_mutex_destroy(&m->mu);
		goto fail;
	}
	return m;
fail:
	if (m->engine)
		relpEngineDestruct(&m->engine);
	free(m->dir); free(m->host); free(m->name);
	free(m->ca); free(m->cert); free(m->key); free(m->buf);
	free(m);
	return NULL;
}

void audit_mirror_notify(struct audit_mirror *m, uint64_t durable_seq)
{
	pthread_mutex_lock(&m->mu);
	if (durable_seq > m->durable)
		m->durable = durable_seq;
	pthread_cond_signal(&m->cv);
	pthread_mutex_unlock(&m->mu);
}

void audit_mirror_stop(struct audit_mirror *m, int drain_ms)
{
	pthread_mutex_lock(&m->mu);
	m->stop = true;
	m->drain_until_ms = audit_now_ms() + drain_ms;
	pthread_cond_signal(&m->cv);
	pthread_mutex_unlock(&m->mu);
	pthread_join(m->thread, NULL);
	relpEngineDestruct(&m->engine);
	pthread_cond_destroy(&m->cv);
	pthread_mutex_destroy(&m->mu);
	free(m->dir); free(m->host); free(m->name);
	free(m->ca); free(m->cert); free(m->key); free(m->buf);
	free(m);
}

void audit_mirror_rewind(struct audit_mirror *m)
{
	pthread_mutex_lock(&m->mu);
	m->rewind = true;
	pthread_mutex_unlock(&m->mu);
}

uint64_t audit_mirror_acked(const struct audit_mirror *m)
{
	return atomic_load(&((struct audit_mirror *)m)->acked);
}

bool audit_mirror_up(const struct audit_mirror *m)
{
	return atomic_load(&((struct audit_mirror *)m)->up);
}
