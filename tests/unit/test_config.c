/*
 * test_config.c — the configuration loader (gateway/config.c) and
 * `jgwctl check' (gateway/ctl_check.c).
 *
 * The group setup copies conf/ and tests/config/ into a temporary directory
 * and makes a fresh PKI there with conf/mkpki.sh, so the example files load
 * exactly as shipped. Bad files carry their expected errors in comments:
 *   # expect: LINE:COL: fragment          (in the file itself)
 *   # expect: FILE:LINE:COL: fragment     (in a file it includes)
 * Every expected error must be reported, and every reported error must be
 * expected: a cascade of follow-up errors fails the test too.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "filters/policy/config.h"
#include "gateway/audit/audit.h"
#include "gateway/ctl/jgwctl.h"

#ifndef JGW_SRCDIR
#define JGW_SRCDIR "."
#endif

static char root[256];

/* ---- fixtures --------------------------------------------------------- */

static int run(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "%s/jgw-config-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(root) == NULL)
		return -1;
	return run("set -e; cd '%s'; mkdir conf; cp -R '%s/conf/.' conf/;"
		   " sh '%s/conf/mkpki.sh' conf/pki >/dev/null 2>&1;"
		   " for d in bad good; do mkdir $d; cp -R '%s/tests/config/'$d/. $d/;"
		   " ln -s ../conf/pki $d/pki; ln -s ../conf/catalog.jcat $d/catalog.jcat; done",
		   root, JGW_SRCDIR, JGW_SRCDIR, JGW_SRCDIR) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	return run("rm -rf '%s'", root) == 0 ? 0 : -1;
}

static const char *at(const char *rel)
{
	static char paths[4][PATH_MAX];
	static int next;
	char *p = paths[next++ % 4];

	snprintf(p, PATH_MAX, "%s/%s", root, rel);
	return p;
}

struct errors {
	char *msg[256];
	size_t n;
};

static void collect(void *arg, const char *msg)
{
	struct errors *e = arg;

	if (e->n < sizeof(e->msg) / sizeof(e->msg[0]))
		e->msg[e->n] = strdup(msg);
	e->n++;
}

static void errors_free(struct errors *e)
{
	for (size_t i = 0; i < e->n && i < sizeof(e->msg) / sizeof(e->msg[0]); i++)
		free(e->msg[i]);
	e->n = 0;
}

static void print_errors(const struct errors *e)
{
	for (size_t i = 0; i < e->n && i < sizeof(e->msg) / sizeof(e->msg[0]); i++)
		print_message("  reported: %s\n", e->msg[i]);
}

static struct jgw_config *load_ok(const char *rel)
{
	struct errors e = { .n = 0 };
	struct jgw_config *cfg = cfg_load(at(rel), collect, &e);

	if (cfg == NULL || e.n != 0) {
		print_message("%s did not load cleanly\n", rel);
		print_errors(&e);
	}
	assert_non_null(cfg);
	assert_int_equal(e.n, 0);
	errors_free(&e);
	return cfg;
}

static const char *ep(const struct cfg_endpoint *e)
{
	static char buf[4][64];
	static int next;

	return addr_sockaddr_str((const struct sockaddr *)&(e)->ss, buf[next++ % 4], sizeof(buf[0]));
}

static const char *pfx(const struct addr_prefix *p)
{
	static char buf[4][64];
	static int next;
	char addr[INET6_ADDRSTRLEN];
	char *b = buf[next++ % 4];

	inet_ntop(p->family, p->addr, addr, sizeof(addr));
	snprintf(b, sizeof(buf[0]), "%s/%u", addr, p->len);
	return b;
}

/* ---- the shipped examples ---------------------------------------------- */

