/*
 * config.c — loading the gateway configuration (see config.h and
 * docs/configuration.md), and what the loaded one answers.
 *
 * Three phases, each reporting every error it finds as file:line:col:
 *   1. parse: config.y/config.l call the cfgp_* builders (config_build.c),
 *      which convert each value and check its own range;
 *   2. check: config_check.c is the one place where settings are checked
 *      against each other, and the catalog is loaded;
 *   3. finish: peers sorted for bsearch, firewall arrays built.
 * Nothing of a half-built configuration escapes: any error frees it all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filters/policy/config_int.h"

/* ---- public ---------------------------------------------------------- */

struct cfg_full *cfgi_full_of(const struct jgw_config *cfg)
{
	struct cfg_full *full = (struct cfg_full *)(uintptr_t)cfg;

	if (full->magic != CFG_MAGIC)
		abort();
	return full;
}

void cfg_free(struct jgw_config *cfg)
{
	struct cfg_full *full;

	if (cfg == NULL)
		return;
	full = cfgi_full_of(cfg);
	full->magic = 0;
	free(cfg->path);
	free(cfg->catalog_path);
	cat_free(cfg->catalog);
	free(cfg->lan_ifname);
	free(cfg->wan_ifname);
	free(cfg->control_path);
	free(cfg->control_group);
	free(cfg->control_admin_group);
	free(cfg->user);
	free(cfg->group);
	free(cfg->pid_file);
	free(cfg->servers);
	free(cfg->mgmt);
	free(cfg->tls.cert);
	free(cfg->tls.key);
	free(cfg->tls.ca);
	for (size_t i = 0; i < cfg->tls.n_crls; i++)
		free(cfg->tls.crls[i]);
	free(cfg->tls.crls);
	for (size_t i = 0; i < cfg->n_peers; i++) {
		free(cfg->peers[i].addrs);
		free(cfg->peers[i].sources);
	}
	free(cfg->peers);
	free(cfg->firewall.table);
	free(cfg->firewall.dns);
	free(cfg->firewall.ntp);
	free(cfg->firewall.nts_ke);
	free(cfg->audit.spool_dir);
	free(cfg->audit.key_file);
	free(cfg->audit.collector_host);
	free(cfg->audit.collector_ca);
	free(cfg->audit.collector_cert);
	free(cfg->audit.collector_key);
	free(cfg->audit.collector_name);
	free(cfg->metrics.textfile);
	cfgi_ha_free(cfg);
	free(full->peer_prefixes);
	free(full->out);
	for (int i = 0; i < CFG_TLS_CRL; i++)
		free(full->tls_at[i]);
	for (size_t i = 0; full->crl_at != NULL && i < cfg->tls.n_crls; i++)
		free(full->crl_at[i]);
	free(full->crl_at);
	for (size_t i = 0; i < full->n_sources; i++) {
		free((char *)full->sources[i].path);
		explicit_bzero((char *)full->sources[i].data, full->sources[i].len);
		free((char *)full->sources[i].data);
	}
	free(full->sources);
	free(full);
}

static void build_free(struct cfg_build *b)
{
	for (size_t i = 0; i < b->n_peers; i++) {
		free(b->peers[i].addrs);
		free(b->peers[i].sources);
	}
	free(b->peers);
	for (size_t i = 0; i < b->n_names; i++)
		free(b->names[i]);
	free(b->names);
	free(b->crl_at);
	free(b->lan_at);
	EVP_MD_CTX_free(b->sha);
}

struct jgw_config *cfg_load(const char *path, cfg_error_fn err, void *arg)
{
	struct cfg_build b = { .err = err, .arg = arg, .top = path, .cur_peer = -1 };
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned md_len = 0;
	struct jgw_config *ret = NULL;

	b.c = calloc(1, sizeof(*b.c));
	if (b.c != NULL)
		b.c->magic = CFG_MAGIC;
	b.sha = EVP_MD_CTX_new();
	if (b.c == NULL || b.sha == NULL || !cfgi_set_defaults(&b.c->pub) ||
	    (b.c->pub.path = strdup(path)) == NULL ||
	    EVP_DigestInit_ex(b.sha, EVP_sha256(), NULL) != 1) {
		cfgi_at_error(&b, NULL, "out of memory");
		goto out;
	}
	cfgi_parse_top(&b, path);
	b.parsed_clean = b.errors == 0;
	if (b.files_read > 0)
		cfgi_check_all(&b);
	if (b.errors != 0)
		goto out;
	if (!cfgi_finish(&b) || EVP_DigestFinal_ex(b.sha, md, &md_len) != 1) {
		cfgi_at_error(&b, NULL, "out of memory");
		goto out;
	}
	for (unsigned i = 0; i < md_len && i < 32; i++)
		snprintf(b.c->pub.sha256 + 2 * i, 3, "%02x", md[i]);
	ret = &b.c->pub;
	b.c = NULL;
out:
	if (b.c != NULL)
		cfg_free(&b.c->pub);
	build_free(&b);
	return ret;
}

