/*
 * config.c — loading the gateway configuration (see config.h and
 * docs/configuration.md).
 *
 * Three phases, each reporting every error it finds as file:line:col:
 *   1. parse: config.y/config.l call the cfgp_* builders below, which convert
 *      each value and check its own range;
 *   2. check: check_all() is the one place where settings are checked against
 *      each other (node codes, peer directory rules, required settings,
 *      readable files, sane limits), and the catalog is loaded;
 *   3. finish: peers sorted for bsearch, firewall arrays built.
 * Nothing of a half-built configuration escapes: any error frees it all.
 */
#include "gateway/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "tunnels/tls.h"

#define YYSTYPE CFGYYSTYPE
#define YYLTYPE CFGYYLTYPE
#include "gateway/config.tab.h"
#include "gateway/config.lex.h"

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
	DNS_PORT = 53,
	NTP_PORT = 123,
};

/* The configuration with what cfg_nft_policy hands out beside it. The magic
 * catches a pointer that is not a loaded configuration, or one freed twice,
 * before it does damage: that is a bug of the caller, so it aborts. */
#define CFG_MAGIC 0x6a67636fu   /* "jgco" */

struct cfg_full {
	struct jgw_config pub;
	uint32_t magic;
	struct nft_prefix *peer_prefixes;
	size_t n_peer_prefixes;
	struct nft_dest *out;
	size_t n_out;
	/* "file:line:col" of the TLS file statements (cfg_tls_where): the TLS
	 * layer finds its errors after loading, and they must point here too. */
	char *tls_at[CFG_TLS_CRL];
	char **crl_at;                 /* one per tls.crls */
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
	struct nft_prefix *sources;
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
	bool collector_addr_set;
	struct nft_prefix collector_addr;
	struct cfg_where collector_at;  /* the first `collector {' */
	struct cfg_where firewall_at;   /* the first `firewall {' */
	bool parsed_clean;             /* no syntax error: "not set" means not set */
};

/* ---- errors ---------------------------------------------------------- */

/* Every message goes out here: counted always, shown up to MAX_REPORTED. */
static void emit(struct cfg_build *b, const char *msg)
{
	char last[600];

	b->errors++;
	if (b->errors > MAX_REPORTED + 1)
		return;
	if (b->errors == MAX_REPORTED + 1) {
		snprintf(last, sizeof(last), "%s: too many errors, the rest are not shown", b->top);
		msg = last;
	}
	if (b->err != NULL)
		b->err(b->arg, msg);
	else
		fprintf(stderr, "%s\n", msg);
}

static void report(struct cfg_build *b, const char *file, int line, int col,
		   const char *fmt, va_list ap)
{
	char msg[1024];
	int n = 0;

	if (file != NULL)
		n = snprintf(msg, sizeof(msg), "%s:%d:%d: ", file, line, col);
	if (n < 0 || (size_t)n >= sizeof(msg))
		n = 0;
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	emit(b, msg);
}

void cfgp_error(struct cfg_file *f, const CFGYYLTYPE *loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(f->b, f->name, loc->first_line, loc->first_column, fmt, ap);
	va_end(ap);
}

static void at_error(struct cfg_build *b, const struct cfg_where *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void at_error(struct cfg_build *b, const struct cfg_where *at, const char *fmt, ...)
{
	va_list ap;
	struct cfg_where top = { b->top, 1, 1 };

	if (at == NULL || at->file == NULL)
		at = &top;
	va_start(ap, fmt);
	report(b, at->file, at->line, at->col, fmt, ap);
	va_end(ap);
}

static struct cfg_where where(const struct cfg_file *f, const CFGYYLTYPE *loc)
{
	return (struct cfg_where){ f->name, loc->first_line, loc->first_column };
}

/* ---- scanner positions ----------------------------------------------- */

void cfgp_recover(struct cfg_file *f, int level)
{
	if (f->braces > level)
		f->skip_to = level;
}

void cfgp_lex_step(struct cfg_file *f, CFGYYLTYPE *loc, const char *text, size_t len)
{
	size_t keep = len < sizeof(f->last) - 1 ? len : sizeof(f->last) - 1;

	loc->first_line = f->line;
	loc->first_column = f->col;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c == '\n') {
			f->line++;
			f->col = 1;
		} else if ((c & 0xC0) != 0x80) {
			f->col++;       /* UTF-8 continuation bytes share a column */
		}
	}
	loc->last_line = f->line;
	loc->last_column = f->col;
	for (size_t i = 0; i < keep; i++) {
		unsigned char c = (unsigned char)text[i];
		f->last[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	f->last[keep] = '\0';
	f->lexerr = false;
}

/* ---- small helpers --------------------------------------------------- */

static void *grow(void *array, size_t n, size_t size)
{
	/* Room for element n; doubling keeps appends cheap for 2,000 peers. */
	if (n != 0 && (n & (n - 1)) != 0)
		return array;
	return reallocarray(array, n == 0 ? 1 : n * 2, size);
}

#define APPEND(loc_f, loc, arr, n, val) do {                                    \
	void *grown_ = grow((arr), (n), sizeof(*(arr)));                         \
	if (grown_ == NULL) {                                                    \
		cfgp_error((loc_f), (loc), "out of memory");                     \
		break;                                                           \
	}                                                                        \
	(arr) = grown_;                                                          \
	(arr)[(n)++] = (val);                                                    \
} while (0)

static char *resolve(const struct cfg_file *f, const char *path)
{
	char *out;

	if (path[0] == '/' || f->dir == NULL)
		return strdup(path);
	if (asprintf(&out, "%s/%s", f->dir, path) < 0)
		return NULL;
	return out;
}

/* The directory of a file, made absolute: the paths resolved against it
 * stay valid whatever the daemon's working directory is later. Symbolic
 * links are kept as written, like the name in messages. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char cwd[4096], *dir;

	if (slash == path)
		return strdup("/");
	if (path[0] == '/')
		return strndup(path, (size_t)(slash - path));
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return NULL;
	if (slash == NULL)
		return strdup(cwd);
	if (asprintf(&dir, "%s/%.*s", cwd, (int)(slash - path), path) < 0)
		return NULL;
	return dir;
}

/* Records where a single-valued setting was set; false (and an error) when
 * it was set before. */
static bool first_time(struct cfg_file *f, const CFGYYLTYPE *loc, enum cfg_key key,
		       const char *what)
{
	struct cfg_where *seen = &f->b->seen[key];

	if (seen->file != NULL) {
		cfgp_error(f, loc, "%s set twice (first at %s:%d:%d)", what, seen->file,
			   seen->line, seen->col);
		return false;
	}
	*seen = where(f, loc);
	return true;
}

/* ---- addresses ------------------------------------------------------- */

static bool parse_prefix(struct cfg_file *f, const CFGYYLTYPE *loc, const char *text,
			 bool prefix_ok, struct nft_prefix *out)
{
	char addr[64];
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	unsigned long plen;

	memset(out, 0, sizeof(*out));
	if (alen >= sizeof(addr))
		goto bad;
	memcpy(addr, text, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, addr, out->addr) == 1)
		out->family = AF_INET6;
	else
		goto bad;
	unsigned max = out->family == AF_INET ? 32 : 128;
	out->len = (uint8_t)max;
	if (slash == NULL)
		return true;
	if (!prefix_ok) {
		cfgp_error(f, loc, "'%s' is a prefix; an address is expected here", text);
		return false;
	}
	if (strlen(slash + 1) > 3 || (plen = strtoul(slash + 1, NULL, 10)) > max) {
		cfgp_error(f, loc, "prefix length in '%s' out of range (0-%u)", text, max);
		return false;
	}
	out->len = (uint8_t)plen;
	for (unsigned bit = (unsigned)plen; bit < max; bit++) {
		if (out->addr[bit / 8] & (0x80 >> (bit % 8))) {
			cfgp_error(f, loc, "'%s' has host bits set beyond /%lu", text, plen);
			return false;
		}
	}
	return true;
bad:
	cfgp_error(f, loc, "bad address '%s'", text);
	return false;
}

