/*
 * relp.c — the mirror's RELP client (relp.h): TCP with a connect timeout,
 * TLS with OpenSSL (the chain to the configured CA, then the collector's
 * name), the RELP open handshake, and syslog commands written many to a TLS
 * record with their answers matched by transaction number.
 *
 * A frame is TXNR SP COMMAND SP DATALEN [SP DATA] LF. The collector answers
 * each command with an "rsp" frame of the same TXNR whose data starts with
 * a three-digit code ("200 OK"); "serverclose" (TXNR 0) says it ends the
 * session. Nothing the collector sends is logged but numbers, command
 * names and the names its certificate carries (printable ASCII only).
 *
 * The socket is non-blocking; every wait is a poll with a deadline. Only the
 * mirror thread calls these functions.
 */
#include "gateway/audit/relp.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "filters/base/log.h"
#include "gateway/audit/chain.h"

#define TXNR_MAX     999999999u            /* RELP: 1 .. 999999999, then 1 */
#define OPEN_TXNR    1u
#define OUT_CAP      (RELP_OUT_MAX + (size_t)16 * 1024)
#define WRITE_STEP   ((size_t)64 * 1024)    /* four TLS records a call */
#define IN_CAP       ((size_t)64 * 1024)
#define DATA_MAX     ((size_t)8 * 1024)     /* of an answer (offers, "200 OK") */
#define CMD_MAX      32
#define OFFERS       "relp_version=0\nrelp_software=jgw\ncommands=syslog"

struct pending {
	uint32_t txnr;
	bool answered;
	uint64_t tag;
};

struct relp {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	int io_ms;
	uint32_t txnr;                 /* the next command's */
	/* Commands queued or sent and not answered, oldest first (a ring). */
	struct pending ring[RELP_WINDOW];
	size_t head, count;
	uint64_t acked, answers;
	char *out;                     /* queued bytes: out[off, len) */
	size_t off, len;
	char *in;                      /* read, not yet parsed: in[0, in_len) */
	size_t in_len;
	bool opened;                   /* the open command was answered 200 */
	char open_why[160];            /* why the open failed, when it did */
	uint32_t close_txnr;           /* the close command's, once sent */
	bool closed;                   /* ... and its answer came */
};

/* ------------------------------------------------------------------ */
/* Waiting                                                             */

/* Wait for ev on fd until deadline (audit_now_ms): 1 ready, 0 timed out,
 * -1 error. */
