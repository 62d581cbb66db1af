/*
 * nft.c — the gateway's table in the kernel, over netlink (libnftnl +
 * libmnl): one batch per change, errors mapped back to the command that
 * caused them, quarantine elements, counters.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/gen.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "filters/firewall/nft_int.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

/* nft's datatype numbers, needed for set key types so that `nft list`
 * shows the elements as addresses, protocols and ports. */
#define DT_IPADDR   7
#define DT_IP6ADDR  8
#define DT_INET_PROTO 12
#define DT_INET_SERVICE 13
#define DT_BITS 6

#define ELEMS_PER_MSG 128       /* keeps each message well under 64 KiB */
#define SOCK_BUF (8u << 20)

/* ---- netlink plumbing --------------------------------------------------- */

struct nl {
	struct mnl_socket *sock;
	uint32_t portid;
	uint32_t seq;
	int error;           /* errno of the last failed nl_talk */
};

static int nl_open(struct nl *nl, char *err, size_t errlen)
{
	int one = 1, buf = (int)SOCK_BUF;

	nl->sock = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl->sock) {
		snprintf(err, errlen, "netlink socket: %s", strerror(errno));
		return -1;
	}
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, errlen, "netlink bind: %s", strerror(errno));
		mnl_socket_close(nl->sock);
		return -1;
	}
	/* Extended ACK names the failing attribute; capped ACKs keep error
	 * replies small so that many errors do not overrun the socket. */
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof one);
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof one);
	int fd = mnl_socket_get_fd(nl->sock);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = 1;
	return 0;
}

static void nl_close(struct nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
}

/* Send one request and run cb on every reply until the kernel is done. */
static int nl_talk(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data,
		   char *err, size_t errlen, const char *what)
{
	char buf[MNL_SOCKET_BUFFER_SIZE * 4];
	uint32_t seq = nlh->nlmsg_seq;
	int ret;

	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0) {
		nl->error = errno;
		snprintf(err, errlen, "%s: send: %s", what, strerror(nl->error));
		return -1;
	}
	for (;;) {
		ret = (int)mnl_socket_recvfrom(nl->sock, buf, sizeof buf);
		if (ret < 0) {
			nl->error = errno;
			snprintf(err, errlen, "%s: receive: %s", what, strerror(nl->error));
			return -1;
		}
		ret = mnl_cb_run(buf, (size_t)ret, seq, nl->portid, cb, data);
		if (ret < 0) {
			nl->error = errno;
			snprintf(err, errlen, "%s: %s", what, strerror(nl->error));
			return -1;
		}
		if (ret == MNL_CB_STOP)
			return 0;
	}
}

static int gen_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_gen *gen = nftnl_gen_alloc();
	if (!gen)
		return MNL_CB_ERROR;
	if (nftnl_gen_nlmsg_parse(nlh, gen) == 0)
		*(uint32_t *)data = nftnl_gen_get_u32(gen, NFTNL_GEN_ID);
	nftnl_gen_free(gen);
	return MNL_CB_OK;
}

/* The ruleset generation: it moves on every committed transaction. */
static int nl_get_gen(struct nl *nl, uint32_t *gen, char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC,
						     NLM_F_ACK, nl->seq++);
	return nl_talk(nl, nlh, gen_cb, gen, err, errlen, "get generation");
}

/* ---- batches ------------------------------------------------------------ */

struct batch {
	struct nftnl_batch *b;
	uint32_t seq0, next;
	char (*desc)[64];            /* what each numbered command does */
	size_t cap, n_desc;
	uint32_t last_cmd;           /* seq of the last command (it asks for an ACK) */
};

static void batch_free(struct batch *bt);

/* Name command number idx (its seq minus the first seq of the batch). */
static bool desc_set(struct batch *bt, size_t idx, const char *what)
{
	if (idx >= bt->cap) {
		size_t cap = bt->cap ? bt->cap * 2 : 64;
		while (cap <= idx)
			cap *= 2;
		void *p = realloc(bt->desc, cap * sizeof *bt->desc);
		if (!p)
			return false;
		bt->desc = p;
		bt->cap = cap;
	}
	snprintf(bt->desc[idx], sizeof bt->desc[idx], "%s", what);
	if (idx >= bt->n_desc)
		bt->n_desc = idx + 1;
	return true;
}

static int batch_init(struct batch *bt, struct nl *nl)
{
	memset(bt, 0, sizeof *bt);
	bt->b = nftnl_batch_alloc((uint32_t)getpagesize() * 32, 65536 + (uint32_t)getpagesize());
	if (!bt->b || !desc_set(bt, 0, "batch begin")) {
		batch_free(bt);
		return -1;
	}
	bt->seq0 = nl->seq;
	bt->next = nl->seq;
	nftnl_batch_begin(nftnl_batch_buffer(bt->b), bt->next++);
	nftnl_batch_update(bt->b);
	return 0;
}

static void batch_free(struct batch *bt)
{
	if (bt->b)
		nftnl_batch_free(bt->b);
	free(bt->desc);
	memset(bt, 0, sizeof *bt);
}

/* Start a numbered command; desc names it in error reports. */
static struct nlmsghdr *batch_cmd(struct batch *bt, uint16_t type, uint16_t flags,
				  const char *desc)
{
	if (!desc_set(bt, bt->next - bt->seq0, desc))
		return NULL;
	bt->last_cmd = bt->next;
	return nftnl_nlmsg_build_hdr(nftnl_batch_buffer(bt->b), type, NFPROTO_INET,
				     flags, bt->next++);
}

