/*
 * nftlog.c — the NFLOG group of the gateway's drop rules, read with libmnl
 * (raw nfnetlink_log) and summarised per interval by (rule, source prefix,
 * protocol) with the destination ports as a range (nft.h). Only packet
 * headers are looked at; the kernel copies at most COPY_RANGE bytes of each
 * packet to us.
 *
 * Memory and work are bounded whatever arrives: a fixed table of keys, a
 * fixed table of distinct-value fingerprints (ports and sources per key),
 * probe lengths capped, and at most NFTLOG_TOP + 1 summaries per interval.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>

#include "filters/firewall/nft_int.h"

#define COPY_RANGE 128           /* IPv6 header + TCP header fit */
#define LOG_RCVBUF (4u << 20)
#define READ_BUDGET 256          /* datagrams per nft_log_read call */

/* Table sizes; the fuzzer makes them small to reach the full-table paths. */
#ifndef NFTLOG_KEYS
#define NFTLOG_KEYS NFT_LOG_KEYS
#endif
#ifndef NFTLOG_TOP
#define NFTLOG_TOP NFT_LOG_TOP
#endif
/* Distinct values ((key, port), (key, source), keys of the rest) one
 * interval can tell apart: 3/4 of the slots, 196,608 (three full port
 * scans) in 2 MiB. */
#ifndef NFTLOG_SEEN_SLOTS
#define NFTLOG_SEEN_SLOTS (1u << 18)
#endif
#define NFTLOG_INDEX (NFTLOG_KEYS * 2)          /* open addressing, half full */
#define NFTLOG_SEEN_MAX (NFTLOG_SEEN_SLOTS / 4 * 3)
#define NFTLOG_PROBES 64         /* longest probe: bounded work per packet */

_Static_assert((NFTLOG_INDEX & (NFTLOG_INDEX - 1)) == 0, "index size: a power of two");
_Static_assert((NFTLOG_SEEN_SLOTS & (NFTLOG_SEEN_SLOTS - 1)) == 0,
	       "seen size: a power of two");
_Static_assert(NFTLOG_KEYS < 65535, "key numbers fit the 16-bit index");

/* One key of the interval. */
struct nftlog_key {
	struct nft_drop d;           /* rule, src (the prefix), proto; the counts */
	uint64_t h;                  /* keyed hash of (rule, prefix, proto) */
	uint8_t first[16];           /* the first source address seen */
	bool any_port;               /* d.dst_port..dst_port_max is set */
	bool top;                    /* chosen for the flush */
};

/* Kinds of distinct values, mixed into their fingerprints. */
enum { SEEN_PORT = 1, SEEN_SRC, SEEN_KEY };

struct nft_log {
	struct mnl_socket *sock;
	uint32_t portid;
	uint16_t group;
	uint64_t overruns;
	uint64_t seed;               /* keys the hashes: sources cannot aim at slots */
	/* What the interval took in: the summaries add up to it. */
	uint64_t in_packets, in_bytes;
	size_t n_keys;
	uint16_t index[NFTLOG_INDEX];          /* 0: free, else key number + 1 */
	struct nftlog_key keys[NFTLOG_KEYS];
	struct nftlog_key rest;                /* keys the table had no room for */
	bool capped;                           /* a distinct value went uncounted */
	size_t n_seen;
	uint64_t seen[NFTLOG_SEEN_SLOTS];      /* fingerprints; 0: free */
};

static int nflog_config(struct nft_log *log, const void *attr, uint16_t type,
			uint16_t len, char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;
	static uint32_t seq;

	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof *nfg);
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(log->group);
	mnl_attr_put(nlh, type, len, attr);
	if (mnl_socket_sendto(log->sock, nlh, nlh->nlmsg_len) < 0)
		goto fail;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(log->sock, buf, sizeof buf);
		if (n < 0)
			goto fail;
		int ret = mnl_cb_run(buf, (size_t)n, seq, log->portid, NULL, NULL);
		if (ret < 0)
			goto fail;
		if (ret == MNL_CB_STOP)
			return 0;
	}
fail:
	snprintf(err, errlen, "NFLOG group %u: %s%s", log->group, strerror(errno),
		 errno == EBUSY ? " (another listener holds the group)" : "");
	return -1;
}

struct nft_log *nft_log_open(uint16_t group, char *err, size_t errlen)
{
	struct nft_log *log = calloc(1, sizeof *log);
	struct nfulnl_msg_config_cmd cmd = { .command = NFULNL_CFG_CMD_BIND };
	struct nfulnl_msg_config_mode mode = { .copy_range = htonl(COPY_RANGE),
					       .copy_mode = NFULNL_COPY_PACKET };
	uint32_t qthresh = htonl(64), timeout = htonl(10); /* 1/100 s */
	int buf = (int)LOG_RCVBUF;

