/*
 * config_check.c — phases 2 and 3 of loading (config_int.h): defaults, then
 * the one place where settings are checked against each other (node codes,
 * the peer directory's rules, required settings, readable files, sane
 * limits) and the catalog is loaded; then the finished configuration:
 * peers sorted for lookups, the firewall's arrays built.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "filters/policy/config_int.h"

/* ---- defaults -------------------------------------------------------- */

bool cfgi_set_defaults(struct jgw_config *c)
{
	struct addr_prefix any4 = { .family = AF_INET, .len = 32 };

	cfgi_make_endpoint(&any4, DEFAULT_LAN_PORT, &c->lan_listen);
	cfgi_make_endpoint(&any4, DEFAULT_PEER_PORT, &c->wan_listen);
	c->catalog_path = strdup(JGW_DATADIR "/catalog.jcat");
	c->control_path = strdup("/run/jgw/control.sock");
	c->pid_file = strdup("/run/jgw/jgwd.pid");
	c->ssh_port = 22;
	c->tls.crl_policy = CFG_CRL_FAIL_CLOSED;
	c->tls.crl_alarm_s = 7 * 86400;
	c->tls.tls12 = false;
	c->tls.source_check = true;
	c->timeouts.handshake_ms = 10000;
	c->timeouts.first_frame_ms = 10000;
	c->timeouts.frame_ms = 60000;
	c->timeouts.idle_ms = 300000;
	c->timeouts.connect_ms = 5000;
	c->timeouts.shutdown_ms = 5000;
	c->limits.tunnels = 4096;
	c->limits.per_peer = 256;
	c->limits.per_source = 256;
	c->limits.outstanding = 1024;
	c->limits.buffer_bytes = 256 * 1024;
	c->limits.skew_ms = 300000;
	c->firewall.enabled = true;
	c->firewall.table = strdup("jgw");
	c->firewall.nflog_group = 100;
	c->firewall.rate_per_s = 20;
	c->firewall.rate_burst = 40;
	c->firewall.conn_limit = 64;
	c->firewall.q_failures = 5;
	c->firewall.q_window_s = 60;
	c->firewall.q_timeout_s = 600;
	c->firewall.keep_on_stop = true;
	c->firewall.drop_interval_s = 60;
	c->audit.spool_dir = strdup("/var/lib/jgw/audit");
	c->audit.key_file = strdup("/var/lib/jgw/audit.key");
	c->audit.rotate_bytes = 16ull * 1024 * 1024;
	c->audit.commit_ms = 100;
	c->audit.stats_interval_s = 900;   /* docs/audit.md, Capacity */
	c->audit.retain_s = 90 * 86400;
	c->audit.collector_port = DEFAULT_COLLECTOR_PORT;
	c->audit.disk_alarm_pct = 80;
	c->audit.disk_limit_pct = 95;
	c->audit.disk_policy = CFG_DISK_FAIL_CLOSED;
	c->metrics.interval_s = 15;
	return c->catalog_path && c->control_path && c->pid_file && c->firewall.table &&
	       c->audit.spool_dir && c->audit.key_file;
}

/* ---- the checks, all in one place ------------------------------------- */

/* Why a node code is not valid, or NULL. */
static const char *node_problem(const char *code, char *buf, size_t len)
{
	size_t n = strlen(code);

	if (n != NODE_CODE_LEN || strspn(code, "0123456789") != n)
		return "6 digits expected";
	if (node_valid(code))
		return NULL;
	int pp = (code[0] - '0') * 10 + (code[1] - '0');
	if (pp < 1 || pp > 47) {
		snprintf(buf, len, "prefecture %02d is not 01-47", pp);
		return buf;
	}
	snprintf(buf, len, "check digit should be %c",
		 node_check_digit((const uint8_t *)code));
	return buf;
}

/* May this site list that peer? NULL when it may; else a message into buf,
 * and *reason the name the TLS layer and the audit use. */