static void batch_done_cmd(struct batch *bt)
{
	nftnl_batch_update(bt->b);
}

struct reply_state {
	struct batch *bt;
	uint32_t last_cmd;
	bool acked;
	int errors;
	char *err;
	size_t errlen;
};

/* Error replies carry the failing command's seq, and (extended ACK) a
 * message from the kernel. */
static void note_error(struct reply_state *rs, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const char *msg = NULL;
	size_t idx = e->msg.nlmsg_seq - rs->bt->seq0;
	const char *what = idx < rs->bt->n_desc ? rs->bt->desc[idx] : "batch";

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof *e))
		return;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		size_t off = sizeof *e;
		const struct nlattr *a;
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
		mnl_attr_for_each(a, nlh, off)
			if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
			    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
				msg = mnl_attr_get_str(a);
	}
	if (rs->errors++ == 0)
		snprintf(rs->err, rs->errlen, "command %u (%s): %s%s%s",
			 (unsigned)idx, what, strerror(-e->error), msg ? ": " : "",
			 msg ? msg : "");
}

static int batch_replies(struct nl *nl, struct reply_state *rs, bool *overrun)
{
	char buf[MNL_SOCKET_BUFFER_SIZE * 4];
	int fd = mnl_socket_get_fd(nl->sock);

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				*overrun = true;
				continue;
			}
			snprintf(rs->err, rs->errlen, "netlink receive: %s", strerror(errno));
			return -1;
		}
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int len = (int)n;
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			if (nlh->nlmsg_pid != nl->portid || nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
			if (e->error != 0)
				note_error(rs, nlh);
			else if (e->msg.nlmsg_seq == rs->last_cmd)
				rs->acked = true;
		}
	}
}

static int table_exists(struct nl *nl, const char *table);

/* Send the whole batch in one sendmsg: one transaction. The kernel handles
 * it inside sendmsg, so every reply is queued when sendmsg returns. */
static int batch_commit(struct nl *nl, struct batch *bt, const char *check_table,
			char *err, size_t errlen)
{
	struct reply_state rs = { .bt = bt, .last_cmd = bt->last_cmd, .err = err,
				  .errlen = errlen };
	struct sockaddr_nl snl = { .nl_family = AF_NETLINK };
	uint32_t gen0 = 0, gen1 = 0;
	bool overrun = false;
	int fd = mnl_socket_get_fd(nl->sock);

	if (!desc_set(bt, bt->next - bt->seq0, "batch end")) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	nftnl_batch_end(nftnl_batch_buffer(bt->b), bt->next++);
	nftnl_batch_update(bt->b);
	nl->seq = bt->next;

	if (nl_get_gen(nl, &gen0, err, errlen) < 0)
		return -1;

	int n_iov = nftnl_batch_iovec_len(bt->b);
	struct iovec *iov = calloc((size_t)n_iov, sizeof *iov);
	if (!iov) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	nftnl_batch_iovec(bt->b, iov, (uint32_t)n_iov);
	size_t total = 0;
	for (int i = 0; i < n_iov; i++)
		total += iov[i].iov_len;
	/* The batch is one datagram: the send buffer must hold it whole. */
	int sndbuf = (int)(total + 65536);
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
	struct msghdr msg = { .msg_name = &snl, .msg_namelen = sizeof snl,
			      .msg_iov = iov, .msg_iovlen = (size_t)n_iov };
	ssize_t sent;
	do
		sent = sendmsg(fd, &msg, 0);
	while (sent < 0 && errno == EINTR);
	free(iov);
	if (sent < 0) {
		snprintf(err, errlen, "netlink send of %zu-byte batch: %s", total,
			 strerror(errno));
		return -1;
	}
	if (batch_replies(nl, &rs, &overrun) < 0)
		return -1;
	if (rs.errors) {
		if (rs.errors > 1) {
			size_t l = strlen(err);
			snprintf(err + l, errlen - l, " (and %d more errors)", rs.errors - 1);
		}
		return -1;
	}
	if (rs.acked && !overrun)
		return 0;
	/* Replies were lost (ENOBUFS) or never came: the generation says
	 * whether a transaction was committed; do not guess, do not resend. */
	if (nl_get_gen(nl, &gen1, err, errlen) < 0)
		return -1;
	if (gen1 != gen0 && (!check_table || table_exists(nl, check_table) == 1))
		return 0;
	snprintf(err, errlen, "batch not confirmed (%s; generation %u unchanged)",
		 overrun ? "netlink replies overran" : "no acknowledgement", gen0);
	return -1;
}

/* ---- expressions -------------------------------------------------------- */

static struct nftnl_expr *expr(struct nftnl_rule *r, const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);
	if (e)
		nftnl_rule_add_expr(r, e);
	return e;
}

static bool e_meta(struct nftnl_rule *r, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = expr(r, "meta");
	if (!e)
		return false;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
	return true;
}

static bool e_cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = expr(r, "cmp");
	if (!e)
		return false;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	return true;
}

static bool e_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len,
		      uint32_t dreg)
{
	struct nftnl_expr *e = expr(r, "payload");
	if (!e)
		return false;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	return true;
}

