/*
 * nftlog.c — the NFLOG group of the gateway's drop rules, read with libmnl
 * (raw nfnetlink_log) and summarised per interval by (rule, source,
 * protocol, destination port). Only packet headers are looked at; the
 * kernel copies at most COPY_RANGE bytes of each packet to us.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>

#include "filters/nft_int.h"

#define COPY_RANGE 128           /* IPv6 header + TCP header fit */
#define LOG_RCVBUF (4u << 20)
#define SLOTS (NFT_LOG_KEYS * 2) /* open addressing, at most half full */
#define READ_BUDGET 256          /* datagrams per nft_log_read call */

struct nft_log {
	struct mnl_socket *sock;
	uint32_t portid;
	uint16_t group;
	uint64_t overruns;
	size_t n_keys;
	struct nft_drop overflow;    /* drops of keys beyond NFT_LOG_KEYS */
	struct nft_drop slot[SLOTS]; /* packets == 0: free */
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

void nft_log_close(struct nft_log *log)
{
	if (!log)
		return;
	if (log->sock)
		mnl_socket_close(log->sock);   /* the kernel unbinds the group */
	free(log);
}

static uint32_t key_hash(const struct nft_drop *d)
{
	uint32_t h = 2166136261u;
	const uint8_t *parts[3] = { (const uint8_t *)d->rule, d->src.addr, NULL };
	size_t lens[2] = { strnlen(d->rule, sizeof d->rule), 16 };

	for (int p = 0; p < 2; p++)
		for (size_t i = 0; i < lens[p]; i++)
			h = (h ^ parts[p][i]) * 16777619u;
	h = (h ^ d->proto) * 16777619u;
	h = (h ^ d->dst_port) * 16777619u;
	return h;
}

static bool key_eq(const struct nft_drop *a, const struct nft_drop *b)
{
	return a->proto == b->proto && a->dst_port == b->dst_port &&
	       a->src.family == b->src.family && memcmp(a->src.addr, b->src.addr, 16) == 0 &&
	       strncmp(a->rule, b->rule, sizeof a->rule) == 0;
}

static void account(struct nft_log *log, const struct nft_drop *k, uint64_t bytes)
{
	uint32_t i = key_hash(k) % SLOTS;

	for (;; i = (i + 1) % SLOTS) {
		struct nft_drop *s = &log->slot[i];
		if (s->packets == 0) {
			if (log->n_keys >= NFT_LOG_KEYS) {
				/* Bounded: the rest of the interval is one entry. */
				if (log->overflow.packets == 0)
					snprintf(log->overflow.rule, sizeof log->overflow.rule,
						 "overflow");
				log->overflow.packets++;
				log->overflow.bytes += bytes;
				return;
			}
			*s = *k;
			s->packets = 1;
			s->bytes = bytes;
			log->n_keys++;
			return;
		}
		if (key_eq(s, k)) {
			s->packets++;
			s->bytes += bytes;
			return;
		}
	}
}

/* Source, protocol and destination port from the copied headers. */
static bool parse_packet(int nfproto, const uint8_t *p, size_t len, struct nft_drop *k,
			 uint64_t *bytes)
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
	if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP) &&
	    l4off != SIZE_MAX && l4off + 4 <= len)
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
	struct nft_drop k;
	uint64_t bytes = 0;

	if (NFNL_MSG_TYPE(nlh->nlmsg_type) != NFULNL_MSG_PACKET ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof *nfg)
		return MNL_CB_OK;
	if (mnl_attr_parse(nlh, sizeof *nfg, attr_cb, tb) < 0 || !tb[NFULA_PAYLOAD])
		return MNL_CB_OK;
	memset(&k, 0, sizeof k);
	if (tb[NFULA_PREFIX]) {
		const char *pfx = mnl_attr_get_payload(tb[NFULA_PREFIX]);
		size_t n = strnlen(pfx, mnl_attr_get_payload_len(tb[NFULA_PREFIX]));
		if (n >= sizeof k.rule)
			n = sizeof k.rule - 1;
		memcpy(k.rule, pfx, n);
	}
	if (!parse_packet(nfg->nfgen_family, mnl_attr_get_payload(tb[NFULA_PAYLOAD]),
			  mnl_attr_get_payload_len(tb[NFULA_PAYLOAD]), &k, &bytes))
		return MNL_CB_OK;
	account(log, &k, bytes);
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

void nft_log_flush(struct nft_log *log, nft_drop_fn fn, void *arg)
{
	if (!log)
		return;
	for (size_t i = 0; i < SLOTS; i++) {
		if (log->slot[i].packets == 0)
			continue;
		if (fn)
			fn(arg, &log->slot[i]);
		memset(&log->slot[i], 0, sizeof log->slot[i]);
	}
	if (log->overflow.packets && fn)
		fn(arg, &log->overflow);
	memset(&log->overflow, 0, sizeof log->overflow);
	log->n_keys = 0;
}
