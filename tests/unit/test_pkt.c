/*
 * test_pkt.c — the packet decoder: every supported link, IPv4 and IPv6,
 * VLAN tags, truncation, and refusal of broken headers without over-read
 * (every prefix of a packet is decoded from a buffer of exactly that size,
 * so ASan catches a read past caplen).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pcap/dlt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "filters/replay/pkt.h"
#include "tests/pcap/pcapw.h"

static const uint8_t payload[] = "JK-sample-payload-bytes";

static size_t build(enum pw_link link, int family, unsigned n_vlan, uint8_t *out, size_t cap)
{
	struct pw_ep a, b;
	struct pw_seg s = {
		.src = &a, .dst = &b, .seq = 1000, .ack = 2000, .flags = PKT_TCP_ACK | PKT_TCP_PSH,
		.payload = payload, .len = sizeof(payload), .vlan = {100, 200}, .n_vlan = n_vlan,
	};

	if (family == AF_INET) {
		assert_true(pw_ep_set(&a, "10.16.0.10", 40001));
		assert_true(pw_ep_set(&b, "10.16.0.1", 7000));
	} else {
		assert_true(pw_ep_set(&a, "fd00:77::16", 40001));
		assert_true(pw_ep_set(&b, "fd00:77::13", 7443));
	}
	return pw_build(link, &s, out, cap);
}

static int dlt_of(enum pw_link link)
{
	switch (link) {
	case PW_ETH: return DLT_EN10MB;
	case PW_SLL: return DLT_LINUX_SLL;
	case PW_SLL2: return DLT_LINUX_SLL2;
	default: return DLT_RAW;
	}
}

/* Decode from a heap copy of exactly len bytes. */
static enum pkt_status decode_exact(int dlt, const uint8_t *p, size_t len, struct pkt_tcp *out)
{
	uint8_t *copy = malloc(len ? len : 1);
	enum pkt_status st;
	const char *why = NULL;

	assert_non_null(copy);
	memcpy(copy, p, len);
	st = pkt_decode(dlt, copy, len, out, &why);
	assert_non_null(why);
	if (st == PKT_OK) {
		/* The payload must lie inside the buffer. */
		assert_true(out->payload >= copy);
		assert_true(out->payload + out->payload_len <= copy + len);
		out->payload = p + (out->payload - copy);
	}
	free(copy);
	return st;
}

static void check_segment(const struct pkt_tcp *t, int family)
{
	assert_int_equal(t->family, family);
	assert_int_equal(t->sport, 40001);
	assert_int_equal(t->seq, 1000);
	assert_int_equal(t->ack, 2000);
	assert_int_equal(t->flags, PKT_TCP_ACK | PKT_TCP_PSH);
	assert_int_equal(t->payload_len, sizeof(payload));
	assert_int_equal(t->wire_len, sizeof(payload));
	assert_memory_equal(t->payload, payload, sizeof(payload));
}

static void test_links(void **state)
{
	static const enum pw_link links[] = { PW_ETH, PW_SLL, PW_SLL2, PW_RAW };
	static const int fams[] = { AF_INET, AF_INET6 };
	uint8_t buf[256];
	struct pkt_tcp t;

	(void)state;
	for (size_t i = 0; i < 4; i++)
		for (size_t j = 0; j < 2; j++) {
			size_t n = build(links[i], fams[j], 0, buf, sizeof(buf));

			assert_true(n > 0);
			assert_int_equal(decode_exact(dlt_of(links[i]), buf, n, &t), PKT_OK);
			check_segment(&t, fams[j]);
			assert_int_equal(t.dport, fams[j] == AF_INET ? 7000 : 7443);
		}
	/* LINKTYPE_RAW as a file stores it, and the IPv4/IPv6-only types. */
	size_t n = build(PW_RAW, AF_INET, 0, buf, sizeof(buf));
	assert_int_equal(decode_exact(101, buf, n, &t), PKT_OK);
	assert_int_equal(decode_exact(DLT_IPV4, buf, n, &t), PKT_OK);
	assert_int_equal(decode_exact(DLT_IPV6, buf, n, &t), PKT_MALFORMED);
	n = build(PW_RAW, AF_INET6, 0, buf, sizeof(buf));
	assert_int_equal(decode_exact(DLT_IPV6, buf, n, &t), PKT_OK);
	assert_int_equal(t.src[15], 0x16);
}

