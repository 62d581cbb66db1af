/*
 * test_nftlog.c — the NFLOG summariser (filters/nftlog.c, included for its
 * static parts) fed with nfnetlink_log messages built here: keys, byte
 * counts, IPv6, fragments, malformed packets, the aggregation by source
 * prefix and port range, and the bound on summaries (a full port scan, a
 * scan from 1,000 sources, more keys than the table holds).
 */
#include "filters/firewall/nftlog.c"

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
		assert_string_equal(addr_prefix_str(&s.d[i].src, a, sizeof a), "198.51.100.7");
		assert_int_equal(s.d[i].proto, IPPROTO_TCP);
		assert_int_equal(s.d[i].dst_port, 7443);
		assert_int_equal(s.d[i].dst_port_max, 7443);
		assert_int_equal(s.d[i].ports, 1);
		assert_int_equal(s.d[i].sources, 1);
		assert_int_equal(s.d[i].keys, 1);
		assert_false(s.d[i].capped);
		if (strcmp(s.d[i].rule, "input") == 0) {
			assert_int_equal(i, 0);                 /* most packets first */
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
	assert_string_equal(addr_prefix_str(&s.d[0].src, a, sizeof a), "2001:db8::5");
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
	assert_int_equal(s.d[0].dst_port_max, 0);
	assert_int_equal(s.d[0].ports, 0);         /* no port: none counted */
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

/* Every summary of an interval, added up; the rest kept aside. */
struct totals {
	uint64_t summaries, packets, bytes, ports, sources, keys;
	struct nft_drop rest, first;
	bool sorted;                 /* top keys came most packets first */
	uint64_t last;
};

static void add_up(void *arg, const struct nft_drop *d)
{
	struct totals *t = arg;
	if (t->summaries == 0)
		t->first = *d;
	t->summaries++;
	t->packets += d->packets;
	t->bytes += d->bytes;
	t->ports += d->ports;
	t->sources += d->sources;
	t->keys += d->keys;
	if (strcmp(d->rule, NFT_LOG_REST) == 0) {
		assert_int_equal(d->src.family, 0);
		t->rest = *d;
		return;
	}
	assert_int_equal(d->keys, 1);
	if (t->summaries > 1 && d->packets > t->last)
		t->sorted = false;
	t->last = d->packets;
}

static struct totals flush_totals(struct nft_log *log)
{
	struct totals t;
	memset(&t, 0, sizeof t);
	t.sorted = true;
	nft_log_flush(log, add_up, &t);
	assert_true(t.summaries <= NFT_LOG_TOP + 1);
	assert_true(t.sorted);
	return t;
}

/* A full TCP port scan from one source: one summary, the ports as a range. */
static void test_full_port_scan(void **state)
{
	struct nft_log *log = fake_log();
	struct totals t;
	uint8_t p[64];
	char a[64];
	(void)state;

	for (int port = 1; port <= 65535; port++)
		feed(log, NFPROTO_IPV4, "input", p, ipv4_tcp(p, "203.0.113.66", (uint16_t)port, 44));
	t = flush_totals(log);
	assert_int_equal(t.summaries, 1);
	assert_int_equal(t.packets, 65535);
	assert_int_equal(t.bytes, 65535 * 44);
	assert_string_equal(t.first.rule, "input");
	assert_string_equal(addr_prefix_str(&t.first.src, a, sizeof a), "203.0.113.66");
	assert_int_equal(t.first.proto, IPPROTO_TCP);
	assert_int_equal(t.first.dst_port, 1);
	assert_int_equal(t.first.dst_port_max, 65535);
	assert_int_equal(t.first.ports, 65535);
	assert_int_equal(t.first.sources, 1);
	assert_false(t.first.capped);
	/* the next interval starts empty */
	t = flush_totals(log);
	assert_int_equal(t.summaries, 0);
	nft_log_close(log);
}

/* 1,000 sources, each in its own /24, each scanning 20 ports (twice), and
 * one of them busier: the busiest 32 keys, then the rest holding the other
 * 968, and nothing lost from the totals. */
static void test_many_sources(void **state)
{
	struct nft_log *log = fake_log();
	struct totals t;
	uint8_t p[64];
	char a[64];
	uint64_t packets = 0, bytes = 0;
	(void)state;

	for (int src = 0; src < 1000; src++) {
		snprintf(a, sizeof a, "198.%d.%d.7", 18 + src / 256, src % 256);
		for (int rep = 0; rep < (src == 500 ? 10 : 2); rep++)
			for (int port = 1000; port < 1020; port++) {
				uint16_t len = (uint16_t)(40 + src % 7);
				feed(log, NFPROTO_IPV4, "input", p, ipv4_tcp(p, a, (uint16_t)port, len));
				packets++;
				bytes += len;
			}
	}
	t = flush_totals(log);
	assert_int_equal(t.summaries, NFT_LOG_TOP + 1);
	assert_int_equal(t.packets, packets);
	assert_int_equal(t.bytes, bytes);
	assert_int_equal(t.keys, 1000);
	assert_int_equal(t.sources, 1000);
	assert_int_equal(t.ports, 1000 * 20);
	assert_int_equal(t.rest.keys, 1000 - NFT_LOG_TOP);
	assert_int_equal(t.rest.dst_port, 1000);
	assert_int_equal(t.rest.dst_port_max, 1019);
	/* the busiest source is first, named as itself */
	assert_string_equal(addr_prefix_str(&t.first.src, a, sizeof a), "198.19.244.7");
	assert_int_equal(t.first.packets, 200);
	assert_int_equal(t.first.ports, 20);
	nft_log_close(log);
}

/* Sources of one /24 (IPv4) or /64 (IPv6) are one key: named by their
 * prefix, counted as sources. */
static void test_prefix_aggregation(void **state)
{
	struct nft_log *log = fake_log();
	struct totals t;
	uint8_t p[64] = { 0 };
	char a[64];
	(void)state;

	for (int i = 1; i <= 20; i++) {
		snprintf(a, sizeof a, "198.51.100.%d", i);
		feed(log, NFPROTO_IPV4, "input", p, ipv4_tcp(p, a, 7443, 40));
	}
	t = flush_totals(log);
	assert_int_equal(t.summaries, 1);
	assert_string_equal(addr_prefix_str(&t.first.src, a, sizeof a), "198.51.100.0/24");
	assert_int_equal(t.first.sources, 20);
	assert_int_equal(t.first.ports, 1);
	assert_int_equal(t.first.packets, 20);

	for (int i = 1; i <= 10; i++) {
		memset(p, 0, sizeof p);
		p[0] = 0x60;
		p[5] = 20;
		p[6] = IPPROTO_TCP;
		snprintf(a, sizeof a, "2001:db8:0:1::%x", i * 0x1111);
		inet_pton(AF_INET6, a, p + 8);
		p[42] = (uint8_t)(7443 >> 8);
		p[43] = (uint8_t)7443;
		feed(log, NFPROTO_IPV6, "input", p, 60);
	}
	t = flush_totals(log);
	assert_int_equal(t.summaries, 1);
	assert_string_equal(addr_prefix_str(&t.first.src, a, sizeof a), "2001:db8:0:1::/64");
	assert_int_equal(t.first.sources, 10);
	assert_int_equal(t.first.bytes, 600);
	nft_log_close(log);
}

/* More keys than the table holds: the drops of the keys beyond it are in
 * the rest, with their keys and sources counted; no packet is lost. */
static void test_table_full(void **state)
{
	struct nft_log *log = fake_log();
	struct totals t;
	uint8_t p[64];
	char a[32];
	const int n = NFT_LOG_KEYS + 100;
	(void)state;

	for (int i = 0; i < n; i++) {
		snprintf(a, sizeof a, "10.%d.%d.1", i / 256, i % 256);
		feed(log, NFPROTO_IPV4, "input", p, ipv4_tcp(p, a, 80, 40));
		feed(log, NFPROTO_IPV4, "input", p, ipv4_tcp(p, a, 81, 40));
	}
	t = flush_totals(log);
	assert_int_equal(t.summaries, NFT_LOG_TOP + 1);
	assert_int_equal(t.packets, 2 * n);
	assert_int_equal(t.bytes, 80 * n);
	assert_int_equal(t.keys, n);
	assert_int_equal(t.rest.keys, n - NFT_LOG_TOP);
	assert_int_equal(t.rest.sources, n - NFT_LOG_TOP);
	assert_int_equal(t.rest.ports, 2 * (n - NFT_LOG_TOP));
	assert_int_equal(t.rest.dst_port, 80);
	assert_int_equal(t.rest.dst_port_max, 81);
	assert_false(t.rest.capped);
	nft_log_close(log);
}

/* More distinct ports and sources than the fingerprint table holds: the
 * counts become lower bounds and say so; packets and bytes stay exact. */
static void test_capped(void **state)
{
	struct nft_log *log = fake_log();
	struct totals t;
	uint8_t p[64];
	char a[32];
	(void)state;

	for (int src = 0; src < 4; src++) {
		snprintf(a, sizeof a, "192.0.%d.1", src);
		for (int port = 1; port <= 65535; port++)
			feed(log, NFPROTO_IPV4, "input", p, ipv4_tcp(p, a, (uint16_t)port, 40));
	}
	t = flush_totals(log);
	assert_int_equal(t.summaries, 4);
	assert_int_equal(t.packets, 4 * 65535);
	assert_int_equal(t.bytes, 40 * 4 * 65535);
	assert_true(t.first.capped);
	assert_true(t.ports < 4 * 65535);
	assert_true(t.ports >= NFTLOG_SEEN_MAX - 4 - NFTLOG_PROBES);
	/* the next interval counts exactly again */
	feed(log, NFPROTO_IPV4, "input", p, ipv4_tcp(p, "192.0.2.1", 22, 40));
	t = flush_totals(log);
	assert_false(t.first.capped);
	assert_int_equal(t.first.ports, 1);
	nft_log_close(log);
}

/* The totals the summariser keeps of an interval equal what was read. */
static void test_interval_totals(void **state)
{
	struct nft_log *log = fake_log();
	uint8_t p[64];
	(void)state;

	feed(log, NFPROTO_IPV4, "input", p, ipv4_tcp(p, "10.0.0.1", 80, 100));
	feed(log, NFPROTO_IPV4, "input", p, 19);        /* short: not counted */
	assert_int_equal(log->in_packets, 1);
	assert_int_equal(log->in_bytes, 100);
	flush_totals(log);
	assert_int_equal(log->in_packets, 0);
	nft_log_close(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_and_bytes),
		cmocka_unit_test(test_ipv6_and_fragments),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_full_port_scan),
		cmocka_unit_test(test_many_sources),
		cmocka_unit_test(test_prefix_aggregation),
		cmocka_unit_test(test_table_full),
		cmocka_unit_test(test_capped),
		cmocka_unit_test(test_interval_totals),
	};
	return cmocka_run_group_tests_name("nftlog", tests, NULL, NULL);
}