static void test_examples_load(void **state)
{
	static const struct { const char *file, *site, *role; size_t peers; } ex[] = {
		{ "conf/chiyoda-131016.conf", "131016", "municipality", 3 },
		{ "conf/chuo-131024.conf", "131024", "municipality", 3 },
		{ "conf/tokyo-130001.conf", "130001", "prefecture", 3 },
		{ "conf/jlis-000000.conf", "000000", "jlis", 3 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		struct jgw_config *cfg = load_ok(ex[i].file);
		assert_string_equal(cfg->site, ex[i].site);
		assert_string_equal(node_role_name(node_role((const uint8_t *)cfg->site)), ex[i].role);
		assert_int_equal(cfg->n_peers, ex[i].peers);
		assert_non_null(cfg->catalog);
		assert_int_equal(strlen(cfg->sha256), 64);
		assert_int_equal(strspn(cfg->sha256, "0123456789abcdef"), 64);
		assert_int_equal(cfg->generation, 0);
		/* Sorted for bsearch, every peer allowed for this site. */
		for (size_t j = 0; j < cfg->n_peers; j++) {
			const char *why = NULL;
			if (j > 0)
				assert_true(strcmp(cfg->peers[j - 1].node, cfg->peers[j].node) < 0);
			assert_ptr_equal(cfg_peer_find(cfg, cfg->peers[j].node), &cfg->peers[j]);
			assert_true(cfg_peer_allowed(cfg, cfg->peers[j].node, &why));
		}
		cfg_free(cfg);
	}
}

static void test_example_values(void **state)
{
	struct jgw_config *cfg = load_ok("conf/chiyoda-131016.conf");
	const struct cfg_peer *tokyo;

	(void)state;
	assert_string_equal(ep(&cfg->lan_listen), "10.16.0.1:7000");
	assert_string_equal(ep(&cfg->wan_listen), "[::]:7443");
	assert_string_equal(cfg->lan_ifname, "lan0");
	assert_string_equal(cfg->wan_ifname, "wan0");
	assert_true(cfg->has_juki && cfg->has_fuhyo);
	assert_string_equal(ep(&cfg->juki_server), "10.16.0.10:7101");
	assert_string_equal(ep(&cfg->fuhyo_server), "10.16.0.10:7201");
	assert_int_equal(cfg->n_servers, 1);
	assert_string_equal(pfx(&cfg->servers[0]), "10.16.0.10/32");
	assert_int_equal(cfg->n_mgmt, 1);
	assert_string_equal(pfx(&cfg->mgmt[0]), "10.99.0.0/24");
	assert_int_equal(cfg->ssh_port, 22);
	assert_string_equal(cfg->control_path, "/run/jgw/control.sock");
	assert_string_equal(cfg->pid_file, "/run/jgw/jgwd.pid");
	assert_null(cfg->user);
	/* "pki/..." resolves against the directory of the file that says it. */
	assert_string_equal(cfg->tls.cert, at("conf/pki/131016.crt"));
	assert_string_equal(cfg->tls.key, at("conf/pki/131016.key"));
	assert_string_equal(cfg->tls.ca, at("conf/pki/ca.crt"));
	assert_int_equal(cfg->tls.n_crls, 1);
	assert_string_equal(cfg->tls.crls[0], at("conf/pki/crl.pem"));
	assert_string_equal(cfg->catalog_path, at("conf/catalog.jcat"));
	assert_int_equal(cfg->tls.crl_alarm_s, 7 * 86400);
	assert_false(cfg->tls.tls12);
	tokyo = cfg_peer_find(cfg, "130001");
	assert_non_null(tokyo);
	assert_int_equal(tokyo->n_addrs, 2);
	assert_string_equal(ep(&tokyo->addrs[0]), "10.77.0.13:7443");
	assert_string_equal(ep(&tokyo->addrs[1]), "[fd00:77::13]:7443");
	/* From common/policy.conf and common/system.conf. */
	assert_int_equal(cfg->timeouts.idle_ms, 300000);
	assert_int_equal(cfg->firewall.q_failures, 5);
	assert_int_equal(cfg->firewall.q_window_s, 60);
	assert_int_equal(cfg->firewall.q_timeout_s, 600);
	assert_int_equal(cfg->firewall.n_ntp, 1);
	assert_string_equal(ep(&cfg->firewall.ntp[0]), "10.99.0.123:123");
	assert_string_equal(cfg->audit.spool_dir, "/var/lib/jgw/audit");
	assert_int_equal(cfg->audit.rotate_bytes, 16u * 1024 * 1024);
	assert_int_equal(cfg->audit.commit_ms, 100);
	assert_int_equal(cfg->audit.stats_interval_s, 15 * 60);
	assert_int_equal(cfg->audit.retain_s, 90 * 86400);
	assert_int_equal(cfg->limits.tunnels, 1024);
	assert_int_equal(cfg->limits.buffer_bytes, 256 * 1024);
	assert_int_equal(cfg->limits.skew_ms, 300000);
	assert_false(cfg->audit.has_collector);
	cfg_free(cfg);
}

static void test_jlis_pattern_include(void **state)
{
	struct jgw_config *cfg = load_ok("conf/jlis-000000.conf");

	(void)state;
	assert_non_null(cfg_peer_find(cfg, "130001"));
	assert_non_null(cfg_peer_find(cfg, "131016"));
	assert_non_null(cfg_peer_find(cfg, "131024"));
	assert_null(cfg_peer_find(cfg, "271004"));
	assert_int_equal(cfg->limits.tunnels, 16384);
	cfg_free(cfg);
}

/* ---- defaults and includes -------------------------------------------- */

static void test_defaults(void **state)
{
	struct jgw_config *cfg = load_ok("good/minimal.conf");

	(void)state;
	assert_string_equal(ep(&cfg->lan_listen), "0.0.0.0:7000");
	assert_string_equal(ep(&cfg->wan_listen), "0.0.0.0:7443");
	/* Not defaults: a firewall that is on needs them (firewall-interfaces.conf). */
	assert_string_equal(cfg->lan_ifname, "lan0");
	assert_string_equal(cfg->wan_ifname, "wan0");
	assert_true(cfg->has_juki);
	assert_false(cfg->has_fuhyo);
	/* Without lan-allow, the local servers are the LAN sources allowed. */
	assert_int_equal(cfg->n_servers, 1);
	assert_string_equal(pfx(&cfg->servers[0]), "10.16.0.10/32");
	assert_int_equal(cfg->n_mgmt, 0);
	assert_int_equal(cfg->ssh_port, 0);        /* no management network: no SSH rule */
	assert_int_equal(cfg->tls.n_crls, 0);
	assert_int_equal(cfg->tls.crl_policy, 0);  /* fail-closed */
	assert_int_equal(cfg->tls.crl_alarm_s, 7 * 86400);
	assert_false(cfg->tls.tls12);
	assert_string_equal(ep(&cfg->peers[0].addrs[0]), "10.77.0.13:7443");
	assert_int_equal(cfg->timeouts.handshake_ms, 10000);
	assert_int_equal(cfg->timeouts.idle_ms, 300000);
	assert_int_equal(cfg->timeouts.connect_ms, 5000);
	assert_int_equal(cfg->timeouts.shutdown_ms, 5000);
	assert_int_equal(cfg->limits.tunnels, 4096);
	assert_int_equal(cfg->limits.per_peer, 256);
	assert_int_equal(cfg->limits.outstanding, 1024);
	assert_int_equal(cfg->limits.buffer_bytes, 256 * 1024);
	assert_int_equal(cfg->limits.skew_ms, 300000);
	assert_true(cfg->firewall.enabled);
	assert_string_equal(cfg->firewall.table, "jgw");
	assert_int_equal(cfg->firewall.nflog_group, 100);
	assert_int_equal(cfg->firewall.rate_per_s, 20);
	assert_int_equal(cfg->firewall.rate_burst, 40);
	assert_int_equal(cfg->firewall.conn_limit, 64);
	assert_int_equal(cfg->firewall.q_failures, 5);
	assert_int_equal(cfg->firewall.q_window_s, 60);
	assert_int_equal(cfg->firewall.q_timeout_s, 600);
	assert_true(cfg->firewall.keep_on_stop);
	assert_int_equal(cfg->firewall.n_dns + cfg->firewall.n_ntp, 0);
	assert_int_equal(cfg->firewall.drop_interval_s, 60);
	assert_string_equal(cfg->audit.spool_dir, "/var/lib/jgw/audit");
	assert_string_equal(cfg->audit.key_file, "/var/lib/jgw/audit.key");
	assert_int_equal(cfg->audit.rotate_bytes, 16u * 1024 * 1024);
	assert_int_equal(cfg->audit.commit_ms, 100);
	assert_int_equal(cfg->audit.stats_interval_s, 15 * 60);
	assert_int_equal(cfg->audit.retain_s, 90 * 86400);
	assert_int_equal(cfg->audit.retain_bytes, 0);
	assert_false(cfg->audit.require_archive);
	assert_false(cfg->audit.has_collector);
	assert_int_equal(cfg->audit.disk_alarm_pct, 80);
	assert_int_equal(cfg->audit.disk_limit_pct, 95);
	assert_int_equal(cfg->audit.disk_policy, CFG_DISK_FAIL_CLOSED);
	assert_string_equal(cfg->control_path, "/run/jgw/control.sock");
	cfg_free(cfg);
}

static void test_includes(void **state)
{
	struct jgw_config *cfg = load_ok("good/includes.conf");

	(void)state;
	assert_string_equal(cfg->tls.cert, at("good/inc/../pki/130001.crt"));
	assert_int_equal(cfg->tls.n_crls, 2);
	assert_true(cfg->tls.tls12);
	assert_int_equal(cfg->tls.crl_policy, 1);  /* fail-open */
	assert_int_equal(cfg->tls.crl_alarm_s, 36 * 3600);
	assert_int_equal(cfg->n_peers, 3);
	assert_string_equal(cfg->peers[0].node, "000000");
	assert_string_equal(cfg->peers[1].node, "131016");
	assert_string_equal(cfg->peers[2].node, "131024");
	assert_string_equal(ep(&cfg->peers[1].addrs[0]), "10.77.0.16:8443");
	assert_string_equal(ep(&cfg->peers[1].addrs[1]), "[fd00:77::16]:7443");
	assert_string_equal(ep(&cfg->fuhyo_server), "[fd00:13::10]:7201");
	cfg_free(cfg);
}

/* sha256 covers the top file and then each included file, in reading order. */
static void test_sha256(void **state)
{
	static const char *files[] = {
		"good/includes.conf", "good/inc/tls.conf",
		"good/inc/peers/a-municipalities.conf", "good/inc/peers/b-jlis.conf",
	};
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char sum[32];
	char hex[65], first[65];
	unsigned len;
	struct jgw_config *cfg;

	(void)state;
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char buf[8192];
		FILE *f = fopen(at(files[i]), "rb");
		assert_non_null(f);
		size_t n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		EVP_DigestUpdate(md, buf, n);
	}
	EVP_DigestFinal_ex(md, sum, &len);
	EVP_MD_CTX_free(md);
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", sum[i]);

	cfg = load_ok("good/includes.conf");
	assert_string_equal(cfg->sha256, hex);
	memcpy(first, cfg->sha256, sizeof(first));
	cfg_free(cfg);

	/* A change in an included file changes the configuration's hash. */
	assert_int_equal(run("echo '# changed' >> '%s'", at("good/inc/peers/b-jlis.conf")), 0);
	cfg = load_ok("good/includes.conf");
	assert_string_not_equal(cfg->sha256, first);
	cfg_free(cfg);
}

