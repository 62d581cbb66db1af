/*
 * jgw-node — a JMSG site server and client, for the demo, the end-to-end
 * tests and the relay benchmark.
 *
 *   jgw-node serve --listen ADDR:PORT --node CODE [--answer ack|nack|none] [--quiet]
 *   jgw-node send  --connect ADDR:PORT --from CODE --to CODE --type NAME
 *                  [--count N] [--records N] [--expect ack|close|refused|dropped]
 *                  [--bad KIND] [--spoof CODE] [--interval MS] [--hold S] [--timeout S]
 *   jgw-node load  --connect ADDR:PORT --from CODE --to CODE
 *                  (--duration S | --frames N) [--mix realistic|TYPE]
 *                  [--window N] [--conns N] [--connect-only] [--idle N --hold S]
 *   jgw-node frame --from CODE --to CODE --type NAME [--count N] [--bad KIND] >FILE
 *
 * --marker TEXT (or JGW_NODE_MARKER) puts TEXT into the name and address
 * fields, for the privacy test that searches every log for it. *
 * Frames are built with tests/lib/jframe (synthetic values with valid check
 * digits). Whatever it prints is frame metadata — type, seq, node codes,
 * byte and record counts — never a field value. Buffers that held frames
 * are wiped before they are released.
 *
 * --expect refused: the TCP connection was never established (a reset, no
 * answer to the SYN, unreachable); a connection that is accepted and then
 * closed is not refused. --expect dropped: the SYN got no answer at all
 * within --timeout, as when a firewall drops it.
 *
 * Exit status: 0 when the outcome matched --expect, 1 when it did not,
 * 2 on a usage error, 3 on a local failure (socket, memory).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include "jgw_version.h"
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "filters/engine/jmsg.h"
#include "tests/lib/jframe.h"

#define EXIT_MISMATCH 1
#define EXIT_USAGE    2
#define EXIT_LOCAL    3

/* A site server stand-in: as many connections as bench-tunnels holds. */
#define SERVE_MAX_CONNS 32768
#define READ_CHUNK      65536
#define WBUF_HIGH       (4u * 1024 * 1024)   /* stop reading a peer that does not read */
#define TAG_RESIDENT    0x0010
#define TAG_NAME        0x0012
#define TAG_ADDRESS     0x0016
#define TAG_CONTAINER   0x8000

/* ------------------------------------------------------------------ */
/* The catalog's types, as far as a site server needs them.            */

enum shape { SH_EMPTY, SH_A, SH_R, SH_F, SH_T, SH_Q, SH_D, SH_G, SH_N };

struct ntype {
	uint16_t code;
	const char *name;
	enum shape shape;
	bool response;
	uint16_t answer;        /* the response type a server sends back */
};

static const struct ntype ntypes[] = {
	{ 0x0001, "ack", SH_A, true, 0 },
	{ 0x0002, "nack", SH_A, true, 0 },
	{ 0x0003, "keepalive", SH_EMPTY, false, 0x0001 },
	{ 0x0101, "honnin-tsuchi", SH_R, false, 0x0001 },
	{ 0x0102, "honnin-tsuchi-kiko", SH_R, false, 0x0001 },
	{ 0x0103, "tenshutsu-kakutei", SH_T, false, 0x0001 },
	{ 0x0110, "tennyu-tsuchi", SH_T, false, 0x0001 },
	{ 0x0111, "tenshutsu-shomei", SH_T, false, 0x0001 },
	{ 0x0112, "koiki-kofu", SH_Q, false, 0x0113 },
	{ 0x0113, "koiki-kofu-kaito", SH_D, true, 0 },
	{ 0x0114, "fuhyo-kisai-tsuchi", SH_T, false, 0x0001 },
	{ 0x0120, "bango-seisei", SH_G, false, 0x0121 },
	{ 0x0121, "bango-tsuchi", SH_N, true, 0 },
	{ 0x0201, "fuhyo-honnin-tsuchi", SH_F, false, 0x0001 },
	{ 0x0202, "fuhyo-honnin-tsuchi-kiko", SH_F, false, 0x0001 },
};
#define NTYPES (sizeof(ntypes) / sizeof(ntypes[0]))

static const struct ntype *type_by_name(const char *name)
{
	for (size_t i = 0; i < NTYPES; i++)
		if (strcmp(ntypes[i].name, name) == 0)
			return &ntypes[i];
	return NULL;
}

static const struct ntype *type_by_code(uint16_t code)
{
	for (size_t i = 0; i < NTYPES; i++)
		if (ntypes[i].code == code)
			return &ntypes[i];
	return NULL;
}

static const char *type_name(uint16_t code)
{
	const struct ntype *t = type_by_code(code);
	return t ? t->name : "unknown";
}

/* ------------------------------------------------------------------ */
/* Small helpers.                                                      */

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void iso_time(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%06ldZ", ts.tv_nsec / 1000);
}

static bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;

	if (s == NULL || *s == '\0' || *s == '-')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_double(const char *s, double min, double max, double *out)
{
	char *end;

	if (s == NULL || *s == '\0')
		return false;
	errno = 0;
	double v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !(v >= min && v <= max))
		return false;
	*out = v;
	return true;
}

/* "ADDR:PORT" or "[V6ADDR]:PORT" into a socket address. */
static bool parse_endpoint(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *port;
	size_t hlen;

	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (close == NULL || close[1] != ':')
			return false;
		hlen = (size_t)(close - text - 1);
		if (hlen >= sizeof(host))
			return false;
		memcpy(host, text + 1, hlen);
		port = close + 2;
	} else {
		const char *colon = strrchr(text, ':');
		if (colon == NULL)
			return false;
		hlen = (size_t)(colon - text);
		if (hlen >= sizeof(host))
			return false;
		memcpy(host, text, hlen);
		port = colon + 1;
	}
	host[hlen] = '\0';

	uint64_t p;
	if (!parse_u64(port, 0, 65535, &p))
		return false;
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		*len = sizeof(*sin);
		return true;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*sin6);
		return true;
	}
	return false;
}

static const char *addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(s4->sin_port));
	}
	return buf;
}

/*
 * Connect with a deadline. Returns the connected, non-blocking fd, or -1
 * with *why set ("timeout", "refused", ...).
 */
static int dial(const struct sockaddr_storage *ss, socklen_t len, int timeout_ms, const char **why)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		*why = "socket";
		return -1;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)ss, len) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		*why = errno == ECONNREFUSED ? "refused" : "unreachable";
		close(fd);
		return -1;
	}
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int n = poll(&p, 1, timeout_ms);
	if (n <= 0) {
		*why = "timeout";
		close(fd);
		return -1;
	}
	int err = 0;
	socklen_t elen = sizeof(err);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
	if (err != 0) {
		*why = err == ECONNREFUSED ? "refused" : err == ETIMEDOUT ? "timeout" : "unreachable";
		close(fd);
		return -1;
	}
	return fd;
}

/* ------------------------------------------------------------------ */
/* Byte buffers with a consumed prefix (wiped when released).          */

struct buf {
	uint8_t *data;
	size_t off, len, cap;   /* live bytes are data[off .. len) */
};

static void buf_free(struct buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->cap);
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static size_t buf_live(const struct buf *b)
{
	return b->len - b->off;
}

/* Room for at least more bytes after len; compacts before growing. */
static bool buf_reserve(struct buf *b, size_t more)
{
	if (b->off > 0 && (b->off == b->len || b->cap - b->len < more)) {
		size_t live = buf_live(b);
		memmove(b->data, b->data + b->off, live);
		explicit_bzero(b->data + live, b->len - live);
		b->off = 0;
		b->len = live;
	}
	if (b->cap - b->len >= more)
		return true;
	size_t cap = b->cap ? b->cap : READ_CHUNK;
	while (cap - b->len < more)
		cap *= 2;
	uint8_t *p = malloc(cap);
	if (p == NULL)
		return false;
	if (b->len > 0)
		memcpy(p, b->data, b->len);
	if (b->data != NULL)
		explicit_bzero(b->data, b->cap);
	free(b->data);
	b->data = p;
	b->cap = cap;
	return true;
}

