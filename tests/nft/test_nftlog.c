/*
 * test_nftlog.c — the NFLOG summariser (filters/nftlog.c, included for its
 * static parts) fed with nfnetlink_log messages built here: keys, byte
 * counts, IPv6, fragments, malformed packets, and the bound on keys.
 */
#include "filters/nftlog.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>

#include <cmocka.h>

static struct nft_log *fake_log(void)
{
	struct nft_log *log = calloc(1, sizeof *log);
	assert_non_null(log);
	return log;
}

/* One NFULNL_MSG_PACKET with a prefix and the packet's first bytes. */
static size_t build_msg(char *buf, size_t size, int nfproto, const char *prefix,
			const void *pkt, size_t len)
{
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;

	memset(buf, 0, size);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof *nfg);
	nfg->nfgen_family = (uint8_t)nfproto;
	if (prefix)
		mnl_attr_put_strz(nlh, NFULA_PREFIX, prefix);
	if (pkt)
		mnl_attr_put(nlh, NFULA_PAYLOAD, len, pkt);
	return nlh->nlmsg_len;
}

static void feed(struct nft_log *log, int nfproto, const char *prefix, const void *pkt,
		 size_t len)
{
	char buf[1024];
	size_t n = build_msg(buf, sizeof buf, nfproto, prefix, pkt, len);
	assert_true(mnl_cb_run(buf, n, 0, 0, packet_cb, log) >= MNL_CB_STOP);
}

static size_t ipv4_tcp(uint8_t *p, const char *src, uint16_t dport, uint16_t total)
{
	memset(p, 0, 40);
	p[0] = 0x45;
	p[2] = (uint8_t)(total >> 8);
	p[3] = (uint8_t)total;
	p[9] = IPPROTO_TCP;
	inet_pton(AF_INET, src, p + 12);
	p[22] = (uint8_t)(dport >> 8);
	p[23] = (uint8_t)dport;
	return 40;
}

struct seen {
	struct nft_drop d[8];
	size_t n;
};

static void collect(void *arg, const struct nft_drop *d)
{
	struct seen *s = arg;
	if (s->n < 8)
		s->d[s->n] = *d;
	s->n++;
}

static void test_keys_and_bytes(void **state)
{
	struct nft_log *log = fake_log();
	struct seen s = { .n = 0 };
	uint8_t p[64];
	char a[64];
	(void)state;

	feed(log, NFPROTO_IPV4, "input", p, ipv4_tcp(p, "198.51.100.7", 7443, 60));
	feed(log, NFPROTO_IPV4, "input", p, ipv4_tcp(p, "198.51.100.7", 7443, 1500));
	feed(log, NFPROTO_IPV4, "wan-rate", p, ipv4_tcp(p, "198.51.100.7", 7443, 60));
	nft_log_flush(log, collect, &s);
	assert_int_equal(s.n, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_string_equal(nft_prefix_str(&s.d[i].src, a, sizeof a), "198.51.100.7");
		assert_int_equal(s.d[i].proto, IPPROTO_TCP);
		assert_int_equal(s.d[i].dst_port, 7443);
		if (strcmp(s.d[i].rule, "input") == 0) {
			assert_int_equal(s.d[i].packets, 2);
			assert_int_equal(s.d[i].bytes, 1560);   /* IP lengths, not the copy */
		} else {
			assert_string_equal(s.d[i].rule, "wan-rate");
			assert_int_equal(s.d[i].packets, 1);
		}
	}
	/* flushed: the next interval starts empty */
	s.n = 0;
	nft_log_flush(log, collect, &s);
	assert_int_equal(s.n, 0);
	nft_log_close(log);
}