/* ---- lookups and the firewall policy ----------------------------------- */

static void test_peer_allowed(void **state)
{
	struct jgw_config *cfg = load_ok("conf/chiyoda-131016.conf");
	const char *why = NULL;

	(void)state;
	assert_true(cfg_peer_allowed(cfg, "130001", &why));
	assert_true(cfg_peer_allowed(cfg, "131024", &why));
	assert_true(cfg_peer_allowed(cfg, "000000", &why));
	why = NULL;
	assert_false(cfg_peer_allowed(cfg, "131016", &why));   /* itself */
	assert_string_equal(why, "unknown-peer");
	why = NULL;
	assert_false(cfg_peer_allowed(cfg, "271004", &why));   /* a municipality, not listed */
	assert_string_equal(why, "unknown-peer");
	why = NULL;
	assert_false(cfg_peer_allowed(cfg, "270008", &why));   /* another prefecture: never */
	assert_string_equal(why, "wrong-prefecture");
	why = NULL;
	assert_false(cfg_peer_allowed(cfg, "130002", &why));   /* bad check digit */
	assert_string_equal(why, "unknown-peer");
	assert_false(cfg_peer_allowed(cfg, "13000", NULL));
	assert_null(cfg_peer_find(cfg, "1300011"));
	assert_null(cfg_peer_find(cfg, ""));
	cfg_free(cfg);

	cfg = load_ok("conf/tokyo-130001.conf");
	assert_true(cfg_peer_allowed(cfg, "131016", &why));
	assert_true(cfg_peer_allowed(cfg, "000000", &why));
	why = NULL;
	assert_false(cfg_peer_allowed(cfg, "271004", &why));   /* Osaka's municipality */
	assert_string_equal(why, "wrong-prefecture");
	why = NULL;
	assert_false(cfg_peer_allowed(cfg, "270008", &why));
	assert_string_equal(why, "wrong-prefecture");
	why = NULL;
	assert_false(cfg_peer_allowed(cfg, "131032", &why));   /* Tokyo's, but not listed */
	assert_string_equal(why, "unknown-peer");
	cfg_free(cfg);
}