static bool buf_put(struct buf *b, const void *p, size_t n)
{
	if (!buf_reserve(b, n))
		return false;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return true;
}

static void buf_consume(struct buf *b, size_t n)
{
	b->off += n;
	if (b->off == b->len)
		b->off = b->len = 0;
}

/* Read what the socket has: >0 bytes, 0 on EOF, -1 on error, -2 when it would block. */
static ssize_t buf_read(struct buf *b, int fd)
{
	if (!buf_reserve(b, READ_CHUNK))
		return -1;
	ssize_t n = read(fd, b->data + b->len, b->cap - b->len);
	if (n > 0)
		b->len += (size_t)n;
	else if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return -2;
	return n;
}

/* Write what is pending: 0 when all written or would block, -1 on error. */
static int buf_flush(struct buf *b, int fd)
{
	while (buf_live(b) > 0) {
		ssize_t n = write(fd, b->data + b->off, buf_live(b));
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -1;
		}
		buf_consume(b, (size_t)n);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Frames: header view and body walks.                                 */

struct hdr_view {
	uint8_t flags;
	uint16_t type;
	uint32_t body_len;
	uint64_t seq, ref;
	node_code sender, receiver;
};

/* -1: not a JMSG v1 header; 0: need more bytes; 1: a complete frame of *total bytes. */
static int frame_peek(const uint8_t *p, size_t avail, struct hdr_view *h, size_t *total)
{
	if (avail < JMSG_HDR_LEN) {
		if (avail >= 1 && p[0] != JMSG_MAGIC0)
			return -1;
		return 0;
	}
	if (p[0] != JMSG_MAGIC0 || p[1] != JMSG_MAGIC1 || p[2] != JMSG_VERSION)
		return -1;
	h->flags = p[JMSG_OFF_FLAGS];
	h->type = jmsg_be16(p + JMSG_OFF_TYPE);
	h->body_len = jmsg_be32(p + JMSG_OFF_BODY_LEN);
	h->seq = jmsg_be64(p + JMSG_OFF_SEQ);
	h->ref = jmsg_be64(p + JMSG_OFF_REF);
	memcpy(h->sender, p + JMSG_OFF_SENDER, NODE_CODE_LEN);
	h->sender[NODE_CODE_LEN] = '\0';
	memcpy(h->receiver, p + JMSG_OFF_RECEIVER, NODE_CODE_LEN);
	h->receiver[NODE_CODE_LEN] = '\0';
	for (int i = 0; i < NODE_CODE_LEN; i++) {
		if (h->sender[i] < ' ' || h->sender[i] > '~')
			h->sender[i] = '?';
		if (h->receiver[i] < ' ' || h->receiver[i] > '~')
			h->receiver[i] = '?';
	}
	if (h->body_len > JMSG_BODY_HARD_MAX)
		return -1;
	if (avail < JMSG_HDR_LEN + (size_t)h->body_len)
		return 0;
	*total = JMSG_HDR_LEN + (size_t)h->body_len;
	return 1;
}

/* Top-level record containers of a body: a count, not a parse. */
static uint32_t count_records(const uint8_t *body, size_t len)
{
	uint32_t n = 0;
	size_t off = 0;

	while (len - off >= 4) {
		uint16_t tag = jmsg_be16(body + off);
		size_t flen = jmsg_be16(body + off + 2);
		if (flen > len - off - 4)
			break;
		if (tag == 0x8001)
			n++;
		off += 4 + flen;
	}
	return n;
}

/* Offset of the value of the first field with tag, searching one level of
 * containers; SIZE_MAX when absent. */
static size_t find_field(const uint8_t *body, size_t len, uint16_t want, size_t *vlen)
{
	size_t off = 0;

	while (len - off >= 4) {
		uint16_t tag = jmsg_be16(body + off);
		size_t flen = jmsg_be16(body + off + 2);
		if (flen > len - off - 4)
			return SIZE_MAX;
		if (tag == want) {
			*vlen = flen;
			return off + 4;
		}
		if (tag & TAG_CONTAINER) {
			size_t inner = find_field(body + off + 4, flen, want, vlen);
			if (inner != SIZE_MAX)
				return off + 4 + inner;
		}
		off += 4 + flen;
	}
	return SIZE_MAX;
}

/*
 * Copy a body, replacing the values of the name and address fields with a
 * marker text (the privacy test then searches every log and spool for it).
 * Container lengths are recomputed.
 */
static void rewrite_marked(struct jf_buf *out, const uint8_t *body, size_t len,
			   const char *marker, bool inside)
{
	size_t off = 0;

	while (len - off >= 4) {
		uint16_t tag = jmsg_be16(body + off);
		size_t flen = jmsg_be16(body + off + 2);
		if (flen > len - off - 4)
			break;
		const uint8_t *val = body + off + 4;
		if ((tag & TAG_CONTAINER) && !inside) {
			size_t mark = jf_container_begin(out, tag);
			rewrite_marked(out, val, flen, marker, true);
			jf_container_end(out, mark);
		} else if (tag == TAG_NAME || tag == TAG_ADDRESS) {
			jf_tlv_str(out, tag, marker);
		} else {
			jf_tlv(out, tag, val, flen);
		}
		off += 4 + flen;
	}
}

/* ------------------------------------------------------------------ */
/* Building request and notice frames.                                 */

struct gen {
	const struct ntype *type;
	char from[NODE_CODE_LEN + 1], to[NODE_CODE_LEN + 1];
	char lgcode[NODE_CODE_LEN + 1];
	unsigned records;
	const char *marker;       /* NULL: values as jframe makes them */
	uint64_t index;           /* next synthetic value index */
};

/* The municipality code for the records: the municipality end of the pair. */
static void pick_lgcode(struct gen *g)
{
	const char *pick = "131016";

	if (node_role((const uint8_t *)g->from) == NODE_ROLE_MUNICIPALITY)
		pick = g->from;
	else if (node_role((const uint8_t *)g->to) == NODE_ROLE_MUNICIPALITY)
		pick = g->to;
	snprintf(g->lgcode, sizeof(g->lgcode), "%s", pick);
}

static void build_body(struct jf_buf *body, const struct ntype *t, unsigned records,
		       uint64_t index, const char *lgcode)
{
	switch (t->shape) {
	case SH_EMPTY: break;
	case SH_A: jf_body_A(body, 0); break;
	case SH_R: jf_body_R(body, records, index, lgcode); break;
	case SH_F: jf_body_F(body, records, index, lgcode); break;
	case SH_T: jf_body_T(body, index, lgcode); break;
	case SH_Q: jf_body_Q(body, index, lgcode); break;
	case SH_D: jf_body_D(body, 512); break;
	case SH_G: jf_body_G(body, index, lgcode); break;
	case SH_N: jf_body_N(body, index); break;
	}
}

/* The body of the next frame of g into body (reset first). */
static void gen_body(struct gen *g, struct jf_buf *body, const struct ntype *t, unsigned records)
{
	jf_reset(body);
	build_body(body, t, records, g->index, g->lgcode);
	g->index += records ? records : 1;
	if (g->marker != NULL) {
		struct jf_buf marked;
		jf_init(&marked);
		rewrite_marked(&marked, body->data, body->len, g->marker, false);
		jf_reset(body);
		jf_bytes(body, marked.data, marked.len);
		jf_free(&marked);
	}
}

/* ------------------------------------------------------------------ */
/* serve                                                               */

enum answer_mode { ANSWER_AUTO, ANSWER_NACK, ANSWER_NONE };

struct sconn {
	int fd;
	uint64_t id;
	char peer[64];
	struct buf in, out;
	uint64_t seq;               /* last seq this server sent */
	uint64_t frames, bytes;
	uint64_t answer_index;
};

struct server {
	node_code node;
	enum answer_mode mode;
	bool quiet;
	uint64_t next_id;
	uint64_t frames, bytes;
	struct jf_buf body, frame;  /* scratch, wiped per answer */
};

static void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_line(const char *fmt, ...)
{
	char ts[48];
	va_list ap;

	iso_time(ts, sizeof(ts));
	printf("{\"ts\":\"%s\",", ts);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("}\n");
	fflush(stdout);
}

/* Node codes printed in logs must be six printable characters; anything
 * else is shown as "invalid" (never the raw bytes). */
static const char *node_or_invalid(const char *code)
{
	for (int i = 0; i < NODE_CODE_LEN; i++)
		if (code[i] < '0' || code[i] > '9')
			return "invalid";
	return code;
}

/* The answer a site server gives to one request or notice. */
static void answer(struct server *srv, struct sconn *c, const struct hdr_view *h,
		   const uint8_t *body, size_t body_len, const char **sent)
{
	const struct ntype *req = type_by_code(h->type);
	const struct ntype *resp;
	uint16_t result = 0;

	*sent = "none";
	if (srv->mode == ANSWER_NONE || req == NULL || req->response)
		return;
	if (srv->mode == ANSWER_NACK || strcmp(h->receiver, srv->node) != 0) {
		resp = type_by_code(0x0002);
		result = 1;
	} else {
		resp = type_by_code(req->answer);
	}

	jf_reset(&srv->body);
	switch (resp->shape) {
	case SH_N: {
		/* Answer with the resident code asked about and a new number. */
		size_t vlen = 0, at = find_field(body, body_len, TAG_RESIDENT, &vlen);
		if (at != SIZE_MAX && vlen == 11)
			jf_tlv(&srv->body, TAG_RESIDENT, body + at, vlen);
		else
			jf_tlv(&srv->body, TAG_RESIDENT, "00000000000", 11);
		char num[13];
		jf_individual_number(c->answer_index++, num);
		jf_tlv(&srv->body, 0x0011, num, 12);
		explicit_bzero(num, sizeof(num));
		break;
	}
	case SH_D: jf_body_D(&srv->body, 2048); break;
	default: jf_body_A(&srv->body, result); break;
	}
	struct jf_hdr rh = {
		.flags = JMSG_FLAG_RESPONSE, .type = resp->code,
		.seq = ++c->seq, .ref = h->seq, .time_ms = now_ms(),
		.sender = h->receiver, .receiver = h->sender,
		.body_len_override = -1,
	};
	jf_reset(&srv->frame);
	jf_frame(&srv->frame, &rh, srv->body.data, srv->body.len);
	if (!buf_put(&c->out, srv->frame.data, srv->frame.len))
		return;
	*sent = resp->name;
}

/* Handle the complete frames in c->in; false when the connection must close. */
static bool serve_frames(struct server *srv, struct sconn *c)
{
	for (;;) {
		struct hdr_view h;
		size_t total = 0;
		int r = frame_peek(c->in.data + c->in.off, buf_live(&c->in), &h, &total);
		if (r < 0) {
			if (!srv->quiet)
				log_line("\"event\":\"bad-frame\",\"conn\":%" PRIu64 ",\"peer\":\"%s\"",
					 c->id, c->peer);
			return false;
		}
		if (r == 0)
			return true;
		const uint8_t *body = c->in.data + c->in.off + JMSG_HDR_LEN;
		const char *sent;
		answer(srv, c, &h, body, h.body_len, &sent);
		c->frames++;
		c->bytes += total;
		srv->frames++;
		srv->bytes += total;
		if (!srv->quiet)
			log_line("\"event\":\"frame\",\"conn\":%" PRIu64 ",\"peer\":\"%s\","
				 "\"type\":\"0x%04x\",\"type_name\":\"%s\",\"flags\":%u,"
				 "\"seq\":%" PRIu64 ",\"ref\":%" PRIu64 ",\"sender\":\"%s\","
				 "\"receiver\":\"%s\",\"bytes\":%zu,\"records\":%u,\"answer\":\"%s\"",
				 c->id, c->peer, h.type, type_name(h.type), h.flags, h.seq, h.ref,
				 node_or_invalid(h.sender), node_or_invalid(h.receiver), total,
				 count_records(body, h.body_len), sent);
		explicit_bzero(c->in.data + c->in.off, total);
		buf_consume(&c->in, total);
	}
}

static void sconn_close(struct server *srv, struct sconn *c, const char *why)
{
	if (!srv->quiet)
		log_line("\"event\":\"close\",\"conn\":%" PRIu64 ",\"peer\":\"%s\",\"frames\":%"
			 PRIu64 ",\"bytes\":%" PRIu64 ",\"reason\":\"%s\"",
			 c->id, c->peer, c->frames, c->bytes, why);
	close(c->fd);
	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
}

static int listen_on(const char *text)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (!parse_endpoint(text, &ss, &len)) {
		fprintf(stderr, "jgw-node: --listen is not ADDR:PORT: `%s'\n", text);
		return -1;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1;
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 512) < 0) {
		fprintf(stderr, "jgw-node: cannot listen on %s: %s\n", text, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void serve_accept(struct server *srv, int lfd, struct sconn **conns, size_t *n)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (*n >= SERVE_MAX_CONNS) {
			close(fd);
			continue;
		}
		struct sconn *c = calloc(1, sizeof(*c));
		if (c == NULL) {
			close(fd);
			return;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->fd = fd;
		c->id = ++srv->next_id;
		addr_str(&ss, c->peer, sizeof(c->peer));
		conns[(*n)++] = c;
		if (!srv->quiet)
			log_line("\"event\":\"open\",\"conn\":%" PRIu64 ",\"peer\":\"%s\"", c->id, c->peer);
	}
}

/* One readiness event on a connection; false when it must close (why set). */
static bool serve_io(struct server *srv, struct sconn *c, short revents, const char **why)
{
	if (revents & POLLIN) {
		ssize_t n = buf_read(&c->in, c->fd);
		if (n == 0) {
			*why = "eof";
			return false;
		}
		if (n == -1) {
			*why = "error";
			return false;
		}
		if (!serve_frames(srv, c)) {
			*why = "bad-frame";
			return false;
		}
	} else if (revents & (POLLERR | POLLHUP)) {
		*why = "error";
		return false;
	}
	if (buf_flush(&c->out, c->fd) < 0) {
		*why = "error";
		return false;
	}
	return true;
}

static int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "node", required_argument, NULL, 'n' },
		{ "answer", required_argument, NULL, 'a' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	struct server srv = { .mode = ANSWER_AUTO };
	const char *listen_text = NULL;
	int o;

	while ((o = getopt_long(argc, argv, "l:n:a:q", opts, NULL)) != -1) {
		switch (o) {
		case 'l': listen_text = optarg; break;
		case 'n':
			if (!node_valid(optarg)) {
				fprintf(stderr, "jgw-node: --node is not a valid node code: `%s'\n", optarg);
				return EXIT_USAGE;
			}
			snprintf(srv.node, sizeof(srv.node), "%s", optarg);
			break;
		case 'a':
			if (strcmp(optarg, "ack") == 0) srv.mode = ANSWER_AUTO;
			else if (strcmp(optarg, "nack") == 0) srv.mode = ANSWER_NACK;
			else if (strcmp(optarg, "none") == 0) srv.mode = ANSWER_NONE;
			else {
				fprintf(stderr, "jgw-node: --answer is ack, nack or none: `%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'q': srv.quiet = true; break;
		default: return EXIT_USAGE;
		}
	}
	if (listen_text == NULL || srv.node[0] == '\0') {
		fprintf(stderr, "jgw-node serve: --listen and --node are required\n");
		return EXIT_USAGE;
	}
	int lfd = listen_on(listen_text);
	if (lfd < 0)
		return EXIT_LOCAL;
	install_signals();
	jf_init(&srv.body);
	jf_init(&srv.frame);
	if (!srv.quiet)
		log_line("\"event\":\"listen\",\"addr\":\"%s\",\"node\":\"%s\"", listen_text, srv.node);

	struct sconn **conns = calloc(SERVE_MAX_CONNS, sizeof(*conns));
	struct pollfd *pfd = calloc(SERVE_MAX_CONNS + 1, sizeof(*pfd));
	size_t n = 0;
	if (conns == NULL || pfd == NULL)
		return EXIT_LOCAL;
	while (!stop_requested) {
		pfd[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		for (size_t i = 0; i < n; i++) {
			short ev = buf_live(&conns[i]->out) < WBUF_HIGH ? POLLIN : 0;
			if (buf_live(&conns[i]->out) > 0)
				ev |= POLLOUT;
			pfd[i + 1] = (struct pollfd){ .fd = conns[i]->fd, .events = ev };
		}
		if (poll(pfd, n + 1, 1000) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		size_t before = n;
		for (size_t i = before; i-- > 0;) {
			const char *why = NULL;
			if (pfd[i + 1].revents == 0)
				continue;
			if (!serve_io(&srv, conns[i], pfd[i + 1].revents, &why)) {
				sconn_close(&srv, conns[i], why);
				conns[i] = conns[--n];
			}
		}
		if (pfd[0].revents & POLLIN)
			serve_accept(&srv, lfd, conns, &n);
	}
	for (size_t i = 0; i < n; i++)
		sconn_close(&srv, conns[i], "shutdown");
	if (!srv.quiet)
		log_line("\"event\":\"stop\",\"frames\":%" PRIu64 ",\"bytes\":%" PRIu64,
			 srv.frames, srv.bytes);
	free(conns);
	free(pfd);
	close(lfd);
	jf_free(&srv.body);
	jf_free(&srv.frame);
	return 0;
}

/* ------------------------------------------------------------------ */
/* send: scenario client, one frame at a time.                         */

enum expect { EXPECT_ACK, EXPECT_CLOSE, EXPECT_REFUSED, EXPECT_DROPPED };

enum bad_kind {
	BAD_NONE, BAD_CHECK_DIGIT, BAD_SENDER, BAD_UNSOLICITED, BAD_DIRECTION,
	BAD_TLV_ORDER, BAD_MAGIC, BAD_FLAGS, BAD_SEQ, BAD_SKEW, BAD_OVERSIZE, BAD_TRUNCATED,
};

static const struct { const char *name; enum bad_kind kind; } bad_kinds[] = {
	{ "check-digit", BAD_CHECK_DIGIT }, { "sender", BAD_SENDER },
	{ "unsolicited", BAD_UNSOLICITED }, { "direction", BAD_DIRECTION },
	{ "tlv-order", BAD_TLV_ORDER }, { "magic", BAD_MAGIC }, { "flags", BAD_FLAGS },
	{ "seq", BAD_SEQ }, { "skew", BAD_SKEW }, { "oversize", BAD_OVERSIZE },
	{ "truncated", BAD_TRUNCATED },
};

struct send_opts {
	struct sockaddr_storage ss;
	socklen_t sslen;
	const char *connect_text;
	struct gen gen;
	uint64_t count;
	enum expect expect;
	enum bad_kind bad;
	char spoof[NODE_CODE_LEN + 1];
	uint64_t interval_ms;
	double hold_s;
	double timeout_s;
};

/* Swap the first two fields of a region; inside the first record when the
 * body is a batch of records (tlv-order). Lengths are unchanged. */
static void swap_first_fields(uint8_t *p, size_t len)
{
	if (len < 8)
		return;
	size_t l1 = 4 + (size_t)jmsg_be16(p + 2);
	if (l1 > len)
		return;
	if (jmsg_be16(p) & TAG_CONTAINER) {
		swap_first_fields(p + 4, l1 - 4);
		return;
	}
	if (l1 + 4 > len)
		return;
	size_t l2 = 4 + (size_t)jmsg_be16(p + l1 + 2);
	if (l1 + l2 > len)
		return;
	uint8_t *tmp = malloc(l1 + l2);
	if (tmp == NULL)
		return;
	memcpy(tmp, p + l1, l2);
	memcpy(tmp + l2, p, l1);
	memcpy(p, tmp, l1 + l2);
	explicit_bzero(tmp, l1 + l2);
	free(tmp);
}

/* The frame number i (1-based) of a scenario, with its bad variant applied. */
static void scenario_frame(struct send_opts *so, uint64_t i, struct jf_buf *body,
			   struct jf_buf *frame, uint64_t *seq)
{
	const struct ntype *t = so->gen.type;
	struct jf_hdr h = {
		.type = t->code, .seq = ++*seq, .time_ms = now_ms(),
		.sender = so->gen.from, .receiver = so->gen.to, .body_len_override = -1,
	};
	bool last = i == so->count;

	if (last && so->bad == BAD_DIRECTION) {
		/* A type whose direction rule the pair does not meet. */
		bool muni = node_role((const uint8_t *)so->gen.from) == NODE_ROLE_MUNICIPALITY;
		t = type_by_name(muni ? "honnin-tsuchi-kiko" : "tennyu-tsuchi");
		h.type = t->code;
	}
	if (last && so->bad == BAD_UNSOLICITED) {
		t = type_by_code(0x0001);
		h.type = t->code;
		h.flags = JMSG_FLAG_RESPONSE;
		h.ref = 999999;
	}
	gen_body(&so->gen, body, t, t->shape == SH_R || t->shape == SH_F ? so->gen.records : 0);
	if (last) {
		size_t vlen = 0, at;
		switch (so->bad) {
		case BAD_CHECK_DIGIT:
			at = find_field(body->data, body->len, TAG_RESIDENT, &vlen);
			if (at != SIZE_MAX && vlen == 11)
				body->data[at + 10] = (uint8_t)('0' + (body->data[at + 10] - '0' + 1) % 10);
			break;
		case BAD_SENDER: h.sender = so->spoof; break;
		case BAD_TLV_ORDER: swap_first_fields(body->data, body->len); break;
		case BAD_MAGIC: h.magic0 = 'G'; h.magic1 = 'E'; break;
		case BAD_FLAGS: h.flags = JMSG_FLAG_RESPONSE; break;
		case BAD_SEQ: h.seq = 1; break;
		case BAD_SKEW: h.time_ms -= 3600 * 1000; break;
		case BAD_OVERSIZE: h.body_len_override = (int64_t)JMSG_BODY_HARD_MAX + 1; break;
		case BAD_TRUNCATED: h.body_len_override = (int64_t)body->len + 100; break;
		default: break;
		}
	}
	jf_reset(frame);
	jf_frame(frame, &h, body->data, body->len);
}

static bool write_all(int fd, const uint8_t *p, size_t len, int timeout_ms)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return false;
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return false;
	}
	return true;
}

enum wait_result { WAIT_ANSWER, WAIT_CLOSED, WAIT_TIMEOUT, WAIT_GARBAGE };

/* Wait for one complete frame from the peer (or its close). */
static enum wait_result wait_frame(int fd, struct buf *in, int timeout_ms, struct hdr_view *h,
				   size_t *total)
{
	double deadline = mono_s() + timeout_ms / 1000.0;

	for (;;) {
		int r = frame_peek(in->data + in->off, buf_live(in), h, total);
		if (r < 0)
			return WAIT_GARBAGE;
		if (r > 0)
			return WAIT_ANSWER;
		int left = (int)((deadline - mono_s()) * 1000);
		if (left <= 0)
			return WAIT_TIMEOUT;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, left) <= 0)
			continue;
		ssize_t n = buf_read(in, fd);
		if (n == 0 || n == -1)
			return WAIT_CLOSED;
	}
}

