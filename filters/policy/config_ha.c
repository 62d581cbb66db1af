/*
 * config_ha.c — the `ha { }` block (config_int.h): one appliance of a
 * site's pair, or of a farm.
 *
 *   ha {
 *       member a;              # this appliance's name in its audit records
 *       partner 10.16.0.3;     # the other member (repeatable: one per family)
 *       interface lan0;        # VRRP and the quarantine sync run here only
 *       sync-port 7444;        # the quarantine sync between the members
 *   }
 *
 * A farm member names itself only (no partner): its records say which
 * member wrote them, and the distributor in front decides who serves. The
 * partner's addresses are where the firewall admits VRRP and the sync
 * from, and where jgwd sends each quarantine change (docs/operations.md,
 * "Two appliances per site").
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filters/policy/config_int.h"

#define HA_DEFAULT_SYNC_PORT 7444
#define HA_MAX_PARTNERS 8
/* The member goes after the site in every record's gw ("131016-a"), which
 * is a word of at most 15 bytes (the spool's and the collector's rule). */
#define HA_MEMBER_MAX 8

static struct cfg_where ha_where(const struct cfg_file *f, const CFGYYLTYPE *loc)
{
	return (struct cfg_where){ f->name, loc->first_line, loc->first_column };
}

/* Blocks merge: the first one is where a check of the whole points. */
void cfgp_ha(struct cfg_file *f, const CFGYYLTYPE *loc)
{
	f->b->c->pub.ha.enabled = true;
	if (f->b->seen[CFG_K_HA].file == NULL)
		f->b->seen[CFG_K_HA] = ha_where(f, loc);
}

/* Why an address cannot be a partner's, or NULL. A link-local IPv6
 * address is fine: the rules that use it are bound to the interface. */
static const char *partner_problem(const struct addr_prefix *p)
{
	static const uint8_t zero[16];
	size_t alen = addr_bytes(p->family);

	if (p->len != alen * 8)
		return "a partner is one address, not a prefix";
	if (memcmp(p->addr, zero, alen) == 0)
		return "the unspecified address is no partner";
	if (p->family == AF_INET ? (p->addr[0] & 0xf0) == 0xe0 : p->addr[0] == 0xff)
		return "a multicast address is no partner (VRRP is admitted unicast, from the partner)";
	if (p->family == AF_INET ? p->addr[0] == 127 :
	    (memcmp(p->addr, zero, 15) == 0 && p->addr[15] == 1))
		return "a loopback address is no partner";
	return NULL;
}

void cfgp_ha_partner(struct cfg_file *f, const CFGYYLTYPE *loc, char *addr)
{
	struct jgw_config *c = &f->b->c->pub;
	struct addr_prefix p, *grown;
	const char *why;

	if (!addr_prefix_parse(addr, &p)) {
		cfgp_error(f, loc, "ha partner: bad address '%s'", addr);
		goto out;
	}
	if ((why = partner_problem(&p)) != NULL) {
		cfgp_error(f, loc, "ha partner '%s': %s", addr, why);
		goto out;
	}
	for (size_t i = 0; i < c->ha.n_partners; i++) {
		if (c->ha.partners[i].family == p.family &&
		    memcmp(c->ha.partners[i].addr, p.addr, 16) == 0) {
			cfgp_error(f, loc, "ha partner '%s' given twice", addr);
			goto out;
		}
	}
	if (c->ha.n_partners == HA_MAX_PARTNERS) {
		cfgp_error(f, loc, "ha partner: at most %d addresses", HA_MAX_PARTNERS);
		goto out;
	}
	grown = reallocarray(c->ha.partners, c->ha.n_partners + 1, sizeof(*grown));
	if (grown == NULL) {
		cfgp_error(f, loc, "out of memory");
		goto out;
	}
	c->ha.partners = grown;
	c->ha.partners[c->ha.n_partners++] = p;
out:
	free(addr);
}

/* The name goes into every record's `member` and into file names at the
 * collector: short, lower case, nothing to escape. */
static bool member_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= HA_MEMBER_MAX && s[0] != '-' &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

static bool ifname_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 15 && strpbrk(s, "/ \t:") == NULL;
}

static bool same_port_any(const struct cfg_endpoint *ep, uint16_t port)
{
	return addr_sockaddr_port((const struct sockaddr *)&ep->ss) == port;
}

static bool is_partner(const struct jgw_config *c, const struct cfg_endpoint *ep)
{
	struct addr_prefix a;

	if (!addr_from_sockaddr((const struct sockaddr *)&ep->ss, &a))
		return false;
	for (size_t i = 0; i < c->ha.n_partners; i++)
		if (c->ha.partners[i].family == a.family &&
		    memcmp(c->ha.partners[i].addr, a.addr, 16) == 0)
			return true;
	return false;
}