static bool e_bitwise(struct nftnl_rule *r, const void *mask, uint32_t len)
{
	static const uint8_t zero[16];
	struct nftnl_expr *e = expr(r, "bitwise");
	if (!e)
		return false;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
	return true;
}

static bool e_lookup(struct nftnl_rule *r, const char *set)
{
	struct nftnl_expr *e = expr(r, "lookup");
	if (!e)
		return false;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	return true;
}

static bool e_nfproto(struct nftnl_rule *r, int family)
{
	uint8_t p = family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;
	return e_meta(r, NFT_META_NFPROTO, NFT_REG_1) && e_cmp(r, NFT_CMP_EQ, &p, 1);
}

static bool e_l4proto(struct nftnl_rule *r, uint8_t proto)
{
	return e_meta(r, NFT_META_L4PROTO, NFT_REG_1) && e_cmp(r, NFT_CMP_EQ, &proto, 1);
}

static bool e_saddr_load(struct nftnl_rule *r, int family)
{
	return family == AF_INET ? e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1)
				 : e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 8, 16, NFT_REG_1);
}

static struct nftnl_expr *e_limit(uint32_t rate, uint32_t burst, bool over)
{
	struct nftnl_expr *e = nftnl_expr_alloc("limit");
	if (!e)
		return NULL;
	nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_RATE, rate);
	nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_UNIT, 1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_BURST, burst);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_TYPE, NFT_LIMIT_PKTS);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_FLAGS, over ? NFT_LIMIT_F_INV : 0);
	return e;
}

static bool e_dynset(struct nftnl_rule *r, const struct nftp_rule *pr)
{
	struct nftnl_expr *inner, *e;

	if (pr->dyn == NFTP_DYN_RATE_OVER) {
		inner = e_limit(pr->dyn_value, pr->dyn_burst, true);
	} else {
		inner = nftnl_expr_alloc("connlimit");
		if (inner) {
			nftnl_expr_set_u32(inner, NFTNL_EXPR_CONNLIMIT_COUNT, pr->dyn_value);
			nftnl_expr_set_u32(inner, NFTNL_EXPR_CONNLIMIT_FLAGS, NFT_CONNLIMIT_F_INV);
		}
	}
	if (!inner || !e_saddr_load(r, pr->dyn_family) || !(e = expr(r, "dynset"))) {
		if (inner)
			nftnl_expr_free(inner);
		return false;
	}
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, pr->dyn == NFTP_DYN_RATE_OVER ?
			   NFT_DYNSET_OP_UPDATE : NFT_DYNSET_OP_ADD);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, NFT_REG_1);
	nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, pr->dyn_set);
	nftnl_expr_set(e, NFTNL_EXPR_DYNSET_EXPR, inner, 0);
	return true;
}

static bool e_addr_match(struct nftnl_rule *r, int family, const struct addr_prefix *p)
{
	uint32_t alen = (uint32_t)addr_bytes(family);
	uint8_t mask[16] = { 0 }, addr[16];

	if (!e_nfproto(r, family) ||
	    !e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, family == AF_INET ? 16 : 24, alen,
		       NFT_REG_1))
		return false;
	memcpy(addr, p->addr, 16);
	if (p->len < alen * 8) {
		for (int bit = 0; bit < p->len; bit++)
			mask[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
		if (!e_bitwise(r, mask, alen))
			return false;
	}
	return e_cmp(r, NFT_CMP_EQ, addr, alen);
}

/* ct direction original: the packet goes the way the flow's first packet
 * went (IP_CT_DIR_ORIGINAL is 0). No conntrack entry: no match. */
static bool e_ct_original(struct nftnl_rule *r)
{
	struct nftnl_expr *e = expr(r, "ct");
	uint8_t dir = 0;
	if (!e)
		return false;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_DIRECTION);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	return e_cmp(r, NFT_CMP_EQ, &dir, sizeof dir);
}