static bool allowed(const struct jgw_config *cfg, const char *addr)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, addr, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	else
		fail_msg("bad test address %s", addr);
	return cfg_server_allowed(cfg, (struct sockaddr *)&ss);
}

static void test_server_allowed(void **state)
{
	struct jgw_config *cfg = load_ok("conf/chiyoda-131016.conf");

	(void)state;
	assert_true(allowed(cfg, "10.16.0.10"));
	assert_true(allowed(cfg, "::ffff:10.16.0.10"));   /* v4-mapped from a dual-stack socket */
	assert_false(allowed(cfg, "10.16.0.11"));
	assert_false(allowed(cfg, "10.16.0.1"));
	assert_false(allowed(cfg, "fd00:16::10"));
	cfg_free(cfg);

	cfg = load_ok("good/includes.conf");
	assert_true(allowed(cfg, "10.13.0.0"));
	assert_true(allowed(cfg, "10.13.0.15"));
	assert_false(allowed(cfg, "10.13.0.16"));
	assert_true(allowed(cfg, "fd00:13::abcd"));
	assert_false(allowed(cfg, "fd00:14::1"));
	cfg_free(cfg);
}

static bool has_dest(const struct nft_policy *p, const char *addr, uint8_t proto, uint16_t port)
{
	for (size_t i = 0; i < p->n_out; i++) {
		char a[INET6_ADDRSTRLEN];
		inet_ntop(p->out[i].prefix.family, p->out[i].prefix.addr, a, sizeof(a));
		if (strcmp(a, addr) == 0 && p->out[i].proto == proto && p->out[i].port == port)
			return true;
	}
	return false;
}

static void test_nft_policy(void **state)
{
	struct jgw_config *cfg = load_ok("conf/chiyoda-131016.conf");
	struct nft_policy p;

	(void)state;
	assert_true(cfg_nft_policy(cfg, &p));
	assert_string_equal(p.table, "jgw");
	assert_string_equal(p.wan_if, "wan0");
	assert_string_equal(p.lan_if, "lan0");
	assert_int_equal(p.wan_port, 7443);
	assert_int_equal(p.lan_port, 7000);
	assert_int_equal(p.ssh_port, 22);
	assert_int_equal(p.n_peers, 6);            /* 3 peers, IPv4 and IPv6 each */
	for (size_t i = 0; i < p.n_peers; i++)
		assert_int_equal(p.peers[i].len, p.peers[i].family == AF_INET ? 32 : 128);
	assert_int_equal(p.n_servers, 1);
	assert_int_equal(p.n_mgmt, 1);
	assert_true(has_dest(&p, "10.77.0.13", IPPROTO_TCP, 7443));
	assert_true(has_dest(&p, "fd00:77::100", IPPROTO_TCP, 7443));
	assert_true(has_dest(&p, "10.16.0.10", IPPROTO_TCP, 7101));
	assert_true(has_dest(&p, "10.16.0.10", IPPROTO_TCP, 7201));
	assert_true(has_dest(&p, "10.99.0.123", IPPROTO_UDP, 123));
	assert_int_equal(p.n_out, 6 + 2 + 1);
	assert_int_equal(p.rate_per_s, 20);
	assert_int_equal(p.rate_burst, 40);
	assert_int_equal(p.conn_limit, 64);
	assert_int_equal(p.quarantine_timeout_s, 600);
	assert_int_equal(p.nflog_group, 100);
	cfg_free(cfg);
}

