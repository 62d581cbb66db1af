/*
 * test_nft.c — the pure parts of the firewall module: prefixes, the plan
 * (merged ranges, which rules exist) and nft_print's text. The printed
 * ruleset is checked against the kernel by tests/nft/t-print.sh.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cmocka.h>

#include "filters/firewall/nft_int.h"

static struct addr_prefix pfx(const char *s)
{
	struct addr_prefix p;
	assert_true(addr_prefix_parse(s, &p));
	return p;
}

static void test_prefix_parse(void **state)
{
	struct addr_prefix p;
	char b[64];
	(void)state;

	p = pfx("10.77.0.16");
	assert_int_equal(p.family, AF_INET);
	assert_int_equal(p.len, 32);
	assert_string_equal(addr_prefix_str(&p, b, sizeof b), "10.77.0.16");
	p = pfx("10.99.0.0/24");
	assert_int_equal(p.len, 24);
	assert_string_equal(addr_prefix_str(&p, b, sizeof b), "10.99.0.0/24");
	p = pfx("fd00:77::/64");
	assert_int_equal(p.family, AF_INET6);
	assert_int_equal(p.len, 64);
	assert_string_equal(addr_prefix_str(&p, b, sizeof b), "fd00:77::/64");
	p = pfx("0.0.0.0/0");
	assert_int_equal(p.len, 0);
	p = pfx("::/0");
	assert_string_equal(addr_prefix_str(&p, b, sizeof b), "::/0");
	p = pfx("FD00:77::0013");
	assert_string_equal(addr_prefix_str(&p, b, sizeof b), "fd00:77::13");
	p = pfx("10.0.0.1/32");
	assert_string_equal(addr_prefix_str(&p, b, sizeof b), "10.0.0.1");

	static const char *const bad[] = {
		"", "10.0.0.1/", "/24", "10.0.0.0/33", "fd00::/129", "10.0.0.1/24",
		"10.0.0.0/-1", "10.0.0.0/2a", "10.0.0.0/0024", "host", "10.0.0", "1.2.3.4.5",
		"fd00::1/64", "10.0.0.0 /24", " 10.0.0.1",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&p, 0x5a, sizeof p);
		struct addr_prefix before = p;
		assert_false(addr_prefix_parse(bad[i], &p));
		assert_memory_equal(&p, &before, sizeof p);   /* untouched on error */
	}
	assert_false(addr_prefix_parse(NULL, &p));
	assert_string_equal(addr_prefix_str(NULL, b, sizeof b), "?");
}

static void test_prefix_from_sockaddr(void **state)
{
	struct sockaddr_in in = { .sin_family = AF_INET };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct addr_prefix p;
	char b[64];
	(void)state;

	inet_pton(AF_INET, "10.77.0.13", &in.sin_addr);
	assert_true(addr_from_sockaddr((struct sockaddr *)&in, &p));
	assert_string_equal(addr_prefix_str(&p, b, sizeof b), "10.77.0.13");
	inet_pton(AF_INET6, "fd00:77::13", &in6.sin6_addr);
	assert_true(addr_from_sockaddr((struct sockaddr *)&in6, &p));
	assert_string_equal(addr_prefix_str(&p, b, sizeof b), "fd00:77::13");
	assert_int_equal(p.len, 128);
	inet_pton(AF_INET6, "::ffff:10.77.0.24", &in6.sin6_addr);
	assert_true(addr_from_sockaddr((struct sockaddr *)&in6, &p));
	assert_int_equal(p.family, AF_INET);
	assert_string_equal(addr_prefix_str(&p, b, sizeof b), "10.77.0.24");
	assert_false(addr_from_sockaddr((struct sockaddr *)&un, &p));
}

/* A policy the tests adjust. */
static struct addr_prefix peers[8], servers[2], mgmt[2];
static struct nft_dest outs[4];

static struct nft_policy base(void)
{
	struct nft_policy pol = {
		.table = "jgw", .wan_if = "wan0", .lan_if = "lan0",
		.wan_port = 7443, .lan_port = 7000, .ssh_port = 22,
		.peers = peers, .n_peers = 2, .servers = servers, .n_servers = 1,
		.mgmt = mgmt, .n_mgmt = 1, .out = outs, .n_out = 2,
		.rate_per_s = 10, .rate_burst = 20, .conn_limit = 8,
		.quarantine_timeout_s = 600, .nflog_group = 7,
	};
	peers[0] = pfx("10.77.0.13");
	peers[1] = pfx("fd00:77::13");
	servers[0] = pfx("10.16.0.10");
	mgmt[0] = pfx("10.99.0.0/24");
	outs[0] = (struct nft_dest){ pfx("10.77.0.13"), IPPROTO_TCP, 7443 };
	outs[1] = (struct nft_dest){ pfx("fd00:77::13"), IPPROTO_TCP, 7443 };
	return pol;
}