	if (!log) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	log->group = group;
	if (getrandom(&log->seed, sizeof log->seed, GRND_NONBLOCK) != sizeof log->seed)
		log->seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)log;
	log->sock = mnl_socket_open(NETLINK_NETFILTER);
	if (!log->sock || mnl_socket_bind(log->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, errlen, "NFLOG socket: %s", strerror(errno));
		nft_log_close(log);
		return NULL;
	}
	log->portid = mnl_socket_get_portid(log->sock);
	int fd = mnl_socket_get_fd(log->sock);
	/* A burst of drops must not be lost silently: a big buffer, and any
	 * overrun that still happens is counted. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
	if (nflog_config(log, &cmd, NFULA_CFG_CMD, sizeof cmd, err, errlen) < 0 ||
	    nflog_config(log, &mode, NFULA_CFG_MODE, sizeof mode, err, errlen) < 0 ||
	    nflog_config(log, &qthresh, NFULA_CFG_QTHRESH, sizeof qthresh, err, errlen) < 0 ||
	    nflog_config(log, &timeout, NFULA_CFG_TIMEOUT, sizeof timeout, err, errlen) < 0) {
		nft_log_close(log);
		return NULL;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		snprintf(err, errlen, "NFLOG socket: %s", strerror(errno));
		nft_log_close(log);
		return NULL;
	}
	return log;
}

int nft_log_fd(const struct nft_log *log)
{
	return log ? mnl_socket_get_fd(log->sock) : -1;
}

uint64_t nft_log_overruns(const struct nft_log *log)
{
	return log ? log->overruns : 0;
}

uint64_t nft_log_packets(const struct nft_log *log)
{
	return log ? log->in_packets : 0;
}

void nft_log_close(struct nft_log *log)
{
	if (!log)
		return;
	if (log->sock)
		mnl_socket_close(log->sock);   /* the kernel unbinds the group */
	free(log);
}

/* ---- aggregation -------------------------------------------------------- */

/* murmur3's finaliser: every input bit reaches every output bit. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static uint64_t hash_bytes(uint64_t h, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = 0;
		memcpy(&v, p + i, len - i < 8 ? len - i : 8);
		h = mix64(h ^ (v * 0x9e3779b97f4a7c15ull));
	}
	return h;
}

static uint64_t key_hash(uint64_t seed, const struct nft_drop *d)
{
	uint64_t h = hash_bytes(seed, (const uint8_t *)d->rule, sizeof d->rule);
	h = hash_bytes(h, d->src.addr, sizeof d->src.addr);
	return mix64(h ^ ((uint64_t)d->src.family << 16 | (uint64_t)d->src.len << 8 | d->proto));
}

static bool key_eq(const struct nftlog_key *a, const struct nftlog_key *b)
{
	return a->h == b->h && a->d.proto == b->d.proto && a->d.src.family == b->d.src.family &&
	       memcmp(a->d.src.addr, b->d.src.addr, 16) == 0 &&
	       memcmp(a->d.rule, b->d.rule, sizeof a->d.rule) == 0;
}

/* Is this value new in the interval? Values are kept as 64-bit
 * fingerprints: even a full table takes two values for one with a chance of
 * about one in a billion. A value that finds no room is not counted, and
 * the interval is capped. */
static bool seen_new(struct nft_log *log, uint64_t h, int kind, const uint8_t *v, size_t len)
{
	uint64_t fp = hash_bytes(mix64(h ^ (uint64_t)kind), v, len);
	size_t i = fp & (NFTLOG_SEEN_SLOTS - 1);

	fp += !fp;                   /* 0 marks a free slot */
	for (int n = 0; n < NFTLOG_PROBES; n++, i = (i + 1) & (NFTLOG_SEEN_SLOTS - 1)) {
		if (log->seen[i] == fp)
			return false;
		if (log->seen[i] == 0) {
			if (log->n_seen >= NFTLOG_SEEN_MAX)
				break;
			log->seen[i] = fp;
			log->n_seen++;
			return true;
		}
	}
	log->capped = true;
	return false;
}

/* The entry of key k: found, or made; NULL when the table has no room. */
static struct nftlog_key *key_slot(struct nft_log *log, const struct nftlog_key *k)
{
	size_t i = k->h & (NFTLOG_INDEX - 1);