/* `ntp ADDR nts`: the NTP port as ever, and TCP 4460 for NTS-KE too. */
static void test_ntp_nts(void **state)
{
	struct jgw_config *cfg = load_ok("good/ntp-nts.conf");
	struct nft_policy p;

	(void)state;
	assert_int_equal(cfg->firewall.n_ntp, 2);
	assert_string_equal(ep(&cfg->firewall.ntp[0]), "10.99.0.123:123");
	assert_string_equal(ep(&cfg->firewall.ntp[1]), "10.99.0.124:1123");
	assert_int_equal(cfg->firewall.n_nts_ke, 1);
	assert_string_equal(ep(&cfg->firewall.nts_ke[0]), "10.99.0.124:4460");
	assert_true(cfg_nft_policy(cfg, &p));
	assert_true(has_dest(&p, "10.99.0.123", IPPROTO_UDP, 123));
	assert_true(has_dest(&p, "10.99.0.124", IPPROTO_UDP, 1123));
	assert_true(has_dest(&p, "10.99.0.124", IPPROTO_TCP, 4460));
	assert_false(has_dest(&p, "10.99.0.123", IPPROTO_TCP, 4460));
	cfg_free(cfg);
}

static void test_endpoint_str(void **state)
{
	struct cfg_endpoint e;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&e.ss;
	char small[8];

	(void)state;
	memset(&e, 0, sizeof(e));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(7443);
	inet_pton(AF_INET6, "2001:db8::1", &sin6->sin6_addr);
	assert_string_equal(ep(&e), "[2001:db8::1]:7443");
	/* Truncated, never overrun. */
	assert_int_equal(strlen(addr_sockaddr_str((const struct sockaddr *)&(e).ss, small, sizeof(small))), sizeof(small) - 1);
}

/* ---- bad files --------------------------------------------------------- */

struct expectation {
	char text[2048];
	bool seen;
};

static size_t read_expectations(const char *path, const char *dir, struct expectation *exp, size_t max)
{
	FILE *f = fopen(path, "r");
	char line[512];
	size_t n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL && n < max) {
		const char *e = strstr(line, "# expect: ");
		if (e == NULL)
			continue;
		e += strlen("# expect: ");
		line[strcspn(line, "\n")] = '\0';
		/* "L:C: text" is in the file itself; "FILE:L:C: text" in an include. */
		if (e[0] >= '0' && e[0] <= '9')
			snprintf(exp[n].text, sizeof(exp[n].text), "%s:%s", path, e);
		else
			snprintf(exp[n].text, sizeof(exp[n].text), "%s/%s", dir, e);
		exp[n++].seen = false;
	}
	fclose(f);
	return n;
}

/* A reported message meets an expectation when it has the same position
 * and contains the expected text. */
static bool meets(const char *msg, const char *expected)
{
	/* "file:L:C" ends at the first ": "; the rest is the expected text. */
	const char *sep = strstr(expected, ": ");
	size_t pos_len;

	if (sep == NULL)
		return false;
	pos_len = (size_t)(sep - expected) + 2;
	return strncmp(msg, expected, pos_len) == 0 && strstr(msg + pos_len, sep + 2) != NULL;
}

static void check_bad_file(const char *name)
{
	char path[1024], dir[512];
	struct expectation exp[16];
	struct errors e = { .n = 0 };
	size_t n_exp;
	struct jgw_config *cfg;
	bool ok = true;

	snprintf(dir, sizeof(dir), "%s/bad", root);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	n_exp = read_expectations(path, dir, exp, 16);
	if (n_exp == 0)
		fail_msg("%s: no '# expect:' line", name);
	cfg = cfg_load(path, collect, &e);
	if (cfg != NULL) {
		cfg_free(cfg);
		fail_msg("%s loaded, but it is bad", name);
	}
	for (size_t i = 0; i < e.n && i < 256; i++) {
		bool expected = false;
		for (size_t j = 0; j < n_exp; j++) {
			if (meets(e.msg[i], exp[j].text)) {
				exp[j].seen = true;
				expected = true;
			}
		}
		if (!expected) {
			print_message("%s: unexpected error: %s\n", name, e.msg[i]);
			ok = false;
		}
	}
	for (size_t j = 0; j < n_exp; j++) {
		if (!exp[j].seen) {
			print_message("%s: missing error: %s\n", name, exp[j].text);
			ok = false;
		}
	}
	if (!ok)
		print_errors(&e);
	errors_free(&e);
	if (!ok)
		fail_msg("%s: errors differ from its '# expect:' lines", name);
}