static void test_vlan(void **state)
{
	uint8_t buf[256];
	struct pkt_tcp t;
	size_t n;

	(void)state;
	n = build(PW_ETH, AF_INET, 1, buf, sizeof(buf));
	assert_int_equal(decode_exact(DLT_EN10MB, buf, n, &t), PKT_OK);
	assert_int_equal(t.n_vlan, 1);
	assert_int_equal(t.vlan[0], 100);
	check_segment(&t, AF_INET);
	n = build(PW_ETH, AF_INET6, 2, buf, sizeof(buf));
	assert_int_equal(decode_exact(DLT_EN10MB, buf, n, &t), PKT_OK);
	assert_int_equal(t.n_vlan, 2);
	assert_int_equal(t.vlan[0], 100);
	assert_int_equal(t.vlan[1], 200);
	check_segment(&t, AF_INET6);
}

/* Every prefix: never a read past it; OK only once the headers are whole,
 * and then the payload is exactly what was captured. */
static void test_every_prefix(void **state)
{
	static const enum pw_link links[] = { PW_ETH, PW_SLL, PW_SLL2, PW_RAW };
	uint8_t buf[256];
	struct pkt_tcp t;

	(void)state;
	for (size_t i = 0; i < 4; i++)
		for (int fam = 0; fam < 2; fam++) {
			size_t n = build(links[i], fam ? AF_INET6 : AF_INET, links[i] == PW_ETH ? 2 : 0,
					 buf, sizeof(buf));
			size_t hdrs = n - sizeof(payload);

			for (size_t len = 0; len <= n; len++) {
				enum pkt_status st = decode_exact(dlt_of(links[i]), buf, len, &t);

				if (len < hdrs) {
					assert_int_equal(st, PKT_SHORT);
				} else {
					assert_int_equal(st, PKT_OK);
					assert_int_equal(t.payload_len, len - hdrs);
					assert_int_equal(t.wire_len, sizeof(payload));
				}
			}
		}
}

static void test_padding(void **state)
{
	uint8_t buf[256];
	struct pkt_tcp t;
	size_t n;

	(void)state;
	n = build(PW_ETH, AF_INET, 0, buf, sizeof(buf));
	memset(buf + n, 0xEE, 16);   /* trailer bytes after the datagram */
	assert_int_equal(decode_exact(DLT_EN10MB, buf, n + 16, &t), PKT_OK);
	check_segment(&t, AF_INET);
}

static void test_ipv4_rules(void **state)
{
	uint8_t buf[256], bad[256];
	struct pkt_tcp t;
	size_t n;

	(void)state;
	n = build(PW_RAW, AF_INET, 0, buf, sizeof(buf));
	memcpy(bad, buf, n);
	bad[0] = 0x44;                          /* IHL 4 */
	assert_int_equal(decode_exact(DLT_RAW, bad, n, &t), PKT_MALFORMED);
	memcpy(bad, buf, n);
	bad[2] = 0; bad[3] = 10;                /* total length below the header */
	assert_int_equal(decode_exact(DLT_RAW, bad, n, &t), PKT_MALFORMED);
	memcpy(bad, buf, n);
	bad[2] = 0; bad[3] = 30;                /* room for 10 of the 20 TCP header bytes */
	assert_int_equal(decode_exact(DLT_RAW, bad, n, &t), PKT_MALFORMED);
	memcpy(bad, buf, n);
	bad[6] = 0x20;                          /* more fragments */
	assert_int_equal(decode_exact(DLT_RAW, bad, n, &t), PKT_FRAGMENT);
	memcpy(bad, buf, n);
	bad[6] = 0x00; bad[7] = 0x10;           /* a later fragment */
	assert_int_equal(decode_exact(DLT_RAW, bad, n, &t), PKT_FRAGMENT);
	memcpy(bad, buf, n);
	bad[9] = 17;                            /* UDP */
	assert_int_equal(decode_exact(DLT_RAW, bad, n, &t), PKT_NOT_TCP);
	memcpy(bad, buf, n);
	bad[20 + 12] = 4 << 4;                  /* TCP data offset 4 */
	assert_int_equal(decode_exact(DLT_RAW, bad, n, &t), PKT_MALFORMED);
	memcpy(bad, buf, n);
	bad[20 + 12] = 15 << 4;                 /* TCP data offset 60: past the datagram */
	assert_int_equal(decode_exact(DLT_RAW, bad, n, &t), PKT_MALFORMED);
	memcpy(bad, buf, n);
	bad[0] = 0x35;                          /* version 3 */
	assert_int_equal(decode_exact(DLT_RAW, bad, n, &t), PKT_MALFORMED);
}