static void make_endpoint(const struct nft_prefix *p, uint16_t port, struct cfg_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	if (p->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ep->ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, p->addr, 4);
		ep->len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ep->ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, p->addr, 16);
		ep->len = sizeof(*sin6);
	}
}

/* The address of an endpoint as a host prefix; IPv4-mapped IPv6 as IPv4. */
static bool endpoint_prefix(const struct sockaddr *sa, struct nft_prefix *out)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		out->family = AF_INET;
		out->len = 32;
		memcpy(out->addr, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const uint8_t *a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
		if (memcmp(a, mapped, sizeof(mapped)) == 0) {
			out->family = AF_INET;
			out->len = 32;
			memcpy(out->addr, a + 12, 4);
		} else {
			out->family = AF_INET6;
			out->len = 128;
			memcpy(out->addr, a, 16);
		}
		return true;
	}
	return false;
}

static uint16_t endpoint_port(const struct cfg_endpoint *ep)
{
	if (ep->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)&ep->ss)->sin_port);
	if (ep->ss.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)(const void *)&ep->ss)->sin6_port);
	return 0;
}

static bool prefix_contains(const struct nft_prefix *net, const struct nft_prefix *host)
{
	unsigned full = net->len / 8, rest = net->len % 8;

	if (net->family != host->family)
		return false;
	if (memcmp(net->addr, host->addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (net->addr[full] & mask) == (host->addr[full] & mask);
}

/* ---- single-valued settings ------------------------------------------ */

enum kind {
	KIND_PATH, KIND_NAME, KIND_DNS_NAME, KIND_TABLE, KIND_BOOL, KIND_CRL_POLICY,
	KIND_DISK_POLICY, KIND_COUNT, KIND_PORT, KIND_U16, KIND_MS, KIND_SEC,
	KIND_SKEW_MS, KIND_SIZE32, KIND_SIZE64, KIND_PERCENT,
};

struct setting {
	const char *name;              /* as in messages: "tls certificate" */
	enum kind kind;
	size_t off;                    /* of the field in struct jgw_config */
	uint64_t min, max;             /* in the field's unit */
};

#define F(field) offsetof(struct jgw_config, field)
#define MS_S   1000ull
#define MS_MIN (60 * MS_S)
#define MS_H   (60 * MS_MIN)
#define MS_D   (24 * MS_H)
#define KIB    1024ull
#define MIB    (1024 * KIB)
#define GIB    (1024 * MIB)

static const struct setting settings[CFG_K_MAX] = {
	[CFG_K_CATALOG]     = { "catalog", KIND_PATH, F(catalog_path), 0, 0 },
	[CFG_K_CONTROL]     = { "control-socket", KIND_PATH, F(control_path), 0, 0 },
	[CFG_K_USER]        = { "user", KIND_NAME, F(user), 0, 0 },
	[CFG_K_GROUP]       = { "group", KIND_NAME, F(group), 0, 0 },
	[CFG_K_PIDFILE]     = { "pid-file", KIND_PATH, F(pid_file), 0, 0 },
	[CFG_K_SSH_PORT]    = { "management ssh-port", KIND_PORT, F(ssh_port), 1, 65535 },
	[CFG_K_TLS_CERT]    = { "tls certificate", KIND_PATH, F(tls.cert), 0, 0 },
	[CFG_K_TLS_KEY]     = { "tls key", KIND_PATH, F(tls.key), 0, 0 },
	[CFG_K_TLS_CA]      = { "tls ca", KIND_PATH, F(tls.ca), 0, 0 },
	[CFG_K_CRL_POLICY]  = { "tls crl-policy", KIND_CRL_POLICY, F(tls.crl_policy), 0, 0 },
	[CFG_K_CRL_ALARM]   = { "tls crl-alarm", KIND_SEC, F(tls.crl_alarm_s), 0, 365 * MS_D / MS_S },
	[CFG_K_TLS12]       = { "tls tls12", KIND_BOOL, F(tls.tls12), 0, 0 },
	[CFG_K_TLS_SOURCE_CHECK] = { "tls source-check", KIND_BOOL, F(tls.source_check), 0, 0 },
	[CFG_K_T_HANDSHAKE] = { "timeouts handshake", KIND_MS, F(timeouts.handshake_ms), 100, 5 * MS_MIN },
	[CFG_K_T_IDLE]      = { "timeouts idle", KIND_MS, F(timeouts.idle_ms), MS_S, MS_D },
	[CFG_K_T_CONNECT]   = { "timeouts connect", KIND_MS, F(timeouts.connect_ms), 100, 5 * MS_MIN },
	[CFG_K_T_SHUTDOWN]  = { "timeouts shutdown", KIND_MS, F(timeouts.shutdown_ms), 100, 5 * MS_MIN },
	[CFG_K_T_FIRST_FRAME] = { "timeouts first-frame", KIND_MS, F(timeouts.first_frame_ms), 100, MS_H },
	[CFG_K_T_FRAME]     = { "timeouts frame", KIND_MS, F(timeouts.frame_ms), 100, MS_H },
	[CFG_K_L_TUNNELS]   = { "limits tunnels", KIND_COUNT, F(limits.tunnels), 1, 1000000 },
	[CFG_K_L_PER_PEER]  = { "limits per-peer", KIND_COUNT, F(limits.per_peer), 1, 1000000 },
	[CFG_K_L_PER_SOURCE] = { "limits per-source", KIND_COUNT, F(limits.per_source), 1, 1000000 },
	[CFG_K_L_OUTSTANDING] = { "limits outstanding", KIND_COUNT, F(limits.outstanding), 1, 1000000 },
	[CFG_K_L_BUFFER]    = { "limits buffer", KIND_SIZE32, F(limits.buffer_bytes), 4 * KIB, 64 * MIB },
	[CFG_K_L_SKEW]      = { "limits skew", KIND_SKEW_MS, F(limits.skew_ms), MS_S, MS_D },
	[CFG_K_FW_ENABLED]  = { "firewall enabled", KIND_BOOL, F(firewall.enabled), 0, 0 },
	[CFG_K_FW_TABLE]    = { "firewall table", KIND_TABLE, F(firewall.table), 0, 0 },
	[CFG_K_FW_NFLOG]    = { "firewall nflog-group", KIND_U16, F(firewall.nflog_group), 0, 65535 },
	[CFG_K_FW_RATE]     = { "firewall rate", KIND_COUNT, F(firewall.rate_per_s), 1, 1000000 },
	[CFG_K_FW_BURST]    = { "firewall burst", KIND_COUNT, F(firewall.rate_burst), 1, 1000000 },
	[CFG_K_FW_CONN_LIMIT] = { "firewall conn-limit", KIND_COUNT, F(firewall.conn_limit), 1, 1000000 },
	[CFG_K_FW_KEEP]     = { "firewall keep-on-stop", KIND_BOOL, F(firewall.keep_on_stop), 0, 0 },
	[CFG_K_FW_QUAR_LAN] = { "firewall quarantine-lan", KIND_BOOL, F(firewall.quarantine_lan), 0, 0 },
	[CFG_K_FW_DROP_INTERVAL] = { "firewall drop-interval", KIND_SEC, F(firewall.drop_interval_s), 1, 3600 },
	[CFG_K_A_SPOOL]     = { "audit spool", KIND_PATH, F(audit.spool_dir), 0, 0 },
	[CFG_K_A_KEY]       = { "audit key", KIND_PATH, F(audit.key_file), 0, 0 },
	[CFG_K_A_ROTATE]    = { "audit rotate", KIND_SIZE64, F(audit.rotate_bytes), MIB, 64 * GIB },
	[CFG_K_A_COMMIT]    = { "audit commit", KIND_MS, F(audit.commit_ms), 1, 100 },
	[CFG_K_A_STATS]     = { "audit stats-interval", KIND_SEC, F(audit.stats_interval_s), 1, MS_D / MS_S },
	[CFG_K_A_DISK_ALARM] = { "audit disk-alarm", KIND_PERCENT, F(audit.disk_alarm_pct), 1, 99 },
	[CFG_K_A_DISK_LIMIT] = { "audit disk-limit", KIND_PERCENT, F(audit.disk_limit_pct), 2, 100 },
	[CFG_K_A_DISK_POLICY] = { "audit disk-policy", KIND_DISK_POLICY, F(audit.disk_policy), 0, 0 },
	[CFG_K_C_PORT]      = { "audit collector port", KIND_PORT, F(audit.collector_port), 1, 65535 },
	[CFG_K_C_CA]        = { "audit collector ca", KIND_PATH, F(audit.collector_ca), 0, 0 },
	[CFG_K_C_CERT]      = { "audit collector certificate", KIND_PATH, F(audit.collector_cert), 0, 0 },
	[CFG_K_C_KEY]       = { "audit collector key", KIND_PATH, F(audit.collector_key), 0, 0 },
	[CFG_K_C_NAME]      = { "audit collector name", KIND_DNS_NAME, F(audit.collector_name), 0, 0 },
	[CFG_K_SITE]        = { "site", KIND_NAME, 0, 0, 0 },
	[CFG_K_LAN_LISTEN]  = { "listen lan", KIND_NAME, 0, 0, 0 },
	[CFG_K_WAN_LISTEN]  = { "listen wan", KIND_NAME, 0, 0, 0 },
	[CFG_K_LAN_IF]      = { "interface lan", KIND_NAME, 0, 0, 0 },
	[CFG_K_WAN_IF]      = { "interface wan", KIND_NAME, 0, 0, 0 },
	[CFG_K_JUKI]        = { "server juki", KIND_NAME, 0, 0, 0 },
	[CFG_K_FUHYO]       = { "server fuhyo", KIND_NAME, 0, 0, 0 },
	[CFG_K_FW_QUARANTINE] = { "firewall quarantine", KIND_NAME, 0, 0, 0 },
	[CFG_K_C_HOST]      = { "audit collector host", KIND_NAME, 0, 0, 0 },
};

static void *field(struct cfg_build *b, enum cfg_key key)
{
	return (char *)&b->c->pub + settings[key].off;
}

static void fmt_ms(uint64_t ms, char *buf, size_t len)
{
	static const struct { uint64_t ms; const char *unit; } u[] = {
		{ MS_D, "d" }, { MS_H, "h" }, { MS_MIN, "min" }, { MS_S, "s" }, { 1, "ms" },
	};
	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		if (ms % u[i].ms == 0 || u[i].ms == 1) {
			snprintf(buf, len, "%llu%s", (unsigned long long)(ms / u[i].ms), u[i].unit);
			return;
		}
	}
}

static void fmt_size(uint64_t bytes, char *buf, size_t len)
{
	if (bytes % GIB == 0)
		snprintf(buf, len, "%lluGiB", (unsigned long long)(bytes / GIB));
	else if (bytes % MIB == 0)
		snprintf(buf, len, "%lluMiB", (unsigned long long)(bytes / MIB));
	else if (bytes % KIB == 0)
		snprintf(buf, len, "%lluKiB", (unsigned long long)(bytes / KIB));
	else
		snprintf(buf, len, "%lluB", (unsigned long long)bytes);
}

/* A number in the unit of its setting; false (reported) when it does not
 * fit: a wrong kind of unit, an overflow, or outside [min, max]. */
static bool convert(struct cfg_file *f, const CFGYYLTYPE *loc, const struct setting *s,
		    const struct cfg_num *n, uint64_t *out)
{
	static const uint64_t ms_of[] = {
		[CFG_UNIT_MS] = 1, [CFG_UNIT_S] = MS_S, [CFG_UNIT_MIN] = MS_MIN,
		[CFG_UNIT_H] = MS_H, [CFG_UNIT_D] = MS_D,
	};
	static const uint64_t bytes_of[] = {
		[CFG_UNIT_NONE] = 1, [CFG_UNIT_B] = 1, [CFG_UNIT_KIB] = KIB,
		[CFG_UNIT_MIB] = MIB, [CFG_UNIT_GIB] = GIB,
	};
	uint64_t mult = 0, v;
	char lo[32], hi[32];

	switch (s->kind) {
	case KIND_MS: case KIND_SEC: case KIND_SKEW_MS:
		if (n->unit >= CFG_UNIT_MS && n->unit <= CFG_UNIT_D)
			mult = ms_of[n->unit];
		if (mult == 0) {
			cfgp_error(f, loc, "%s: '%s' needs a time unit (ms, s, min, h, d)", s->name, n->text);
			return false;
		}
		break;
	case KIND_SIZE32: case KIND_SIZE64:
		if (n->unit <= CFG_UNIT_GIB && (n->unit == CFG_UNIT_NONE || n->unit >= CFG_UNIT_B))
			mult = bytes_of[n->unit];
		if (mult == 0) {
			cfgp_error(f, loc, "%s: '%s' needs a size unit (B, KiB, MiB, GiB)", s->name, n->text);
			return false;
		}
		break;
	case KIND_PERCENT:
		if (n->unit != CFG_UNIT_PCT) {
			cfgp_error(f, loc, "%s: '%s' must be a percentage, e.g. 80%%", s->name, n->text);
			return false;
		}
		mult = 1;
		break;
	default:
		if (n->unit != CFG_UNIT_NONE) {
			cfgp_error(f, loc, "%s: '%s' must be a plain number", s->name, n->text);
			return false;
		}
		mult = 1;
		break;
	}
	if (n->value > UINT64_MAX / mult) {
		cfgp_error(f, loc, "%s: '%s' is too large", s->name, n->text);
		return false;
	}
	v = n->value * mult;
	if (s->kind == KIND_SEC) {
		if (v % MS_S != 0) {
			cfgp_error(f, loc, "%s: '%s' is not a whole number of seconds", s->name, n->text);
			return false;
		}
		v /= MS_S;
	}
	if (v < s->min || v > s->max) {
		if (s->kind == KIND_MS || s->kind == KIND_SKEW_MS) {
			fmt_ms(s->min, lo, sizeof(lo));
			fmt_ms(s->max, hi, sizeof(hi));
		} else if (s->kind == KIND_SEC) {
			fmt_ms(s->min * MS_S, lo, sizeof(lo));
			fmt_ms(s->max * MS_S, hi, sizeof(hi));
		} else if (s->kind == KIND_SIZE32 || s->kind == KIND_SIZE64) {
			fmt_size(s->min, lo, sizeof(lo));
			fmt_size(s->max, hi, sizeof(hi));
		} else {
			snprintf(lo, sizeof(lo), "%llu%s", (unsigned long long)s->min,
				 s->kind == KIND_PERCENT ? "%" : "");
			snprintf(hi, sizeof(hi), "%llu%s", (unsigned long long)s->max,
				 s->kind == KIND_PERCENT ? "%" : "");
		}
		cfgp_error(f, loc, "%s: '%s' out of range (%s-%s)", s->name, n->text, lo, hi);
		return false;
	}
	*out = v;
	return true;
}

void cfgp_number(struct cfg_file *f, const CFGYYLTYPE *loc, enum cfg_key key,
		 const struct cfg_num *n)
{
	const struct setting *s = &settings[key];
	void *dst = field(f->b, key);
	uint64_t v;

	if (!first_time(f, loc, key, s->name) || !convert(f, loc, s, n, &v))
		return;
	switch (s->kind) {
	case KIND_PORT: case KIND_U16:           *(uint16_t *)dst = (uint16_t)v; break;
	case KIND_PERCENT:                       *(uint8_t *)dst = (uint8_t)v; break;
	case KIND_SKEW_MS:                       *(int64_t *)dst = (int64_t)v; break;
	case KIND_SIZE64:                        *(uint64_t *)dst = v; break;
	default:                                 *(uint32_t *)dst = (uint32_t)v; break;
	}
}

long cfgp_port(struct cfg_file *f, const CFGYYLTYPE *loc, const struct cfg_num *n)
{
	if (n->unit != CFG_UNIT_NONE || n->value < 1 || n->value > 65535) {
		cfgp_error(f, loc, "port '%s' out of range (1-65535)", n->text);
		return 0;
	}
	return (long)n->value;
}

static bool word_is(const char *w, const char *a, const char *b2)
{
	return strcmp(w, a) == 0 || (b2 != NULL && strcmp(w, b2) == 0);
}

static bool valid_name(const char *s, size_t max, bool table)
{
	size_t len = strlen(s);

	if (len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		bool ok = alpha || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
			  (!table && c == '.');
		if (!ok || (i == 0 && !alpha && c != '_'))
			return false;
	}
	return true;
}

/* A host name as a certificate carries it (RFC 1123 labels: letters, digits,
 * '-', not at either end of a label; 1-63 each, 253 in all; no trailing dot,
 * no wildcard). At least one letter: an address or a node code (a gateway's
 * CN) is never a collector's name. */
static bool valid_dns_name(const char *s)
{
	size_t len = strlen(s), label = 0;
	bool letter = false;

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!alpha && !(c >= '0' && c <= '9') && c != '-')
			return false;
		if ((c == '-' && label == 0) || ++label > 63)
			return false;
		letter |= alpha;
	}
	return label > 0 && s[len - 1] != '-' && letter;
}