static int wait_fd(int fd, short ev, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - audit_now_ms();
		struct pollfd pfd = { .fd = fd, .events = ev };
		int r;

		if (left <= 0)
			return 0;
		r = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

/* SSL wants the socket readable or writable before it can go on. */
static short ssl_wants(SSL *ssl, int ret)
{
	int e = SSL_get_error(ssl, ret);

	return e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
}

static const char *ssl_reason(void)
{
	const char *r = ERR_reason_error_string(ERR_peek_last_error());

	return r ? r : "the connection ended";
}

/* ------------------------------------------------------------------ */
/* Connecting                                                          */

/* One address: a connected non-blocking socket, or -1 (why says so). */
static int dial(const struct addrinfo *ai, int ms, char *why, size_t whylen)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			ai->ai_protocol);
	int err = 0, one = 1;
	socklen_t el = sizeof(err);

	if (fd < 0) {
		snprintf(why, whylen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS)
		err = errno;
	else if (wait_fd(fd, POLLOUT, audit_now_ms() + ms) <= 0)
		err = ETIMEDOUT;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
		err = errno;
	if (err) {
		snprintf(why, whylen, "connect: %s", strerror(err));
		close(fd);
		return -1;
	}
	/* Frames are batched here: nothing for Nagle to add. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int tcp_connect(const struct relp_params *p, char *why, size_t whylen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res;
	int fd = -1, rc = getaddrinfo(p->host, p->port, &hints, &res);

	if (rc != 0) {
		snprintf(why, whylen, "cannot resolve it: %s", gai_strerror(rc));
		return -1;
	}
	for (const struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next)
		fd = dial(ai, p->connect_ms, why, whylen);
	freeaddrinfo(res);
	return fd;
}

static SSL_CTX *tls_ctx(const struct relp_params *p, char *why, size_t whylen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx) {
		snprintf(why, whylen, "cannot make a TLS context: %s", ssl_reason());
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_read_ahead(ctx, 1);
	/* No CA, no trust: every collector is refused. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if ((p->ca && SSL_CTX_load_verify_file(ctx, p->ca) != 1) ||
	    (p->cert && SSL_CTX_use_certificate_chain_file(ctx, p->cert) != 1) ||
	    (p->key && SSL_CTX_use_PrivateKey_file(ctx, p->key, SSL_FILETYPE_PEM) != 1)) {
		snprintf(why, whylen, "cannot load the mirror's CA, certificate or key: %s",
			 ssl_reason());
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* RELP_OK, RELP_REFUSED (the chain did not verify) or RELP_UNREACHABLE. */
static enum relp_outcome handshake(struct relp *c, int ms, char *why, size_t whylen)
{
	int64_t deadline = audit_now_ms() + ms;

	for (;;) {
		int r;
		short ev;
		long v;

		ERR_clear_error();
		r = SSL_connect(c->ssl);
		if (r == 1)
			return RELP_OK;
		ev = ssl_wants(c->ssl, r);
		if (ev && wait_fd(c->fd, ev, deadline) > 0)
			continue;
		if (ev) {
			snprintf(why, whylen, "TLS handshake: no answer within %d ms", ms);
			return RELP_UNREACHABLE;
		}
		v = SSL_get_verify_result(c->ssl);
		if (v != X509_V_OK) {
			snprintf(why, whylen, "certificate validation failed (%s)",
				 X509_verify_cert_error_string(v));
			return RELP_REFUSED;
		}
		snprintf(why, whylen, "TLS handshake failed: %s", ssl_reason());
		return RELP_UNREACHABLE;
	}
}

/* Append one name the certificate carries to list, as printable ASCII. */
static void list_name(char *list, size_t len, const char *what, const unsigned char *s, int n)
{
	size_t at = strlen(list);

	if (at + 1 >= len)
		return;
	at += (size_t)snprintf(list + at, len - at, "%s%s: ", at ? "; " : "", what);
	for (int i = 0; i < n && at + 1 < len; i++)
		list[at++] = s[i] > 0x20 && s[i] < 0x7f && s[i] != ';' ? (char)s[i] : '?';
	if (at < len)
		list[at] = '\0';
}

static bool same_name(const unsigned char *s, int n, const char *name)
{
	return n >= 0 && (size_t)n == strlen(name) && strncasecmp((const char *)s, name, (size_t)n) == 0;
}

/* Does the collector's certificate carry name, as a subjectAltName DNS
 * name or as its CN? When not, why lists the names it does carry. */
static bool collector_named(const X509 *cert, const char *name, char *why, size_t whylen)
{
	GENERAL_NAMES *alt;
	const X509_NAME *subj;
	char list[384] = "";
	bool found = false;

	if (!cert) {
		snprintf(why, whylen, "it presented no certificate");
		return false;
	}
	alt = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; alt && i < sk_GENERAL_NAME_num(alt); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(alt, i);
		const unsigned char *s;
		int n;

		if (g->type != GEN_DNS)
			continue;
		s = ASN1_STRING_get0_data(g->d.dNSName);
		n = ASN1_STRING_length(g->d.dNSName);
		found = found || same_name(s, n, name);
		list_name(list, sizeof(list), "DNSname", s, n);
	}
	GENERAL_NAMES_free(alt);
	subj = X509_get_subject_name(cert);
	for (int i = -1; (i = X509_NAME_get_index_by_NID(subj, NID_commonName, i)) >= 0;) {
		const ASN1_STRING *cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i));
		const unsigned char *s = ASN1_STRING_get0_data(cn);
		int n = ASN1_STRING_length(cn);

		found = found || same_name(s, n, name);
		list_name(list, sizeof(list), "CN", s, n);
	}
	if (!found)
		snprintf(why, whylen, "its certificate does not name \"%s\" (it names %s)", name,
			 list[0] ? list : "nothing");
	return found;
}

/* ------------------------------------------------------------------ */
/* Frames                                                              */

static void next_txnr(struct relp *c)
{
	c->txnr = c->txnr >= TXNR_MAX ? 1 : c->txnr + 1;
}