/* The same pieces, in the same order, as print_rule in nft_rules.c. */
static bool emit_rule(struct nftnl_rule *r, const struct nftp_rule *pr, uint16_t group)
{
	if (pr->iifname) {
		char name[IFNAMSIZ] = { 0 };
		snprintf(name, sizeof name, "%s", pr->iifname);
		if (!e_meta(r, NFT_META_IIFNAME, NFT_REG_1) ||
		    !e_cmp(r, NFT_CMP_EQ, name, sizeof name))
			return false;
	}
	if (pr->oifname) {
		char name[IFNAMSIZ] = { 0 };
		snprintf(name, sizeof name, "%s", pr->oifname);
		if (!e_meta(r, NFT_META_OIFNAME, NFT_REG_1) ||
		    !e_cmp(r, NFT_CMP_EQ, name, sizeof name))
			return false;
	}
	if (pr->iif_lo || pr->oif_lo) {
		uint32_t lo = 1;     /* the loopback device is ifindex 1 in every netns */
		if (!e_meta(r, pr->iif_lo ? NFT_META_IIF : NFT_META_OIF, NFT_REG_1) ||
		    !e_cmp(r, NFT_CMP_EQ, &lo, sizeof lo))
			return false;
	}
	if (pr->ct_original && !e_ct_original(r))
		return false;
	if (pr->daddr && !e_addr_match(r, pr->daddr_family, pr->daddr))
		return false;
	if (pr->l4proto) {
		uint16_t port = htons(pr->dport);
		if (!e_l4proto(r, pr->l4proto) ||
		    !e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1) ||
		    !e_cmp(r, NFT_CMP_EQ, &port, sizeof port))
			return false;
	}
	if (pr->saddr_set) {
		if (!e_nfproto(r, pr->saddr_family) || !e_saddr_load(r, pr->saddr_family) ||
		    !e_lookup(r, pr->saddr_set))
			return false;
	}
	if (pr->saddr) {
		if (!e_nfproto(r, pr->saddr_family) || !e_saddr_load(r, pr->saddr_family) ||
		    !e_cmp(r, NFT_CMP_EQ, pr->saddr->addr, (uint32_t)addr_bytes(pr->saddr_family)))
			return false;
	}
	if (pr->meta_l4proto && !e_l4proto(r, pr->meta_l4proto))
		return false;
	if (pr->concat_set) {
		bool v4 = pr->concat_family == AF_INET;
		/* 32-bit registers: the address fills 1 (4) or 4 (16) of them */
		uint32_t r_proto = v4 ? NFT_REG32_01 : NFT_REG32_04;
		if (!e_nfproto(r, pr->concat_family) ||
		    !e_payload(r, NFT_PAYLOAD_NETWORK_HEADER, v4 ? 16 : 24, v4 ? 4 : 16,
			       NFT_REG_1) ||
		    !e_meta(r, NFT_META_L4PROTO, r_proto) ||
		    !e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, r_proto + 1) ||
		    !e_lookup(r, pr->concat_set))
			return false;
	}
	if (pr->ct_state) {
		struct nftnl_expr *e = expr(r, "ct");
		uint32_t zero = 0;
		if (!e)
			return false;
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
		if (!e_bitwise(r, &pr->ct_state, sizeof pr->ct_state) ||
		    !e_cmp(r, NFT_CMP_NEQ, &zero, sizeof zero))
			return false;
	}
	if (pr->icmp_family) {
		if (!e_nfproto(r, pr->icmp_family) ||
		    !e_l4proto(r, pr->icmp_family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6) ||
		    !e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, NFT_REG_1) ||
		    !e_cmp(r, NFT_CMP_EQ, &pr->icmp_type, 1))
			return false;
	}
	if (pr->limit_rate) {
		struct nftnl_expr *e = e_limit(pr->limit_rate, pr->limit_burst, false);
		if (!e)
			return false;
		nftnl_rule_add_expr(r, e);
	}
	if (pr->dyn != NFTP_DYN_NONE && !e_dynset(r, pr))
		return false;
	if (pr->counter) {
		struct nftnl_expr *e = expr(r, "objref");
		if (!e)
			return false;
		nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_COUNTER);
		nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_IMM_NAME, pr->counter);
	}
	if (pr->log_prefix) {
		struct nftnl_expr *e = expr(r, "log");
		if (!e)
			return false;
		nftnl_expr_set_str(e, NFTNL_EXPR_LOG_PREFIX, pr->log_prefix);
		nftnl_expr_set_u16(e, NFTNL_EXPR_LOG_GROUP, group);
	}
	struct nftnl_expr *v = expr(r, "immediate");
	if (!v)
		return false;
	nftnl_expr_set_u32(v, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(v, NFTNL_EXPR_IMM_VERDICT, pr->accept ? NF_ACCEPT : NF_DROP);
	return true;
}

/* ---- building the table batch ------------------------------------------ */

static bool add_table_cmds(struct batch *bt, const char *name, bool recreate)
{
	static const struct { uint16_t type; uint16_t flags; const char *what; } steps[] = {
		{ NFT_MSG_NEWTABLE, NLM_F_CREATE, "add table (if missing)" },
		{ NFT_MSG_DELTABLE, 0, "delete table" },
		{ NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL, "add table" },
	};
	size_t n = recreate ? 3 : 2;

	for (size_t i = 0; i < n; i++) {
		struct nftnl_table *t = nftnl_table_alloc();
		struct nlmsghdr *nlh;
		if (!t)
			return false;
		nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
		nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
		nlh = batch_cmd(bt, steps[i].type, steps[i].flags, steps[i].what);
		if (!nlh) {
			nftnl_table_free(t);
			return false;
		}
		nftnl_table_nlmsg_build_payload(nlh, t);
		nftnl_table_free(t);
		batch_done_cmd(bt);
	}
	return true;
}

/* Counter values of the table being replaced: a reload does not reset
 * what `jgwctl stats` shows. */
struct ccarry {
	uint64_t packets[NFTP_N_COUNTERS], bytes[NFTP_N_COUNTERS];
};

static void ccarry_fn(void *arg, const char *name, uint64_t packets, uint64_t bytes)
{
	struct ccarry *c = arg;
	for (size_t i = 0; i < NFTP_N_COUNTERS; i++)
		if (strcmp(name, nftp_counters[i]) == 0) {
			c->packets[i] = packets;
			c->bytes[i] = bytes;
		}
}