/* Settings given as a string or a word: paths, names, yes/no, policies. */
void cfgp_string(struct cfg_file *f, const CFGYYLTYPE *loc, enum cfg_key key, char *s)
{
	const struct setting *st = &settings[key];
	void *dst = field(f->b, key);
	char *path;

	if (!first_time(f, loc, key, st->name))
		goto out;
	switch (st->kind) {
	case KIND_PATH:
		if (s[0] == '\0') {
			cfgp_error(f, loc, "%s: empty path", st->name);
			break;
		}
		if ((path = resolve(f, s)) == NULL) {
			cfgp_error(f, loc, "out of memory");
			break;
		}
		free(*(char **)dst);
		*(char **)dst = path;
		break;
	case KIND_NAME: case KIND_TABLE:
		if (!valid_name(s, 32, st->kind == KIND_TABLE)) {
			cfgp_error(f, loc, "%s: bad name '%s' (letters, digits, '_', '-'%s; at most 32)",
				   st->name, s, st->kind == KIND_TABLE ? "" : ", '.'");
			break;
		}
		free(*(char **)dst);
		*(char **)dst = s;
		s = NULL;
		break;
	case KIND_DNS_NAME:
		if (!valid_dns_name(s)) {
			cfgp_error(f, loc, "%s: '%s' is not a host name (letters, digits and '-' "
				   "in labels separated by '.'; not an address)", st->name, s);
			break;
		}
		free(*(char **)dst);
		*(char **)dst = s;
		s = NULL;
		break;
	case KIND_BOOL:
		if (word_is(s, "yes", "on") || word_is(s, "true", NULL))
			*(bool *)dst = true;
		else if (word_is(s, "no", "off") || word_is(s, "false", NULL))
			*(bool *)dst = false;
		else
			cfgp_error(f, loc, "%s: '%s' is not yes or no", st->name, s);
		break;
	case KIND_CRL_POLICY:
		if (strcmp(s, "fail-closed") == 0)
			*(int *)dst = TLS_CRL_FAIL_CLOSED;
		else if (strcmp(s, "fail-open") == 0)
			*(int *)dst = TLS_CRL_FAIL_OPEN;
		else
			cfgp_error(f, loc, "%s: '%s' is not fail-closed or fail-open", st->name, s);
		break;
	case KIND_DISK_POLICY:
		if (strcmp(s, "fail-closed") == 0)
			*(enum cfg_disk_policy *)dst = CFG_DISK_FAIL_CLOSED;
		else if (strcmp(s, "count-loss") == 0)
			*(enum cfg_disk_policy *)dst = CFG_DISK_COUNT_LOSS;
		else
			cfgp_error(f, loc, "%s: '%s' is not fail-closed or count-loss", st->name, s);
		break;
	default:
		cfgp_error(f, loc, "%s: a number is expected, not '%s'", st->name, s);
		break;
	}
out:
	free(s);
}