const char *cfgi_peer_rule(const char *site, const char *peer, const char **reason,
			     char *buf, size_t len)
{
	enum node_role srole = node_role((const uint8_t *)site);
	enum node_role prole = node_role((const uint8_t *)peer);
	int spp = node_prefecture((const uint8_t *)site);
	int ppp = node_prefecture((const uint8_t *)peer);

	*reason = "wrong-prefecture";
	if (strcmp(site, peer) == 0) {
		snprintf(buf, len, "peer %s is this site itself", peer);
		*reason = "unknown-peer";
		return buf;
	}
	if (prole == NODE_ROLE_JLIS || srole == NODE_ROLE_JLIS)
		return NULL;
	if (srole == NODE_ROLE_MUNICIPALITY) {
		if (prole == NODE_ROLE_MUNICIPALITY || ppp == spp)
			return NULL;
		snprintf(buf, len, "peer %s is prefecture %02d; a municipality of prefecture %02d "
			 "may only reach its own prefecture", peer, ppp, spp);
		return buf;
	}
	/* A prefecture site. */
	if (prole == NODE_ROLE_PREFECTURE) {
		snprintf(buf, len, "peer %s is another prefecture; a prefecture site lists only "
			 "its own municipalities and 000000", peer);
		return buf;
	}
	if (ppp != spp) {
		snprintf(buf, len, "peer %s belongs to prefecture %d, this site is prefecture %d",
			 peer, ppp, spp);
		return buf;
	}
	return NULL;
}

static int peer_cmp(const void *a, const void *b)
{
	const struct build_peer *x = a, *y = b;
	int c = strcmp(x->code, y->code);

	return c != 0 ? c : (x->order > y->order) - (x->order < y->order);
}

static bool endpoint_eq(const struct cfg_endpoint *a, const struct cfg_endpoint *b)
{
	struct addr_prefix pa, pb;

	return addr_from_sockaddr((const struct sockaddr *)&a->ss, &pa) &&
	       addr_from_sockaddr((const struct sockaddr *)&b->ss, &pb) &&
	       pa.family == pb.family && memcmp(pa.addr, pb.addr, 16) == 0 &&
	       addr_sockaddr_port((const struct sockaddr *)&(a)->ss) == addr_sockaddr_port((const struct sockaddr *)&(b)->ss);
}

/* One address per peer, written once: a host listed under two peers can
 * prove only one of them from there (tls source-check), so the directory
 * is likelier wrong than meant. */
struct peer_host {
	struct addr_prefix host;
	size_t peer;
};

static int peer_host_cmp(const void *a, const void *b)
{
	const struct peer_host *x = a, *y = b;

	if (x->host.family != y->host.family)
		return x->host.family - y->host.family;
	return memcmp(x->host.addr, y->host.addr, sizeof(x->host.addr));
}

static void check_shared_addresses(struct cfg_build *b)
{
	struct peer_host *h;
	size_t n = 0, total = 0;
	char a[64];

	for (size_t i = 0; i < b->n_peers; i++)
		total += b->peers[i].n_addrs;
	if (total < 2 || (h = calloc(total, sizeof(*h))) == NULL)
		return;
	for (size_t i = 0; i < b->n_peers; i++)
		for (size_t j = 0; j < b->peers[i].n_addrs; j++)
			if (addr_from_sockaddr((const struct sockaddr *)&b->peers[i].addrs[j].ss,
					       &h[n].host))
				h[n++].peer = i;
	qsort(h, n, sizeof(*h), peer_host_cmp);
	for (size_t i = 1; i < n; i++) {
		const struct build_peer *p = &b->peers[h[i].peer], *q = &b->peers[h[i - 1].peer];

		if (peer_host_cmp(&h[i], &h[i - 1]) == 0 && strcmp(p->code, q->code) != 0)
			cfgi_at_warning(b, &p->at, "peer %s has the address %s of peer %s (%s:%d:%d): "
					"a tunnel from there can prove only one of them", p->code,
					addr_prefix_str(&h[i].host, a, sizeof(a)), q->code,
					q->at.file, q->at.line, q->at.col);
	}
	free(h);
}

/* lan-allow entries covered by an earlier one, and local servers that no
 * entry holds (they could not open connections to the gateway). */