	for (int n = 0; n < NFTLOG_PROBES; n++, i = (i + 1) & (NFTLOG_INDEX - 1)) {
		uint16_t e = log->index[i];
		if (e != 0 && key_eq(&log->keys[e - 1], k))
			return &log->keys[e - 1];
		if (e == 0) {
			if (log->n_keys >= NFTLOG_KEYS)
				return NULL;
			log->keys[log->n_keys] = *k;
			log->index[i] = (uint16_t)++log->n_keys;
			return &log->keys[log->n_keys - 1];
		}
	}
	return NULL;
}

static void port_range(struct nftlog_key *e, uint16_t port)
{
	if (!e->any_port || port < e->d.dst_port)
		e->d.dst_port = port;
	if (!e->any_port || port > e->d.dst_port_max)
		e->d.dst_port_max = port;
	e->any_port = true;
}

/* A dropped packet: k holds rule, full source address and protocol. */
static void account(struct nft_log *log, struct nftlog_key *k, bool has_port, uint16_t port,
		    uint64_t bytes)
{
	int alen = (int)addr_bytes(k->d.src.family);
	uint8_t plen = k->d.src.family == AF_INET ? NFT_LOG_PREFIX4 : NFT_LOG_PREFIX6;
	uint8_t p[2] = { (uint8_t)(port >> 8), (uint8_t)port };
	struct nftlog_key *e;

	memcpy(k->first, k->d.src.addr, 16);
	for (int bit = plen; bit < alen * 8; bit++)
		k->d.src.addr[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
	k->d.src.len = plen;
	k->h = key_hash(log->seed, &k->d);
	log->in_packets++;
	log->in_bytes += bytes;
	e = key_slot(log, k);
	if (!e) {
		/* No room: the packet still counts, in the rest, and so does its
		 * key (once) with its ports and sources. */
		e = &log->rest;
		e->d.keys += seen_new(log, k->h, SEEN_KEY, NULL, 0);
	}
	e->d.packets++;
	e->d.bytes += bytes;
	e->d.sources += seen_new(log, k->h, SEEN_SRC, k->first, 16);
	if (has_port) {
		port_range(e, port);
		e->d.ports += seen_new(log, k->h, SEEN_PORT, p, sizeof p);
	}
}

/* Source, protocol and destination port from the copied headers. */
static bool parse_packet(int nfproto, const uint8_t *p, size_t len, struct nft_drop *k,
			 bool *has_port, uint64_t *bytes)
{
	size_t l4off;
	uint8_t proto;

	if (nfproto == NFPROTO_IPV4) {
		if (len < 20 || (p[0] >> 4) != 4)
			return false;
		l4off = (size_t)(p[0] & 0x0f) * 4;
		if (l4off < 20)
			return false;
		proto = p[9];
		k->src.family = AF_INET;
		memcpy(k->src.addr, p + 12, 4);
		k->src.len = 32;
		*bytes = ((uint64_t)p[2] << 8) | p[3];
		/* a fragment after the first has no transport header */
		if (((p[6] & 0x1f) | p[7]) != 0)
			l4off = SIZE_MAX;
	} else if (nfproto == NFPROTO_IPV6) {
		if (len < 40 || (p[0] >> 4) != 6)
			return false;
		l4off = 40;        /* extension headers: protocol is named, no port */
		proto = p[6];
		k->src.family = AF_INET6;
		memcpy(k->src.addr, p + 8, 16);
		k->src.len = 128;
		*bytes = (((uint64_t)p[4] << 8) | p[5]) + 40;
	} else {
		return false;
	}
	k->proto = proto;
	*has_port = (proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP) &&
		    l4off != SIZE_MAX && l4off + 4 <= len;
	if (*has_port)
		k->dst_port = (uint16_t)((p[l4off + 2] << 8) | p[l4off + 3]);
	return true;
}

static int attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(a);
	if (mnl_attr_type_valid(a, NFULA_MAX) > 0)
		tb[type] = a;
	return MNL_CB_OK;
}