static bool answers(const struct ntype *req, uint16_t type)
{
	return type == 0x0001 || type == 0x0002 || (req != NULL && type == req->answer);
}

/* Hold the connection open; report whether the peer closed it. */
static void hold_open(int fd, struct buf *in, double hold_s, bool *closed, double *after_s)
{
	double start = mono_s();

	*closed = false;
	while (!stop_requested && mono_s() - start < hold_s) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int left = (int)((hold_s - (mono_s() - start)) * 1000) + 1;
		if (poll(&pfd, 1, left) <= 0)
			continue;
		ssize_t n = buf_read(in, fd);
		if (n == 0 || n == -1) {
			*closed = true;
			break;
		}
	}
	*after_s = mono_s() - start;
}

static int run_send(struct send_opts *so)
{
	int timeout_ms = (int)(so->timeout_s * 1000);
	const char *why = NULL;
	int fd = dial(&so->ss, so->sslen, timeout_ms, &why);

	if (fd < 0) {
		printf("connect %s: %s\n", so->connect_text, why);
		printf("result: refused (%s)\n", why);
		if (so->expect == EXPECT_DROPPED)
			return strcmp(why, "timeout") == 0 ? 0 : EXIT_MISMATCH;
		return so->expect == EXPECT_REFUSED ? 0 : EXIT_MISMATCH;
	}
	if (so->expect == EXPECT_REFUSED || so->expect == EXPECT_DROPPED) {
		/* The handshake completed: whatever follows, it was not refused. */
		printf("connect %s: connected\n", so->connect_text);
		printf("result: connected (expected %s)\n",
		       so->expect == EXPECT_REFUSED ? "refused" : "dropped");
		close(fd);
		return EXIT_MISMATCH;
	}

	struct jf_buf body, frame;
	struct buf in = { 0 };
	uint64_t seq = 0, answered = 0;
	bool closed = false, mismatch = false;
	jf_init(&body);
	jf_init(&frame);

	for (uint64_t i = 1; i <= so->count && !closed && !stop_requested; i++) {
		scenario_frame(so, i, &body, &frame, &seq);
		const char *tname = type_name(jmsg_be16(frame.data + JMSG_OFF_TYPE));
		size_t flen = frame.len;
		bool ok = write_all(fd, frame.data, frame.len, timeout_ms);
		if (so->bad == BAD_TRUNCATED && i == so->count)
			shutdown(fd, SHUT_WR);
		struct hdr_view h;
		size_t total = 0;
		enum wait_result w = ok ? wait_frame(fd, &in, timeout_ms, &h, &total) : WAIT_CLOSED;
		uint64_t sent_seq = seq;
		switch (w) {
		case WAIT_ANSWER: {
			bool good = (h.flags & JMSG_FLAG_RESPONSE) && h.ref == sent_seq &&
				    answers(so->gen.type, h.type) &&
				    strcmp(h.sender, so->gen.to) == 0 &&
				    strcmp(h.receiver, so->gen.from) == 0;
			printf("frame %" PRIu64 " seq=%" PRIu64 " type=%s bytes=%zu: answered %s "
			       "seq=%" PRIu64 " ref=%" PRIu64 "%s\n", i, sent_seq, tname, flen,
			       type_name(h.type), h.seq, h.ref, good ? "" : " (NOT a valid answer)");
			if (good && h.type != 0x0002)
				answered++;
			else
				mismatch = true;
			explicit_bzero(in.data + in.off, total);
			buf_consume(&in, total);
			break;
		}
		case WAIT_CLOSED:
			printf("frame %" PRIu64 " seq=%" PRIu64 " type=%s bytes=%zu: connection closed\n",
			       i, sent_seq, tname, flen);
			closed = true;
			break;
		case WAIT_TIMEOUT:
			printf("frame %" PRIu64 " seq=%" PRIu64 " type=%s bytes=%zu: no answer in %.1fs\n",
			       i, sent_seq, tname, flen, so->timeout_s);
			mismatch = true;
			break;
		case WAIT_GARBAGE:
			printf("frame %" PRIu64 ": peer sent something that is not JMSG\n", i);
			mismatch = true;
			closed = true;
			break;
		}
		if (so->interval_ms > 0 && i < so->count)
			usleep((useconds_t)(so->interval_ms * 1000));
	}

	bool hold_closed = false;
	if (!closed && so->hold_s > 0) {
		double after;
		hold_open(fd, &in, so->hold_s, &hold_closed, &after);
		if (hold_closed)
			printf("hold: peer closed the connection after %.1fs\n", after);
		else
			printf("hold: still open after %.1fs\n", after);
	}
	close(fd);
	buf_free(&in);
	jf_free(&body);
	jf_free(&frame);

	printf("result: sent=%" PRIu64 " answered=%" PRIu64 " closed=%s\n", seq, answered,
	       closed ? "yes" : hold_closed ? "during-hold" : "no");
	switch (so->expect) {
	case EXPECT_ACK:
		return !closed && !mismatch && answered == so->count ? 0 : EXIT_MISMATCH;
	case EXPECT_CLOSE:
		/* Every frame before the last answered; the last one never. */
		return ((closed && answered == so->count - 1) || (so->hold_s > 0 && hold_closed)) &&
		       !mismatch ? 0 : EXIT_MISMATCH;
	case EXPECT_REFUSED:
	case EXPECT_DROPPED:
		break;     /* returned after the connect */
	}
	return EXIT_MISMATCH;
}