static bool add_counters(struct batch *bt, const char *table, const struct ccarry *cc)
{
	for (size_t i = 0; i < NFTP_N_COUNTERS; i++) {
		struct nftnl_obj *o = nftnl_obj_alloc();
		char desc[64];
		if (!o)
			return false;
		nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, table);
		nftnl_obj_set_str(o, NFTNL_OBJ_NAME, nftp_counters[i]);
		nftnl_obj_set_u32(o, NFTNL_OBJ_FAMILY, NFPROTO_INET);
		nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
		nftnl_obj_set_u64(o, NFTNL_OBJ_CTR_PKTS, cc->packets[i]);
		nftnl_obj_set_u64(o, NFTNL_OBJ_CTR_BYTES, cc->bytes[i]);
		snprintf(desc, sizeof desc, "add counter %s", nftp_counters[i]);
		struct nlmsghdr *nlh = batch_cmd(bt, NFT_MSG_NEWOBJ,
						 NLM_F_CREATE | NLM_F_EXCL, desc);
		if (!nlh) {
			nftnl_obj_free(o);
			return false;
		}
		nftnl_obj_nlmsg_build_payload(nlh, o);
		nftnl_obj_free(o);
		batch_done_cmd(bt);
	}
	return true;
}

static uint32_t set_key_type(const struct nftp_set *s)
{
	uint32_t addr = s->family == AF_INET ? DT_IPADDR : DT_IP6ADDR;
	if (s->kind != NFTP_SET_OUT)
		return addr;
	return (((addr << DT_BITS) | DT_INET_PROTO) << DT_BITS) | DT_INET_SERVICE;
}

static uint32_t set_key_len(const struct nftp_set *s)
{
	uint32_t alen = (uint32_t)addr_bytes(s->family);
	return s->kind == NFTP_SET_OUT ? alen + 4 + 4 : alen;
}

static struct nftnl_set *set_alloc(const char *table, const char *name)
{
	struct nftnl_set *s = nftnl_set_alloc();
	if (!s)
		return NULL;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	return s;
}

static bool add_set_cmd(struct batch *bt, const char *table, const struct nftp_set *ps,
			uint32_t id)
{
	struct nftnl_set *s = set_alloc(table, ps->name);
	uint32_t flags = 0;
	char desc[64];

	if (!s)
		return false;
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, set_key_type(ps));
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, set_key_len(ps));
	nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	switch (ps->kind) {
	case NFTP_SET_ADDR:
		flags = NFT_SET_INTERVAL;
		break;
	case NFTP_SET_QUARANTINE:
		flags = NFT_SET_TIMEOUT;
		nftnl_set_set_u64(s, NFTNL_SET_TIMEOUT, (uint64_t)ps->timeout_s * 1000);
		break;
	case NFTP_SET_RATE:
		flags = NFT_SET_TIMEOUT | NFT_SET_EVAL;
		nftnl_set_set_u64(s, NFTNL_SET_TIMEOUT, (uint64_t)ps->timeout_s * 1000);
		nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, NFT_DYNSET_SIZE);
		break;
	case NFTP_SET_CONN:
		flags = NFT_SET_EVAL;
		nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, NFT_DYNSET_SIZE);
		break;
	case NFTP_SET_OUT:
		break;
	}
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, flags);
	snprintf(desc, sizeof desc, "add set %s", ps->name);
	struct nlmsghdr *nlh = batch_cmd(bt, NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_EXCL, desc);
	if (!nlh) {
		nftnl_set_free(s);
		return false;
	}
	nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	batch_done_cmd(bt);
	return true;
}

/* Elements go out in messages of ELEMS_PER_MSG; a set of 1,800 peers is a
 * few dozen messages, all inside the one batch. */
struct elem_writer {
	struct batch *bt;
	const char *table, *set;
	uint16_t msg_type;
	struct nftnl_set *cur;
	size_t in_cur, total;
	bool ok;
};

static bool ew_flush(struct elem_writer *w)
{
	char desc[64];
	if (!w->cur)
		return true;
	snprintf(desc, sizeof desc, "%s elements %zu-%zu of set %s",
		 w->msg_type == NFT_MSG_DELSETELEM ? "delete" : "add",
		 w->total - w->in_cur + 1, w->total, w->set);
	struct nlmsghdr *nlh = batch_cmd(w->bt, w->msg_type,
					 w->msg_type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0,
					 desc);
	if (!nlh) {
		nftnl_set_free(w->cur);
		w->cur = NULL;
		return w->ok = false;
	}
	nftnl_set_elems_nlmsg_build_payload(nlh, w->cur);
	batch_done_cmd(w->bt);
	nftnl_set_free(w->cur);
	w->cur = NULL;
	w->in_cur = 0;
	return true;
}

static void ew_add(struct elem_writer *w, const void *key, uint32_t klen, uint32_t flags,
		   uint64_t timeout_ms)
{
	struct nftnl_set_elem *e;

	if (!w->ok)
		return;
	if (!w->cur && !(w->cur = set_alloc(w->table, w->set))) {
		w->ok = false;
		return;
	}
	e = nftnl_set_elem_alloc();
	if (!e) {
		w->ok = false;
		return;
	}
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, klen);
	if (flags)
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, flags);
	if (timeout_ms)
		nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT, timeout_ms);
	nftnl_set_elem_add(w->cur, e);
	w->total++;
	if (++w->in_cur == ELEMS_PER_MSG)
		ew_flush(w);
}