static void test_bad_files(void **state)
{
	struct dirent **list;
	int n;
	size_t checked = 0;

	(void)state;
	n = scandir(at("bad"), &list, NULL, alphasort);
	assert_true(n > 0);
	for (int i = 0; i < n; i++) {
		size_t len = strlen(list[i]->d_name);
		if (len > 5 && strcmp(list[i]->d_name + len - 5, ".conf") == 0) {
			check_bad_file(list[i]->d_name);
			checked++;
		}
		free(list[i]);
	}
	free(list);
	assert_true(checked >= 15);
}

static void test_too_many_errors(void **state)
{
	struct errors e = { .n = 0 };
	FILE *f = fopen(at("bad/many.gen"), "w");

	(void)state;
	assert_non_null(f);
	for (int i = 0; i < 300; i++)
		fprintf(f, "nosuchkeyword%d 1;\n", i);
	fclose(f);
	assert_null(cfg_load(at("bad/many.gen"), collect, &e));
	/* 100 shown, then one line saying the rest are not. */
	assert_int_equal(e.n, 101);
	assert_non_null(strstr(e.msg[100], "too many errors"));
	errors_free(&e);
}

static void test_include_depth(void **state)
{
	struct errors e = { .n = 0 };
	bool found = false;

	(void)state;
	for (int i = 0; i < 12; i++) {
		char name[32];
		snprintf(name, sizeof(name), "bad/depth%d.gen", i);
		FILE *f = fopen(at(name), "w");
		assert_non_null(f);
		fprintf(f, "include \"depth%d.gen\";\n", i + 1);
		fclose(f);
	}
	assert_null(cfg_load(at("bad/depth0.gen"), collect, &e));
	for (size_t i = 0; i < e.n; i++)
		found |= strstr(e.msg[i], "/depth8.gen:1:9: include '") != NULL &&
			 strstr(e.msg[i], "/depth9.gen': more than 8 levels of include") != NULL;
	if (!found)
		print_errors(&e);
	assert_true(found);
	errors_free(&e);
}

static void test_missing_top_file(void **state)
{
	struct errors e = { .n = 0 };

	(void)state;
	assert_null(cfg_load(at("no-such.conf"), collect, &e));
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.msg[0], "no-such.conf: cannot read: No such file or directory"));
	errors_free(&e);
}

/* A relative top file: messages keep the name as given, paths in the file
 * become absolute, so they stay right if the daemon changes directory. */
static void test_relative_top_file(void **state)
{
	char cwd[PATH_MAX];
	struct jgw_config *cfg;
	struct errors e = { .n = 0 };

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(at("conf")), 0);
	cfg = cfg_load("chiyoda-131016.conf", collect, &e);
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(e.n, 0);
	assert_non_null(cfg);
	assert_string_equal(cfg->tls.cert, at("conf/pki/131016.crt"));
	assert_string_equal(cfg->catalog_path, at("conf/catalog.jcat"));
	cfg_free(cfg);

	assert_int_equal(chdir(at("bad")), 0);
	cfg = cfg_load("port-range.conf", collect, &e);
	assert_int_equal(chdir(cwd), 0);
	assert_null(cfg);
	assert_true(e.n > 0);
	assert_true(strncmp(e.msg[0], "port-range.conf:8:29: ", 22) == 0);
	errors_free(&e);
}

/* Files saved by other editors: a byte-order mark, CRLF line ends, and
 * Japanese text, where columns count characters, not bytes. */
static void test_bom_crlf_columns(void **state)
{
	struct errors e = { .n = 0 };
	FILE *f = fopen(at("good/bom.gen"), "wb");
	char expect[PATH_MAX + 64];

	(void)state;
	assert_non_null(f);
	fputs("\xEF\xBB\xBF# 千代田区\r\nsite 131016;\r\ncatalog \"catalog.jcat\";\r\n"
	      "tls { certificate \"pki/131016.crt\"; key \"pki/131016.key\"; ca \"pki/ca.crt\"; }\r\n"
	      "server juki 10.16.0.10 port 7101; interface lan lan0; interface wan wan0;\r\n"
	      "peer 130001 { address 10.77.0.13; } # 東京都\r\n", f);
	fclose(f);
	struct jgw_config *cfg = load_ok("good/bom.gen");
	assert_string_equal(cfg->site, "131016");
	cfg_free(cfg);

	f = fopen(at("good/bom.gen"), "ab");
	assert_non_null(f);
	fputs("pid-file \"/run/ジェイ.pid\"; sitee;\r\n", f);
	fclose(f);
	assert_null(cfg_load(at("good/bom.gen"), collect, &e));
	assert_int_equal(e.n, 1);
	snprintf(expect, sizeof(expect), "%s:7:26: unknown keyword 'sitee' (did you mean 'site'?)", at("good/bom.gen"));
	assert_string_equal(e.msg[0], expect);
	errors_free(&e);
}

/* ---- firewall interfaces and the collector's name ------------------------ */

/* Writes good/NAME: a loadable site (as minimal.conf, without interfaces)
 * followed by extra; returns its path. */
static const char *write_site(const char *name, const char *extra)
{
	char rel[128];
	FILE *f;

	snprintf(rel, sizeof(rel), "good/%s", name);
	f = fopen(at(rel), "w");
	assert_non_null(f);
	fprintf(f, "site 131016;\ncatalog \"catalog.jcat\";\n"
		"tls { certificate \"pki/131016.crt\"; key \"pki/131016.key\"; ca \"pki/ca.crt\"; }\n"
		"server juki 10.16.0.10 port 7101;\npeer 130001 { address 10.77.0.13; }\n%s", extra);
	fclose(f);
	return at(rel);
}

