/*
 * config.h — the gateway's configuration (/etc/jgw/jgw.conf; examples in conf/).
 *
 * One grammar (bison/flex, gateway/config.y and config.l) for everything:
 * site, listeners, local servers, peer directory, TLS files, timeouts,
 * limits, catalog, firewall and audit settings, with `include`. cfg_load()
 * is the only way in: it parses, runs every semantic check in one place,
 * loads the catalog, and reports every error as file:line:col. jgwd, jgwd -n
 * and `jgwctl check` all call it, so check mode is the daemon's own parser.
 *
 * A loaded configuration is immutable: a reload builds a new one beside the
 * old and swaps only when it loaded cleanly.
 */
#ifndef JGW_CONFIG_H
#define JGW_CONFIG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "filters/engine/catalog.h"
#include "filters/engine/jmsg.h"
#include "filters/firewall/nft.h"

/* An address and port, ready for bind()/connect(). */
struct cfg_endpoint {
	struct sockaddr_storage ss;
	socklen_t len;
};

struct cfg_peer {
	node_code node;
	struct cfg_endpoint *addrs;  /* where to dial it, in order; also its allowed sources */
	size_t n_addrs;
	struct addr_prefix *sources;  /* further source networks (NAT), `source` */
	size_t n_sources;
};

enum cfg_disk_policy { CFG_DISK_FAIL_CLOSED = 0, CFG_DISK_COUNT_LOSS };
/* A CRL past its nextUpdate: refuse every peer (default), or use it and alarm. */
enum cfg_crl_policy { CFG_CRL_FAIL_CLOSED = 0, CFG_CRL_FAIL_OPEN };

struct jgw_config {
	char *path;                  /* top file */
	char sha256[65];             /* of the top file and its includes, in order */
	uint64_t generation;         /* set by the daemon on load */

	node_code site;              /* this gateway's node */
	char *catalog_path;
	struct cat_catalog *catalog; /* loaded by cfg_load */

	struct cfg_endpoint lan_listen, wan_listen;
	char *lan_ifname, *wan_ifname;    /* NULL: any interface */
	char *control_path;               /* control socket */
	/* The socket's group (may ask: status, stats, ...) and the group that
	 * may also change state; NULL: root and the daemon's account only. */
	char *control_group, *control_admin_group;
	char *user, *group;               /* privilege drop; NULL: stay */
	char *pid_file;
	/* The relay's workers (threads, each its own loop); 0: one per online
	 * CPU. Taken at start: a reload that changes it is refused. */
	uint32_t workers;

	/* Local servers of this site, per system; has_* false when absent. */
	struct cfg_endpoint juki_server, fuhyo_server;
	bool has_juki, has_fuhyo;
	struct addr_prefix *servers;       /* LAN sources allowed to connect */
	size_t n_servers;
	struct addr_prefix *mgmt;          /* management network(s) */
	size_t n_mgmt;
	uint16_t ssh_port;                /* 0: no SSH rule */

	struct {
		char *cert, *key, *ca;
		char **crls;
		size_t n_crls;
		enum cfg_crl_policy crl_policy;
		uint32_t crl_alarm_s;
		bool tls12;
		/* A tunnel's source address must be one of its peer's (default). */
		bool source_check;
	} tls;

	struct cfg_peer *peers;           /* sorted by node code */
	size_t n_peers;

	struct {
		uint32_t handshake_ms, idle_ms, connect_ms, shutdown_ms;
		/* The first whole frame of a connection, and each frame once its
		 * first byte came, must arrive within these. */
		uint32_t first_frame_ms, frame_ms;
	} timeouts;

	struct {
		uint32_t tunnels, per_peer, per_source, outstanding, buffer_bytes;
		int64_t skew_ms;
	} limits;

	struct {
		bool enabled;
		char *table;                  /* "jgw" */
		uint16_t nflog_group;
		uint32_t rate_per_s, rate_burst, conn_limit;
		uint32_t q_failures, q_window_s, q_timeout_s;
		bool quarantine_lan;          /* failures of LAN sources count too
		                               * (default false: never the site's servers) */
		bool keep_on_stop;            /* default true: fail closed */
		struct cfg_endpoint *dns, *ntp;
		size_t n_dns, n_ntp;
		/* NTS key establishment (TCP, NTS_KE_PORT) of the `ntp ... nts` servers */
		struct cfg_endpoint *nts_ke;
		size_t n_nts_ke;
		uint32_t drop_interval_s;
	} firewall;

