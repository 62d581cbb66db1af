/*
 * nft_ha.c — what two appliances of one site need from each other through
 * the table (nft_int.h): keepalived's VRRP (IP protocol 112, IPv4 and
 * IPv6) and jgwd's quarantine sync (TCP), each admitted on the HA
 * interface only and from the partner's addresses only, and let out to
 * them only. VRRP is admitted unicast: with the partner named in the
 * configuration, keepalived runs with unicast_peer, and no multicast group
 * (nor its IGMP) has to be opened. Nothing here talks to the kernel.
 *
 *   iifname "lan0" ip saddr 10.16.0.3 meta l4proto vrrp counter name "accept_ha" accept
 *   iifname "lan0" tcp dport 7444 ip saddr 10.16.0.3 counter name "accept_ha" accept
 *   oifname "lan0" ip daddr 10.16.0.3 meta l4proto vrrp counter name "accept_ha" accept
 *   oifname "lan0" ip daddr 10.16.0.3 tcp dport 7444 counter name "accept_ha" accept
 */
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "filters/firewall/nft_int.h"

#define NFT_HA_MAX_PARTNERS 8

bool nftp_ha_check(const struct nft_policy *pol, char *err, size_t errlen)
{
	if (pol->n_ha_partners == 0)
		return true;
	if (!pol->ha_partners || pol->n_ha_partners > NFT_HA_MAX_PARTNERS) {
		snprintf(err, errlen, "HA partners: 1 to %d addresses", NFT_HA_MAX_PARTNERS);
		return false;
	}
	if (!nftp_valid_name(pol->ha_if, IFNAMSIZ)) {
		snprintf(err, errlen, "HA interface `%s' is not a valid name",
			 pol->ha_if ? pol->ha_if : "");
		return false;
	}
	if (pol->ha_sync_port == 0) {
		snprintf(err, errlen, "HA sync port must be set");
		return false;
	}
	for (size_t i = 0; i < pol->n_ha_partners; i++) {
		const struct addr_prefix *p = &pol->ha_partners[i];
		size_t alen = addr_bytes(p->family);

		if (alen == 0 || p->len != alen * 8) {
			snprintf(err, errlen, "HA partner %zu: not a single IPv4 or IPv6 address", i + 1);
			return false;
		}
	}
	return true;
}

static struct nftp_rule *ha_rule(struct nftp_plan *pl, const char *chain,
				 const struct addr_prefix *partner)
{
	struct nftp_rule *r = &pl->rules[pl->n_rules++];

	memset(r, 0, sizeof *r);
	r->chain = chain;
	r->counter = "accept_ha";
	r->accept = true;
	if (strcmp(chain, "input") == 0) {
		r->iifname = pl->pol->ha_if;
		r->saddr_family = partner->family;
		r->saddr = partner;
	} else {
		r->oifname = pl->pol->ha_if;
		r->daddr_family = partner->family;
		r->daddr = partner;
	}
	return r;
}

void nftp_plan_ha(struct nftp_plan *pl, const char *chain)
{
	const struct nft_policy *pol = pl->pol;

	for (size_t i = 0; i < pol->n_ha_partners; i++) {
		const struct addr_prefix *p = &pol->ha_partners[i];
		struct nftp_rule *r;

		ha_rule(pl, chain, p)->meta_l4proto = NFTP_PROTO_VRRP;
		r = ha_rule(pl, chain, p);
		r->l4proto = IPPROTO_TCP;
		r->dport = pol->ha_sync_port;
	}
}