static bool add_elements(struct batch *bt, const char *table, const struct nftp_set *ps)
{
	struct elem_writer w = { .bt = bt, .table = table, .set = ps->name,
				 .msg_type = NFT_MSG_NEWSETELEM, .ok = true };
	uint32_t alen = (uint32_t)addr_bytes(ps->family);
	static const uint8_t zero[16];

	if (ps->kind == NFTP_SET_ADDR) {
		const struct nftp_rangeset *rs = ps->ranges;
		/* As nft does: an interval end at 0 marks the gap below the first
		 * range, then [lo, hi+1) per range; no end past the top. */
		if (rs->n && memcmp(rs->r[0].lo, zero, alen) != 0)
			ew_add(&w, zero, alen, NFT_SET_ELEM_INTERVAL_END, 0);
		for (size_t i = 0; i < rs->n; i++) {
			uint8_t end[16];
			ew_add(&w, rs->r[i].lo, alen, 0, 0);
			memcpy(end, rs->r[i].hi, 16);
			if (nftp_addr_inc(end, (int)alen))
				ew_add(&w, end, alen, NFT_SET_ELEM_INTERVAL_END, 0);
		}
	} else if (ps->kind == NFTP_SET_OUT) {
		for (size_t i = 0; i < ps->n_out; i++) {
			uint8_t key[24] = { 0 };
			uint16_t port = htons(ps->out[i]->port);
			memcpy(key, ps->out[i]->prefix.addr, alen);
			key[alen] = ps->out[i]->proto;
			memcpy(key + alen + 4, &port, 2);
			ew_add(&w, key, alen + 8, 0, 0);
		}
	}
	return ew_flush(&w) && w.ok;
}

static bool add_chain(struct batch *bt, const char *table, const struct nftp_chain *c)
{
	struct nftnl_chain *ch = nftnl_chain_alloc();
	char desc[64];

	if (!ch)
		return false;
	nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, c->name);
	nftnl_chain_set_u32(ch, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, "filter");
	nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, (uint32_t)c->hooknum);
	nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, c->prio);
	nftnl_chain_set_u32(ch, NFTNL_CHAIN_POLICY, c->policy_accept ? NF_ACCEPT : NF_DROP);
	snprintf(desc, sizeof desc, "add chain %s", c->name);
	struct nlmsghdr *nlh = batch_cmd(bt, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL, desc);
	if (!nlh) {
		nftnl_chain_free(ch);
		return false;
	}
	nftnl_chain_nlmsg_build_payload(nlh, ch);
	nftnl_chain_free(ch);
	batch_done_cmd(bt);
	return true;
}

static bool add_rule_cmd(struct batch *bt, const char *table, const struct nftp_rule *pr,
			 size_t n_in_chain, uint16_t group)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	char desc[64];

	if (!r)
		return false;
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, pr->chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	if (!emit_rule(r, pr, group)) {
		nftnl_rule_free(r);
		return false;
	}
	snprintf(desc, sizeof desc, "add rule %zu of chain %s%s%s", n_in_chain, pr->chain,
		 pr->log_prefix ? " " : "", pr->log_prefix ? pr->log_prefix : "");
	struct nlmsghdr *nlh = batch_cmd(bt, NFT_MSG_NEWRULE,
					 NLM_F_CREATE | NLM_F_APPEND, desc);
	if (!nlh) {
		nftnl_rule_free(r);
		return false;
	}
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	batch_done_cmd(bt);
	return true;
}

/* Carried-over quarantine entries of the table being replaced. */
struct qcarry {
	struct addr_prefix *addr;
	uint64_t *left_ms;
	size_t n, cap;
	bool lost;           /* an entry could not be kept */
};

static void qcarry_fn(void *arg, const struct addr_prefix *addr, uint64_t expires_ms)
{
	struct qcarry *q = arg;
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64;
		void *a = realloc(q->addr, cap * sizeof *q->addr);
		if (!a) {
			q->lost = true;
			return;
		}
		q->addr = a;
		void *l = realloc(q->left_ms, cap * sizeof *q->left_ms);
		if (!l) {
			q->lost = true;
			return;
		}
		q->left_ms = l;
		q->cap = cap;
	}
	q->addr[q->n] = *addr;
	q->left_ms[q->n++] = expires_ms ? expires_ms : 1;
}

static bool add_quarantine_carry(struct batch *bt, const char *table, const struct qcarry *q)
{
	static const char *const sets[2] = { "quarantine4", "quarantine6" };

	for (int f = 0; f < 2; f++) {
		struct elem_writer w = { .bt = bt, .table = table, .set = sets[f],
					 .msg_type = NFT_MSG_NEWSETELEM, .ok = true };
		int family = f ? AF_INET6 : AF_INET;
		for (size_t i = 0; i < q->n; i++)
			if (q->addr[i].family == family)
				ew_add(&w, q->addr[i].addr, (uint32_t)addr_bytes(family), 0,
				       q->left_ms[i]);
		if (!ew_flush(&w) || !w.ok)
			return false;
	}
	return true;
}

static int list_quarantine(struct nl *nl, const char *table, nft_quarantine_fn fn,
			   void *arg, char *err, size_t errlen);
static int read_counters(struct nl *nl, const char *table, nft_counter_fn fn, void *arg,
			 char *err, size_t errlen);