/* VRRP for the LAN listener's (virtual) address runs in that address's
 * family: a partner of the other family alone could never elect anyone. */
static void check_partner_family(struct cfg_build *b, const struct cfg_where *at)
{
	const struct jgw_config *c = &b->c->pub;
	static const uint8_t zero[16];
	struct addr_prefix lan;

	if (!addr_from_sockaddr((const struct sockaddr *)&c->lan_listen.ss, &lan) ||
	    memcmp(lan.addr, zero, 16) == 0)
		return;
	for (size_t i = 0; i < c->ha.n_partners; i++)
		if (c->ha.partners[i].family == lan.family)
			return;
	cfgi_at_error(b, at, "ha: no partner address is %s, the family of listen lan (the "
		      "virtual address the site's servers use): VRRP for it runs between the "
		      "members in that family", lan.family == AF_INET ? "IPv4" : "IPv6");
}

static void check_partners(struct cfg_build *b, const struct cfg_where *at)
{
	struct jgw_config *c = &b->c->pub;
	const struct cfg_where *port_at = b->seen[CFG_K_HA_SYNC_PORT].file ?
					  &b->seen[CFG_K_HA_SYNC_PORT] : at;

	if (c->ha.ifname == NULL) {
		cfgi_at_error(b, at, "ha: 'interface NAME;' is required with a partner (VRRP and "
			      "the quarantine sync are admitted on that interface only)");
	} else if (!ifname_ok(c->ha.ifname)) {
		cfgi_at_error(b, &b->seen[CFG_K_HA_IF], "ha interface: bad interface name '%s'",
			      c->ha.ifname);
	} else if (c->wan_ifname && strcmp(c->ha.ifname, c->wan_ifname) == 0) {
		cfgi_at_error(b, &b->seen[CFG_K_HA_IF], "ha interface '%s' is the WAN interface: "
			      "VRRP and the quarantine sync must not face the WAN", c->ha.ifname);
	}
	if (c->ha.sync_port == 0)
		c->ha.sync_port = HA_DEFAULT_SYNC_PORT;
	if (same_port_any(&c->lan_listen, c->ha.sync_port) ||
	    same_port_any(&c->wan_listen, c->ha.sync_port) ||
	    (c->metrics.has_listen && same_port_any(&c->metrics.listen, c->ha.sync_port)) ||
	    (c->n_mgmt && c->ssh_port == c->ha.sync_port))
		cfgi_at_error(b, port_at, "ha sync-port %u is the port of another listener "
			      "(listen lan, listen wan, metrics or SSH)", c->ha.sync_port);
	if (is_partner(c, &c->lan_listen) || is_partner(c, &c->wan_listen))
		cfgi_at_error(b, at, "ha: a partner address is this gateway's own listen address");
	check_partner_family(b, at);
}

void cfgi_check_ha(struct cfg_build *b)
{
	struct jgw_config *c = &b->c->pub;
	const struct cfg_where *at = &b->seen[CFG_K_HA];

	if (!c->ha.enabled || !b->parsed_clean)
		return;
	if (c->ha.member == NULL)
		cfgi_at_error(b, at, "ha: 'member NAME;' is required (the name this appliance's "
			      "audit records carry)");
	else if (!member_name_ok(c->ha.member))
		cfgi_at_error(b, &b->seen[CFG_K_HA_MEMBER], "ha member: bad name '%s' (a-z, 0-9 "
			      "and '-', at most %d, not starting with '-')", c->ha.member,
			      HA_MEMBER_MAX);
	if (c->ha.n_partners > 0) {
		check_partners(b, at);
		return;
	}
	/* A farm member: nothing to admit, nobody to sync with. */
	if (c->ha.ifname || c->ha.sync_port)
		cfgi_at_error(b, b->seen[CFG_K_HA_IF].file ? &b->seen[CFG_K_HA_IF]
							  : &b->seen[CFG_K_HA_SYNC_PORT],
			      "ha: interface and sync-port are for a partner, and none is given "
			      "(partner ADDRESS;)");
}

void cfgi_ha_nft_policy(const struct jgw_config *cfg, struct nft_policy *out)
{
	if (!cfg->ha.enabled || cfg->ha.n_partners == 0)
		return;
	out->ha_if = cfg->ha.ifname;
	out->ha_partners = cfg->ha.partners;
	out->n_ha_partners = cfg->ha.n_partners;
	out->ha_sync_port = cfg->ha.sync_port;
}

void cfgi_ha_free(struct jgw_config *cfg)
{
	free(cfg->ha.member);
	free(cfg->ha.ifname);
	free(cfg->ha.partners);
}