static void check_lan_allow(struct cfg_build *b)
{
	const struct jgw_config *c = &b->c->pub;
	const struct cfg_endpoint *srv[2] = { c->has_juki ? &c->juki_server : NULL,
					      c->has_fuhyo ? &c->fuhyo_server : NULL };
	static const enum cfg_key srv_key[2] = { CFG_K_JUKI, CFG_K_FUHYO };
	char x[64], y[64];

	for (size_t j = 0; j < c->n_servers && j < b->n_lan_at; j++)
		for (size_t i = 0; i < j; i++)
			if (addr_contains(&c->servers[i], &c->servers[j]) ||
			    addr_contains(&c->servers[j], &c->servers[i])) {
				const struct cfg_where *at = &b->lan_at[i];

				cfgi_at_warning(b, &b->lan_at[j], "lan-allow %s overlaps %s (%s:%d:%d)",
						addr_prefix_str(&c->servers[j], x, sizeof(x)),
						addr_prefix_str(&c->servers[i], y, sizeof(y)),
						at->file, at->line, at->col);
				break;
			}
	for (int k = 0; k < 2 && b->n_lan_at > 0; k++) {
		struct addr_prefix host;
		bool held = false;

		if (!srv[k] || !addr_from_sockaddr((const struct sockaddr *)&srv[k]->ss, &host))
			continue;
		for (size_t i = 0; i < c->n_servers && !held; i++)
			held = addr_contains(&c->servers[i], &host);
		if (!held)
			cfgi_at_warning(b, &b->seen[srv_key[k]], "server %s is at %s, which no lan-allow "
					"entry holds: it cannot open connections to the gateway",
					k == 0 ? "juki" : "fuhyo", addr_prefix_str(&host, x, sizeof(x)));
	}
}

static void check_peers(struct cfg_build *b, bool site_ok)
{
	char buf[256], addr[80];
	const char *why, *reason;

	if (b->n_peers > 1)
		qsort(b->peers, b->n_peers, sizeof(*b->peers), peer_cmp);
	for (size_t i = 0; i < b->n_peers; i++) {
		struct build_peer *p = &b->peers[i];
		if ((why = node_problem(p->code, buf, sizeof(buf))) != NULL) {
			cfgi_at_error(b, &p->at, "bad node code '%s': %s", p->code, why);
			continue;
		}
		if (i > 0 && strcmp(p->code, b->peers[i - 1].code) == 0) {
			const struct cfg_where *first = &b->peers[i - 1].at;
			cfgi_at_error(b, &p->at, "duplicate peer %s (first at %s:%d:%d)", p->code,
				 first->file, first->line, first->col);
			continue;
		}
		if (site_ok && (why = cfgi_peer_rule(b->site_text, p->code, &reason, buf, sizeof(buf))))
			cfgi_at_error(b, &p->at, "%s", why);
		if (p->n_addrs == 0 && !p->bad_addr)
			cfgi_at_error(b, &p->at, "peer %s has no address", p->code);
		for (size_t j = 0; j < p->n_addrs; j++)
			for (size_t k = 0; k < j; k++)
				if (endpoint_eq(&p->addrs[j], &p->addrs[k]))
					cfgi_at_error(b, &p->at, "peer %s: address %s listed twice", p->code,
						 addr_sockaddr_str((const struct sockaddr *)&(p->addrs[j]).ss, addr, sizeof(addr)));
	}
	if (b->n_peers == 0 && b->parsed_clean)
		cfgi_at_error(b, NULL, "no peer: the peer directory is empty");
	check_shared_addresses(b);
}