	struct {
		char *spool_dir;
		char *key_file;               /* current chain key (k_epoch) */
		uint64_t rotate_bytes;
		uint32_t commit_ms;
		uint32_t stats_interval_s;
		bool has_collector;
		char *collector_host;
		uint16_t collector_port;
		char *collector_ca, *collector_cert, *collector_key;
		char *collector_name;         /* the name its certificate must carry */
		uint8_t disk_alarm_pct, disk_limit_pct;
		enum cfg_disk_policy disk_policy;
		uint32_t retain_s;            /* local window (audit.md, Retention) */
		uint64_t retain_bytes;        /* 0: no size bound */
		bool require_archive;         /* prune only what jgwctl audit archive copied */
	} audit;

	/* metrics { }: GET /metrics on listen (the firewall opens it to the
	 * management networks only) and a textfile rewritten every interval. */
	struct {
		bool has_listen;
		struct cfg_endpoint listen;
		char *textfile;               /* NULL: none */
		uint32_t interval_s;
	} metrics;

	/* ha { }: this appliance as one member of a site's pair (or farm): its
	 * name in the audit records, its partner's addresses (VRRP and the
	 * quarantine sync are admitted from them only, on ifname) and the port
	 * of the quarantine sync (config_ha.c, docs/operations.md). */
	struct {
		bool enabled;
		char *member;                 /* [a-z0-9-], 1-15 characters */
		struct addr_prefix *partners; /* single addresses; none: a farm member */
		size_t n_partners;
		char *ifname;                 /* required with partners */
		uint16_t sync_port;
	} ha;
};

/* A message of a load or check: an error ("file:line:col: message"), or a
 * warning ("file:line:col: warning: message"), which does not refuse the
 * configuration; cfg_msg_is_warning tells them apart. */
typedef void (*cfg_error_fn)(void *arg, const char *msg);
bool cfg_msg_is_warning(const char *msg);

/* Parse, check and load (catalog included). Every error goes to err (stderr
 * when NULL) as "file:line:col: message"; NULL when there was any. Defaults
 * and the grammar: docs/configuration.md. generation is left 0. */
struct jgw_config *cfg_load(const char *path, cfg_error_fn err, void *arg);
void cfg_free(struct jgw_config *cfg);
/* The control socket a configuration names (or the default), read even
 * when the file has errors elsewhere: the running daemon is asked whatever
 * the file on disk says now. NULL when the file cannot be read. Free it. */
char *cfg_control_socket(const char *path);

/* The files a configuration was read from, in the order read (the order of
 * its sha256), with their bytes as read: what the configuration history
 * keeps. path is absolute. */
struct cfg_source {
	const char *path;
	const char *data;
	size_t len;
};
size_t cfg_sources(const struct jgw_config *cfg, const struct cfg_source **out);

/* The directory entry of a node code (binary search); NULL when absent. */
const struct cfg_peer *cfg_peer_find(const struct jgw_config *cfg, const char *node);

/* Is node an acceptable tunnel peer for this site? In the directory, and for
 * a prefecture site a municipality of that prefecture (or 機構). why gets a
 * reason name when not: "wrong-prefecture" for a node the site's role rules
 * exclude (checked first), else "unknown-peer" (not in the directory,
 * invalid, or the site itself). */
bool cfg_peer_allowed(const struct jgw_config *cfg, const char *node, const char **why);

/* May a tunnel proving the identity of peer node come from address sa?
 * True when source-check is off, or sa is one of the peer's addresses or in
 * one of its `source` networks (IPv4-mapped IPv6 matched as IPv4). */
bool cfg_peer_source_ok(const struct jgw_config *cfg, const char *node, const struct sockaddr *sa);

/* Is a LAN source address one of this site's servers (lan-allow, or the
 * local servers' addresses when none is given)? IPv4-mapped IPv6 addresses
 * are matched as IPv4. */
bool cfg_server_allowed(const struct jgw_config *cfg, const struct sockaddr *sa);

/* The firewall policy of this configuration; arrays point into cfg and live
 * until cfg_free. Filled whether or not firewall.enabled is set (the caller
 * decides); false only for NULL arguments. */
bool cfg_nft_policy(const struct jgw_config *cfg, struct nft_policy *out);

/* Where a TLS file was named: "file:line:col" of its statement, for the
 * errors that only building the TLS context finds (a key that does not match,
 * a CRL no anchor signed, a certificate of another node); NULL when not
 * known. crl: index into tls.crls, for CFG_TLS_CRL. */
enum cfg_tls_file {
	CFG_TLS_CERT, CFG_TLS_KEY, CFG_TLS_CA,
	/* Other statements the daemon's own checks point at. */
	CFG_AT_USER, CFG_AT_GROUP, CFG_AT_AUDIT_KEY, CFG_AT_AUDIT_SPOOL,
	CFG_AT_CTL_GROUP, CFG_AT_CTL_ADMIN,
	CFG_TLS_CRL,                   /* last: one per crl statement */
};
const char *cfg_tls_where(const struct jgw_config *cfg, enum cfg_tls_file what, size_t crl);

#endif