/* Loads path expecting exactly one error, "where:POS: ..." containing text. */
static void expect_one_error_in(const char *path, const char *where, const char *pos,
				const char *text)
{
	struct errors e = { .n = 0 };
	char want[PATH_MAX + 32];

	assert_null(cfg_load(path, collect, &e));
	snprintf(want, sizeof(want), "%s:%s: ", where, pos);
	if (e.n != 1 || strncmp(e.msg[0], want, strlen(want)) != 0 || !strstr(e.msg[0], text)) {
		print_message("want one error \"%s%s\"\n", want, text);
		print_errors(&e);
		fail();
	}
	errors_free(&e);
}

static void expect_one_error(const char *path, const char *pos, const char *text)
{
	expect_one_error_in(path, path, pos, text);
}

static void test_firewall_interfaces(void **state)
{
	struct jgw_config *cfg;
	struct nft_policy p;
	const char *path;

	(void)state;
	/* The firewall is on by default: no block at all still needs both. */
	path = write_site("fw-default.gen", "");
	expect_one_error(path, "1:1", "'interface lan' and 'interface wan' are required when "
			 "the firewall is enabled");
	path = write_site("fw-nolan.gen", "interface wan wan0;\nfirewall { rate 10; }\n");
	expect_one_error(path, "7:1", "firewall: 'interface lan' is required");
	/* The block in an included file is where the error points. */
	FILE *f = fopen(at("good/fw-inc.inc"), "w");
	assert_non_null(f);
	fputs("# policy\n  firewall { enabled yes; }\n", f);
	fclose(f);
	path = write_site("fw-include.gen", "interface lan lan0;\ninclude \"fw-inc.inc\";\n");
	expect_one_error_in(path, at("good/fw-inc.inc"), "2:3", "'interface wan' is required");
	/* Off: no interface needed (and none in the policy). */
	write_site("fw-off.gen", "firewall { enabled no; }\n");
	cfg = load_ok("good/fw-off.gen");
	assert_false(cfg->firewall.enabled);
	assert_null(cfg->lan_ifname);
	cfg_free(cfg);
	/* On with both: the ports are bound to them. */
	write_site("fw-on.gen", "interface lan lan0;\ninterface wan wan0;\nfirewall { enabled yes; }\n");
	cfg = load_ok("good/fw-on.gen");
	assert_true(cfg_nft_policy(cfg, &p));
	assert_string_equal(p.lan_if, "lan0");
	assert_string_equal(p.wan_if, "wan0");
	cfg_free(cfg);
}

/* audit retention: the window, a size, the archive requirement, and their
 * ranges (docs/configuration.md, audit.md Retention). */
static void test_audit_retention(void **state)
{
	struct jgw_config *cfg;
	const char *path;

	(void)state;
	write_site("retain.gen", "firewall { enabled no; }\n"
		   "audit { retain 30d; retain-size 64MiB; require-archive yes; }\n");
	cfg = load_ok("good/retain.gen");
	assert_int_equal(cfg->audit.retain_s, 30 * 86400);
	assert_int_equal(cfg->audit.retain_bytes, 64u * 1024 * 1024);
	assert_true(cfg->audit.require_archive);
	cfg_free(cfg);
	path = write_site("retain-short.gen", "firewall { enabled no; }\naudit { retain 10min; }\n");
	expect_one_error(path, "7:16", "audit retain: '10min' out of range");
	path = write_site("retain-bool.gen", "firewall { enabled no; }\naudit { require-archive maybe; }\n");
	expect_one_error(path, "7:25", "require-archive");
}

static void test_collector_name(void **state)
{
	static const char *const bad[] = {
		"131024", "*.example", "bad-.example", "-bad.example", "a..example",
		"collector.example.", "a_b.example", "x.",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example",
	};
	static const char collector[] =
		"interface lan lan0;\ninterface wan wan0;\n"
		"audit { collector { host 10.99.0.20; %s ca \"pki/ca.crt\";\n"
		"\tcertificate \"pki/131016.crt\"; key \"pki/131016.key\"; } }\n";
	char extra[512];
	struct jgw_config *cfg;

	(void)state;
	snprintf(extra, sizeof(extra), collector, "name \"collector.example\";");
	write_site("name-quoted.gen", extra);
	cfg = load_ok("good/name-quoted.gen");
	assert_true(cfg->audit.has_collector);
	assert_string_equal(cfg->audit.collector_host, "10.99.0.20");
	assert_string_equal(cfg->audit.collector_name, "collector.example");
	cfg_free(cfg);
	snprintf(extra, sizeof(extra), collector, "name audit-1.jgw.example;");
	write_site("name-word.gen", extra);
	cfg = load_ok("good/name-word.gen");
	assert_string_equal(cfg->audit.collector_name, "audit-1.jgw.example");
	cfg_free(cfg);
	/* Required with a collector: the host is an address, never a name. */
	snprintf(extra, sizeof(extra), collector, "");
	expect_one_error(write_site("name-none.gen", extra), "8:9", "audit collector: no 'name'");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char stmt[128], text[160];
		snprintf(stmt, sizeof(stmt), "name \"%s\";", bad[i]);
		snprintf(extra, sizeof(extra), collector, stmt);
		snprintf(text, sizeof(text), "audit collector name: '%s' is not a host name", bad[i]);
		expect_one_error(write_site("name-bad.gen", extra), "8:43", text);
	}
}