int nft_apply(const struct nft_policy *policy, char *err, size_t errlen)
{
	struct nftp_plan *pl;
	struct nl nl = { 0 };
	struct batch bt;
	struct qcarry q = { 0 };
	struct ccarry cc = { { 0 }, { 0 } };
	char qerr[128];
	int ret = -1;
	bool ok;

	pl = nftp_compile(policy, err, errlen);
	if (!pl)
		return -1;
	if (nl_open(&nl, err, errlen) < 0) {
		nftp_free(pl);
		return -1;
	}
	if (table_exists(&nl, policy->table) == 1) {
		/* The quarantine in force must outlive the replace: a table whose
		 * quarantine cannot be read stays as it is (one without the sets,
		 * of another layout, has nothing to carry). Counters that cannot
		 * be read start again from zero. */
		if ((list_quarantine(&nl, policy->table, qcarry_fn, &q, qerr, sizeof qerr) < 0 &&
		     nl.error != ENOENT) || q.lost) {
			snprintf(err, errlen, "table %s kept: its quarantine cannot be carried over (%s)",
				 policy->table, q.lost ? "out of memory" : qerr);
			goto out;
		}
		(void)read_counters(&nl, policy->table, ccarry_fn, &cc, qerr, sizeof qerr);
	}
	if (batch_init(&bt, &nl) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	const char *t = policy->table;
	ok = add_table_cmds(&bt, t, true) && add_counters(&bt, t, &cc);
	for (size_t i = 0; ok && i < pl->n_sets; i++)
		ok = add_set_cmd(&bt, t, &pl->sets[i], (uint32_t)i + 1) &&
		     add_elements(&bt, t, &pl->sets[i]);
	ok = ok && add_quarantine_carry(&bt, t, &q);
	for (size_t c = 0; ok && c < NFTP_N_CHAINS; c++) {
		size_t n = 0;
		ok = add_chain(&bt, t, &nftp_chains[c]);
		for (size_t i = 0; ok && i < pl->n_rules; i++)
			if (strcmp(pl->rules[i].chain, nftp_chains[c].name) == 0)
				ok = add_rule_cmd(&bt, t, &pl->rules[i], ++n, policy->nflog_group);
	}
	if (!ok) {
		snprintf(err, errlen, "building the batch: out of memory");
	} else {
		/* Only the last command asks for an ACK: one per message costs
		 * time on a large batch. */
		ret = batch_commit(&nl, &bt, t, err, errlen);
	}
	batch_free(&bt);
out:
	free(q.addr);
	free(q.left_ms);
	nl_close(&nl);
	nftp_free(pl);
	return ret;
}

int nft_table_delete(const char *table, char *err, size_t errlen)
{
	struct nl nl = { 0 };
	struct batch bt;
	int ret = -1;

	if (!nftp_valid_name(table, 64)) {
		snprintf(err, errlen, "table name `%s' is not a valid name", table ? table : "");
		return -1;
	}
	if (nl_open(&nl, err, errlen) < 0)
		return -1;
	if (batch_init(&bt, &nl) == 0) {
		if (add_table_cmds(&bt, table, false))
			ret = batch_commit(&nl, &bt, NULL, err, errlen);
		else
			snprintf(err, errlen, "out of memory");
		batch_free(&bt);
	}
	nl_close(&nl);
	return ret;
}

/* ---- tables, quarantine, counters -------------------------------------- */

static int noop_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_OK;
}

/* 1 exists, 0 not, -1 error. */
static int table_exists(struct nl *nl, const char *table)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], err[128];
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!t)
		return -1;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_ACK, nl->seq++);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	if (nl_talk(nl, nlh, noop_cb, NULL, err, sizeof err, "get table") == 0)
		return 1;
	return errno == ENOENT ? 0 : -1;
}

static bool quarantine_target(const struct addr_prefix *addr, const char **set,
			      char *err, size_t errlen)
{
	int alen = addr ? (int)addr_bytes(addr->family) : 0;
	if (alen == 0) {
		snprintf(err, errlen, "quarantine: not an IPv4 or IPv6 address");
		return false;
	}
	if (addr->len != alen * 8) {
		char b[64];
		snprintf(err, errlen, "quarantine: `%s' is a network; the quarantine "
			 "holds single addresses", addr_prefix_str(addr, b, sizeof b));
		return false;
	}
	*set = addr->family == AF_INET ? "quarantine4" : "quarantine6";
	return true;
}

static int quarantine_change(const char *table, const struct addr_prefix *addr,
			     uint16_t type, uint32_t timeout_s, char *err, size_t errlen)
{
	struct nl nl = { 0 };
	struct batch bt;
	const char *set;
	int ret = -1;

	if (!nftp_valid_name(table, 64)) {
		snprintf(err, errlen, "table name `%s' is not a valid name", table ? table : "");
		return -1;
	}
	if (!quarantine_target(addr, &set, err, errlen) || nl_open(&nl, err, errlen) < 0)
		return -1;
	if (batch_init(&bt, &nl) == 0) {
		struct elem_writer w = { .bt = &bt, .table = table, .set = set,
					 .msg_type = type, .ok = true };
		ew_add(&w, addr->addr, (uint32_t)addr_bytes(addr->family), 0,
		       (uint64_t)timeout_s * 1000);
		if (ew_flush(&w) && w.ok) {
			ret = batch_commit(&nl, &bt, NULL, err, errlen);
			if (ret < 0 && type == NFT_MSG_DELSETELEM && strstr(err, strerror(ENOENT))) {
				char b[64];
				snprintf(err, errlen, "%s is not in quarantine",
					 addr_prefix_str(addr, b, sizeof b));
			}
		} else {
			snprintf(err, errlen, "out of memory");
		}
		batch_free(&bt);
	}
	nl_close(&nl);
	return ret;
}