/* ---- statements with more than one value ------------------------------ */

void cfgp_site(struct cfg_file *f, const CFGYYLTYPE *loc, const struct cfg_num *code)
{
	if (!first_time(f, loc, CFG_K_SITE, "site"))
		return;
	/* Kept as written: check_all() judges it with the peers. */
	snprintf(f->b->site_text, sizeof(f->b->site_text), "%s", code->text);
}

static int side_of(struct cfg_file *f, const CFGYYLTYPE *loc, const char *what, const char *side)
{
	if (strcmp(side, "lan") == 0)
		return 0;
	if (strcmp(side, "wan") == 0)
		return 1;
	cfgp_error(f, loc, "%s: '%s' is not lan or wan", what, side);
	return -1;
}

void cfgp_listen(struct cfg_file *f, const CFGYYLTYPE *loc, char *side,
		 const CFGYYLTYPE *addr_loc, char *addr, long port)
{
	struct jgw_config *c = &f->b->c->pub;
	int s = side_of(f, loc, "listen", side);
	struct nft_prefix p = { .family = AF_INET, .len = 32 };
	struct cfg_endpoint *ep;

	if (s < 0 || !first_time(f, loc, s ? CFG_K_WAN_LISTEN : CFG_K_LAN_LISTEN,
				 s ? "listen wan" : "listen lan"))
		goto out;
	if (addr != NULL && !parse_prefix(f, addr_loc, addr, false, &p))
		goto out;
	if (port == 0)
		goto out;
	ep = s ? &c->wan_listen : &c->lan_listen;
	if (port < 0)
		port = endpoint_port(ep);
	make_endpoint(&p, (uint16_t)port, ep);
out:
	free(side);
	free(addr);
}

void cfgp_interface(struct cfg_file *f, const CFGYYLTYPE *loc, char *side, char *name)
{
	struct jgw_config *c = &f->b->c->pub;
	int s = side_of(f, loc, "interface", side);

	if (s >= 0 && first_time(f, loc, s ? CFG_K_WAN_IF : CFG_K_LAN_IF,
				 s ? "interface wan" : "interface lan")) {
		/* IFNAMSIZ is 16 with the NUL; '/' and spaces are not allowed by the kernel. */
		if (strlen(name) == 0 || strlen(name) > 15 || strpbrk(name, "/ \t:") != NULL) {
			cfgp_error(f, loc, "interface: bad interface name '%s'", name);
		} else {
			char **dst = s ? &c->wan_ifname : &c->lan_ifname;
			free(*dst);
			*dst = name;
			name = NULL;
		}
	}
	free(side);
	free(name);
}

void cfgp_server(struct cfg_file *f, const CFGYYLTYPE *loc, char *system,
		 const CFGYYLTYPE *addr_loc, char *addr, long port)
{
	struct jgw_config *c = &f->b->c->pub;
	struct nft_prefix p;
	bool juki = strcmp(system, "juki") == 0;

	if (!juki && strcmp(system, "fuhyo") != 0) {
		cfgp_error(f, loc, "server: '%s' is not juki or fuhyo", system);
		goto out;
	}
	if (!first_time(f, loc, juki ? CFG_K_JUKI : CFG_K_FUHYO,
			juki ? "server juki" : "server fuhyo"))
		goto out;
	if (!parse_prefix(f, addr_loc, addr, false, &p) || port <= 0)
		goto out;
	make_endpoint(&p, (uint16_t)port, juki ? &c->juki_server : &c->fuhyo_server);
	if (juki)
		c->has_juki = true;
	else
		c->has_fuhyo = true;
out:
	free(system);
	free(addr);
}

void cfgp_lan_allow(struct cfg_file *f, const CFGYYLTYPE *loc, char *prefix)
{
	struct jgw_config *c = &f->b->c->pub;
	struct nft_prefix p;

	if (parse_prefix(f, loc, prefix, true, &p))
		APPEND(f, loc, c->servers, c->n_servers, p);
	free(prefix);
}

void cfgp_mgmt_network(struct cfg_file *f, const CFGYYLTYPE *loc, char *prefix)
{
	struct jgw_config *c = &f->b->c->pub;
	struct nft_prefix p;

	if (parse_prefix(f, loc, prefix, true, &p))
		APPEND(f, loc, c->mgmt, c->n_mgmt, p);
	free(prefix);
}