static void ignore_error(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

char *cfg_control_socket(const char *path)
{
	struct cfg_build b = { .err = ignore_error, .top = path, .cur_peer = -1 };
	char *sock = NULL;

	b.c = calloc(1, sizeof(*b.c));
	b.sha = EVP_MD_CTX_new();
	if (b.c && b.sha && cfgi_set_defaults(&b.c->pub) && (b.c->pub.path = strdup(path)) &&
	    EVP_DigestInit_ex(b.sha, EVP_sha256(), NULL) == 1) {
		b.c->magic = CFG_MAGIC;
		cfgi_parse_top(&b, path);
		/* Errors elsewhere do not matter: the statement that names the
		 * socket parsed, or the default stands. */
		if (b.files_read > 0 && b.c->pub.control_path)
			sock = strdup(b.c->pub.control_path);
	}
	if (b.c)
		cfg_free(&b.c->pub);
	build_free(&b);
	return sock;
}

static int node_cmp(const void *key, const void *elem)
{
	/* Both are 6 digits and a NUL: the caller checked the key's length. */
	return memcmp(key, ((const struct cfg_peer *)elem)->node, NODE_CODE_LEN + 1);
}

const struct cfg_peer *cfg_peer_find(const struct jgw_config *cfg, const char *node)
{
	if (cfg == NULL || node == NULL || strlen(node) != NODE_CODE_LEN)
		return NULL;
	return bsearch(node, cfg->peers, cfg->n_peers, sizeof(*cfg->peers), node_cmp);
}

bool cfg_peer_allowed(const struct jgw_config *cfg, const char *node, const char **why)
{
	char buf[256];
	const char *reason = "unknown-peer";

	/* The role rule first: a node this site may never talk to is named as
	 * such in the audit, not merely as absent from the directory. */
	if (cfg == NULL || !node_valid(node) ||
	    cfgi_peer_rule(cfg->site, node, &reason, buf, sizeof(buf)) != NULL ||
	    (reason = "unknown-peer", cfg_peer_find(cfg, node) == NULL)) {
		if (why != NULL)
			*why = reason;
		return false;
	}
	return true;
}

bool cfg_server_allowed(const struct jgw_config *cfg, const struct sockaddr *sa)
{
	struct addr_prefix host;

	if (cfg == NULL || sa == NULL || !addr_from_sockaddr(sa, &host))
		return false;
	for (size_t i = 0; i < cfg->n_servers; i++)
		if (addr_contains(&cfg->servers[i], &host))
			return true;
	return false;
}

bool cfg_peer_source_ok(const struct jgw_config *cfg, const char *node, const struct sockaddr *sa)
{
	const struct cfg_peer *p;
	struct addr_prefix host, a;

	if (!cfg->tls.source_check)
		return true;
	if (!(p = cfg_peer_find(cfg, node)) || !addr_from_sockaddr(sa, &host))
		return false;
	for (size_t i = 0; i < p->n_addrs; i++)
		if (addr_from_sockaddr((const struct sockaddr *)&p->addrs[i].ss, &a) &&
		    a.family == host.family && memcmp(a.addr, host.addr, 16) == 0)
			return true;
	for (size_t i = 0; i < p->n_sources; i++)
		if (addr_contains(&p->sources[i], &host))
			return true;
	return false;
}

size_t cfg_sources(const struct jgw_config *cfg, const struct cfg_source **out)
{
	const struct cfg_full *full = cfgi_full_of(cfg);

	*out = full->sources;
	return full->n_sources;
}

const char *cfg_tls_where(const struct jgw_config *cfg, enum cfg_tls_file what, size_t crl)
{
	const struct cfg_full *full;

	if (cfg == NULL)
		return NULL;
	full = cfgi_full_of(cfg);
	if (what == CFG_TLS_CRL)
		return full->crl_at != NULL && crl < cfg->tls.n_crls ? full->crl_at[crl] : NULL;
	return (unsigned)what < CFG_TLS_CRL ? full->tls_at[what] : NULL;
}

bool cfg_nft_policy(const struct jgw_config *cfg, struct nft_policy *out)
{
	const struct cfg_full *full;

	if (cfg == NULL || out == NULL)
		return false;
	full = cfgi_full_of(cfg);
	memset(out, 0, sizeof(*out));
	out->table = cfg->firewall.table;
	out->wan_if = cfg->wan_ifname;
	out->lan_if = cfg->lan_ifname;
	out->wan_port = addr_sockaddr_port((const struct sockaddr *)&(&cfg->wan_listen)->ss);
	out->lan_port = addr_sockaddr_port((const struct sockaddr *)&(&cfg->lan_listen)->ss);
	/* The LAN port answers on the LAN listener's address only (any
	 * address when it listens on the wildcard). */
	addr_from_sockaddr((const struct sockaddr *)&cfg->lan_listen.ss, &out->lan_addr);
	out->ssh_port = cfg->ssh_port;
	out->peers = full->peer_prefixes;
	out->n_peers = full->n_peer_prefixes;
	out->servers = cfg->servers;
	out->n_servers = cfg->n_servers;
	out->mgmt = cfg->mgmt;
	out->n_mgmt = cfg->n_mgmt;
	out->out = full->out;
	out->n_out = full->n_out;
	out->rate_per_s = cfg->firewall.rate_per_s;
	out->rate_burst = cfg->firewall.rate_burst;
	out->conn_limit = cfg->firewall.conn_limit;
	out->quarantine_timeout_s = cfg->firewall.q_timeout_s;
	out->nflog_group = cfg->firewall.nflog_group;
	if (cfg->metrics.has_listen) {
		out->metrics_port = addr_sockaddr_port((const struct sockaddr *)&cfg->metrics.listen.ss);
		addr_from_sockaddr((const struct sockaddr *)&cfg->metrics.listen.ss,
				   &out->metrics_addr);
	}
	cfgi_ha_nft_policy(cfg, out);
	return true;
}
