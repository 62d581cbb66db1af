/*
 * nft_rules.c — the gateway's ruleset as a plan (nft_int.h), and its nft
 * syntax (nft_print). Nothing here talks to the kernel.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <net/if.h>

#include "filters/firewall/nft_int.h"

const char *const nftp_counters[NFTP_N_COUNTERS] = {
	"drop_quarantine", "drop_invalid", "drop_wan_rate", "drop_wan_conn",
	"drop_input", "drop_forward", "drop_output",
	"accept_wan", "accept_lan", "accept_mgmt", "accept_out", "accept_ha",
};

/* The quarantine chain runs after conntrack (-200) so that it can tell who
 * started a flow: it drops what a quarantined source sends in the original
 * direction (its new connections and its established ones) and lets the
 * replies of the gateway's own connections to it pass. It still runs before
 * the input chain, whose first rule accepts established traffic. */
const struct nftp_chain nftp_chains[NFTP_N_CHAINS] = {
	{ "prerouting", "prerouting", NF_INET_PRE_ROUTING, -150, "mangle", true },
	{ "input", "input", NF_INET_LOCAL_IN, 0, "filter", false },
	{ "forward", "forward", NF_INET_FORWARD, 0, "filter", false },
	{ "output", "output", NF_INET_LOCAL_OUT, 0, "filter", false },
};

/* ct state bits as the kernel has them (NF_CT_STATE_BIT). */
#define CT_INVALID     1u
#define CT_ESTABLISHED 2u
#define CT_RELATED     4u
#define CT_NEW         8u

/* Essential ICMP: what the appliance needs and nothing more. Errors that
 * belong to a flow are accepted as ct state related before these. */
static const struct {
	int family;
	uint8_t type;
	const char *name;
	uint32_t rate, burst;           /* 0: no limit (output side) */
	bool input;
} icmp_rules[] = {
	{ AF_INET, 8, "echo-request", 10, 20, true },
	{ AF_INET6, 128, "echo-request", 10, 20, true },
	{ AF_INET6, 135, "nd-neighbor-solicit", 100, 200, true },
	{ AF_INET6, 136, "nd-neighbor-advert", 100, 200, true },
	{ AF_INET6, 134, "nd-router-advert", 10, 20, true },
	{ AF_INET6, 135, "nd-neighbor-solicit", 0, 0, false },
	{ AF_INET6, 136, "nd-neighbor-advert", 0, 0, false },
	{ AF_INET6, 133, "nd-router-solicit", 0, 0, false },
	{ AF_INET6, 143, "mld2-listener-report", 0, 0, false },
};

bool nftp_addr_inc(uint8_t *a, int len)
{
	for (int i = len - 1; i >= 0; i--)
		if (++a[i] != 0)
			return true;
	return false;
}