static void check_file(struct cfg_build *b, enum cfg_key key, const char *path,
		       const struct cfg_where *at)
{
	struct stat st;

	if (path == NULL) {
		if (b->parsed_clean)
			cfgi_at_error(b, NULL, "%s is not set", cfgi_setting_name(key));
		return;
	}
	if (stat(path, &st) != 0 || access(path, R_OK) != 0)
		cfgi_at_error(b, at, "%s '%s': %s", cfgi_setting_name(key), path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		cfgi_at_error(b, at, "%s '%s': not a regular file", cfgi_setting_name(key), path);
}

static void check_files(struct cfg_build *b)
{
	struct jgw_config *c = &b->c->pub;

	check_file(b, CFG_K_TLS_CERT, c->tls.cert, &b->seen[CFG_K_TLS_CERT]);
	check_file(b, CFG_K_TLS_KEY, c->tls.key, &b->seen[CFG_K_TLS_KEY]);
	check_file(b, CFG_K_TLS_CA, c->tls.ca, &b->seen[CFG_K_TLS_CA]);
	for (size_t i = 0; i < c->tls.n_crls; i++) {
		struct stat st;
		if (stat(c->tls.crls[i], &st) != 0 || access(c->tls.crls[i], R_OK) != 0)
			cfgi_at_error(b, &b->crl_at[i], "tls crl '%s': %s", c->tls.crls[i], strerror(errno));
		else if (!S_ISREG(st.st_mode))
			cfgi_at_error(b, &b->crl_at[i], "tls crl '%s': not a regular file", c->tls.crls[i]);
	}
	if (c->audit.has_collector) {
		if (!b->collector_addr_set && b->parsed_clean)
			cfgi_at_error(b, NULL, "audit collector: no 'host'");
		check_file(b, CFG_K_C_CA, c->audit.collector_ca, &b->seen[CFG_K_C_CA]);
		check_file(b, CFG_K_C_CERT, c->audit.collector_cert, &b->seen[CFG_K_C_CERT]);
		check_file(b, CFG_K_C_KEY, c->audit.collector_key, &b->seen[CFG_K_C_KEY]);
		/* The host is an address, and a certificate is checked by name: without
		 * one, any certificate of the CA (another gateway's) would pass. */
		if (c->audit.collector_name == NULL && b->parsed_clean)
			cfgi_at_error(b, &b->collector_at, "audit collector: no 'name': the name its "
				 "certificate must carry is required (e.g. name \"collector.example\";)");
	}
}

/* The WAN and LAN ports are bound to their interfaces; without them the
 * rules would match on every interface (a LAN listener reachable from the
 * WAN side). So a firewall that is on needs both. */
static void check_firewall(struct cfg_build *b)
{
	const struct jgw_config *c = &b->c->pub;
	const char *missing;

	if (!c->firewall.enabled || !b->parsed_clean)
		return;
	if (c->lan_ifname == NULL && c->wan_ifname == NULL)
		missing = "'interface lan' and 'interface wan' are";
	else if (c->lan_ifname == NULL)
		missing = "'interface lan' is";
	else if (c->wan_ifname == NULL)
		missing = "'interface wan' is";
	else
		return;
	/* No block at all: the firewall is on by default, and the top file says so. */
	cfgi_at_error(b, b->firewall_at.file ? &b->firewall_at : NULL,
		 "firewall: %s required when the firewall is enabled (the LAN and WAN "
		 "ports are bound to their interfaces)", missing);
}

static bool listeners_clash(const struct cfg_endpoint *a, const struct cfg_endpoint *b)
{
	struct addr_prefix pa, pb;
	static const uint8_t zero[16];

	if (addr_sockaddr_port((const struct sockaddr *)&(a)->ss) != addr_sockaddr_port((const struct sockaddr *)&(b)->ss))
		return false;
	addr_from_sockaddr((const struct sockaddr *)&a->ss, &pa);
	addr_from_sockaddr((const struct sockaddr *)&b->ss, &pb);
	if (memcmp(pa.addr, zero, 16) == 0 || memcmp(pb.addr, zero, 16) == 0)
		return true;
	return pa.family == pb.family && memcmp(pa.addr, pb.addr, 16) == 0;
}

/* The metrics port is opened to the management networks only: with the
 * firewall on and no such network nothing could reach it, which is a
 * mistake to say now rather than a scrape that times out later. */
static void check_metrics(struct cfg_build *b)
{
	const struct jgw_config *c = &b->c->pub;
	const struct cfg_where *at = &b->seen[CFG_K_M_LISTEN];

	if (!c->metrics.has_listen)
		return;
	if (c->firewall.enabled && c->n_mgmt == 0 && b->parsed_clean)
		cfgi_at_error(b, at, "metrics listen: the firewall opens it to the management "
			      "networks only, and none is given (management { network PREFIX; })");
	if (listeners_clash(&c->metrics.listen, &c->lan_listen) ||
	    listeners_clash(&c->metrics.listen, &c->wan_listen))
		cfgi_at_error(b, at, "metrics listen uses the address and port of listen lan or wan");
}

static void check_limits(struct cfg_build *b)
{
	struct jgw_config *c = &b->c->pub;

	if (c->limits.per_peer > c->limits.tunnels) {
		if (b->seen[CFG_K_L_PER_PEER].file)
			cfgi_at_error(b, &b->seen[CFG_K_L_PER_PEER],
				 "limits per-peer (%u) is larger than limits tunnels (%u)",
				 c->limits.per_peer, c->limits.tunnels);
		else
			c->limits.per_peer = c->limits.tunnels;
	}
	if (c->audit.disk_alarm_pct >= c->audit.disk_limit_pct)
		cfgi_at_error(b, b->seen[CFG_K_A_DISK_ALARM].file ? &b->seen[CFG_K_A_DISK_ALARM]
							    : &b->seen[CFG_K_A_DISK_LIMIT],
			 "audit disk-alarm (%u%%) must be below disk-limit (%u%%)",
			 c->audit.disk_alarm_pct, c->audit.disk_limit_pct);
	if (c->firewall.rate_burst < c->firewall.rate_per_s)
		cfgi_at_error(b, b->seen[CFG_K_FW_BURST].file ? &b->seen[CFG_K_FW_BURST]
							: &b->seen[CFG_K_FW_RATE],
			 "firewall burst (%u) is below rate (%u)",
			 c->firewall.rate_burst, c->firewall.rate_per_s);
	if (c->timeouts.handshake_ms > c->timeouts.idle_ms)
		cfgi_at_error(b, &b->seen[CFG_K_T_HANDSHAKE],
			 "timeouts handshake is longer than timeouts idle");
	/* Unset, a default larger than the total follows the total. */
	if (c->limits.per_source > c->limits.tunnels) {
		if (b->seen[CFG_K_L_PER_SOURCE].file)
			cfgi_at_error(b, &b->seen[CFG_K_L_PER_SOURCE],
				 "limits per-source (%u) is larger than limits tunnels (%u)",
				 c->limits.per_source, c->limits.tunnels);
		else
			c->limits.per_source = c->limits.tunnels;
	}
	if (c->timeouts.first_frame_ms > c->timeouts.idle_ms) {
		if (b->seen[CFG_K_T_FIRST_FRAME].file)
			cfgi_at_error(b, &b->seen[CFG_K_T_FIRST_FRAME],
				 "timeouts first-frame is longer than timeouts idle");
		else
			c->timeouts.first_frame_ms = c->timeouts.idle_ms;
	}
}

static void catalog_error(void *arg, const char *msg)
{
	cfgi_emit(arg, msg);
}

void cfgi_check_all(struct cfg_build *b)
{
	struct jgw_config *c = &b->c->pub;
	char buf[128];
	const char *why;
	bool site_ok = false;
	struct stat st;

	if (b->seen[CFG_K_SITE].file == NULL) {
		if (b->parsed_clean)
			cfgi_at_error(b, NULL, "no 'site' statement: this gateway's node code is required");
	} else if ((why = node_problem(b->site_text, buf, sizeof(buf))) != NULL) {
		cfgi_at_error(b, &b->seen[CFG_K_SITE], "bad node code '%s': %s", b->site_text, why);
	} else {
		memcpy(c->site, b->site_text, sizeof(c->site));
		site_ok = true;
	}
	check_peers(b, site_ok);
	if (!c->has_juki && !c->has_fuhyo && b->parsed_clean)
		cfgi_at_error(b, NULL, "no local server: 'server juki|fuhyo ADDRESS port PORT;' is required");
	if (listeners_clash(&c->lan_listen, &c->wan_listen))
		cfgi_at_error(b, b->seen[CFG_K_WAN_LISTEN].file ? &b->seen[CFG_K_WAN_LISTEN]
							 : &b->seen[CFG_K_LAN_LISTEN],
			 "listen lan and listen wan use the same address and port");
	check_lan_allow(b);
	check_files(b);
	check_limits(b);
	check_firewall(b);
	check_metrics(b);
	cfgi_check_ha(b);
	/* The catalog is read whenever it can be, so its own errors show
	 * beside the configuration's in a single run. */
	if (b->seen[CFG_K_CATALOG].file == NULL && !b->parsed_clean)
		return;         /* the default; a lost 'catalog' line is likelier */
	if (stat(c->catalog_path, &st) != 0 || access(c->catalog_path, R_OK) != 0)
		cfgi_at_error(b, &b->seen[CFG_K_CATALOG], "catalog '%s': %s", c->catalog_path,
			 strerror(errno));
	else if (!S_ISREG(st.st_mode))
		cfgi_at_error(b, &b->seen[CFG_K_CATALOG], "catalog '%s': not a regular file",
			 c->catalog_path);
	else if ((c->catalog = cat_load(c->catalog_path, catalog_error, b)) == NULL)
		cfgi_at_error(b, &b->seen[CFG_K_CATALOG], "catalog '%s' was not loaded", c->catalog_path);
}

/* ---- finishing: sorted peers, firewall arrays ------------------------- */

static int prefix_cmp(const void *a, const void *b)
{
	const struct addr_prefix *x = a, *y = b;

	if (x->family != y->family)
		return x->family - y->family;
	int c = memcmp(x->addr, y->addr, 16);
	return c != 0 ? c : x->len - y->len;
}

static int dest_cmp(const void *a, const void *b)
{
	const struct nft_dest *x = a, *y = b;
	int c = prefix_cmp(&x->prefix, &y->prefix);

	if (c != 0)
		return c;
	if (x->proto != y->proto)
		return x->proto - y->proto;
	return x->port - y->port;
}

static size_t unique(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	char *p = base;
	size_t out = 0;

	if (n == 0)
		return 0;
	qsort(base, n, size, cmp);
	for (size_t i = 1; i < n; i++)
		if (cmp(p + out * size, p + i * size) != 0)
			memmove(p + ++out * size, p + i * size, size);
	return out + 1;
}

static bool add_dest(struct cfg_full *full, size_t *cap, const struct cfg_endpoint *ep,
		     uint8_t proto)
{
	struct nft_dest d = { .proto = proto, .port = addr_sockaddr_port((const struct sockaddr *)&(ep)->ss) };

	if (!addr_from_sockaddr((const struct sockaddr *)&ep->ss, &d.prefix))
		return true;
	if (full->n_out == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct nft_dest *grown = reallocarray(full->out, ncap, sizeof(*grown));
		if (grown == NULL)
			return false;
		full->out = grown;
		*cap = ncap;
	}
	full->out[full->n_out++] = d;
	return true;
}

/* A location that outlives the build (whose file names are freed). */
static char *where_str(const struct cfg_where *at)
{
	char *out;

	if (at->file == NULL || asprintf(&out, "%s:%d:%d", at->file, at->line, at->col) < 0)
		return NULL;
	return out;
}

static bool keep_tls_where(struct cfg_build *b)
{
	static const enum cfg_key keys[CFG_TLS_CRL] = {
		[CFG_TLS_CERT] = CFG_K_TLS_CERT, [CFG_TLS_KEY] = CFG_K_TLS_KEY, [CFG_TLS_CA] = CFG_K_TLS_CA,
		[CFG_AT_USER] = CFG_K_USER, [CFG_AT_GROUP] = CFG_K_GROUP,
		[CFG_AT_AUDIT_KEY] = CFG_K_A_KEY, [CFG_AT_AUDIT_SPOOL] = CFG_K_A_SPOOL,
		[CFG_AT_CTL_GROUP] = CFG_K_CTL_GROUP, [CFG_AT_CTL_ADMIN] = CFG_K_CTL_ADMIN,
	};
	struct cfg_full *full = b->c;
	size_t n = full->pub.tls.n_crls;

	for (int i = 0; i < CFG_TLS_CRL; i++)
		full->tls_at[i] = where_str(&b->seen[keys[i]]);
	full->crl_at = calloc(n ? n : 1, sizeof(*full->crl_at));
	if (full->crl_at == NULL)
		return false;
	for (size_t i = 0; i < n; i++)
		full->crl_at[i] = where_str(&b->crl_at[i]);
	return true;
}

bool cfgi_finish(struct cfg_build *b)
{
	struct cfg_full *full = b->c;
	struct jgw_config *c = &full->pub;
	size_t n_addrs = 0, cap = 0;
	bool ok = true;

	c->peers = calloc(b->n_peers ? b->n_peers : 1, sizeof(*c->peers));
	if (c->peers == NULL)
		return false;
	for (size_t i = 0; i < b->n_peers; i++) {
		memcpy(c->peers[i].node, b->peers[i].code, sizeof(c->peers[i].node));
		c->peers[i].addrs = b->peers[i].addrs;
		c->peers[i].n_addrs = b->peers[i].n_addrs;
		b->peers[i].addrs = NULL;
		c->peers[i].sources = b->peers[i].sources;
		c->peers[i].n_sources = b->peers[i].n_sources;
		b->peers[i].sources = NULL;
		n_addrs += c->peers[i].n_addrs;
	}
	c->n_peers = b->n_peers;

	/* Without a lan-allow list, the local servers are the allowed sources. */
	if (c->n_servers == 0) {
		c->servers = calloc(2, sizeof(*c->servers));
		if (c->servers == NULL)
			return false;
		if (c->has_juki)
			addr_from_sockaddr((const struct sockaddr *)&c->juki_server.ss, &c->servers[c->n_servers++]);
		if (c->has_fuhyo)
			addr_from_sockaddr((const struct sockaddr *)&c->fuhyo_server.ss, &c->servers[c->n_servers++]);
		c->n_servers = unique(c->servers, c->n_servers, sizeof(*c->servers), prefix_cmp);
	}
	if (c->n_mgmt == 0)
		c->ssh_port = 0;

	full->peer_prefixes = calloc(n_addrs ? n_addrs : 1, sizeof(*full->peer_prefixes));
	if (full->peer_prefixes == NULL)
		return false;
	for (size_t i = 0; i < c->n_peers; i++) {
		for (size_t j = 0; j < c->peers[i].n_addrs; j++) {
			const struct cfg_endpoint *ep = &c->peers[i].addrs[j];
			addr_from_sockaddr((const struct sockaddr *)&ep->ss,
					&full->peer_prefixes[full->n_peer_prefixes++]);
			ok &= add_dest(full, &cap, ep, IPPROTO_TCP);
		}
	}
	full->n_peer_prefixes = unique(full->peer_prefixes, full->n_peer_prefixes,
				       sizeof(*full->peer_prefixes), prefix_cmp);
	if (c->has_juki)
		ok &= add_dest(full, &cap, &c->juki_server, IPPROTO_TCP);
	if (c->has_fuhyo)
		ok &= add_dest(full, &cap, &c->fuhyo_server, IPPROTO_TCP);
	if (c->audit.has_collector) {
		struct cfg_endpoint ep;
		cfgi_make_endpoint(&b->collector_addr, c->audit.collector_port, &ep);
		ok &= add_dest(full, &cap, &ep, IPPROTO_TCP);
	}
	for (size_t i = 0; i < c->firewall.n_dns; i++) {
		ok &= add_dest(full, &cap, &c->firewall.dns[i], IPPROTO_UDP);
		ok &= add_dest(full, &cap, &c->firewall.dns[i], IPPROTO_TCP);
	}
	for (size_t i = 0; i < c->firewall.n_ntp; i++)
		ok &= add_dest(full, &cap, &c->firewall.ntp[i], IPPROTO_UDP);
	for (size_t i = 0; i < c->firewall.n_nts_ke; i++)
		ok &= add_dest(full, &cap, &c->firewall.nts_ke[i], IPPROTO_TCP);
	full->n_out = unique(full->out, full->n_out, sizeof(*full->out), dest_cmp);
	return ok && keep_tls_where(b);
}