static void test_ipv6_ext(void **state)
{
	uint8_t buf[256], ext[300];
	struct pkt_tcp t;
	size_t n;

	(void)state;
	n = build(PW_RAW, AF_INET6, 0, buf, sizeof(buf));
	/* Insert a hop-by-hop header (8 bytes) and a destination options header (16). */
	memcpy(ext, buf, 40);
	ext[6] = 0;
	memset(ext + 40, 0, 24);
	ext[40] = 60;  ext[41] = 0;
	ext[48] = 6;   ext[49] = 1;
	memcpy(ext + 64, buf + 40, n - 40);
	ext[4] = (uint8_t)((n - 40 + 24) >> 8);
	ext[5] = (uint8_t)(n - 40 + 24);
	assert_int_equal(decode_exact(DLT_RAW, ext, n + 24, &t), PKT_OK);
	check_segment(&t, AF_INET6);
	for (size_t len = 0; len < 64 + 20; len++)
		assert_int_equal(decode_exact(DLT_RAW, ext, len, &t), PKT_SHORT);
	/* The extension claims more than the payload holds. */
	ext[49] = 200;
	assert_int_equal(decode_exact(DLT_RAW, ext, n + 24, &t), PKT_MALFORMED);
	/* A fragment header. */
	ext[6] = 44;
	assert_int_equal(decode_exact(DLT_RAW, ext, n + 24, &t), PKT_FRAGMENT);
	/* UDP, and no next header. */
	ext[6] = 17;
	assert_int_equal(decode_exact(DLT_RAW, ext, n + 24, &t), PKT_NOT_TCP);
	ext[6] = 59;
	assert_int_equal(decode_exact(DLT_RAW, ext, n + 24, &t), PKT_NOT_TCP);
}

static void test_other(void **state)
{
	uint8_t buf[256];
	struct pkt_tcp t;
	size_t n;

	(void)state;
	n = build(PW_ETH, AF_INET, 0, buf, sizeof(buf));
	buf[12] = 0x08; buf[13] = 0x06;         /* ARP */
	assert_int_equal(decode_exact(DLT_EN10MB, buf, n, &t), PKT_NOT_TCP);
	assert_int_equal(decode_exact(DLT_PPP, buf, n, &t), PKT_UNSUPPORTED_LINK);
	assert_false(pkt_linktype_supported(DLT_PPP));
	assert_true(pkt_linktype_supported(DLT_LINUX_SLL2));
	/* Five stacked tags is not a network we serve. */
	memset(buf, 0, sizeof(buf));
	for (int i = 0; i < 5; i++) {
		buf[12 + 4 * i] = 0x81;
		buf[13 + 4 * i] = 0x00;
	}
	assert_int_equal(decode_exact(DLT_EN10MB, buf, 64, &t), PKT_MALFORMED);
	assert_string_equal(pkt_status_name(PKT_FRAGMENT), "ip-fragment");
	assert_string_equal(pkt_status_name((enum pkt_status)99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_links),
		cmocka_unit_test(test_vlan),
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_padding),
		cmocka_unit_test(test_ipv4_rules),
		cmocka_unit_test(test_ipv6_ext),
		cmocka_unit_test(test_other),
	};
	return cmocka_run_group_tests_name("pkt", tests, NULL, NULL);
}