bool nftp_valid_name(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n >= max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

/* ---- compiling a policy ------------------------------------------------ */

static int range_cmp(const void *a, const void *b)
{
	return memcmp(((const struct nftp_range *)a)->lo,
		      ((const struct nftp_range *)b)->lo, 16);
}

/* Sorted, merged ranges of the prefixes of one family. Overlapping or
 * adjacent prefixes become one range: the kernel refuses overlaps. */
static bool build_ranges(const struct addr_prefix *pfx, size_t n, int family,
			 struct nftp_rangeset *out)
{
	int alen = (int)addr_bytes(family);
	size_t m = 0;

	out->r = calloc(n ? n : 1, sizeof *out->r);
	out->n = 0;
	if (!out->r)
		return false;
	for (size_t i = 0; i < n; i++) {
		struct nftp_range *r;
		if (pfx[i].family != family)
			continue;
		r = &out->r[m++];
		memcpy(r->lo, pfx[i].addr, (size_t)alen);
		memcpy(r->hi, pfx[i].addr, (size_t)alen);
		for (int bit = pfx[i].len; bit < alen * 8; bit++)
			r->hi[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
	}
	qsort(out->r, m, sizeof *out->r, range_cmp);
	for (size_t i = 0; i < m; i++) {
		struct nftp_range *last = out->n ? &out->r[out->n - 1] : NULL;
		if (last) {
			uint8_t next[16];
			memcpy(next, last->hi, 16);
			/* last->hi all ones covers everything after it */
			if (!nftp_addr_inc(next, alen) ||
			    memcmp(out->r[i].lo, next, (size_t)alen) <= 0) {
				if (memcmp(out->r[i].hi, last->hi, (size_t)alen) > 0)
					memcpy(last->hi, out->r[i].hi, 16);
				continue;
			}
		}
		out->r[out->n++] = out->r[i];
	}
	return true;
}

static bool dest_is_host(const struct nft_dest *d)
{
	return d->prefix.len == (int)addr_bytes(d->prefix.family) * 8;
}

static int dest_cmp(const void *a, const void *b)
{
	const struct nft_dest *x = *(const struct nft_dest *const *)a;
	const struct nft_dest *y = *(const struct nft_dest *const *)b;
	int c = memcmp(x->prefix.addr, y->prefix.addr, 16);
	if (c)
		return c;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return x->port < y->port ? -1 : x->port > y->port;
}

static bool check_prefixes(const struct addr_prefix *p, size_t n, const char *what,
			   char *err, size_t errlen)
{
	if (n && !p) {
		snprintf(err, errlen, "%s: list missing", what);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		int alen = (int)addr_bytes(p[i].family);
		if (alen == 0 || p[i].len > alen * 8) {
			snprintf(err, errlen, "%s %zu: not an IPv4/IPv6 prefix", what, i + 1);
			return false;
		}
	}
	return true;
}

/* No LAN listener address, or the unspecified one (0.0.0.0, ::): the
 * listener is on every local address. */
static bool lan_addr_any(const struct addr_prefix *a)
{
	static const uint8_t zero[16];
	int alen = (int)addr_bytes(a->family);
	return alen == 0 || memcmp(a->addr, zero, (size_t)alen) == 0;
}

static bool check_lan_addr(const struct addr_prefix *a, char *err, size_t errlen)
{
	int alen = (int)addr_bytes(a->family);
	if (a->family == 0)
		return true;
	if (alen == 0 || a->len != alen * 8) {
		snprintf(err, errlen, "LAN listener address: not a single IPv4 or IPv6 address");
		return false;
	}
	return true;
}

static bool check_policy(const struct nft_policy *pol, char *err, size_t errlen)
{
	if (!nftp_valid_name(pol->table, 64)) {
		snprintf(err, errlen, "table name `%s' is not a valid name",
			 pol->table ? pol->table : "");
		return false;
	}
	if (pol->wan_if && !nftp_valid_name(pol->wan_if, IFNAMSIZ)) {
		snprintf(err, errlen, "WAN interface `%s' is not a valid name", pol->wan_if);
		return false;
	}
	if (pol->lan_if && !nftp_valid_name(pol->lan_if, IFNAMSIZ)) {
		snprintf(err, errlen, "LAN interface `%s' is not a valid name", pol->lan_if);
		return false;
	}
	if (pol->wan_port == 0 || pol->lan_port == 0) {
		snprintf(err, errlen, "WAN and LAN listener ports must be set");
		return false;
	}
	if (!check_lan_addr(&pol->lan_addr, err, errlen) ||
	    (pol->metrics_port && !check_lan_addr(&pol->metrics_addr, err, errlen)))
		return false;
	if (!check_prefixes(pol->peers, pol->n_peers, "peer", err, errlen) ||
	    !check_prefixes(pol->servers, pol->n_servers, "server", err, errlen) ||
	    !check_prefixes(pol->mgmt, pol->n_mgmt, "management network", err, errlen))
		return false;
	if (pol->n_out && !pol->out) {
		snprintf(err, errlen, "output list missing");
		return false;
	}
	for (size_t i = 0; i < pol->n_out; i++) {
		const struct nft_dest *d = &pol->out[i];
		int alen = (int)addr_bytes(d->prefix.family);
		if (alen == 0 || d->prefix.len > alen * 8 ||
		    (d->proto != IPPROTO_TCP && d->proto != IPPROTO_UDP) || d->port == 0) {
			snprintf(err, errlen, "output destination %zu: needs an address, "
				 "tcp or udp, and a port", i + 1);
			return false;
		}
	}
	if (pol->quarantine_timeout_s == 0 || pol->quarantine_timeout_s > 86400u * 365) {
		snprintf(err, errlen, "quarantine timeout %u s out of range (1 s .. 1 year)",
			 pol->quarantine_timeout_s);
		return false;
	}
	if (pol->rate_per_s > 1000000 || pol->rate_burst > 1000000 ||
	    pol->conn_limit > 1000000) {
		snprintf(err, errlen, "rate or connection limit too large");
		return false;
	}
	return nftp_ha_check(pol, err, errlen);
}

static struct nftp_set *add_set(struct nftp_plan *pl, const char *name,
				enum nftp_set_kind kind, int family)
{
	struct nftp_set *s = &pl->sets[pl->n_sets++];
	snprintf(s->name, sizeof s->name, "%s", name);
	s->kind = kind;
	s->family = family;
	return s;
}

static struct nftp_rule *add_rule(struct nftp_plan *pl, const char *chain)
{
	struct nftp_rule *r = &pl->rules[pl->n_rules++];
	memset(r, 0, sizeof *r);
	r->chain = chain;
	return r;
}

static void set_log_drop(struct nftp_rule *r, const char *counter, const char *prefix)
{
	r->counter = counter;
	r->log_prefix = prefix;
	r->accept = false;
}

static void plan_sets(struct nftp_plan *pl)
{
	const struct nft_policy *pol = pl->pol;
	static const char *const sfx[2] = { "4", "6" };
	static const int fam[2] = { AF_INET, AF_INET6 };
	char name[16];

	for (int f = 0; f < 2; f++) {
		struct nftp_set *s;
		snprintf(name, sizeof name, "quarantine%s", sfx[f]);
		s = add_set(pl, name, NFTP_SET_QUARANTINE, fam[f]);
		s->timeout_s = pol->quarantine_timeout_s;
	}
	for (int f = 0; f < 2; f++) {
		snprintf(name, sizeof name, "peers%s", sfx[f]);
		add_set(pl, name, NFTP_SET_ADDR, fam[f])->ranges = &pl->peers[f];
		snprintf(name, sizeof name, "servers%s", sfx[f]);
		add_set(pl, name, NFTP_SET_ADDR, fam[f])->ranges = &pl->servers[f];
		snprintf(name, sizeof name, "mgmt%s", sfx[f]);
		add_set(pl, name, NFTP_SET_ADDR, fam[f])->ranges = &pl->mgmt[f];
	}
	for (int f = 0; f < 2; f++) {
		struct nftp_set *s;
		if (pol->rate_per_s) {
			snprintf(name, sizeof name, "wan_rate%s", sfx[f]);
			add_set(pl, name, NFTP_SET_RATE, fam[f])->timeout_s = NFT_RATE_TIMEOUT_S;
		}
		if (pol->conn_limit) {
			snprintf(name, sizeof name, "wan_conn%s", sfx[f]);
			add_set(pl, name, NFTP_SET_CONN, fam[f]);
		}
		snprintf(name, sizeof name, "out%s", sfx[f]);
		s = add_set(pl, name, NFTP_SET_OUT, fam[f]);
		s->out = pl->out_host[f];
		s->n_out = pl->n_out_host[f];
	}
}

static void plan_input(struct nftp_plan *pl)
{
	const struct nft_policy *pol = pl->pol;
	static const char *const peers[2] = { "peers4", "peers6" };
	static const char *const servers[2] = { "servers4", "servers6" };
	static const char *const mgmt[2] = { "mgmt4", "mgmt6" };
	static const char *const rate[2] = { "wan_rate4", "wan_rate6" };
	static const char *const conn[2] = { "wan_conn4", "wan_conn6" };
	static const int fam[2] = { AF_INET, AF_INET6 };
	struct nftp_rule *r;

	r = add_rule(pl, "input");
	r->ct_state = CT_ESTABLISHED | CT_RELATED;
	r->accept = true;
	r = add_rule(pl, "input");
	r->iif_lo = true;
	r->accept = true;
	r = add_rule(pl, "input");
	r->ct_state = CT_INVALID;
	set_log_drop(r, "drop_invalid", "invalid");
	for (size_t i = 0; i < sizeof icmp_rules / sizeof icmp_rules[0]; i++) {
		if (!icmp_rules[i].input)
			continue;
		r = add_rule(pl, "input");
		r->icmp_family = icmp_rules[i].family;
		r->icmp_type = icmp_rules[i].type;
		r->limit_rate = icmp_rules[i].rate;
		r->limit_burst = icmp_rules[i].burst;
		r->accept = true;
	}
	/* WAN: peers only; new connections pass the per-source rate and
	 * count limits first. */
	for (int f = 0; f < 2 && pol->rate_per_s; f++) {
		r = add_rule(pl, "input");
		r->iifname = pol->wan_if;
		r->l4proto = IPPROTO_TCP;
		r->dport = pol->wan_port;
		r->saddr_family = fam[f];
		r->saddr_set = peers[f];
		r->ct_state = CT_NEW;
		r->dyn = NFTP_DYN_RATE_OVER;
		r->dyn_family = fam[f];
		r->dyn_set = rate[f];
		r->dyn_value = pol->rate_per_s;
		r->dyn_burst = pl->rate_burst;
		set_log_drop(r, "drop_wan_rate", "wan-rate");
	}
	for (int f = 0; f < 2 && pol->conn_limit; f++) {
		r = add_rule(pl, "input");
		r->iifname = pol->wan_if;
		r->l4proto = IPPROTO_TCP;
		r->dport = pol->wan_port;
		r->saddr_family = fam[f];
		r->saddr_set = peers[f];
		r->ct_state = CT_NEW;
		r->dyn = NFTP_DYN_CONN_OVER;
		r->dyn_family = fam[f];
		r->dyn_set = conn[f];
		r->dyn_value = pol->conn_limit;
		set_log_drop(r, "drop_wan_conn", "wan-conn");
	}
	for (int f = 0; f < 2; f++) {
		r = add_rule(pl, "input");
		r->iifname = pol->wan_if;
		r->l4proto = IPPROTO_TCP;
		r->dport = pol->wan_port;
		r->saddr_family = fam[f];
		r->saddr_set = peers[f];
		r->counter = "accept_wan";
		r->accept = true;
	}
	/* LAN: the site's servers, on the LAN listener's address only (when it
	 * has one): the other local addresses, the WAN one included, must not
	 * answer on the LAN port, not even with a reset. */
	for (int f = 0; f < 2; f++) {
		bool any = lan_addr_any(&pol->lan_addr);
		if (!any && pol->lan_addr.family != fam[f])
			continue;          /* the listener is not on this family */
		r = add_rule(pl, "input");
		r->iifname = pol->lan_if;
		if (!any) {
			r->daddr_family = fam[f];
			r->daddr = &pol->lan_addr;
		}
		r->l4proto = IPPROTO_TCP;
		r->dport = pol->lan_port;
		r->saddr_family = fam[f];
		r->saddr_set = servers[f];
		r->counter = "accept_lan";
		r->accept = true;
	}
	for (int f = 0; f < 2 && pol->ssh_port; f++) {
		r = add_rule(pl, "input");
		r->l4proto = IPPROTO_TCP;
		r->dport = pol->ssh_port;
		r->saddr_family = fam[f];
		r->saddr_set = mgmt[f];
		r->counter = "accept_mgmt";
		r->accept = true;
	}
	/* Metrics, like SSH, only from the management networks, and only on
	 * the address jgwd listens on (as the LAN rule). */
	for (int f = 0; f < 2 && pol->metrics_port; f++) {
		bool any = lan_addr_any(&pol->metrics_addr);
		if (!any && pol->metrics_addr.family != fam[f])
			continue;
		r = add_rule(pl, "input");
		if (!any) {
			r->daddr_family = fam[f];
			r->daddr = &pol->metrics_addr;
		}
		r->l4proto = IPPROTO_TCP;
		r->dport = pol->metrics_port;
		r->saddr_family = fam[f];
		r->saddr_set = mgmt[f];
		r->counter = "accept_mgmt";
		r->accept = true;
	}
	nftp_plan_ha(pl, "input");
	r = add_rule(pl, "input");
	set_log_drop(r, "drop_input", "input");
}

static void plan_output(struct nftp_plan *pl)
{
	const struct nft_policy *pol = pl->pol;
	static const char *const out[2] = { "out4", "out6" };
	static const int fam[2] = { AF_INET, AF_INET6 };
	struct nftp_rule *r;

	r = add_rule(pl, "output");
	r->ct_state = CT_ESTABLISHED | CT_RELATED;
	r->accept = true;
	r = add_rule(pl, "output");
	r->oif_lo = true;
	r->accept = true;
	for (size_t i = 0; i < sizeof icmp_rules / sizeof icmp_rules[0]; i++) {
		if (icmp_rules[i].input)
			continue;
		r = add_rule(pl, "output");
		r->icmp_family = icmp_rules[i].family;
		r->icmp_type = icmp_rules[i].type;
		r->accept = true;
	}
	for (int f = 0; f < 2; f++) {
		r = add_rule(pl, "output");
		r->concat_family = fam[f];
		r->concat_set = out[f];
		r->counter = "accept_out";
		r->accept = true;
	}
	nftp_plan_ha(pl, "output");
	/* Networks (not single hosts) as destinations are rare: one rule each. */
	for (size_t i = 0; i < pol->n_out; i++) {
		if (dest_is_host(&pol->out[i]))
			continue;
		if (pl->n_rules >= NFTP_MAX_RULES - 1)
			break;
		r = add_rule(pl, "output");
		r->daddr_family = pol->out[i].prefix.family;
		r->daddr = &pol->out[i].prefix;
		r->l4proto = pol->out[i].proto;
		r->dport = pol->out[i].port;
		r->counter = "accept_out";
		r->accept = true;
	}
	r = add_rule(pl, "output");
	set_log_drop(r, "drop_output", "output");
}

static bool plan_out_hosts(struct nftp_plan *pl)
{
	const struct nft_policy *pol = pl->pol;
	size_t nets = 0;

	for (int f = 0; f < 2; f++) {
		int family = f ? AF_INET6 : AF_INET;
		size_t n = 0;
		pl->out_host[f] = calloc(pol->n_out ? pol->n_out : 1, sizeof *pl->out_host[f]);
		if (!pl->out_host[f])
			return false;
		for (size_t i = 0; i < pol->n_out; i++)
			if (pol->out[i].prefix.family == family && dest_is_host(&pol->out[i]))
				pl->out_host[f][n++] = &pol->out[i];
		qsort(pl->out_host[f], n, sizeof *pl->out_host[f], dest_cmp);
		/* duplicates would be refused by the kernel as EEXIST */
		size_t u = 0;
		for (size_t i = 0; i < n; i++)
			if (u == 0 || dest_cmp(&pl->out_host[f][u - 1], &pl->out_host[f][i]) != 0)
				pl->out_host[f][u++] = pl->out_host[f][i];
		pl->n_out_host[f] = u;
	}
	for (size_t i = 0; i < pol->n_out; i++)
		nets += !dest_is_host(&pol->out[i]);
	return nets <= 16;
}

struct nftp_plan *nftp_compile(const struct nft_policy *pol, char *err, size_t errlen)
{
	struct nftp_plan *pl;
	static const int fam[2] = { AF_INET, AF_INET6 };
	struct nftp_rule *r;

	if (!pol) {
		snprintf(err, errlen, "no policy");
		return NULL;
	}
	if (!check_policy(pol, err, errlen))
		return NULL;
	pl = calloc(1, sizeof *pl);
	if (!pl) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pl->pol = pol;
	pl->rate_burst = pol->rate_burst ? pol->rate_burst : pol->rate_per_s;
	for (int f = 0; f < 2; f++) {
		if (!build_ranges(pol->peers, pol->n_peers, fam[f], &pl->peers[f]) ||
		    !build_ranges(pol->servers, pol->n_servers, fam[f], &pl->servers[f]) ||
		    !build_ranges(pol->mgmt, pol->n_mgmt, fam[f], &pl->mgmt[f])) {
			snprintf(err, errlen, "out of memory");
			nftp_free(pl);
			return NULL;
		}
	}
	if (!plan_out_hosts(pl)) {
		snprintf(err, errlen, "more than 16 output destinations are networks, "
			 "not single hosts");
		nftp_free(pl);
		return NULL;
	}
	plan_sets(pl);
	for (int f = 0; f < 2; f++) {
		r = add_rule(pl, "prerouting");
		r->ct_original = true;
		r->saddr_family = fam[f];
		r->saddr_set = f ? "quarantine6" : "quarantine4";
		set_log_drop(r, "drop_quarantine", "quarantine");
	}
	plan_input(pl);
	r = add_rule(pl, "forward");
	set_log_drop(r, "drop_forward", "forward");
	plan_output(pl);
	return pl;
}

void nftp_free(struct nftp_plan *pl)
{
	if (!pl)
		return;
	for (int f = 0; f < 2; f++) {
		free(pl->peers[f].r);
		free(pl->servers[f].r);
		free(pl->mgmt[f].r);
		free(pl->out_host[f]);
	}
	free(pl);
}

/* ---- nft syntax -------------------------------------------------------- */

/* nft's own time format, so the listing of the applied table matches. */
static void print_duration(FILE *out, uint32_t s)
{
	static const struct { uint32_t secs; char unit; } units[] = {
		{ 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' },
	};
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (s >= units[i].secs) {
			fprintf(out, "%u%c", s / units[i].secs, units[i].unit);
			s %= units[i].secs;
		}
	}
}

/* A range as nft lists it: address, prefix, or lo-hi. */
static void print_range(FILE *out, int family, const struct nftp_range *r)
{
	int alen = (int)addr_bytes(family);
	char lo[INET6_ADDRSTRLEN], hi[INET6_ADDRSTRLEN];
	int plen = alen * 8;

	inet_ntop(family, r->lo, lo, sizeof lo);
	/* Longest prefix whose span is exactly [lo, hi]. */
	while (plen > 0) {
		int bit = plen - 1;
		uint8_t m = (uint8_t)(0x80 >> (bit % 8));
		if ((r->lo[bit / 8] & m) || !(r->hi[bit / 8] & m))
			break;
		plen--;
	}
	bool exact = true;
	for (int bit = 0; bit < plen; bit++) {
		uint8_t m = (uint8_t)(0x80 >> (bit % 8));
		if ((r->lo[bit / 8] & m) != (r->hi[bit / 8] & m))
			exact = false;
	}
	for (int bit = plen; exact && bit < alen * 8; bit++) {
		uint8_t m = (uint8_t)(0x80 >> (bit % 8));
		if ((r->lo[bit / 8] & m) || !(r->hi[bit / 8] & m))
			exact = false;
	}
	if (exact && plen == alen * 8)
		fprintf(out, "%s", lo);
	else if (exact)
		fprintf(out, "%s/%d", lo, plen);
	else {
		inet_ntop(family, r->hi, hi, sizeof hi);
		fprintf(out, "%s-%s", lo, hi);
	}
}

static const char *proto_name(uint8_t p)
{
	return p == IPPROTO_TCP ? "tcp" : "udp";
}

static void print_set(FILE *out, const struct nftp_set *s)
{
	const char *t = s->family == AF_INET ? "ipv4_addr" : "ipv6_addr";

	fprintf(out, "\tset %s {\n", s->name);
	switch (s->kind) {
	case NFTP_SET_ADDR:
		fprintf(out, "\t\ttype %s\n\t\tflags interval\n", t);
		if (s->ranges->n) {
			fprintf(out, "\t\telements = { ");
			for (size_t i = 0; i < s->ranges->n; i++) {
				if (i)
					fprintf(out, ", ");
				print_range(out, s->family, &s->ranges->r[i]);
			}
			fprintf(out, " }\n");
		}
		break;
	case NFTP_SET_QUARANTINE:
		fprintf(out, "\t\ttype %s\n\t\ttimeout ", t);
		print_duration(out, s->timeout_s);
		fprintf(out, "\n");
		break;
	case NFTP_SET_RATE:
		fprintf(out, "\t\ttype %s\n\t\tsize %u\n\t\tflags dynamic,timeout\n\t\ttimeout ",
			t, NFT_DYNSET_SIZE);
		print_duration(out, s->timeout_s);
		fprintf(out, "\n");
		break;
	case NFTP_SET_CONN:
		fprintf(out, "\t\ttype %s\n\t\tsize %u\n\t\tflags dynamic\n", t, NFT_DYNSET_SIZE);
		break;
	case NFTP_SET_OUT:
		fprintf(out, "\t\ttype %s . inet_proto . inet_service\n", t);
		if (s->n_out) {
			fprintf(out, "\t\telements = { ");
			for (size_t i = 0; i < s->n_out; i++) {
				char a[64];
				fprintf(out, "%s%s . %s . %u", i ? ", " : "",
					addr_prefix_str(&s->out[i]->prefix, a, sizeof a),
					proto_name(s->out[i]->proto), s->out[i]->port);
			}
			fprintf(out, " }\n");
		}
		break;
	}
	fprintf(out, "\t}\n\n");
}

static const char *ipkw(int family)
{
	return family == AF_INET ? "ip" : "ip6";
}

static void print_ct_state(FILE *out, uint32_t st)
{
	static const struct { uint32_t bit; const char *name; } names[] = {
		{ CT_INVALID, "invalid" }, { CT_ESTABLISHED, "established" },
		{ CT_RELATED, "related" }, { CT_NEW, "new" },
	};
	const char *sep = "";
	fprintf(out, " ct state ");
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (st & names[i].bit) {
			fprintf(out, "%s%s", sep, names[i].name);
			sep = ",";
		}
}

static const char *icmp_name(int family, uint8_t type)
{
	for (size_t i = 0; i < sizeof icmp_rules / sizeof icmp_rules[0]; i++)
		if (icmp_rules[i].family == family && icmp_rules[i].type == type)
			return icmp_rules[i].name;
	return "?";
}

/* nft leaves out a burst of 5 packets, its default. */
static void print_burst(FILE *out, uint32_t burst)
{
	if (burst != 5)
		fprintf(out, " burst %u packets", burst);
}

static void print_rule(FILE *out, const struct nftp_rule *r, uint16_t group)
{
	fprintf(out, "\t\t");
	/* Every piece starts with a blank; drop the first one. */
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		return;
	if (r->iifname)
		fprintf(m, " iifname \"%s\"", r->iifname);
	if (r->oifname)
		fprintf(m, " oifname \"%s\"", r->oifname);
	if (r->iif_lo)
		fprintf(m, " iif \"lo\"");
	if (r->oif_lo)
		fprintf(m, " oif \"lo\"");
	if (r->ct_original)
		fprintf(m, " ct direction original");
	if (r->daddr) {
		char a[64];
		fprintf(m, " %s daddr %s", ipkw(r->daddr_family),
			addr_prefix_str(r->daddr, a, sizeof a));
	}
	if (r->l4proto)
		fprintf(m, " %s dport %u", proto_name(r->l4proto), r->dport);
	if (r->saddr_set)
		fprintf(m, " %s saddr @%s", ipkw(r->saddr_family), r->saddr_set);
	if (r->saddr) {
		char a[64];
		fprintf(m, " %s saddr %s", ipkw(r->saddr_family),
			addr_prefix_str(r->saddr, a, sizeof a));
	}
	if (r->meta_l4proto)
		fprintf(m, " meta l4proto %s", r->meta_l4proto == NFTP_PROTO_VRRP ? "vrrp" : "?");
	if (r->concat_set)
		fprintf(m, " %s daddr . meta l4proto . th dport @%s",
			ipkw(r->concat_family), r->concat_set);
	if (r->ct_state)
		print_ct_state(m, r->ct_state);
	if (r->icmp_family)
		fprintf(m, " %s type %s", r->icmp_family == AF_INET ? "icmp" : "icmpv6",
			icmp_name(r->icmp_family, r->icmp_type));
	if (r->limit_rate) {
		fprintf(m, " limit rate %u/second", r->limit_rate);
		print_burst(m, r->limit_burst);
	}
	if (r->dyn == NFTP_DYN_RATE_OVER) {
		fprintf(m, " update @%s { %s saddr limit rate over %u/second",
			r->dyn_set, ipkw(r->dyn_family), r->dyn_value);
		print_burst(m, r->dyn_burst);
		fprintf(m, " }");
	} else if (r->dyn == NFTP_DYN_CONN_OVER) {
		fprintf(m, " add @%s { %s saddr ct count over %u }",
			r->dyn_set, ipkw(r->dyn_family), r->dyn_value);
	}
	if (r->counter)
		fprintf(m, " counter name \"%s\"", r->counter);
	if (r->log_prefix)
		fprintf(m, " log prefix \"%s\" group %u", r->log_prefix, group);
	fprintf(m, " %s", r->accept ? "accept" : "drop");
	fclose(m);
	fprintf(out, "%s\n", buf + 1);
	free(buf);
}

int nft_print(const struct nft_policy *policy, FILE *out)
{
	char err[256];
	struct nftp_plan *pl = nftp_compile(policy, err, sizeof err);
	const char *t;

	if (!pl) {
		fprintf(stderr, "nft: %s\n", err);
		return -1;
	}
	t = policy->table;
	/* Create-then-delete makes the replacement work whether or not the
	 * table exists, in one transaction, as nft_apply does. */
	fprintf(out, "table inet %s\ndelete table inet %s\n", t, t);
	fprintf(out, "table inet %s {\n", t);
	for (size_t i = 0; i < NFTP_N_COUNTERS; i++)
		fprintf(out, "\tcounter %s {\n\t\tpackets 0 bytes 0\n\t}\n\n", nftp_counters[i]);
	for (size_t i = 0; i < pl->n_sets; i++)
		print_set(out, &pl->sets[i]);
	for (size_t c = 0; c < NFTP_N_CHAINS; c++) {
		const struct nftp_chain *ch = &nftp_chains[c];
		fprintf(out, "\tchain %s {\n\t\ttype filter hook %s priority %s; policy %s;\n",
			ch->name, ch->hook, ch->prio_name,
			ch->policy_accept ? "accept" : "drop");
		for (size_t i = 0; i < pl->n_rules; i++)
			if (strcmp(pl->rules[i].chain, ch->name) == 0)
				print_rule(out, &pl->rules[i], policy->nflog_group);
		fprintf(out, "\t}\n%s", c + 1 < NFTP_N_CHAINS ? "\n" : "");
	}
	fprintf(out, "}\n");
	nftp_free(pl);
	return ferror(out) ? -1 : 0;
}
