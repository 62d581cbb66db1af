/*
 * config_int.h — private to the configuration loader (config.c, the builder
 * called by the grammar in config_build.c, the checks in config_check.c):
 * the configuration under construction and what its phases share.
 */
#ifndef JGW_CONFIG_INT_H
#define JGW_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/evp.h>

#include "filters/base/addr.h"
#include "filters/firewall/nft.h"
#include "filters/policy/config.h"

#define YYSTYPE CFGYYSTYPE
#define YYLTYPE CFGYYLTYPE
#include "filters/policy/config.tab.h"
#include "filters/policy/config.lex.h"

#ifndef JGW_DATADIR
#define JGW_DATADIR "/usr/local/share/jgw"
#endif

enum {
	MAX_INCLUDE_DEPTH = 8,
	MAX_FILE_BYTES = 4 * 1024 * 1024,
	MAX_FILES = 512,
	MAX_TOTAL_BYTES = 64 * 1024 * 1024,
	MAX_REPORTED = 100,            /* errors printed; the rest are counted */
	DEFAULT_PEER_PORT = 7443,
	DEFAULT_LAN_PORT = 7000,
	DEFAULT_COLLECTOR_PORT = 2514,
	DEFAULT_METRICS_PORT = 9464,   /* the port commonly given to an exporter */
	DNS_PORT = 53,
	NTP_PORT = 123,
	NTS_KE_PORT = 4460,   /* RFC 8915 */
};

/* The configuration with what cfg_nft_policy hands out beside it. The magic
 * catches a pointer that is not a loaded configuration, or one freed twice,
 * before it does damage: that is a bug of the caller, so it aborts. */
#define CFG_MAGIC 0x6a67636fu   /* "jgco" */

struct cfg_full {
	struct jgw_config pub;
	uint32_t magic;
	struct addr_prefix *peer_prefixes;
	size_t n_peer_prefixes;
	struct nft_dest *out;
	size_t n_out;
	/* "file:line:col" of the TLS file statements (cfg_tls_where): the TLS
	 * layer finds its errors after loading, and they must point here too. */
	char *tls_at[CFG_TLS_CRL];
	char **crl_at;                 /* one per tls.crls */
	struct cfg_source *sources;    /* owned: each path and data */
	size_t n_sources;
};

struct cfg_where {
	const char *file;              /* NULL: not set in any file */
	int line, col;
};

struct build_peer {
	char code[32];                 /* as written; checked later */
	struct cfg_where at;
	size_t order;                  /* position in the files, for messages */
	struct cfg_endpoint *addrs;
	size_t n_addrs;
	struct addr_prefix *sources;
	size_t n_sources;
	bool bad_addr;                 /* an address was rejected (and reported) */
};

struct cfg_build {
	struct cfg_full *c;
	cfg_error_fn err;
	void *arg;
	unsigned errors;
	EVP_MD_CTX *sha;
	const char *top;               /* name of the top file */
	char **names;                  /* every file name used in a location */
	size_t n_names;
	size_t files_read;
	size_t bytes_read;
	struct cfg_where seen[CFG_K_MAX];
	char site_text[32];
	struct build_peer *peers;
	size_t n_peers;
	ssize_t cur_peer;              /* inside `peer CODE { }', else -1 */
	struct cfg_where *crl_at;
	struct cfg_where *lan_at;      /* one per lan-allow entry, for messages */
	size_t n_lan_at;
	bool collector_addr_set;
	struct addr_prefix collector_addr;
	struct cfg_where collector_at;  /* the first `collector {' */
	struct cfg_where firewall_at;   /* the first `firewall {' */
	bool parsed_clean;             /* no syntax error: "not set" means not set */
};

/* Shared by the phases (config_build.c, config_check.c, config.c). */
void cfgi_emit(struct cfg_build *b, const char *msg);
void cfgi_at_error(struct cfg_build *b, const struct cfg_where *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Suspicious but accepted: reported, not counted as an error. */
void cfgi_at_warning(struct cfg_build *b, const struct cfg_where *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Parse the top file (and its includes); errors counted in b. */
void cfgi_parse_top(struct cfg_build *b, const char *path);
bool cfgi_set_defaults(struct jgw_config *c);
void cfgi_check_all(struct cfg_build *b);
/* ha { } (config_ha.c): its checks, its firewall part, freeing it. */
void cfgi_check_ha(struct cfg_build *b);
void cfgi_ha_nft_policy(const struct jgw_config *cfg, struct nft_policy *out);
void cfgi_ha_free(struct jgw_config *cfg);
bool cfgi_finish(struct cfg_build *b);
/* The peer rule of a site: NULL when peer may be its peer, else why (with
 * the audit reason in *reason). */
const char *cfgi_peer_rule(const char *site, const char *peer, const char **reason,
			   char *buf, size_t len);
struct cfg_full *cfgi_full_of(const struct jgw_config *cfg);
void cfgi_make_endpoint(const struct addr_prefix *p, uint16_t port, struct cfg_endpoint *ep);
/* The name of a setting as messages write it ("tls certificate"). */
const char *cfgi_setting_name(enum cfg_key key);

#endif