static char *print(const struct nft_policy *pol)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	int rc = nft_print(pol, f);
	fclose(f);
	if (rc < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static void has(const char *text, const char *needle)
{
	if (!strstr(text, needle))
		fail_msg("missing: %s", needle);
}

static void lacks(const char *text, const char *needle)
{
	if (strstr(text, needle))
		fail_msg("unexpected: %s", needle);
}

static void test_print_ruleset(void **state)
{
	struct nft_policy pol = base();
	char *t;
	(void)state;

	t = print(&pol);
	assert_non_null(t);
	/* replaces the table whether it exists or not */
	assert_true(strncmp(t, "table inet jgw\ndelete table inet jgw\ntable inet jgw {\n", 52) == 0);
	has(t, "\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n");
	has(t, "\tchain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n");
	has(t, "\tchain output {\n\t\ttype filter hook output priority filter; policy drop;\n");
	/* after conntrack: only what the quarantined source itself sends */
	has(t, "type filter hook prerouting priority mangle; policy accept;\n"
	       "\t\tct direction original ip saddr @quarantine4 counter name "
	       "\"drop_quarantine\" log prefix \"quarantine\" group 7 drop\n"
	       "\t\tct direction original ip6 saddr @quarantine6 counter name "
	       "\"drop_quarantine\" log prefix \"quarantine\" group 7 drop\n\t}\n");
	has(t, "\t\tct state established,related accept\n");
	has(t, "\t\tiif \"lo\" accept\n");
	has(t, "\t\ticmp type echo-request limit rate 10/second burst 20 packets accept\n");
	has(t, "\t\ticmpv6 type nd-neighbor-solicit limit rate 100/second burst 200 packets accept\n");
	has(t, "\t\tiifname \"wan0\" tcp dport 7443 ip saddr @peers4 ct state new update "
	       "@wan_rate4 { ip saddr limit rate over 10/second burst 20 packets } counter name "
	       "\"drop_wan_rate\" log prefix \"wan-rate\" group 7 drop\n");
	has(t, "\t\tiifname \"wan0\" tcp dport 7443 ip6 saddr @peers6 ct state new add "
	       "@wan_conn6 { ip6 saddr ct count over 8 } counter name \"drop_wan_conn\" log "
	       "prefix \"wan-conn\" group 7 drop\n");
	has(t, "\t\tiifname \"lan0\" tcp dport 7000 ip saddr @servers4 counter name "
	       "\"accept_lan\" accept\n");
	has(t, "\t\ttcp dport 22 ip saddr @mgmt4 counter name \"accept_mgmt\" accept\n");
	has(t, "\t\tcounter name \"drop_input\" log prefix \"input\" group 7 drop\n\t}\n");
	has(t, "\t\tip daddr . meta l4proto . th dport @out4 counter name \"accept_out\" accept\n");
	has(t, "\t\telements = { 10.77.0.13 . tcp . 7443 }\n");
	has(t, "\t\telements = { fd00:77::13 . tcp . 7443 }\n");
	has(t, "\tset quarantine4 {\n\t\ttype ipv4_addr\n\t\ttimeout 10m\n\t}\n");
	has(t, "\tcounter drop_forward {\n");
	/* The last rule of input is the logged drop; nothing after it. */
	const char *last = strstr(t, "log prefix \"input\"");
	assert_non_null(last);
	assert_true(strncmp(strchr(last, '\n'), "\n\t}\n", 4) == 0);
	free(t);
}

static void test_print_options(void **state)
{
	struct nft_policy pol = base();
	char *t;
	(void)state;

	pol.rate_per_s = 0;
	pol.conn_limit = 0;
	pol.ssh_port = 0;
	pol.wan_if = NULL;
	pol.quarantine_timeout_s = 90061;   /* 1d 1h 1m 1s */
	t = print(&pol);
	assert_non_null(t);
	lacks(t, "set wan_rate4");
	lacks(t, "@wan_rate6");
	lacks(t, "set wan_conn6");
	lacks(t, "@wan_conn4");
	lacks(t, "accept_mgmt\" accept");
	lacks(t, "iifname \"wan0\"");
	has(t, "\t\ttcp dport 7443 ip saddr @peers4 counter name \"accept_wan\" accept\n");
	has(t, "timeout 1d1h1m1s\n");
	free(t);

	pol = base();
	pol.rate_burst = 5;                  /* nft's default: not printed */
	t = print(&pol);
	has(t, "limit rate over 10/second }");
	free(t);
	pol.rate_burst = 0;                  /* 0: the burst is the rate */
	t = print(&pol);
	has(t, "limit rate over 10/second burst 10 packets }");
	free(t);
}

/* The LAN port is accepted on the LAN listener's address only; the
 * unspecified address (or none) means every local address. */
static void test_lan_listener(void **state)
{
	struct nft_policy pol = base();
	char *t;
	(void)state;

	pol.lan_addr = pfx("10.16.0.1");
	t = print(&pol);
	assert_non_null(t);
	has(t, "\t\tiifname \"lan0\" ip daddr 10.16.0.1 tcp dport 7000 ip saddr @servers4 "
	       "counter name \"accept_lan\" accept\n");
	lacks(t, "@servers6 counter name \"accept_lan\"");   /* no IPv6 listener */
	free(t);

	pol.lan_addr = pfx("fd00:16::1");
	t = print(&pol);
	has(t, "\t\tiifname \"lan0\" ip6 daddr fd00:16::1 tcp dport 7000 ip6 saddr @servers6 "
	       "counter name \"accept_lan\" accept\n");
	lacks(t, "@servers4 counter name \"accept_lan\"");
	free(t);

	static const char *const any[] = { "0.0.0.0", "::" };
	for (size_t i = 0; i < 2; i++) {
		pol.lan_addr = pfx(any[i]);
		t = print(&pol);
		has(t, "\t\tiifname \"lan0\" tcp dport 7000 ip saddr @servers4 counter name "
		       "\"accept_lan\" accept\n");
		has(t, "\t\tiifname \"lan0\" tcp dport 7000 ip6 saddr @servers6 counter name "
		       "\"accept_lan\" accept\n");
		lacks(t, "daddr 0.0.0.0");
		lacks(t, "daddr ::");
		free(t);
	}
}

static void test_ranges_merged(void **state)
{
	struct nft_policy pol = base();
	char *t;
	(void)state;

	peers[0] = pfx("10.0.0.0/25");
	peers[1] = pfx("10.0.0.128/25");      /* adjacent: one /24 */
	peers[2] = pfx("10.0.0.77");          /* inside it */
	peers[3] = pfx("10.1.0.1");
	peers[4] = pfx("10.1.0.2");           /* adjacent hosts: a range */
	peers[5] = pfx("10.1.0.2");           /* duplicate */
	peers[6] = pfx("fd00::/16");
	peers[7] = pfx("fd00:77::13");        /* inside */
	pol.n_peers = 8;
	t = print(&pol);
	assert_non_null(t);
	has(t, "\tset peers4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n"
	       "\t\telements = { 10.0.0.0/24, 10.1.0.1-10.1.0.2 }\n");
	has(t, "\tset peers6 {\n\t\ttype ipv6_addr\n\t\tflags interval\n"
	       "\t\telements = { fd00::/16 }\n");
	free(t);

	/* Everything, and the very top of the address space. */
	peers[0] = pfx("0.0.0.0/0");
	peers[1] = pfx("255.255.255.255");
	pol.n_peers = 2;
	char err[128];
	struct nftp_plan *pl = nftp_compile(&pol, err, sizeof err);
	assert_non_null(pl);
	assert_int_equal(pl->peers[0].n, 1);
	static const uint8_t zero[4], ones[4] = { 255, 255, 255, 255 };
	assert_memory_equal(pl->peers[0].r[0].lo, zero, 4);
	assert_memory_equal(pl->peers[0].r[0].hi, ones, 4);
	assert_int_equal(pl->peers[1].n, 0);
	nftp_free(pl);
}

static void test_out_hosts_and_networks(void **state)
{
	struct nft_policy pol = base();
	char *t;
	(void)state;

	outs[2] = (struct nft_dest){ pfx("10.99.0.0/24"), IPPROTO_UDP, 53 };
	outs[3] = (struct nft_dest){ pfx("10.77.0.13"), IPPROTO_TCP, 7443 };  /* duplicate */
	pol.n_out = 4;
	t = print(&pol);
	assert_non_null(t);
	has(t, "\t\telements = { 10.77.0.13 . tcp . 7443 }\n");
	has(t, "\t\tip daddr 10.99.0.0/24 udp dport 53 counter name \"accept_out\" accept\n");
	free(t);
}

static void test_bad_policies(void **state)
{
	struct nft_policy pol;
	char err[256];
	(void)state;

#define REJECT(mutation, words) do {                                   \
		pol = base();                                          \
		mutation;                                              \
		err[0] = '\0';                                         \
		assert_null(nftp_compile(&pol, err, sizeof err));      \
		if (!strstr(err, words))                               \
			fail_msg("error `%s' lacks `%s'", err, words); \
		assert_null(print(&pol));                              \
	} while (0)

	REJECT(pol.table = NULL, "table name");
	REJECT(pol.table = "jgw table", "table name");
	REJECT(pol.table = "", "table name");
	REJECT(pol.wan_if = "wan0\"; drop", "WAN interface");
	REJECT(pol.lan_if = "averyveryverylongname", "LAN interface");
	REJECT(pol.wan_port = 0, "ports");
	REJECT(pol.quarantine_timeout_s = 0, "quarantine timeout");
	REJECT(peers[0].family = AF_UNIX, "peer 1");
	REJECT(peers[1].len = 129, "peer 2");
	REJECT(pol.servers = NULL, "server");
	REJECT(outs[1].proto = IPPROTO_ICMP, "output destination 2");
	REJECT(outs[0].port = 0, "output destination 1");
	REJECT(pol.conn_limit = 2000000, "too large");
	REJECT(pol.lan_addr = pfx("10.16.0.0/24"), "LAN listener address");
	REJECT(pol.lan_addr.family = AF_UNIX, "LAN listener address");
#undef REJECT
	assert_int_equal(nft_print(NULL, stdout), -1);
}