static int packet_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nft_log *log = data;
	const struct nlattr *tb[NFULA_MAX + 1] = { 0 };
	const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
	struct nftlog_key k;
	uint64_t bytes = 0;
	bool has_port = false;
	uint16_t port;

	if (NFNL_MSG_TYPE(nlh->nlmsg_type) != NFULNL_MSG_PACKET ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof *nfg)
		return MNL_CB_OK;
	if (mnl_attr_parse(nlh, sizeof *nfg, attr_cb, tb) < 0 || !tb[NFULA_PAYLOAD])
		return MNL_CB_OK;
	memset(&k, 0, sizeof k);
	if (tb[NFULA_PREFIX]) {
		const char *pfx = mnl_attr_get_payload(tb[NFULA_PREFIX]);
		size_t n = strnlen(pfx, mnl_attr_get_payload_len(tb[NFULA_PREFIX]));
		if (n >= sizeof k.d.rule)
			n = sizeof k.d.rule - 1;
		memcpy(k.d.rule, pfx, n);
	}
	if (!parse_packet(nfg->nfgen_family, mnl_attr_get_payload(tb[NFULA_PAYLOAD]),
			  mnl_attr_get_payload_len(tb[NFULA_PAYLOAD]), &k.d, &has_port, &bytes))
		return MNL_CB_OK;
	port = k.d.dst_port;
	k.d.dst_port = 0;          /* the key's port range starts empty */
	account(log, &k, has_port, port, bytes);
	return MNL_CB_OK;
}

int nft_log_read(struct nft_log *log)
{
	char buf[MNL_SOCKET_BUFFER_SIZE * 8];
	int msgs = 0;

	if (!log)
		return -1;
	/* Bounded per call, so that a flood of drops cannot hold an event
	 * loop: what is left keeps the descriptor readable. */
	while (msgs < READ_BUDGET) {
		ssize_t n = recv(mnl_socket_get_fd(log->sock), buf, sizeof buf, 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return msgs;
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				/* the kernel dropped log messages: count, go on */
				log->overruns++;
				continue;
			}
			return -1;
		}
		/* seq 0: these are events, not replies */
		if (mnl_cb_run(buf, (size_t)n, 0, 0, packet_cb, log) < 0 && errno != ENOENT)
			continue;
		msgs++;
	}
	return msgs;
}

/* ---- flush ---------------------------------------------------------------- */

/* Mark the NFTLOG_TOP keys with the most packets (the first seen wins a
 * tie); their numbers, most packets first, into top. */
static size_t choose_top(struct nft_log *log, size_t top[NFTLOG_TOP])
{
	size_t n = 0;

	for (size_t i = 0; i < log->n_keys; i++) {
		uint64_t p = log->keys[i].d.packets;
		size_t at = n;
		while (at > 0 && log->keys[top[at - 1]].d.packets < p)
			at--;
		if (at >= NFTLOG_TOP)
			continue;
		if (n < NFTLOG_TOP)
			n++;
		memmove(&top[at + 1], &top[at], (n - 1 - at) * sizeof top[0]);
		top[at] = i;
	}
	for (size_t i = 0; i < n; i++)
		log->keys[top[i]].top = true;
	return n;
}

/* A key not in the top goes into the rest. */
static void fold_into_rest(struct nftlog_key *rest, const struct nftlog_key *e)
{
	rest->d.packets += e->d.packets;
	rest->d.bytes += e->d.bytes;
	rest->d.ports += e->d.ports;
	rest->d.sources += e->d.sources;
	rest->d.keys++;
	if (e->any_port) {
		port_range(rest, e->d.dst_port);
		port_range(rest, e->d.dst_port_max);
	}
}

/* The summary of a top key: a single source is named as itself. */
static void hand_out(const struct nft_log *log, struct nftlog_key *e, nft_drop_fn fn,
		     void *arg)
{
	e->d.keys = 1;
	e->d.capped = log->capped;
	if (e->d.sources == 1 && !log->capped) {
		memcpy(e->d.src.addr, e->first, 16);
		e->d.src.len = (uint8_t)((int)addr_bytes(e->d.src.family) * 8);
	}
	fn(arg, &e->d);
}

static void reset(struct nft_log *log)
{
	memset(log->index, 0, sizeof log->index);
	memset(&log->rest, 0, sizeof log->rest);
	if (log->n_seen)
		memset(log->seen, 0, sizeof log->seen);
	log->n_keys = 0;
	log->n_seen = 0;
	log->capped = false;
	log->in_packets = 0;
	log->in_bytes = 0;
}

void nft_log_flush(struct nft_log *log, nft_drop_fn fn, void *arg)
{
	size_t top[NFTLOG_TOP], n_top;

	if (!log)
		return;
	n_top = choose_top(log, top);
	for (size_t i = 0; i < log->n_keys; i++)
		if (!log->keys[i].top)
			fold_into_rest(&log->rest, &log->keys[i]);
	for (size_t i = 0; fn && i < n_top; i++)
		hand_out(log, &log->keys[top[i]], fn, arg);
	if (log->rest.d.packets && fn) {
		snprintf(log->rest.d.rule, sizeof log->rest.d.rule, "%s", NFT_LOG_REST);
		log->rest.d.capped = log->capped;
		fn(arg, &log->rest.d);
	}
	reset(log);
}