static void test_ipv6_and_fragments(void **state)
{
	struct nft_log *log = fake_log();
	struct seen s = { .n = 0 };
	uint8_t p[64] = { 0 };
	char a[64];
	(void)state;

	p[0] = 0x60;
	p[5] = 20;                       /* payload length */
	p[6] = IPPROTO_UDP;
	inet_pton(AF_INET6, "2001:db8::5", p + 8);
	p[42] = 0x00;
	p[43] = 53;
	feed(log, NFPROTO_IPV6, "output", p, 48);
	nft_log_flush(log, collect, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(nft_prefix_str(&s.d[0].src, a, sizeof a), "2001:db8::5");
	assert_int_equal(s.d[0].proto, IPPROTO_UDP);
	assert_int_equal(s.d[0].dst_port, 53);
	assert_int_equal(s.d[0].bytes, 60);

	/* a later fragment: protocol known, no port to read */
	s.n = 0;
	ipv4_tcp(p, "10.0.0.1", 80, 40);
	p[7] = 10;                       /* fragment offset */
	feed(log, NFPROTO_IPV4, "input", p, 40);
	nft_log_flush(log, collect, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.d[0].dst_port, 0);
	nft_log_close(log);
}

static void test_malformed(void **state)
{
	struct nft_log *log = fake_log();
	struct seen s = { .n = 0 };
	uint8_t p[64];
	char long_prefix[80];
	(void)state;

	ipv4_tcp(p, "10.0.0.1", 80, 40);
	feed(log, NFPROTO_IPV4, "input", p, 19);        /* short */
	feed(log, NFPROTO_IPV6, "input", p, 40);        /* v4 bytes as v6 */
	feed(log, NFPROTO_IPV4, "input", NULL, 0);      /* no payload */
	p[0] = 0x44;                                    /* IHL 16 bytes */
	feed(log, NFPROTO_IPV4, "input", p, 40);
	feed(log, 99, "input", p, 40);                  /* unknown family */
	nft_log_flush(log, collect, &s);
	assert_int_equal(s.n, 0);

	/* header longer than the copy: the port is not read past the end */
	ipv4_tcp(p, "10.0.0.1", 80, 40);
	p[0] = 0x4f;                                    /* IHL 60 bytes */
	feed(log, NFPROTO_IPV4, "input", p, 40);
	/* a prefix longer than the rule field is cut, not overrun */
	memset(long_prefix, 'x', sizeof long_prefix - 1);
	long_prefix[sizeof long_prefix - 1] = '\0';
	ipv4_tcp(p, "10.0.0.2", 80, 40);
	feed(log, NFPROTO_IPV4, long_prefix, p, 40);
	nft_log_flush(log, collect, &s);
	assert_int_equal(s.n, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(s.d[i].dst_port, 0 + (s.d[i].rule[0] == 'x' ? 80 : 0));
		assert_true(strlen(s.d[i].rule) < sizeof s.d[i].rule);
	}
	nft_log_close(log);
}

static void count_keys(void *arg, const struct nft_drop *d)
{
	uint64_t *t = arg;
	t[0]++;
	t[1] += d->packets;
	if (strcmp(d->rule, "overflow") == 0) {
		t[2] = d->packets;
		assert_int_equal(d->src.family, 0);
	}
}

/* More keys than NFT_LOG_KEYS: the rest goes to one overflow entry, and
 * no packet is lost from the totals. */
static void test_bound(void **state)
{
	struct nft_log *log = fake_log();
	uint64_t t[3] = { 0, 0, 0 };
	uint8_t p[64];
	char a[32];
	const int n = NFT_LOG_KEYS + 100;
	(void)state;

	for (int i = 0; i < n; i++) {
		snprintf(a, sizeof a, "10.%d.%d.1", i / 256, i % 256);
		feed(log, NFPROTO_IPV4, "input", p, ipv4_tcp(p, a, 80, 40));
	}
	nft_log_flush(log, count_keys, t);
	assert_int_equal(t[0], NFT_LOG_KEYS + 1);
	assert_int_equal(t[1], n);
	assert_int_equal(t[2], 100);
	nft_log_close(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_and_bytes),
		cmocka_unit_test(test_ipv6_and_fragments),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_bound),
	};
	return cmocka_run_group_tests_name("nftlog", tests, NULL, NULL);
}