void cfgp_crl(struct cfg_file *f, const CFGYYLTYPE *loc, char *path)
{
	struct cfg_build *b = f->b;
	struct jgw_config *c = &b->c->pub;
	struct cfg_where *at;
	char *full = path[0] ? resolve(f, path) : NULL;

	free(path);
	if (full == NULL) {
		cfgp_error(f, loc, "tls crl: empty path");
		return;
	}
	at = grow(b->crl_at, c->tls.n_crls, sizeof(*at));
	if (at == NULL) {
		free(full);
		cfgp_error(f, loc, "out of memory");
		return;
	}
	b->crl_at = at;
	at[c->tls.n_crls] = where(f, loc);
	size_t n = c->tls.n_crls;
	APPEND(f, loc, c->tls.crls, n, full);
	if (n == c->tls.n_crls)
		free(full);
	c->tls.n_crls = n;
}

void cfgp_peer_begin(struct cfg_file *f, const CFGYYLTYPE *loc, const struct cfg_num *code)
{
	struct cfg_build *b = f->b;
	struct build_peer p = { .at = where(f, loc), .order = b->n_peers };

	snprintf(p.code, sizeof(p.code), "%s", code->text);
	b->cur_peer = -1;
	size_t n = b->n_peers;
	APPEND(f, loc, b->peers, b->n_peers, p);
	if (b->n_peers > n)
		b->cur_peer = (ssize_t)n;
}

void cfgp_peer_address(struct cfg_file *f, const CFGYYLTYPE *loc, char *addr, long port)
{
	struct cfg_build *b = f->b;
	struct nft_prefix p;
	struct cfg_endpoint ep;

	if (b->cur_peer < 0)
		goto out;
	struct build_peer *peer = &b->peers[b->cur_peer];
	if (port != 0 && parse_prefix(f, loc, addr, false, &p)) {
		make_endpoint(&p, port < 0 ? DEFAULT_PEER_PORT : (uint16_t)port, &ep);
		APPEND(f, loc, peer->addrs, peer->n_addrs, ep);
	} else {
		peer->bad_addr = true;
	}
out:
	free(addr);
}

void cfgp_peer_source(struct cfg_file *f, const CFGYYLTYPE *loc, char *prefix)
{
	struct cfg_build *b = f->b;
	struct nft_prefix p;

	if (b->cur_peer >= 0 && parse_prefix(f, loc, prefix, true, &p)) {
		struct build_peer *peer = &b->peers[b->cur_peer];
		APPEND(f, loc, peer->sources, peer->n_sources, p);
	}
	free(prefix);
}

void cfgp_peer_end(struct cfg_file *f)
{
	f->b->cur_peer = -1;
}

void cfgp_quarantine(struct cfg_file *f, const CFGYYLTYPE *loc,
		     const struct cfg_num *failures, const CFGYYLTYPE *window_loc,
		     const struct cfg_num *window, const CFGYYLTYPE *for_loc,
		     const struct cfg_num *duration)
{
	static const struct setting s_fail = { "quarantine after", KIND_COUNT, 0, 1, 1000 };
	static const struct setting s_win = { "quarantine within", KIND_SEC, 0, 1, MS_D / MS_S };
	static const struct setting s_for = { "quarantine for", KIND_SEC, 0, 1, 30 * MS_D / MS_S };
	struct jgw_config *c = &f->b->c->pub;
	uint64_t n, w, d;

	if (!first_time(f, loc, CFG_K_FW_QUARANTINE, "firewall quarantine"))
		return;
	bool ok = convert(f, loc, &s_fail, failures, &n);
	ok &= convert(f, window_loc, &s_win, window, &w);
	ok &= convert(f, for_loc, &s_for, duration, &d);
	if (!ok)
		return;
	c->firewall.q_failures = (uint32_t)n;
	c->firewall.q_window_s = (uint32_t)w;
	c->firewall.q_timeout_s = (uint32_t)d;
}

void cfgp_fw_dest(struct cfg_file *f, const CFGYYLTYPE *loc, bool ntp, char *addr, long port)
{
	struct cfg_build *b = f->b;
	struct jgw_config *c = &b->c->pub;
	struct nft_prefix p;
	struct cfg_endpoint ep;

	if (port != 0 && parse_prefix(f, loc, addr, false, &p)) {
		make_endpoint(&p, port > 0 ? (uint16_t)port : ntp ? NTP_PORT : DNS_PORT, &ep);
		if (ntp)
			APPEND(f, loc, c->firewall.ntp, c->firewall.n_ntp, ep);
		else
			APPEND(f, loc, c->firewall.dns, c->firewall.n_dns, ep);
	}
	free(addr);
}

void cfgp_collector(struct cfg_file *f, const CFGYYLTYPE *loc)
{
	f->b->c->pub.audit.has_collector = true;
	if (f->b->collector_at.file == NULL)
		f->b->collector_at = where(f, loc);
}

/* Blocks merge, so only the first is remembered: the place a check about
 * the firewall as a whole points at. */
void cfgp_firewall(struct cfg_file *f, const CFGYYLTYPE *loc)
{
	if (f->b->firewall_at.file == NULL)
		f->b->firewall_at = where(f, loc);
}

void cfgp_collector_host(struct cfg_file *f, const CFGYYLTYPE *loc, char *addr)
{
	struct cfg_build *b = f->b;
	struct jgw_config *c = &b->c->pub;
	char text[INET6_ADDRSTRLEN];

	if (first_time(f, loc, CFG_K_C_HOST, "audit collector host") &&
	    parse_prefix(f, loc, addr, false, &b->collector_addr) &&
	    inet_ntop(b->collector_addr.family, b->collector_addr.addr, text, sizeof(text))) {
		b->collector_addr_set = true;
		free(c->audit.collector_host);
		c->audit.collector_host = strdup(text);
		if (c->audit.collector_host == NULL)
			cfgp_error(f, loc, "out of memory");
	}
	free(addr);
}

/* ---- files and includes ---------------------------------------------- */

static const char *keep_name(struct cfg_build *b, const char *name)
{
	char *copy = strdup(name);
	char **names = grow(b->names, b->n_names, sizeof(*names));

	if (copy == NULL || names == NULL) {
		free(copy);
		if (names != NULL)
			b->names = names;
		return NULL;
	}
	b->names = names;
	b->names[b->n_names++] = copy;
	return copy;
}

/* Reads a whole regular file, at most MAX_FILE_BYTES; NULL with errno.
 * The size from fstat is only a first guess (files under /proc say 0). */