/* Two appliances per site: VRRP and the quarantine sync from the partner
 * only, on the HA interface only, IPv4 and IPv6, in and out; nothing of it
 * without a partner; a bad partner list refused. */
static void test_ha_rules(void **state)
{
	struct addr_prefix partners[2] = { pfx("10.16.0.3"), pfx("fe80::3") };
	struct nft_policy pol = base();
	char err[256], *t;
	(void)state;

	t = print(&pol);
	lacks(t, "vrrp");
	lacks(t, "oifname");
	has(t, "\tcounter accept_ha {\n");      /* always there: stats list it */
	free(t);

	pol.ha_if = "lan0";
	pol.ha_partners = partners;
	pol.n_ha_partners = 2;
	pol.ha_sync_port = 7444;
	t = print(&pol);
	assert_non_null(t);
	has(t, "\t\tiifname \"lan0\" ip saddr 10.16.0.3 meta l4proto vrrp counter name "
	       "\"accept_ha\" accept\n"
	       "\t\tiifname \"lan0\" tcp dport 7444 ip saddr 10.16.0.3 counter name "
	       "\"accept_ha\" accept\n"
	       "\t\tiifname \"lan0\" ip6 saddr fe80::3 meta l4proto vrrp counter name "
	       "\"accept_ha\" accept\n"
	       "\t\tiifname \"lan0\" tcp dport 7444 ip6 saddr fe80::3 counter name "
	       "\"accept_ha\" accept\n"
	       "\t\tcounter name \"drop_input\"");
	has(t, "\t\toifname \"lan0\" ip daddr 10.16.0.3 meta l4proto vrrp counter name "
	       "\"accept_ha\" accept\n");
	has(t, "\t\toifname \"lan0\" ip6 daddr fe80::3 tcp dport 7444 counter name "
	       "\"accept_ha\" accept\n");
	/* Never without the interface or from anyone but the partner. */
	lacks(t, "\t\tmeta l4proto vrrp");
	lacks(t, "\t\tip saddr 10.16.0.3");
	/* The output's last rule is still the logged drop. */
	const char *last = strstr(t, "log prefix \"output\"");
	assert_non_null(last);
	assert_true(strncmp(strchr(last, '\n'), "\n\t}\n", 4) == 0);
	free(t);

	struct nftp_plan *pl = nftp_compile(&pol, err, sizeof err);
	assert_non_null(pl);
	size_t ha = 0;
	for (size_t i = 0; i < pl->n_rules; i++)
		ha += pl->rules[i].counter && strcmp(pl->rules[i].counter, "accept_ha") == 0;
	assert_int_equal(ha, 8);
	nftp_free(pl);

	partners[1] = pfx("fd00::/64");
	assert_null(nftp_compile(&pol, err, sizeof err));
	has(err, "HA partner 2: not a single");
	partners[1] = pfx("fe80::3");
	pol.ha_if = "bad name";
	assert_null(nftp_compile(&pol, err, sizeof err));
	has(err, "HA interface");
	pol.ha_if = "lan0";
	pol.ha_sync_port = 0;
	assert_null(nftp_compile(&pol, err, sizeof err));
	has(err, "HA sync port");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_parse),
		cmocka_unit_test(test_prefix_from_sockaddr),
		cmocka_unit_test(test_print_ruleset),
		cmocka_unit_test(test_print_options),
		cmocka_unit_test(test_lan_listener),
		cmocka_unit_test(test_ranges_merged),
		cmocka_unit_test(test_out_hosts_and_networks),
		cmocka_unit_test(test_bad_policies),
		cmocka_unit_test(test_ha_rules),
	};
	return cmocka_run_group_tests_name("nft", tests, NULL, NULL);
}