/* Options shared by send and load: the pair, the type and the target. */
static bool common_opt(int o, const char *arg, struct gen *g, struct sockaddr_storage *ss,
		       socklen_t *sslen, const char **connect_text)
{
	uint64_t v;

	switch (o) {
	case 'c':
		if (!parse_endpoint(arg, ss, sslen)) {
			fprintf(stderr, "jgw-node: --connect is not ADDR:PORT: `%s'\n", arg);
			return false;
		}
		*connect_text = arg;
		return true;
	case 'f':
	case 't':
		if (strlen(arg) != NODE_CODE_LEN) {
			fprintf(stderr, "jgw-node: a node code has six digits: `%s'\n", arg);
			return false;
		}
		snprintf(o == 'f' ? g->from : g->to, NODE_CODE_LEN + 1, "%s", arg);
		return true;
	case 'y':
		g->type = type_by_name(arg);
		if (g->type == NULL) {
			fprintf(stderr, "jgw-node: unknown type name: `%s'\n", arg);
			return false;
		}
		return true;
	case 'r':
		if (!parse_u64(arg, 1, 1000, &v)) {
			fprintf(stderr, "jgw-node: --records is 1..1000: `%s'\n", arg);
			return false;
		}
		g->records = (unsigned)v;
		return true;
	case 'm':
		if (strlen(arg) == 0 || strlen(arg) > 200) {
			fprintf(stderr, "jgw-node: --marker is 1..200 bytes\n");
			return false;
		}
		g->marker = arg;
		return true;
	case 'i':
		if (!parse_u64(arg, 0, UINT64_MAX / 2, &g->index)) {
			fprintf(stderr, "jgw-node: --index is a number: `%s'\n", arg);
			return false;
		}
		return true;
	}
	return false;
}