static char *slurp(const char *path, size_t *len, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	char *buf = NULL, *grown;
	size_t used = 0, cap;
	ssize_t n;

	if (fd < 0)
		return NULL;
	if (fstat(fd, st) < 0)
		goto fail;
	if (!S_ISREG(st->st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	if (st->st_size > MAX_FILE_BYTES) {
		errno = EFBIG;
		goto fail;
	}
	cap = (size_t)st->st_size + 1;
	if ((buf = malloc(cap)) == NULL)
		goto fail;
	for (;;) {
		if (used == cap) {
			if (cap > MAX_FILE_BYTES) {
				errno = EFBIG;
				goto fail;
			}
			cap = cap * 2 > MAX_FILE_BYTES + 1 ? MAX_FILE_BYTES + 1 : cap * 2;
			if ((grown = realloc(buf, cap)) == NULL)
				goto fail;
			buf = grown;
		}
		n = read(fd, buf + used, cap - used);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		used += (size_t)n;
	}
	close(fd);
	*len = used;
	return buf;
fail:
	n = errno;
	free(buf);
	close(fd);
	errno = (int)n;
	return NULL;
}

static void parse_file(struct cfg_build *b, struct cfg_file *parent,
		       const CFGYYLTYPE *loc, const char *path);

static void include_error(struct cfg_build *b, struct cfg_file *parent,
			  const CFGYYLTYPE *loc, const char *path, const char *why)
{
	char msg[1024];

	if (parent != NULL) {
		cfgp_error(parent, loc, "cannot include '%s': %s", path, why);
		return;
	}
	/* The top file itself: there is no position to give. */
	snprintf(msg, sizeof(msg), "%s: cannot read: %s", path, why);
	emit(b, msg);
}

static bool is_cycle(struct cfg_file *parent, const CFGYYLTYPE *loc,
		     const struct stat *st, const char *path)
{
	const struct cfg_file *chain[MAX_INCLUDE_DEPTH + 1];
	char text[1024];
	size_t n = 0, used = 0;
	struct cfg_file *p;

	for (p = parent; p != NULL; p = p->parent) {
		chain[n++] = p;
		if (p->dev == st->st_dev && p->ino == st->st_ino)
			break;
	}
	if (p == NULL)
		return false;
	/* The loop, from the file that starts it back to itself. */
	text[0] = '\0';
	while (n > 0 && used < sizeof(text)) {
		int w = snprintf(text + used, sizeof(text) - used, "%s -> ", chain[--n]->name);
		used += w > 0 ? (size_t)w : 0;
	}
	cfgp_error(parent, loc, "include cycle: %s%s", text, path);
	return true;
}

static void parse_buffer(struct cfg_build *b, struct cfg_file *parent, const char *name,
			 const struct stat *st, const char *buf, size_t len)
{
	struct cfg_file file = {
		.b = b, .line = 1, .col = 1, .parent = parent, .skip_to = -1,
		.depth = parent ? parent->depth + 1 : 0,
		.dev = st->st_dev, .ino = st->st_ino,
	};
	yyscan_t scanner;
	YY_BUFFER_STATE state;

	char msg[600];

	file.name = keep_name(b, name);
	file.dir = dir_of(name);
	if (file.name == NULL || file.dir == NULL || cfgyylex_init_extra(&file, &scanner) != 0) {
		snprintf(msg, sizeof(msg), "%s: cannot be read: %s", name, strerror(errno));
		emit(b, msg);
		goto out;
	}
	/* A byte-order mark, as some editors write, is not part of the text. */
	if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) {
		buf += 3;
		len -= 3;
	}
	state = cfgyy_scan_bytes(buf, (int)len, scanner);
	cfgyyparse(scanner, &file);
	cfgyy_delete_buffer(state, scanner);
	cfgyylex_destroy(scanner);
out:
	free(file.dir);
}

static void parse_file(struct cfg_build *b, struct cfg_file *parent,
		       const CFGYYLTYPE *loc, const char *path)
{
	struct stat st;
	size_t len = 0;
	char *buf;

	if (parent != NULL && parent->depth + 1 > MAX_INCLUDE_DEPTH) {
		cfgp_error(parent, loc, "include '%s': more than %d levels of include",
			   path, MAX_INCLUDE_DEPTH);
		return;
	}
	if (++b->files_read > MAX_FILES) {
		if (b->files_read == MAX_FILES + 1)
			cfgp_error(parent, loc, "more than %d files included", MAX_FILES);
		return;
	}
	buf = slurp(path, &len, &st);
	if (buf == NULL) {
		const char *why = errno == EINVAL ? "not a regular file" :
				  errno == EFBIG ? "larger than 4 MiB" : strerror(errno);
		include_error(b, parent, loc, path, why);
		return;
	}
	b->bytes_read += len;
	if (b->bytes_read > MAX_TOTAL_BYTES) {
		include_error(b, parent, loc, path, "the files read exceed 64 MiB in total");
	} else if (parent == NULL || !is_cycle(parent, loc, &st, path)) {
		EVP_DigestUpdate(b->sha, buf, len);
		parse_buffer(b, parent, path, &st, buf, len);
	}
	free(buf);
}

void cfgp_include(struct cfg_file *f, const CFGYYLTYPE *loc, char *path)
{
	char *full = path[0] ? resolve(f, path) : NULL;
	glob_t g;

	free(path);
	if (full == NULL) {
		cfgp_error(f, loc, "include: empty path");
		return;
	}
	/* A pattern includes every match, in sorted order, and may match
	 * nothing (a directory of peer files that is still empty). */
	if (strpbrk(full, "*?[") != NULL) {
		int rc = glob(full, GLOB_ERR, NULL, &g);
		if (rc == 0) {
			for (size_t i = 0; i < g.gl_pathc; i++)
				parse_file(f->b, f, loc, g.gl_pathv[i]);
		} else if (rc != GLOB_NOMATCH) {
			cfgp_error(f, loc, "include '%s': cannot read the directory", full);
		}
		if (rc == 0 || rc == GLOB_NOMATCH)
			globfree(&g);
	} else {
		parse_file(f->b, f, loc, full);
	}
	free(full);
}

/* ---- defaults -------------------------------------------------------- */

static bool set_defaults(struct jgw_config *c)
{
	struct nft_prefix any4 = { .family = AF_INET, .len = 32 };

	make_endpoint(&any4, DEFAULT_LAN_PORT, &c->lan_listen);
	make_endpoint(&any4, DEFAULT_PEER_PORT, &c->wan_listen);
	c->catalog_path = strdup(JGW_DATADIR "/catalog.jcat");
	c->control_path = strdup("/run/jgw/control.sock");
	c->pid_file = strdup("/run/jgw/jgwd.pid");
	c->ssh_port = 22;
	c->tls.crl_policy = TLS_CRL_FAIL_CLOSED;
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
	c->audit.rotate_bytes = 64ull * 1024 * 1024;
	c->audit.commit_ms = 100;
	c->audit.stats_interval_s = 60;
	c->audit.collector_port = DEFAULT_COLLECTOR_PORT;
	c->audit.disk_alarm_pct = 80;
	c->audit.disk_limit_pct = 95;
	c->audit.disk_policy = CFG_DISK_FAIL_CLOSED;
	return c->catalog_path && c->control_path && c->pid_file && c->firewall.table &&
	       c->audit.spool_dir && c->audit.key_file;
}

/* ---- the checks, all in one place ------------------------------------- */

/* Why a node code is not valid, or NULL. */
static const char *node_problem(const char *code, char *buf, size_t len)
{
	size_t n = strlen(code);

	if (n != JMSG_NODE_LEN || strspn(code, "0123456789") != n)
		return "6 digits expected";
	if (jmsg_node_valid(code))
		return NULL;
	int pp = (code[0] - '0') * 10 + (code[1] - '0');
	if (pp < 1 || pp > 47) {
		snprintf(buf, len, "prefecture %02d is not 01-47", pp);
		return buf;
	}
	snprintf(buf, len, "check digit should be %c",
		 jmsg_lg_check_digit((const uint8_t *)code));
	return buf;
}

/* May this site list that peer? NULL when it may; else a message into buf,
 * and *reason the name the TLS layer and the audit use. */
static const char *peer_rule(const char *site, const char *peer, const char **reason,
			     char *buf, size_t len)
{
	enum jmsg_role srole = jmsg_node_role((const uint8_t *)site);
	enum jmsg_role prole = jmsg_node_role((const uint8_t *)peer);
	int spp = jmsg_node_prefecture((const uint8_t *)site);
	int ppp = jmsg_node_prefecture((const uint8_t *)peer);

	*reason = "wrong-prefecture";
	if (strcmp(site, peer) == 0) {
		snprintf(buf, len, "peer %s is this site itself", peer);
		*reason = "unknown-peer";
		return buf;
	}
	if (prole == JMSG_ROLE_JLIS || srole == JMSG_ROLE_JLIS)
		return NULL;
	if (srole == JMSG_ROLE_MUNICIPALITY) {
		if (prole == JMSG_ROLE_MUNICIPALITY || ppp == spp)
			return NULL;
		snprintf(buf, len, "peer %s is prefecture %02d; a municipality of prefecture %02d "
			 "may only reach its own prefecture", peer, ppp, spp);
		return buf;
	}
	/* A prefecture site. */
	if (prole == JMSG_ROLE_PREFECTURE) {
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
	struct nft_prefix pa, pb;

	return endpoint_prefix((const struct sockaddr *)&a->ss, &pa) &&
	       endpoint_prefix((const struct sockaddr *)&b->ss, &pb) &&
	       pa.family == pb.family && memcmp(pa.addr, pb.addr, 16) == 0 &&
	       endpoint_port(a) == endpoint_port(b);
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
			at_error(b, &p->at, "bad node code '%s': %s", p->code, why);
			continue;
		}
		if (i > 0 && strcmp(p->code, b->peers[i - 1].code) == 0) {
			const struct cfg_where *first = &b->peers[i - 1].at;
			at_error(b, &p->at, "duplicate peer %s (first at %s:%d:%d)", p->code,
				 first->file, first->line, first->col);
			continue;
		}
		if (site_ok && (why = peer_rule(b->site_text, p->code, &reason, buf, sizeof(buf))))
			at_error(b, &p->at, "%s", why);
		if (p->n_addrs == 0 && !p->bad_addr)
			at_error(b, &p->at, "peer %s has no address", p->code);
		for (size_t j = 0; j < p->n_addrs; j++)
			for (size_t k = 0; k < j; k++)
				if (endpoint_eq(&p->addrs[j], &p->addrs[k]))
					at_error(b, &p->at, "peer %s: address %s listed twice", p->code,
						 cfg_endpoint_str(&p->addrs[j], addr, sizeof(addr)));
	}
	if (b->n_peers == 0 && b->parsed_clean)
		at_error(b, NULL, "no peer: the peer directory is empty");
}