int nft_quarantine_add(const char *table, const struct addr_prefix *addr,
		       uint32_t timeout_s, char *err, size_t errlen)
{
	return quarantine_change(table, addr, NFT_MSG_NEWSETELEM, timeout_s, err, errlen);
}

int nft_quarantine_del(const char *table, const struct addr_prefix *addr,
		       char *err, size_t errlen)
{
	return quarantine_change(table, addr, NFT_MSG_DELSETELEM, 0, err, errlen);
}

struct qlist_ctx {
	int family;
	nft_quarantine_fn fn;
	void *arg;
};

static int qlist_elem(struct nftnl_set_elem *e, void *data)
{
	struct qlist_ctx *c = data;
	struct addr_prefix p = { .family = c->family };
	uint32_t klen = 0;
	const void *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
	uint64_t left = 0;

	if (!key || klen != (uint32_t)addr_bytes(c->family))
		return 0;
	memcpy(p.addr, key, klen);
	p.len = (uint8_t)(klen * 8);
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPIRATION))
		left = nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_EXPIRATION);
	c->fn(c->arg, &p, left);
	return 0;
}

static int qlist_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_set *s = nftnl_set_alloc();
	if (!s)
		return MNL_CB_ERROR;
	if (nftnl_set_elems_nlmsg_parse(nlh, s) == 0)
		nftnl_set_elem_foreach(s, qlist_elem, data);
	nftnl_set_free(s);
	return MNL_CB_OK;
}

static int list_quarantine(struct nl *nl, const char *table, nft_quarantine_fn fn,
			   void *arg, char *err, size_t errlen)
{
	static const char *const sets[2] = { "quarantine4", "quarantine6" };

	for (int f = 0; f < 2; f++) {
		char buf[MNL_SOCKET_BUFFER_SIZE];
		struct qlist_ctx c = { f ? AF_INET6 : AF_INET, fn, arg };
		struct nftnl_set *s = set_alloc(table, sets[f]);
		struct nlmsghdr *nlh;
		int ret;

		if (!s) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, NFPROTO_INET,
					    NLM_F_DUMP | NLM_F_ACK, nl->seq++);
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
		nftnl_set_free(s);
		ret = nl_talk(nl, nlh, qlist_cb, &c, err, errlen, sets[f]);
		if (ret < 0)
			return -1;
	}
	return 0;
}

int nft_quarantine_list(const char *table, nft_quarantine_fn fn, void *arg,
			char *err, size_t errlen)
{
	struct nl nl = { 0 };
	int ret;

	if (!nftp_valid_name(table, 64) || !fn) {
		snprintf(err, errlen, "table name `%s' is not a valid name", table ? table : "");
		return -1;
	}
	if (nl_open(&nl, err, errlen) < 0)
		return -1;
	ret = list_quarantine(&nl, table, fn, arg, err, errlen);
	nl_close(&nl);
	return ret;
}

struct ctr_ctx {
	const char *table;
	nft_counter_fn fn;
	void *arg;
};

static int ctr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ctr_ctx *c = data;
	struct nftnl_obj *o = nftnl_obj_alloc();

	if (!o)
		return MNL_CB_ERROR;
	if (nftnl_obj_nlmsg_parse(nlh, o) == 0 &&
	    nftnl_obj_get_u32(o, NFTNL_OBJ_TYPE) == NFT_OBJECT_COUNTER &&
	    nftnl_obj_get_u32(o, NFTNL_OBJ_FAMILY) == NFPROTO_INET &&
	    strcmp(nftnl_obj_get_str(o, NFTNL_OBJ_TABLE), c->table) == 0)
		c->fn(c->arg, nftnl_obj_get_str(o, NFTNL_OBJ_NAME),
		      nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_PKTS),
		      nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_BYTES));
	nftnl_obj_free(o);
	return MNL_CB_OK;
}

static int read_counters(struct nl *nl, const char *table, nft_counter_fn fn, void *arg,
			 char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ctr_ctx c = { table, fn, arg };
	struct nftnl_obj *o = nftnl_obj_alloc();
	struct nlmsghdr *nlh;

	if (!o) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, table);
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETOBJ, NFPROTO_INET, NLM_F_DUMP | NLM_F_ACK,
				    nl->seq++);
	nftnl_obj_nlmsg_build_payload(nlh, o);
	nftnl_obj_free(o);
	return nl_talk(nl, nlh, ctr_cb, &c, err, errlen, "get counters");
}

int nft_counters(const char *table, nft_counter_fn fn, void *arg, char *err, size_t errlen)
{
	struct nl nl = { 0 };
	int ret;

	if (!nftp_valid_name(table, 64) || !fn) {
		snprintf(err, errlen, "table name `%s' is not a valid name", table ? table : "");
		return -1;
	}
	if (nl_open(&nl, err, errlen) < 0)
		return -1;
	if (table_exists(&nl, table) != 1) {
		snprintf(err, errlen, "table inet %s: %s", table, strerror(ENOENT));
		nl_close(&nl);
		return -1;
	}
	ret = read_counters(&nl, table, fn, arg, err, errlen);
	nl_close(&nl);
	return ret;
}