#define COMMON_OPTS \
	{ "connect", required_argument, NULL, 'c' }, \
	{ "from", required_argument, NULL, 'f' }, \
	{ "to", required_argument, NULL, 't' }, \
	{ "type", required_argument, NULL, 'y' }, \
	{ "records", required_argument, NULL, 'r' }, \
	{ "marker", required_argument, NULL, 'm' }, \
	{ "index", required_argument, NULL, 'i' }

static void gen_defaults(struct gen *g)
{
	memset(g, 0, sizeof(*g));
	g->records = 1;
	g->index = (uint64_t)getpid() * 10007u;
	g->marker = getenv("JGW_NODE_MARKER");
	if (g->marker != NULL && (g->marker[0] == '\0' || strlen(g->marker) > 200))
		g->marker = NULL;
}

static int cmd_send(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		{ "count", required_argument, NULL, 'n' },
		{ "expect", required_argument, NULL, 'e' },
		{ "bad", required_argument, NULL, 'b' },
		{ "spoof", required_argument, NULL, 's' },
		{ "interval", required_argument, NULL, 'I' },
		{ "hold", required_argument, NULL, 'H' },
		{ "timeout", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	struct send_opts so = { .count = 1, .timeout_s = 5 };
	int o;

	gen_defaults(&so.gen);
	snprintf(so.spoof, sizeof(so.spoof), "271004");
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'n':
			if (!parse_u64(optarg, 1, 1000000, &so.count)) {
				fprintf(stderr, "jgw-node: --count is 1..1000000: `%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'e':
			if (strcmp(optarg, "ack") == 0 || strcmp(optarg, "answer") == 0)
				so.expect = EXPECT_ACK;
			else if (strcmp(optarg, "close") == 0)
				so.expect = EXPECT_CLOSE;
			else if (strcmp(optarg, "refused") == 0)
				so.expect = EXPECT_REFUSED;
			else if (strcmp(optarg, "dropped") == 0)
				so.expect = EXPECT_DROPPED;
			else {
				fprintf(stderr, "jgw-node: --expect is ack, close, refused or dropped: `%s'\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'b': {
			size_t k;
			for (k = 0; k < sizeof(bad_kinds) / sizeof(bad_kinds[0]); k++)
				if (strcmp(bad_kinds[k].name, optarg) == 0)
					break;
			if (k == sizeof(bad_kinds) / sizeof(bad_kinds[0])) {
				fprintf(stderr, "jgw-node: unknown --bad kind: `%s'\n", optarg);
				return EXIT_USAGE;
			}
			so.bad = bad_kinds[k].kind;
			break;
		}
		case 's':
			if (strlen(optarg) != NODE_CODE_LEN) {
				fprintf(stderr, "jgw-node: --spoof is a node code: `%s'\n", optarg);
				return EXIT_USAGE;
			}
			snprintf(so.spoof, sizeof(so.spoof), "%s", optarg);
			break;
		case 'I':
			if (!parse_u64(optarg, 0, 3600000, &so.interval_ms)) {
				fprintf(stderr, "jgw-node: --interval is milliseconds: `%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'H':
			if (!parse_double(optarg, 0, 3600, &so.hold_s)) {
				fprintf(stderr, "jgw-node: --hold is seconds: `%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'T':
			if (!parse_double(optarg, 0.1, 3600, &so.timeout_s)) {
				fprintf(stderr, "jgw-node: --timeout is seconds: `%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		default:
			if (!common_opt(o, optarg, &so.gen, &so.ss, &so.sslen, &so.connect_text))
				return EXIT_USAGE;
		}
	}
	if (so.connect_text == NULL || so.gen.from[0] == '\0' || so.gen.to[0] == '\0' ||
	    so.gen.type == NULL) {
		fprintf(stderr, "jgw-node send: --connect, --from, --to and --type are required\n");
		return EXIT_USAGE;
	}
	pick_lgcode(&so.gen);
	install_signals();
	return run_send(&so);
}

/*
 * frame: the frames of a scenario written raw to stdout, for third-party
 * clients (openssl s_client, stunnel) in the interop tests.
 */
static int cmd_frame(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		{ "count", required_argument, NULL, 'n' },
		{ "bad", required_argument, NULL, 'b' },
		{ "spoof", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct send_opts so = { .count = 1 };
	const char *unused = NULL;
	int o;

	gen_defaults(&so.gen);
	snprintf(so.spoof, sizeof(so.spoof), "271004");
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 'n') {
			if (!parse_u64(optarg, 1, 1000000, &so.count))
				return EXIT_USAGE;
		} else if (o == 'b') {
			size_t k, nk = sizeof(bad_kinds) / sizeof(bad_kinds[0]);
			for (k = 0; k < nk && strcmp(bad_kinds[k].name, optarg) != 0; k++)
				;
			if (k == nk) {
				fprintf(stderr, "jgw-node: unknown --bad kind: `%s'\n", optarg);
				return EXIT_USAGE;
			}
			so.bad = bad_kinds[k].kind;
		} else if (o == 's') {
			if (strlen(optarg) != NODE_CODE_LEN) {
				fprintf(stderr, "jgw-node: --spoof is a node code: `%s'\n", optarg);
				return EXIT_USAGE;
			}
			snprintf(so.spoof, sizeof(so.spoof), "%s", optarg);
		} else if (!common_opt(o, optarg, &so.gen, &so.ss, &so.sslen, &unused)) {
			return EXIT_USAGE;
		}
	}
	if (so.gen.from[0] == '\0' || so.gen.to[0] == '\0' || so.gen.type == NULL) {
		fprintf(stderr, "jgw-node frame: --from, --to and --type are required\n");
		return EXIT_USAGE;
	}
	if (isatty(STDOUT_FILENO)) {
		fprintf(stderr, "jgw-node frame: refusing to write binary frames to a terminal\n");
		return EXIT_USAGE;
	}
	pick_lgcode(&so.gen);
	struct jf_buf body, frame;
	uint64_t seq = 0;
	int rc = 0;
	jf_init(&body);
	jf_init(&frame);
	for (uint64_t i = 1; i <= so.count && rc == 0; i++) {
		scenario_frame(&so, i, &body, &frame, &seq);
		if (fwrite(frame.data, 1, frame.len, stdout) != frame.len)
			rc = EXIT_LOCAL;
	}
	jf_free(&body);
	jf_free(&frame);
	return fflush(stdout) == 0 ? rc : EXIT_LOCAL;
}

/* ------------------------------------------------------------------ */
/* load: pipelined load generator, connection rate, idle tunnels.      */

#define LOAD_TEMPLATES 64
#define LOAD_MAX_CONNS 4096

struct template {
	uint8_t *data;
	size_t len;
};

struct lconn {
	int fd;
	struct buf in, out;
	uint64_t seq, outstanding;
	bool dead;
	/* Throughput runs: when each outstanding frame was queued (a ring of
	 * window entries; answers come back in order), for its latency. */
	double *sent_at;
	uint64_t at_head;
};

struct load {
	struct sockaddr_storage ss;
	socklen_t sslen;
	const char *connect_text;
	struct gen gen;
	bool realistic;
	double duration_s;
	uint64_t frames_max;
	uint64_t window, conns;
	bool connect_only;
	uint64_t idle;
	double hold_s;
	double timeout_s;
	struct template tpl[LOAD_TEMPLATES];
	size_t n_tpl;
	/* results */
	uint64_t sent, acked, bytes_sent, bytes_received, closed, nacked;
	uint32_t *lat_us;            /* one per answer: queued to answered */
	size_t n_lat, cap_lat;
};

/*
 * Pre-built frames so the generator spends its time on I/O: seq and time
 * are patched per send. The realistic mix for a municipality → prefecture
 * pair: mostly 本人確認情報 batches of varied size, some 転出確定 notices.
 */
static bool load_templates(struct load *ld)
{
	struct jf_buf body, frame;
	jf_init(&body);
	jf_init(&frame);

	for (size_t i = 0; i < LOAD_TEMPLATES; i++) {
		const struct ntype *t = ld->gen.type;
		unsigned records = ld->gen.records;
		if (ld->realistic) {
			static const unsigned sizes[] = { 1, 1, 2, 3, 5, 8, 10, 20, 50, 100 };
			bool notice = i % 4 == 3;
			t = type_by_name(notice ? "tenshutsu-kakutei" : "honnin-tsuchi");
			records = sizes[i % (sizeof(sizes) / sizeof(sizes[0]))];
		}
		gen_body(&ld->gen, &body, t, t->shape == SH_R || t->shape == SH_F ? records : 0);
		struct jf_hdr h = {
			.type = t->code, .seq = 1, .time_ms = now_ms(),
			.sender = ld->gen.from, .receiver = ld->gen.to, .body_len_override = -1,
		};
		jf_reset(&frame);
		jf_frame(&frame, &h, body.data, body.len);
		ld->tpl[i].data = malloc(frame.len);
		if (ld->tpl[i].data == NULL)
			return false;
		memcpy(ld->tpl[i].data, frame.data, frame.len);
		ld->tpl[i].len = frame.len;
		ld->n_tpl++;
	}
	jf_free(&body);
	jf_free(&frame);
	return true;
}

static void load_free_templates(struct load *ld)
{
	for (size_t i = 0; i < ld->n_tpl; i++) {
		explicit_bzero(ld->tpl[i].data, ld->tpl[i].len);
		free(ld->tpl[i].data);
	}
	ld->n_tpl = 0;
}

/* Queue the next frame on a connection. */
static bool lconn_queue(struct load *ld, struct lconn *c, int64_t tms)
{
	const struct template *t = &ld->tpl[ld->sent % ld->n_tpl];

	if (!buf_put(&c->out, t->data, t->len))
		return false;
	/* Where the frame landed: buf_put may have compacted the buffer. */
	size_t at = c->out.len - t->len;
	jmsg_put64(c->out.data + at + JMSG_OFF_SEQ, ++c->seq);
	jmsg_put64(c->out.data + at + JMSG_OFF_TIME, (uint64_t)tms);
	if (c->sent_at != NULL)
		c->sent_at[(c->at_head + c->outstanding) % ld->window] = mono_s();
	c->outstanding++;
	ld->sent++;
	ld->bytes_sent += t->len;
	return true;
}

/* An answer's latency: from when its frame was queued until now. */
static void lconn_latency(struct load *ld, struct lconn *c, double now)
{
	double us = (now - c->sent_at[c->at_head]) * 1e6;

	c->at_head = (c->at_head + 1) % ld->window;
	if (ld->n_lat == ld->cap_lat) {
		size_t cap = ld->cap_lat ? ld->cap_lat * 2 : 65536;
		uint32_t *p = realloc(ld->lat_us, cap * sizeof(*p));
		if (p == NULL)
			return;
		ld->lat_us = p;
		ld->cap_lat = cap;
	}
	ld->lat_us[ld->n_lat++] = us < 0 ? 0 : us > 4e9 ? UINT32_MAX : (uint32_t)us;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The q-quantile of the answers' latencies (sorts them), 0 with none. */
static uint32_t latency_quantile(struct load *ld, double q)
{
	if (ld->n_lat == 0)
		return 0;
	qsort(ld->lat_us, ld->n_lat, sizeof(*ld->lat_us), cmp_u32);
	return ld->lat_us[(size_t)(q * (double)(ld->n_lat - 1))];
}

/* Count the answers that arrived; false when the peer broke the stream. */
static bool lconn_drain(struct load *ld, struct lconn *c)
{
	double now = mono_s();

	for (;;) {
		struct hdr_view h;
		size_t total = 0;
		int r = frame_peek(c->in.data + c->in.off, buf_live(&c->in), &h, &total);
		if (r < 0)
			return false;
		if (r == 0)
			return true;
		if (!(h.flags & JMSG_FLAG_RESPONSE) || c->outstanding == 0)
			return false;
		if (c->sent_at != NULL)
			lconn_latency(ld, c, now);
		c->outstanding--;
		if (h.type == 0x0002)
			ld->nacked++;
		else
			ld->acked++;
		ld->bytes_received += total;
		buf_consume(&c->in, total);
	}
}

static bool load_done(const struct load *ld, double start)
{
	if (stop_requested)
		return true;
	if (ld->frames_max > 0)
		return ld->sent >= ld->frames_max;
	return mono_s() - start >= ld->duration_s;
}

static int run_throughput(struct load *ld)
{
	struct lconn *c = calloc(ld->conns, sizeof(*c));
	struct pollfd *pfd = calloc(ld->conns, sizeof(*pfd));
	int tmo = (int)(ld->timeout_s * 1000);
	const char *why = NULL;

	if (c == NULL || pfd == NULL || !load_templates(ld))
		return EXIT_LOCAL;
	for (uint64_t i = 0; i < ld->conns; i++) {
		c[i].sent_at = calloc(ld->window, sizeof(*c[i].sent_at));
		if (c[i].sent_at == NULL)
			return EXIT_LOCAL;
		c[i].fd = dial(&ld->ss, ld->sslen, tmo, &why);
		if (c[i].fd < 0) {
			fprintf(stderr, "jgw-node load: connect %s: %s\n", ld->connect_text, why);
			return EXIT_MISMATCH;
		}
	}
	double start = mono_s(), last_answer = start;
	bool sending = true;
	uint64_t live = ld->conns;
	while (live > 0) {
		int64_t tms = now_ms();
		if (sending && load_done(ld, start))
			sending = false;
		uint64_t pending = 0;
		for (uint64_t i = 0; i < ld->conns; i++) {
			if (c[i].dead)
				continue;
			while (sending && c[i].outstanding < ld->window &&
			       buf_live(&c[i].out) < 1024 * 1024 &&
			       (ld->frames_max == 0 || ld->sent < ld->frames_max))
				if (!lconn_queue(ld, &c[i], tms))
					return EXIT_LOCAL;
			pending += c[i].outstanding;
			short ev = POLLIN | (buf_live(&c[i].out) ? POLLOUT : 0);
			pfd[i] = (struct pollfd){ .fd = c[i].fd, .events = ev };
		}
		if (!sending && pending == 0)
			break;
		if (mono_s() - last_answer > ld->timeout_s) {
			fprintf(stderr, "jgw-node load: no answer for %.1fs\n", ld->timeout_s);
			break;
		}
		for (uint64_t i = 0; i < ld->conns; i++)
			if (c[i].dead)
				pfd[i].fd = -1;
		if (poll(pfd, ld->conns, 200) < 0 && errno != EINTR)
			break;
		for (uint64_t i = 0; i < ld->conns; i++) {
			if (c[i].dead || pfd[i].revents == 0)
				continue;
			uint64_t before = ld->acked + ld->nacked;
			bool ok = buf_flush(&c[i].out, c[i].fd) == 0;
			if (ok && (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))) {
				ssize_t n = buf_read(&c[i].in, c[i].fd);
				ok = n > 0 || n == -2;
				ok = ok && lconn_drain(ld, &c[i]);
			}
			if (ld->acked + ld->nacked > before)
				last_answer = mono_s();
			if (!ok) {
				c[i].dead = true;
				ld->closed++;
				live--;
			}
		}
	}
	double secs = mono_s() - start;
	for (uint64_t i = 0; i < ld->conns; i++) {
		if (c[i].fd >= 0)
			close(c[i].fd);
		buf_free(&c[i].in);
		buf_free(&c[i].out);
		free(c[i].sent_at);
	}
	uint32_t p50 = latency_quantile(ld, 0.50), p99 = latency_quantile(ld, 0.99);
	printf("{\"mode\":\"throughput\",\"conns\":%" PRIu64 ",\"window\":%" PRIu64
	       ",\"seconds\":%.3f,\"frames_sent\":%" PRIu64 ",\"frames_acked\":%" PRIu64
	       ",\"frames_nacked\":%" PRIu64 ",\"bytes_sent\":%" PRIu64
	       ",\"bytes_received\":%" PRIu64 ",\"closed\":%" PRIu64
	       ",\"frames_per_s\":%.1f,\"mb_per_s\":%.2f,\"latency_p50_us\":%" PRIu32
	       ",\"latency_p99_us\":%" PRIu32 "}\n",
	       ld->conns, ld->window, secs, ld->sent, ld->acked, ld->nacked, ld->bytes_sent,
	       ld->bytes_received, ld->closed, secs > 0 ? (double)ld->acked / secs : 0,
	       secs > 0 ? (double)ld->bytes_sent / secs / 1e6 : 0, p50, p99);
	free(ld->lat_us);
	free(c);
	free(pfd);
	load_free_templates(ld);
	return ld->closed == 0 && ld->nacked == 0 && ld->acked == ld->sent ? 0 : EXIT_MISMATCH;
}

/* One frame on a fresh connection, answered, closed: the cost of setting up
 * a relayed connection (and its tunnel) end to end. */
static bool one_exchange(struct load *ld, int tmo, uint64_t *nbytes)
{
	const char *why;
	int fd = dial(&ld->ss, ld->sslen, tmo, &why);
	if (fd < 0)
		return false;
	struct lconn c = { .fd = fd };
	bool ok = lconn_queue(ld, &c, now_ms()) && write_all(fd, c.out.data, c.out.len, tmo);
	*nbytes = c.out.len;
	struct hdr_view h;
	size_t total = 0;
	ok = ok && wait_frame(fd, &c.in, tmo, &h, &total) == WAIT_ANSWER &&
	     (h.flags & JMSG_FLAG_RESPONSE) && h.type != 0x0002;
	close(fd);
	buf_free(&c.in);
	buf_free(&c.out);
	return ok;
}

static int run_connect_rate(struct load *ld)
{
	int tmo = (int)(ld->timeout_s * 1000);
	uint64_t ok = 0, failed = 0, nbytes;

	if (!load_templates(ld))
		return EXIT_LOCAL;
	double start = mono_s();
	while (!load_done(ld, start)) {
		if (one_exchange(ld, tmo, &nbytes))
			ok++;
		else
			failed++;
	}
	double secs = mono_s() - start;
	printf("{\"mode\":\"connect\",\"seconds\":%.3f,\"connections\":%" PRIu64 ",\"failed\":%"
	       PRIu64 ",\"connections_per_s\":%.1f}\n", secs, ok, failed,
	       secs > 0 ? (double)ok / secs : 0);
	load_free_templates(ld);
	return failed == 0 && ok > 0 ? 0 : EXIT_MISMATCH;
}

/* Open N connections, one answered frame each, then keep them idle: for
 * memory per idle tunnel and for connection limits. Prints a line once all
 * are up (a script waits for it), then holds. */
static int run_idle(struct load *ld)
{
	int tmo = (int)(ld->timeout_s * 1000);
	struct lconn *c = calloc(ld->idle, sizeof(*c));
	uint64_t up = 0, failed = 0;

	if (c == NULL || !load_templates(ld))
		return EXIT_LOCAL;
	for (uint64_t i = 0; i < ld->idle && !stop_requested; i++) {
		const char *why;
		c[i].fd = dial(&ld->ss, ld->sslen, tmo, &why);
		struct hdr_view h;
		size_t total = 0;
		bool ok = c[i].fd >= 0 && lconn_queue(ld, &c[i], now_ms()) &&
			  write_all(c[i].fd, c[i].out.data, c[i].out.len, tmo) &&
			  wait_frame(c[i].fd, &c[i].in, tmo, &h, &total) == WAIT_ANSWER &&
			  (h.flags & JMSG_FLAG_RESPONSE) && h.type != 0x0002;
		if (ok) {
			up++;
		} else {
			failed++;
			if (c[i].fd >= 0)
				close(c[i].fd);
			c[i].fd = -1;
		}
	}
	printf("{\"mode\":\"idle\",\"requested\":%" PRIu64 ",\"up\":%" PRIu64 ",\"failed\":%"
	       PRIu64 "}\n", ld->idle, up, failed);
	fflush(stdout);
	double start = mono_s();
	uint64_t closed = 0;
	while (!stop_requested && mono_s() - start < ld->hold_s)
		usleep(50000);
	for (uint64_t i = 0; i < ld->idle; i++) {
		if (c[i].fd < 0)
			continue;
		char b;
		if (recv(c[i].fd, &b, 1, MSG_DONTWAIT | MSG_PEEK) == 0)
			closed++;
		close(c[i].fd);
		buf_free(&c[i].in);
		buf_free(&c[i].out);
	}
	printf("{\"mode\":\"idle-end\",\"held_s\":%.1f,\"closed_by_peer\":%" PRIu64 "}\n",
	       mono_s() - start, closed);
	free(c);
	load_free_templates(ld);
	return failed == 0 ? 0 : EXIT_MISMATCH;
}

static int cmd_load(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		{ "duration", required_argument, NULL, 'd' },
		{ "frames", required_argument, NULL, 'n' },
		{ "mix", required_argument, NULL, 'x' },
		{ "window", required_argument, NULL, 'w' },
		{ "conns", required_argument, NULL, 'C' },
		{ "connect-only", no_argument, NULL, 'O' },
		{ "idle", required_argument, NULL, 'D' },
		{ "hold", required_argument, NULL, 'H' },
		{ "timeout", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	struct load *ld = calloc(1, sizeof(*ld));
	int o, rc;

	if (ld == NULL)
		return EXIT_LOCAL;
	gen_defaults(&ld->gen);
	ld->window = 64;
	ld->conns = 1;
	ld->timeout_s = 10;
	ld->realistic = true;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		bool ok = true, reported = false;
		switch (o) {
		case 'd': ok = parse_double(optarg, 0.1, 86400, &ld->duration_s); break;
		case 'n': ok = parse_u64(optarg, 1, UINT64_MAX / 2, &ld->frames_max); break;
		case 'x':
			ld->realistic = strcmp(optarg, "realistic") == 0;
			if (!ld->realistic) {
				ok = common_opt('y', optarg, &ld->gen, &ld->ss, &ld->sslen, &ld->connect_text);
				reported = true;
			}
			break;
		case 'w': ok = parse_u64(optarg, 1, 100000, &ld->window); break;
		case 'C': ok = parse_u64(optarg, 1, LOAD_MAX_CONNS, &ld->conns); break;
		case 'O': ld->connect_only = true; break;
		case 'D': ok = parse_u64(optarg, 1, 100000, &ld->idle); break;
		case 'H': ok = parse_double(optarg, 0, 86400, &ld->hold_s); break;
		case 'T': ok = parse_double(optarg, 0.1, 3600, &ld->timeout_s); break;
		case '?': ok = false; reported = true; break;   /* getopt said why */
		default:
			if (o == 'y')
				ld->realistic = false;
			ok = common_opt(o, optarg, &ld->gen, &ld->ss, &ld->sslen, &ld->connect_text);
			reported = true;
		}
		if (!ok) {
			if (!reported)
				fprintf(stderr, "jgw-node load: value out of range: `%s'\n", optarg);
			free(ld);
			return EXIT_USAGE;
		}
	}
	if (ld->connect_text == NULL || ld->gen.from[0] == '\0' || ld->gen.to[0] == '\0' ||
	    (ld->idle == 0 && ld->duration_s == 0 && ld->frames_max == 0) ||
	    (!ld->realistic && ld->gen.type == NULL)) {
		fprintf(stderr, "jgw-node load: --connect, --from, --to and --duration, --frames "
			"or --idle are required\n");
		free(ld);
		return EXIT_USAGE;
	}
	pick_lgcode(&ld->gen);
	install_signals();
	if (ld->idle > 0)
		rc = run_idle(ld);
	else if (ld->connect_only)
		rc = run_connect_rate(ld);
	else
		rc = run_throughput(ld);
	free(ld);
	return rc;
}

/* ------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr,
		"usage: jgw-node serve --listen ADDR:PORT --node CODE [--answer ack|nack|none] [--quiet]\n"
		"       jgw-node send --connect ADDR:PORT --from CODE --to CODE --type NAME\n"
		"                [--count N] [--records N] [--expect ack|close|refused|dropped] [--bad KIND]\n"
		"                [--spoof CODE] [--interval MS] [--hold S] [--timeout S] [--marker TEXT]\n"
		"       jgw-node load --connect ADDR:PORT --from CODE --to CODE\n"
		"                (--duration S | --frames N | --idle N --hold S | --connect-only --duration S)\n"
		"                [--mix realistic|TYPE] [--records N] [--window N] [--conns N]\n"
		"       jgw-node frame --from CODE --to CODE --type NAME [--count N] [--records N]\n"
		"                [--bad KIND] [--spoof CODE] [--marker TEXT] >FILE\n"
		"       jgw-node types\n"
		"       jgw-node --version\n"
		"--bad KIND: check-digit sender unsolicited direction tlv-order magic flags seq skew\n"
		"            oversize truncated\n");
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		usage();
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "--version") == 0) {
		printf("jgw-node %s\n", JGW_VERSION);
		return 0;
	}
	argc--;
	argv++;
	if (strcmp(cmd, "serve") == 0)
		return cmd_serve(argc, argv);
	if (strcmp(cmd, "send") == 0)
		return cmd_send(argc, argv);
	if (strcmp(cmd, "load") == 0)
		return cmd_load(argc, argv);
	if (strcmp(cmd, "frame") == 0)
		return cmd_frame(argc, argv);
	if (strcmp(cmd, "types") == 0) {
		for (size_t i = 0; i < NTYPES; i++)
			printf("0x%04x %s\n", ntypes[i].code, ntypes[i].name);
		return 0;
	}
	usage();
	return EXIT_USAGE;
}