static void check_file(struct cfg_build *b, enum cfg_key key, const char *path,
		       const struct cfg_where *at)
{
	struct stat st;

	if (path == NULL) {
		if (b->parsed_clean)
			at_error(b, NULL, "%s is not set", settings[key].name);
		return;
	}
	if (stat(path, &st) != 0 || access(path, R_OK) != 0)
		at_error(b, at, "%s '%s': %s", settings[key].name, path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		at_error(b, at, "%s '%s': not a regular file", settings[key].name, path);
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
			at_error(b, &b->crl_at[i], "tls crl '%s': %s", c->tls.crls[i], strerror(errno));
		else if (!S_ISREG(st.st_mode))
			at_error(b, &b->crl_at[i], "tls crl '%s': not a regular file", c->tls.crls[i]);
	}
	if (c->audit.has_collector) {
		if (!b->collector_addr_set && b->parsed_clean)
			at_error(b, NULL, "audit collector: no 'host'");
		check_file(b, CFG_K_C_CA, c->audit.collector_ca, &b->seen[CFG_K_C_CA]);
		check_file(b, CFG_K_C_CERT, c->audit.collector_cert, &b->seen[CFG_K_C_CERT]);
		check_file(b, CFG_K_C_KEY, c->audit.collector_key, &b->seen[CFG_K_C_KEY]);
		/* The host is an address, and a certificate is checked by name: without
		 * one, any certificate of the CA (another gateway's) would pass. */
		if (c->audit.collector_name == NULL && b->parsed_clean)
			at_error(b, &b->collector_at, "audit collector: no 'name': the name its "
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
	at_error(b, b->firewall_at.file ? &b->firewall_at : NULL,
		 "firewall: %s required when the firewall is enabled (the LAN and WAN "
		 "ports are bound to their interfaces)", missing);
}

static bool listeners_clash(const struct cfg_endpoint *a, const struct cfg_endpoint *b)
{
	struct nft_prefix pa, pb;
	static const uint8_t zero[16];

	if (endpoint_port(a) != endpoint_port(b))
		return false;
	endpoint_prefix((const struct sockaddr *)&a->ss, &pa);
	endpoint_prefix((const struct sockaddr *)&b->ss, &pb);
	if (memcmp(pa.addr, zero, 16) == 0 || memcmp(pb.addr, zero, 16) == 0)
		return true;
	return pa.family == pb.family && memcmp(pa.addr, pb.addr, 16) == 0;
}

static void check_limits(struct cfg_build *b)
{
	struct jgw_config *c = &b->c->pub;

	if (c->limits.per_peer > c->limits.tunnels) {
		if (b->seen[CFG_K_L_PER_PEER].file)
			at_error(b, &b->seen[CFG_K_L_PER_PEER],
				 "limits per-peer (%u) is larger than limits tunnels (%u)",
				 c->limits.per_peer, c->limits.tunnels);
		else
			c->limits.per_peer = c->limits.tunnels;
	}
	if (c->audit.disk_alarm_pct >= c->audit.disk_limit_pct)
		at_error(b, b->seen[CFG_K_A_DISK_ALARM].file ? &b->seen[CFG_K_A_DISK_ALARM]
							    : &b->seen[CFG_K_A_DISK_LIMIT],
			 "audit disk-alarm (%u%%) must be below disk-limit (%u%%)",
			 c->audit.disk_alarm_pct, c->audit.disk_limit_pct);
	if (c->firewall.rate_burst < c->firewall.rate_per_s)
		at_error(b, b->seen[CFG_K_FW_BURST].file ? &b->seen[CFG_K_FW_BURST]
							: &b->seen[CFG_K_FW_RATE],
			 "firewall burst (%u) is below rate (%u)",
			 c->firewall.rate_burst, c->firewall.rate_per_s);
	if (c->timeouts.handshake_ms > c->timeouts.idle_ms)
		at_error(b, &b->seen[CFG_K_T_HANDSHAKE],
			 "timeouts handshake is longer than timeouts idle");
	/* Unset, a default larger than the total follows the total. */
	if (c->limits.per_source > c->limits.tunnels) {
		if (b->seen[CFG_K_L_PER_SOURCE].file)
			at_error(b, &b->seen[CFG_K_L_PER_SOURCE],
				 "limits per-source (%u) is larger than limits tunnels (%u)",
				 c->limits.per_source, c->limits.tunnels);
		else
			c->limits.per_source = c->limits.tunnels;
	}
	if (c->timeouts.first_frame_ms > c->timeouts.idle_ms) {
		if (b->seen[CFG_K_T_FIRST_FRAME].file)
			at_error(b, &b->seen[CFG_K_T_FIRST_FRAME],
				 "timeouts first-frame is longer than timeouts idle");
		else
			c->timeouts.first_frame_ms = c->timeouts.idle_ms;
	}
}

static void catalog_error(void *arg, const char *msg)
{
	emit(arg, msg);
}

static void check_all(struct cfg_build *b)
{
	struct jgw_config *c = &b->c->pub;
	char buf[128];
	const char *why;
	bool site_ok = false;
	struct stat st;

	if (b->seen[CFG_K_SITE].file == NULL) {
		if (b->parsed_clean)
			at_error(b, NULL, "no 'site' statement: this gateway's node code is required");
	} else if ((why = node_problem(b->site_text, buf, sizeof(buf))) != NULL) {
		at_error(b, &b->seen[CFG_K_SITE], "bad node code '%s': %s", b->site_text, why);
	} else {
		memcpy(c->site, b->site_text, sizeof(c->site));
		site_ok = true;
	}
	check_peers(b, site_ok);
	if (!c->has_juki && !c->has_fuhyo && b->parsed_clean)
		at_error(b, NULL, "no local server: 'server juki|fuhyo ADDRESS port PORT;' is required");
	if (listeners_clash(&c->lan_listen, &c->wan_listen))
		at_error(b, b->seen[CFG_K_WAN_LISTEN].file ? &b->seen[CFG_K_WAN_LISTEN]
							 : &b->seen[CFG_K_LAN_LISTEN],
			 "listen lan and listen wan use the same address and port");
	check_files(b);
	check_limits(b);
	check_firewall(b);
	/* The catalog is read whenever it can be, so its own errors show
	 * beside the configuration's in a single run. */
	if (b->seen[CFG_K_CATALOG].file == NULL && !b->parsed_clean)
		return;         /* the default; a lost 'catalog' line is likelier */
	if (stat(c->catalog_path, &st) != 0 || access(c->catalog_path, R_OK) != 0)
		at_error(b, &b->seen[CFG_K_CATALOG], "catalog '%s': %s", c->catalog_path,
			 strerror(errno));
	else if (!S_ISREG(st.st_mode))
		at_error(b, &b->seen[CFG_K_CATALOG], "catalog '%s': not a regular file",
			 c->catalog_path);
	else if ((c->catalog = cat_load(c->catalog_path, catalog_error, b)) == NULL)
		at_error(b, &b->seen[CFG_K_CATALOG], "catalog '%s' was not loaded", c->catalog_path);
}

/* ---- finishing: sorted peers, firewall arrays ------------------------- */

static int prefix_cmp(const void *a, const void *b)
{
	const struct nft_prefix *x = a, *y = b;

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
	struct nft_dest d = { .proto = proto, .port = endpoint_port(ep) };

	if (!endpoint_prefix((const struct sockaddr *)&ep->ss, &d.prefix))
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

static bool finish(struct cfg_build *b)
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
			endpoint_prefix((const struct sockaddr *)&c->juki_server.ss, &c->servers[c->n_servers++]);
		if (c->has_fuhyo)
			endpoint_prefix((const struct sockaddr *)&c->fuhyo_server.ss, &c->servers[c->n_servers++]);
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
			endpoint_prefix((const struct sockaddr *)&ep->ss,
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
		make_endpoint(&b->collector_addr, c->audit.collector_port, &ep);
		ok &= add_dest(full, &cap, &ep, IPPROTO_TCP);
	}
	for (size_t i = 0; i < c->firewall.n_dns; i++) {
		ok &= add_dest(full, &cap, &c->firewall.dns[i], IPPROTO_UDP);
		ok &= add_dest(full, &cap, &c->firewall.dns[i], IPPROTO_TCP);
	}
	for (size_t i = 0; i < c->firewall.n_ntp; i++)
		ok &= add_dest(full, &cap, &c->firewall.ntp[i], IPPROTO_UDP);
	full->n_out = unique(full->out, full->n_out, sizeof(*full->out), dest_cmp);
	return ok && keep_tls_where(b);
}

/* ---- public ---------------------------------------------------------- */

static struct cfg_full *full_of(const struct jgw_config *cfg)
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
	full = full_of(cfg);
	full->magic = 0;
	free(cfg->path);
	free(cfg->catalog_path);
	cat_free(cfg->catalog);
	free(cfg->lan_ifname);
	free(cfg->wan_ifname);
	free(cfg->control_path);
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
	free(cfg->audit.spool_dir);
	free(cfg->audit.key_file);
	free(cfg->audit.collector_host);
	free(cfg->audit.collector_ca);
	free(cfg->audit.collector_cert);
	free(cfg->audit.collector_key);
	free(cfg->audit.collector_name);
	free(full->peer_prefixes);
	free(full->out);
	for (int i = 0; i < CFG_TLS_CRL; i++)
		free(full->tls_at[i]);
	for (size_t i = 0; full->crl_at != NULL && i < cfg->tls.n_crls; i++)
		free(full->crl_at[i]);
	free(full->crl_at);
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
	if (b.c == NULL || b.sha == NULL || !set_defaults(&b.c->pub) ||
	    (b.c->pub.path = strdup(path)) == NULL ||
	    EVP_DigestInit_ex(b.sha, EVP_sha256(), NULL) != 1) {
		at_error(&b, NULL, "out of memory");
		goto out;
	}
	parse_file(&b, NULL, NULL, path);
	b.parsed_clean = b.errors == 0;
	if (b.files_read > 0)
		check_all(&b);
	if (b.errors != 0)
		goto out;
	if (!finish(&b) || EVP_DigestFinal_ex(b.sha, md, &md_len) != 1) {
		at_error(&b, NULL, "out of memory");
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

static int node_cmp(const void *key, const void *elem)
{
	/* Both are 6 digits and a NUL: the caller checked the key's length. */
	return memcmp(key, ((const struct cfg_peer *)elem)->node, JMSG_NODE_LEN + 1);
}

const struct cfg_peer *cfg_peer_find(const struct jgw_config *cfg, const char *node)
{
	if (cfg == NULL || node == NULL || strlen(node) != JMSG_NODE_LEN)
		return NULL;
	return bsearch(node, cfg->peers, cfg->n_peers, sizeof(*cfg->peers), node_cmp);
}

bool cfg_peer_allowed(const struct jgw_config *cfg, const char *node, const char **why)
{
	char buf[256];
	const char *reason = "unknown-peer";

	/* The role rule first: a node this site may never talk to is named as
	 * such in the audit, not merely as absent from the directory. */
	if (cfg == NULL || !jmsg_node_valid(node) ||
	    peer_rule(cfg->site, node, &reason, buf, sizeof(buf)) != NULL ||
	    (reason = "unknown-peer", cfg_peer_find(cfg, node) == NULL)) {
		if (why != NULL)
			*why = reason;
		return false;
	}
	return true;
}

bool cfg_server_allowed(const struct jgw_config *cfg, const struct sockaddr *sa)
{
	struct nft_prefix host;

	if (cfg == NULL || sa == NULL || !endpoint_prefix(sa, &host))
		return false;
	for (size_t i = 0; i < cfg->n_servers; i++)
		if (prefix_contains(&cfg->servers[i], &host))
			return true;
	return false;
}

bool cfg_peer_source_ok(const struct jgw_config *cfg, const char *node, const struct sockaddr *sa)
{
	const struct cfg_peer *p;
	struct nft_prefix host, a;

	if (!cfg->tls.source_check)
		return true;
	if (!(p = cfg_peer_find(cfg, node)) || !endpoint_prefix(sa, &host))
		return false;
	for (size_t i = 0; i < p->n_addrs; i++)
		if (endpoint_prefix((const struct sockaddr *)&p->addrs[i].ss, &a) &&
		    a.family == host.family && memcmp(a.addr, host.addr, 16) == 0)
			return true;
	for (size_t i = 0; i < p->n_sources; i++)
		if (prefix_contains(&p->sources[i], &host))
			return true;
	return false;
}

static bool tls_peer_ok(void *arg, const char *node, const char **why)
{
	return cfg_peer_allowed(arg, node, why);
}

void cfg_tls_params(const struct jgw_config *cfg, uint64_t generation, struct tls_params *out)
{
	*out = (struct tls_params){
		.cert_file = cfg->tls.cert,
		.key_file = cfg->tls.key,
		.ca_file = cfg->tls.ca,
		.crl_files = (const char *const *)cfg->tls.crls,
		.n_crl = cfg->tls.n_crls,
		.allow_tls12 = cfg->tls.tls12,
		.crl_policy = (enum tls_crl_policy)cfg->tls.crl_policy,
		.crl_alarm_s = cfg->tls.crl_alarm_s,
		.generation = generation,
		.peer_ok = tls_peer_ok,
		/* The callback only reads the configuration. */
		.peer_ok_arg = (void *)(uintptr_t)cfg,
	};
}

const char *cfg_tls_where(const struct jgw_config *cfg, enum cfg_tls_file what, size_t crl)
{
	const struct cfg_full *full;

	if (cfg == NULL)
		return NULL;
	full = full_of(cfg);
	if (what == CFG_TLS_CRL)
		return full->crl_at != NULL && crl < cfg->tls.n_crls ? full->crl_at[crl] : NULL;
	return (unsigned)what < CFG_TLS_CRL ? full->tls_at[what] : NULL;
}

bool cfg_nft_policy(const struct jgw_config *cfg, struct nft_policy *out)
{
	const struct cfg_full *full;

	if (cfg == NULL || out == NULL)
		return false;
	full = full_of(cfg);
	memset(out, 0, sizeof(*out));
	out->table = cfg->firewall.table;
	out->wan_if = cfg->wan_ifname;
	out->lan_if = cfg->lan_ifname;
	out->wan_port = endpoint_port(&cfg->wan_listen);
	out->lan_port = endpoint_port(&cfg->lan_listen);
	/* The LAN port answers on the LAN listener's address only (any
	 * address when it listens on the wildcard). */
	nft_prefix_from_sockaddr((const struct sockaddr *)&cfg->lan_listen.ss, &out->lan_addr);
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
	return true;
}

const char *cfg_endpoint_str(const struct cfg_endpoint *ep, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	const void *a;

	if (ep == NULL || buf == NULL || len == 0)
		return "";
	if (ep->ss.ss_family == AF_INET)
		a = &((const struct sockaddr_in *)(const void *)&ep->ss)->sin_addr;
	else if (ep->ss.ss_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)(const void *)&ep->ss)->sin6_addr;
	else {
		snprintf(buf, len, "?");
		return buf;
	}
	inet_ntop(ep->ss.ss_family, a, addr, sizeof(addr));
	snprintf(buf, len, ep->ss.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", addr,
		 (unsigned)endpoint_port(ep));
	return buf;
}
