/*
 * nft_int.h — shared inside the nft module only (nft_rules.c, nft.c).
 *
 * A policy is compiled once into a plan: sorted, merged address ranges for
 * every set and a list of rules in a small description language. Both the
 * nft-syntax printer and the netlink emitter walk the same plan, piece by
 * piece in the same order, so the printed ruleset and the kernel's listing
 * of the applied one agree.
 */
#ifndef JGW_NFT_INT_H
#define JGW_NFT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "filters/firewall/nft.h"

/* Inclusive address range, network byte order, 4 or 16 bytes used. */
struct nftp_range {
	uint8_t lo[16], hi[16];
};

struct nftp_rangeset {
	struct nftp_range *r;
	size_t n;
};

enum nftp_set_kind {
	NFTP_SET_ADDR,          /* interval set of addresses */
	NFTP_SET_QUARANTINE,    /* addresses with timeouts */
	NFTP_SET_RATE,          /* dynamic, timeout: per-source limit */
	NFTP_SET_CONN,          /* dynamic: per-source ct count */
	NFTP_SET_OUT,           /* addr . inet_proto . inet_service */
};

struct nftp_set {
	char name[16];
	enum nftp_set_kind kind;
	int family;                       /* AF_INET, AF_INET6 */
	const struct nftp_rangeset *ranges; /* NFTP_SET_ADDR */
	const struct nft_dest *const *out;  /* NFTP_SET_OUT */
	size_t n_out;
	uint32_t timeout_s;
};

enum nftp_dynset { NFTP_DYN_NONE, NFTP_DYN_RATE_OVER, NFTP_DYN_CONN_OVER };

/* One rule; pieces are emitted in the order of the fields. */
struct nftp_rule {
	const char *chain;
	const char *iifname;               /* iifname "x" */
	const char *oifname;               /* oifname "x" */
	bool iif_lo, oif_lo;               /* iif "lo" / oif "lo" */
	bool ct_original;                  /* ct direction original */
	int daddr_family;                  /* ip/ip6 daddr PREFIX ... */
	const struct addr_prefix *daddr;
	uint8_t l4proto;                   /* tcp/udp dport N (with dport) */
	uint16_t dport;
	int saddr_family;                  /* ip/ip6 saddr @set */
	const char *saddr_set;
	const struct addr_prefix *saddr;   /* ip/ip6 saddr ADDR (saddr_family) */
	uint8_t meta_l4proto;              /* meta l4proto N, no port */
	int concat_family;                 /* ip daddr . meta l4proto . th dport @set */
	const char *concat_set;
	uint32_t ct_state;                 /* ct state mask, 0: none */
	int icmp_family;                   /* icmp/icmpv6 type N */
	uint8_t icmp_type;
	uint32_t limit_rate, limit_burst;  /* limit rate N/second (accept side) */
	enum nftp_dynset dyn;              /* update/add @set { ip saddr ... } */
	int dyn_family;
	const char *dyn_set;
	uint32_t dyn_value, dyn_burst;
	const char *counter;               /* counter name "x" */
	const char *log_prefix;            /* log prefix "x" group G */
	bool accept;                       /* accept, else drop */
};

struct nftp_chain {
	const char *name;
	const char *hook;                  /* prerouting, input, forward, output */
	int hooknum;
	int prio;
	const char *prio_name;             /* nft's name of prio, as it lists it */
	bool policy_accept;
};

#define NFTP_PROTO_VRRP 112            /* IP protocol of VRRP (RFC 5798) */
#define NFTP_MAX_SETS 20
#define NFTP_MAX_RULES 96
#define NFTP_N_CHAINS 4
#define NFTP_N_COUNTERS 12

struct nftp_plan {
	const struct nft_policy *pol;
	struct nftp_rangeset peers[2], servers[2], mgmt[2]; /* [0] v4, [1] v6 */
	const struct nft_dest **out_host[2];
	size_t n_out_host[2];
	struct nftp_set sets[NFTP_MAX_SETS];
	size_t n_sets;
	struct nftp_rule rules[NFTP_MAX_RULES];
	size_t n_rules;
	uint32_t rate_burst;
};

extern const char *const nftp_counters[NFTP_N_COUNTERS];
extern const struct nftp_chain nftp_chains[NFTP_N_CHAINS];

/* Check and compile; err says what is wrong with the policy. */
struct nftp_plan *nftp_compile(const struct nft_policy *pol, char *err, size_t errlen);
void nftp_free(struct nftp_plan *plan);

int nftp_addr_len(int family);
/* a + 1 in place; false when it wraps (a was all ones). */
bool nftp_addr_inc(uint8_t *a, int len);
bool nftp_valid_name(const char *s, size_t max);

/* Two appliances per site (nft_ha.c): the partner's VRRP and quarantine
 * sync, added to chain (input or output) of the plan; checks first. */
bool nftp_ha_check(const struct nft_policy *pol, char *err, size_t errlen);
void nftp_plan_ha(struct nftp_plan *pl, const char *chain);

#endif