/* Append one frame to the queued bytes; false when it does not fit. */
static bool put_frame(struct relp *c, uint32_t txnr, const char *cmd, const char *data, size_t n)
{
	char head[64];
	int h = n ? snprintf(head, sizeof(head), "%u %s %zu ", txnr, cmd, n)
		  : snprintf(head, sizeof(head), "%u %s 0", txnr, cmd);

	if (h < 0 || (size_t)h >= sizeof(head))
		return false;
	if (c->off > 0 && c->off == c->len)
		c->off = c->len = 0;
	if (OUT_CAP - c->len < (size_t)h + n + 1 && c->off > 0) {
		memmove(c->out, c->out + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	if (OUT_CAP - c->len < (size_t)h + n + 1)
		return false;
	memcpy(c->out + c->len, head, (size_t)h);
	memcpy(c->out + c->len + (size_t)h, data, n);
	c->len += (size_t)h + n;
	c->out[c->len++] = '\n';
	return true;
}

/* The open command's answer: "200 OK" and offers that include syslog. */
static bool offers_syslog(const char *d, size_t n)
{
	const char *end = d + n;

	for (const char *p = d; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;

		if (le - p > 9 && memcmp(p, "commands=", 9) == 0) {
			for (const char *v = p + 9; v < le;) {
				const char *comma = memchr(v, ',', (size_t)(le - v));
				const char *ve = comma ? comma : le;

				if (ve - v == 6 && memcmp(v, "syslog", 6) == 0)
					return true;
				v = ve + 1;
			}
		}
		p = le + 1;
	}
	return false;
}

static bool ok_code(const char *data, size_t n)
{
	return n >= 3 && memcmp(data, "200", 3) == 0 && (n == 3 || data[3] == ' ' || data[3] == '\n');
}

/* The first three bytes of an answer's data when they are digits. */
static const char *code_of(const char *data, size_t n, char out[4])
{
	bool digits = n >= 3;

	for (size_t i = 0; digits && i < 3; i++)
		digits = data[i] >= '0' && data[i] <= '9';
	memcpy(out, digits ? data : "?", digits ? 3 : 2);
	out[3] = '\0';
	return out;
}

static int on_answer(struct relp *c, uint32_t txnr, const char *data, size_t n)
{
	char code[4];
	size_t i;

	if (!c->opened) {
		if (txnr != OPEN_TXNR)
			return -1;
		if (!ok_code(data, n))
			snprintf(c->open_why, sizeof(c->open_why), "it did not open a session "
				 "(answer %s)", code_of(data, n, code));
		else if (!offers_syslog(data, n))
			snprintf(c->open_why, sizeof(c->open_why), "it does not offer the syslog "
				 "command");
		else
			c->opened = true;
		return c->opened ? 0 : -1;
	}
	if (c->close_txnr && txnr == c->close_txnr) {
		c->closed = true;
		return 0;
	}
	for (i = 0; i < c->count; i++) {
		struct pending *e = &c->ring[(c->head + i) % RELP_WINDOW];

		if (e->txnr == txnr && !e->answered)
			break;
	}
	if (i == c->count) {
		log_warn("audit mirror: the collector answered a command it was not sent (txnr %u)",
			 txnr);
		return -1;
	}
	if (!ok_code(data, n)) {
		log_warn("audit mirror: the collector refused a record (answer %s); reconnecting",
			 code_of(data, n, code));
		return -1;
	}
	c->ring[(c->head + i) % RELP_WINDOW].answered = true;
	c->answers++;
	while (c->count > 0 && c->ring[c->head].answered) {
		c->acked = c->ring[c->head].tag;
		c->head = (c->head + 1) % RELP_WINDOW;
		c->count--;
	}
	return 0;
}

/* Digits at in[*i..], at most max of them: 1 read, 0 the bytes end first,
 * -1 malformed. */
static int read_number(const char *in, size_t n, size_t *i, unsigned max, uint64_t *v)
{
	unsigned k = 0;

	*v = 0;
	for (; *i < n && in[*i] >= '0' && in[*i] <= '9'; (*i)++, k++) {
		if (k == max)
			return -1;
		*v = *v * 10 + (uint64_t)(in[*i] - '0');
	}
	if (*i == n)
		return 0;
	return k > 0 ? 1 : -1;
}

/* The frame at the start of in: its length when it is whole (the parts in
 * the out parameters), 0 when more bytes are needed, -1 when malformed. */
static long frame_at(const char *in, size_t n, uint64_t *txnr, char cmd[CMD_MAX + 1],
		     const char **data, uint64_t *dlen)
{
	size_t i = 0, k = 0;
	int r;

	*data = "";
	if ((r = read_number(in, n, &i, 9, txnr)) <= 0)
		return r;
	if (in[i++] != ' ')
		return -1;
	for (; i < n && in[i] >= 'a' && in[i] <= 'z'; i++, k++) {
		if (k == CMD_MAX)
			return -1;
		cmd[k] = in[i];
	}
	if (i == n)
		return 0;
	if (k == 0 || in[i++] != ' ')
		return -1;
	cmd[k] = '\0';
	if ((r = read_number(in, n, &i, 9, dlen)) <= 0)
		return r;
	if (*dlen > DATA_MAX)
		return -1;
	if (*dlen > 0) {
		if (in[i++] != ' ')
			return -1;
		if (n - i < *dlen + 1)
			return 0;
		*data = in + i;
		i += *dlen;
	}
	return in[i] == '\n' ? (long)i + 1 : -1;
}

/* Handle the whole frame at the start of in: its length; 0 when more bytes
 * are needed; -1 when the session cannot go on (logged, but for a refused
 * open, whose reason is in open_why). */
static long take_frame(struct relp *c)
{
	uint64_t txnr, dlen;
	char cmd[CMD_MAX + 1];
	const char *data;
	long len = frame_at(c->in, c->in_len, &txnr, cmd, &data, &dlen);

	if (len == 0)
		return 0;
	if (len < 0) {
		log_warn("audit mirror: a malformed frame from the collector; reconnecting");
		return -1;
	}
	if (strcmp(cmd, "serverclose") == 0) {
		log_info("audit mirror: the collector ends the session");
		return -1;
	}
	if (strcmp(cmd, "rsp") != 0) {
		log_warn("audit mirror: the collector sent a %s command; reconnecting", cmd);
		return -1;
	}
	if (txnr == 0 || txnr > TXNR_MAX || on_answer(c, (uint32_t)txnr, data, dlen) != 0)
		return -1;
	return len;
}

/* ------------------------------------------------------------------ */
/* I/O                                                                 */

/* Write every queued byte; a write that does not move within the io
 * timeout breaks the session. */
static int flush_out(struct relp *c)
{
	int64_t deadline = audit_now_ms() + c->io_ms;

	while (c->off < c->len) {
		size_t step = c->len - c->off < WRITE_STEP ? c->len - c->off : WRITE_STEP, put = 0;
		int r;
		short ev;

		ERR_clear_error();
		r = SSL_write_ex(c->ssl, c->out + c->off, step, &put);
		if (r == 1) {
			c->off += put;
			deadline = audit_now_ms() + c->io_ms;
			continue;
		}
		ev = ssl_wants(c->ssl, r);
		if (ev && wait_fd(c->fd, ev, deadline) > 0)
			continue;
		log_warn("audit mirror: sending to the collector: %s; reconnecting",
			 ev ? "it takes nothing" : ssl_reason());
		return -1;
	}
	c->off = c->len = 0;
	return 0;
}

/* Read and handle every whole frame the collector sent so far. */
static int take_answers(struct relp *c)
{
	for (;;) {
		size_t got = 0;
		long used;
		int r;

		ERR_clear_error();
		r = SSL_read_ex(c->ssl, c->in + c->in_len, IN_CAP - c->in_len, &got);
		if (r != 1) {
			int e = SSL_get_error(c->ssl, r);

			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				return 0;
			log_warn("audit mirror: reading from the collector: %s; reconnecting",
				 e == SSL_ERROR_ZERO_RETURN ? "it closed the session" : ssl_reason());
			return -1;
		}
		c->in_len += got;
		while ((used = take_frame(c)) > 0) {
			memmove(c->in, c->in + used, c->in_len - (size_t)used);
			c->in_len -= (size_t)used;
		}
		if (used < 0)
			return -1;
		if (c->in_len == IN_CAP) {
			log_warn("audit mirror: an answer longer than %zu bytes from the collector; "
				 "reconnecting", IN_CAP);
			return -1;
		}
	}
}

/* Read answers until cond holds or deadline passes: 0 it holds, -1 not. */
static int answers_until(struct relp *c, const bool *cond, int64_t deadline)
{
	while (!*cond) {
		if (take_answers(c) != 0)
			return -1;
		if (!*cond && wait_fd(c->fd, POLLIN, deadline) <= 0)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The session                                                         */

struct relp *relp_open(const struct relp_params *p, enum relp_outcome *outcome, char *why,
		       size_t whylen)
{
	struct relp *c = calloc(1, sizeof(*c));
	enum relp_outcome h;

	*outcome = RELP_UNREACHABLE;
	if (!c) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	c->fd = -1;
	if (!(c->out = malloc(OUT_CAP)) || !(c->in = malloc(IN_CAP))) {
		snprintf(why, whylen, "out of memory");
		goto fail;
	}
	c->io_ms = p->io_ms;
	c->txnr = OPEN_TXNR;
	if ((c->fd = tcp_connect(p, why, whylen)) < 0 || !(c->ctx = tls_ctx(p, why, whylen)))
		goto fail;
	if (!(c->ssl = SSL_new(c->ctx)) || SSL_set_fd(c->ssl, c->fd) != 1) {
		snprintf(why, whylen, "cannot start TLS: %s", ssl_reason());
		goto fail;
	}
	if ((h = handshake(c, p->connect_ms, why, whylen)) != RELP_OK) {
		*outcome = h;
		goto fail;
	}
	if (!collector_named(SSL_get0_peer_certificate(c->ssl), p->name, why, whylen)) {
		*outcome = RELP_REFUSED;
		goto fail;
	}
	if (!put_frame(c, OPEN_TXNR, "open", OFFERS, sizeof(OFFERS) - 1) || flush_out(c) != 0 ||
	    answers_until(c, &c->opened, audit_now_ms() + c->io_ms) != 0) {
		snprintf(why, whylen, "%s", c->open_why[0] ? c->open_why : "the session did not open");
		goto fail;
	}
	next_txnr(c);
	*outcome = RELP_OK;
	return c;
fail:
	relp_free(c, false);
	return NULL;
}

void relp_free(struct relp *c, bool orderly)
{
	if (!c)
		return;
	if (orderly && c->opened && c->ssl) {
		/* What was queued first, then the close and its answer (a second
		 * at most): the collector sees the session end, not break. */
		c->close_txnr = c->txnr;
		next_txnr(c);
		if (put_frame(c, c->close_txnr, "close", "", 0) && flush_out(c) == 0) {
			int64_t deadline = audit_now_ms() + (c->io_ms < 1000 ? c->io_ms : 1000);

			(void)answers_until(c, &c->closed, deadline);
		}
		ERR_clear_error();
		(void)SSL_shutdown(c->ssl);
	}
	SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
	free(c->out);
	free(c->in);
	free(c);
}

bool relp_room(const struct relp *c)
{
	return c->count < RELP_WINDOW && c->len - c->off < RELP_OUT_MAX;
}

bool relp_queue(struct relp *c, const char *msg, size_t len, uint64_t tag)
{
	struct pending *e;

	if (!relp_room(c) || !put_frame(c, c->txnr, "syslog", msg, len))
		return false;
	e = &c->ring[(c->head + c->count) % RELP_WINDOW];
	*e = (struct pending){ .txnr = c->txnr, .answered = false, .tag = tag };
	c->count++;
	next_txnr(c);
	return true;
}

int relp_pump(struct relp *c, int wait_ms)
{
	uint64_t before = c->answers;

	if (flush_out(c) != 0 || take_answers(c) != 0)
		return -1;
	/* Nothing answered yet: wait for an answer, as long as the io timeout
	 * when the window is full (nothing more can go out until one comes). */
	if (c->answers == before && c->count > 0 && (wait_ms > 0 || !relp_room(c))) {
		bool full = !relp_room(c);
		int w = wait_fd(c->fd, POLLIN, audit_now_ms() + (full ? c->io_ms : wait_ms));

		if (w < 0 || (w == 0 && full)) {
			log_warn("audit mirror: no answer from the collector for %d ms; reconnecting",
				 c->io_ms);
			return -1;
		}
		if (w > 0 && take_answers(c) != 0)
			return -1;
	}
	return (int)(c->answers - before);
}

uint64_t relp_acked(const struct relp *c)
{
	return c->acked;
}

size_t relp_unanswered(const struct relp *c)
{
	return c->count;
}