/* ---- jgwctl check ------------------------------------------------------- */

/* Runs ctl_check_main with stdout and stderr captured into out and err. */
static int ctl_check(const char *file, char *out, size_t outlen, char *err, size_t errlen)
{
	char *argv[] = { "check", (char *)file, NULL };
	int argc = file ? 2 : 1;
	int saved_out = dup(1), saved_err = dup(2), rc;
	FILE *fo = tmpfile(), *fe = tmpfile();

	assert_non_null(fo);
	assert_non_null(fe);
	fflush(stdout);
	fflush(stderr);
	dup2(fileno(fo), 1);
	dup2(fileno(fe), 2);
	rc = ctl_check_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	rewind(fo);
	rewind(fe);
	out[fread(out, 1, outlen - 1, fo)] = '\0';
	err[fread(err, 1, errlen - 1, fe)] = '\0';
	fclose(fo);
	fclose(fe);
	return rc;
}

static void test_ctl_check(void **state)
{
	char out[4096], err[8192], expect[PATH_MAX + 64];

	(void)state;
	/* The example, with its state (the audit key a start needs) in here. */
	assert_int_equal(run("set -e; cd '%s'; cp -R conf conf-ctl; mkdir conf-ctl/lib;"
			     " sed -i 's|/var/lib/jgw|%s/conf-ctl/lib|g' conf-ctl/common/system.conf",
			     root, root), 0);
	char k0[PATH_MAX], key[PATH_MAX], msg[256];
	snprintf(k0, sizeof(k0), "%s/conf-ctl/k0", root);
	snprintf(key, sizeof(key), "%s/conf-ctl/lib/audit.key", root);
	assert_int_equal(audit_init_key(k0, key, msg, sizeof(msg)), 0);
	assert_int_equal(ctl_check(at("conf-ctl/chiyoda-131016.conf"), out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(err, "");
	snprintf(expect, sizeof(expect), "%s: ok: site 131016 (municipality), 3 peers (6 addresses), "
		 "0 warnings, sha256 ", at("conf-ctl/chiyoda-131016.conf"));
	assert_non_null(strstr(out, expect));

	/* The same file without its audit key: what a start refuses, the check
	 * refuses, and says what to run. */
	unlink(key);
	assert_int_equal(ctl_check(at("conf-ctl/chiyoda-131016.conf"), out, sizeof(out), err, sizeof(err)), 1);
	assert_non_null(strstr(err, "audit key"));
	assert_non_null(strstr(err, "jgwctl audit init"));

	assert_int_equal(ctl_check(at("bad/several-errors.conf"), out, sizeof(out), err, sizeof(err)), 1);
	assert_string_equal(out, "");
	snprintf(expect, sizeof(expect), "%s:10:1: unknown keyword 'lisen' (did you mean 'listen'?)\n", at("bad/several-errors.conf"));
	assert_non_null(strstr(err, expect));
	snprintf(expect, sizeof(expect), "%s: 5 errors, configuration rejected\n", at("bad/several-errors.conf"));
	assert_non_null(strstr(err, expect));

	/* cfg_load accepts it; the TLS material does not hold together. */
	struct jgw_config *cfg = load_ok("good/key-mismatch.conf");
	cfg_free(cfg);
	assert_int_equal(ctl_check(at("good/key-mismatch.conf"), out, sizeof(out), err, sizeof(err)), 1);
	assert_string_equal(out, "");
	snprintf(expect, sizeof(expect), "%s:5:41: tls: ", at("good/key-mismatch.conf"));
	assert_non_null(strstr(err, expect));

	assert_int_equal(ctl_check(NULL, out, sizeof(out), err, sizeof(err)), 2);
	assert_non_null(strstr(err, "usage: jgwctl check FILE"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_examples_load),
		cmocka_unit_test(test_example_values),
		cmocka_unit_test(test_jlis_pattern_include),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_includes),
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_peer_allowed),
		cmocka_unit_test(test_server_allowed),
		cmocka_unit_test(test_nft_policy),
		cmocka_unit_test(test_ntp_nts),
		cmocka_unit_test(test_endpoint_str),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_too_many_errors),
		cmocka_unit_test(test_include_depth),
		cmocka_unit_test(test_missing_top_file),
		cmocka_unit_test(test_bom_crlf_columns),
		cmocka_unit_test(test_relative_top_file),
		cmocka_unit_test(test_ctl_check),
		cmocka_unit_test(test_firewall_interfaces),
		cmocka_unit_test(test_audit_retention),
		cmocka_unit_test(test_collector_name),
	};

	return cmocka_run_group_tests_name("config", tests, group_setup, group_teardown);
}
