/*
 * nft.h — the gateway's nftables table, programmed over netlink
 * (libnftnl + libmnl), never by running nft.
 *
 * The whole table is generated from an nft_policy and replaced in one netlink
 * batch: the kernel applies all of it or none. Named counters and the
 * quarantine elements of a replaced table are carried over. Run-time
 * changes touch only set elements (the quarantine set). Drops are logged to
 * an NFLOG group that nft_log reads and summarises. The layout of the table
 * is described in docs/firewall.md.
 */
#ifndef JGW_NFT_H
#define JGW_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "filters/base/addr.h"


/* An output destination the appliance needs (peer WAN ports, local
 * servers, the audit collector, DNS, NTP). */
struct nft_dest {
	struct addr_prefix prefix;
	uint8_t proto;               /* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t port;
};

struct nft_policy {
	const char *table;           /* inet table name, "jgw" */
	const char *wan_if, *lan_if; /* NULL: any interface */
	uint16_t wan_port, lan_port, ssh_port;   /* ssh_port 0: none */
	/* The LAN listener's address: the LAN port is accepted on it only.
	 * family 0 or the unspecified address (0.0.0.0, ::): on any local
	 * address. Otherwise a single address (/32, /128); the LAN rule then
	 * exists for its family only. */
	struct addr_prefix lan_addr;
	const struct addr_prefix *peers;   size_t n_peers;    /* may reach wan_port */
	const struct addr_prefix *servers; size_t n_servers;  /* may reach lan_port */
	const struct addr_prefix *mgmt;    size_t n_mgmt;     /* may reach ssh */
	const struct nft_dest *out;       size_t n_out;      /* output allowed */
	uint32_t rate_per_s, rate_burst;  /* new connections per source on wan_port */
	uint32_t conn_limit;              /* concurrent connections per source */
	uint32_t quarantine_timeout_s;    /* default element timeout */
	uint16_t nflog_group;
	/* GET /metrics (jgwd's HTTP listener): reachable from the management
	 * networks only (counted in accept_mgmt, as SSH). metrics_port 0: none;
	 * metrics_addr as lan_addr (unspecified: any local address). */
	uint16_t metrics_port;
	struct addr_prefix metrics_addr;
	/* Two appliances per site (nft_ha.c): VRRP (IP protocol 112) and the
	 * quarantine sync (TCP ha_sync_port) admitted on ha_if only, from the
	 * partner's addresses only, and sent to them. n_ha_partners 0: none. */
	const char *ha_if;
	const struct addr_prefix *ha_partners; size_t n_ha_partners;
	uint16_t ha_sync_port;
};

/* Fixed parts of the ruleset (limits on essential ICMP, dynamic set sizes). */
#define NFT_DYNSET_SIZE     65535  /* sources tracked by the WAN rate/count sets */
#define NFT_RATE_TIMEOUT_S  60     /* idle rate-limit state expires after this */

/* Replace the table in one batch. Quarantine elements of the table being
 * replaced are carried over (with their remaining time) in the same batch. On a kernel error, err names the failing
 * command and the extended-ack message. 0 on success, -1 on error. */
int nft_apply(const struct nft_policy *policy, char *err, size_t errlen);
/* The same ruleset in nft syntax (nft -c -f accepts it). */
int nft_print(const struct nft_policy *policy, FILE *out);
int nft_table_delete(const char *table, char *err, size_t errlen);

/* Quarantine sets (quarantine4, quarantine6): single addresses only (a
 * prefix shorter than /32 or /128 is refused). add (timeout_s 0 = the set
 * default; for an address already present, recent kernels (seen on 6.18)
 * restart its timer with the new timeout, older ones keep the running
 * timer), delete, list (expires_ms: milliseconds left). */
int nft_quarantine_add(const char *table, const struct addr_prefix *addr,
		       uint32_t timeout_s, char *err, size_t errlen);
int nft_quarantine_del(const char *table, const struct addr_prefix *addr,
		       char *err, size_t errlen);
typedef void (*nft_quarantine_fn)(void *arg, const struct addr_prefix *addr,
				  uint64_t expires_ms);
int nft_quarantine_list(const char *table, nft_quarantine_fn fn, void *arg,
			char *err, size_t errlen);

/* Named counters of the table. */
typedef void (*nft_counter_fn)(void *arg, const char *name, uint64_t packets,
			       uint64_t bytes);
int nft_counters(const char *table, nft_counter_fn fn, void *arg, char *err,
		 size_t errlen);

/* NFLOG drop summaries. Drops are aggregated per interval by key: (rule,
 * source prefix, protocol), the prefix being the source's /24 (IPv4) or /64
 * (IPv6); a key's destination ports become one range with a count. At most
 * NFT_LOG_KEYS keys are tracked per interval (a fixed table; drops of keys
 * beyond it still count, in the rest). nft_log_flush hands out the
 * NFT_LOG_TOP keys with the most packets and then one summary with rule
 * NFT_LOG_REST for everything else: at most NFT_LOG_TOP + 1 summaries per
 * interval whatever the traffic, and their packets and bytes add up to
 * every drop that was read. */
#define NFT_LOG_KEYS    4096
#define NFT_LOG_TOP     32
#define NFT_LOG_PREFIX4 24
#define NFT_LOG_PREFIX6 64
#define NFT_LOG_REST    "rest"
struct nft_drop {
	char rule[32];               /* the log prefix naming the rule, or "rest" */
	/* The source address when the key saw only one, else the key's /24 or
	 * /64 prefix; family 0 (none) for the rest. */
	struct addr_prefix src;
	uint8_t proto;               /* 0 for the rest */
	uint16_t dst_port;           /* lowest destination port (0: none, e.g. ICMP) */
	uint64_t packets, bytes;     /* bytes: IP total lengths */
	/* Added with the aggregation. For the rest, ports and sources are
	 * those of each key it holds, added up. */
	uint16_t dst_port_max;       /* highest destination port (0: none) */
	uint32_t ports;              /* distinct destination ports */
	uint32_t sources;            /* distinct source addresses */
	uint32_t keys;               /* 1, or the number of keys in the rest */
	bool capped;                 /* ports, sources, keys are lower bounds: the
	                                interval saw more distinct values than the
	                                summariser can tell apart */
};
struct nft_log;
struct nft_log *nft_log_open(uint16_t group, char *err, size_t errlen);
int nft_log_fd(const struct nft_log *log);
/* Read what is waiting (non-blocking, at most 256 datagrams per call: call
 * again while the descriptor is readable) into the current interval.
 * Returns the datagrams read, -1 on a socket error. */
int nft_log_read(struct nft_log *log);
/* Hand out and reset the interval's summaries: the top keys, most packets
 * first, then the rest when it has any packets. */
typedef void (*nft_drop_fn)(void *arg, const struct nft_drop *drop);
void nft_log_flush(struct nft_log *log, nft_drop_fn fn, void *arg);
uint64_t nft_log_overruns(const struct nft_log *log);
/* Drops read into the current interval so far. */
uint64_t nft_log_packets(const struct nft_log *log);
void nft_log_close(struct nft_log *log);

#endif
