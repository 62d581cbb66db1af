/*
 * config_build.c — phase 1 of loading (config_int.h): the grammar
 * (config.y, config.l) calls the cfgp_* builders here, which convert each
 * value, check its own range, and report every error as file:line:col;
 * files and includes are read here too.
 */
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

#include "filters/policy/config_int.h"

/* ---- errors ---------------------------------------------------------- */

/* Every message goes out here: counted always, shown up to MAX_REPORTED. */
void cfgi_emit(struct cfg_build *b, const char *msg)
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
	cfgi_emit(b, msg);
}

void cfgp_error(struct cfg_file *f, const CFGYYLTYPE *loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(f->b, f->name, loc->first_line, loc->first_column, fmt, ap);
	va_end(ap);
}

void cfgi_at_warning(struct cfg_build *b, const struct cfg_where *at, const char *fmt, ...)
{
	char msg[1024];
	struct cfg_where top = { b->top, 1, 1 };
	va_list ap;
	int n;

	if (at == NULL || at->file == NULL)
		at = &top;
	n = snprintf(msg, sizeof(msg), "%s:%d:%d: warning: ", at->file, at->line, at->col);
	if (n < 0 || (size_t)n >= sizeof(msg))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	if (b->err != NULL)
		b->err(b->arg, msg);
	else
		fprintf(stderr, "%s\n", msg);
}

bool cfg_msg_is_warning(const char *msg)
{
	const char *w = msg ? strstr(msg, ": warning: ") : NULL;

	/* The location comes first; a message text never holds the marker. */
	return w != NULL && strchr(msg, ' ') == w + 1;
}

void cfgp_syntax_error(struct cfg_file *f, const CFGYYLTYPE *loc, bool block, const char *fmt, ...)
{
	va_list ap;

	/* Still inside a statement (or block) that had its error: the error
	 * count already refuses the file, a second message would mislead. */
	if (f->quiet)
		return;
	f->quiet = true;
	f->quiet_block = block;
	f->quiet_ending = false;
	f->quiet_depth = f->braces;
	va_start(ap, fmt);
	report(f->b, f->name, loc->first_line, loc->first_column, fmt, ap);
	va_end(ap);
}

void cfgi_at_error(struct cfg_build *b, const struct cfg_where *at, const char *fmt, ...)
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
			 bool prefix_ok, struct addr_prefix *out)
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

void cfgi_make_endpoint(const struct addr_prefix *p, uint16_t port, struct cfg_endpoint *ep)
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
	[CFG_K_CONTROL]     = { "control socket", KIND_PATH, F(control_path), 0, 0 },
	[CFG_K_CTL_GROUP]   = { "control group", KIND_NAME, F(control_group), 0, 0 },
	[CFG_K_CTL_ADMIN]   = { "control admin-group", KIND_NAME, F(control_admin_group), 0, 0 },
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
	[CFG_K_WORKERS]     = { "workers", KIND_COUNT, F(workers), 1, 64 },
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
	[CFG_K_A_RETAIN]    = { "audit retain", KIND_SEC, F(audit.retain_s), 3600, 3650 * MS_D / MS_S },
	[CFG_K_A_RETAIN_SIZE] = { "audit retain-size", KIND_SIZE64, F(audit.retain_bytes), MIB, 64 * GIB },
	[CFG_K_A_REQUIRE_ARCHIVE] = { "audit require-archive", KIND_BOOL, F(audit.require_archive), 0, 0 },
	[CFG_K_C_PORT]      = { "audit collector port", KIND_PORT, F(audit.collector_port), 1, 65535 },
	[CFG_K_C_CA]        = { "audit collector ca", KIND_PATH, F(audit.collector_ca), 0, 0 },
	[CFG_K_C_CERT]      = { "audit collector certificate", KIND_PATH, F(audit.collector_cert), 0, 0 },
	[CFG_K_C_KEY]       = { "audit collector key", KIND_PATH, F(audit.collector_key), 0, 0 },
	[CFG_K_C_NAME]      = { "audit collector name", KIND_DNS_NAME, F(audit.collector_name), 0, 0 },
	[CFG_K_M_TEXTFILE]  = { "metrics textfile", KIND_PATH, F(metrics.textfile), 0, 0 },
	[CFG_K_M_INTERVAL]  = { "metrics interval", KIND_SEC, F(metrics.interval_s), 1, 3600 },
	[CFG_K_HA_MEMBER]   = { "ha member", KIND_NAME, F(ha.member), 0, 0 },
	[CFG_K_HA_IF]       = { "ha interface", KIND_NAME, F(ha.ifname), 0, 0 },
	[CFG_K_HA_SYNC_PORT] = { "ha sync-port", KIND_PORT, F(ha.sync_port), 1, 65535 },
	[CFG_K_SITE]        = { "site", KIND_NAME, 0, 0, 0 },
	[CFG_K_LAN_LISTEN]  = { "listen lan", KIND_NAME, 0, 0, 0 },
	[CFG_K_WAN_LISTEN]  = { "listen wan", KIND_NAME, 0, 0, 0 },
	[CFG_K_LAN_IF]      = { "interface lan", KIND_NAME, 0, 0, 0 },
	[CFG_K_WAN_IF]      = { "interface wan", KIND_NAME, 0, 0, 0 },
	[CFG_K_JUKI]        = { "server juki", KIND_NAME, 0, 0, 0 },
	[CFG_K_FUHYO]       = { "server fuhyo", KIND_NAME, 0, 0, 0 },
	[CFG_K_FW_QUARANTINE] = { "firewall quarantine", KIND_NAME, 0, 0, 0 },
	[CFG_K_C_HOST]      = { "audit collector host", KIND_NAME, 0, 0, 0 },
	[CFG_K_M_LISTEN]    = { "metrics listen", KIND_NAME, 0, 0, 0 },
	[CFG_K_HA]          = { "ha", KIND_NAME, 0, 0, 0 },
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
			*(enum cfg_crl_policy *)dst = CFG_CRL_FAIL_CLOSED;
		else if (strcmp(s, "fail-open") == 0)
			*(enum cfg_crl_policy *)dst = CFG_CRL_FAIL_OPEN;
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
	/* Kept as written: cfgi_check_all() judges it with the peers. */
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
	struct addr_prefix p = { .family = AF_INET, .len = 32 };
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
		port = addr_sockaddr_port((const struct sockaddr *)&(ep)->ss);
	cfgi_make_endpoint(&p, (uint16_t)port, ep);
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
	struct addr_prefix p;
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
	cfgi_make_endpoint(&p, (uint16_t)port, juki ? &c->juki_server : &c->fuhyo_server);
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
	struct addr_prefix p;

	if (parse_prefix(f, loc, prefix, true, &p)) {
		struct cfg_where at = where(f, loc);

		APPEND(f, loc, c->servers, c->n_servers, p);
		APPEND(f, loc, f->b->lan_at, f->b->n_lan_at, at);
	}
	free(prefix);
}

void cfgp_mgmt_network(struct cfg_file *f, const CFGYYLTYPE *loc, char *prefix)
{
	struct jgw_config *c = &f->b->c->pub;
	struct addr_prefix p;

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
	struct addr_prefix p;
	struct cfg_endpoint ep;

	if (b->cur_peer < 0)
		goto out;
	struct build_peer *peer = &b->peers[b->cur_peer];
	if (port != 0 && parse_prefix(f, loc, addr, false, &p)) {
		cfgi_make_endpoint(&p, port < 0 ? DEFAULT_PEER_PORT : (uint16_t)port, &ep);
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
	struct addr_prefix p;

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

void cfgp_fw_dest(struct cfg_file *f, const CFGYYLTYPE *loc, enum cfg_dest kind, char *addr,
		  long port)
{
	struct cfg_build *b = f->b;
	struct jgw_config *c = &b->c->pub;
	struct addr_prefix p;
	struct cfg_endpoint ep;

	if (port != 0 && parse_prefix(f, loc, addr, false, &p)) {
		cfgi_make_endpoint(&p, port > 0 ? (uint16_t)port :
		                   kind == CFG_DEST_DNS ? DNS_PORT : NTP_PORT, &ep);
		if (kind == CFG_DEST_DNS) {
			APPEND(f, loc, c->firewall.dns, c->firewall.n_dns, ep);
		} else {
			APPEND(f, loc, c->firewall.ntp, c->firewall.n_ntp, ep);
		}
		/* NTS: the keys come over TLS first, on their own port. */
		if (kind == CFG_DEST_NTS) {
			cfgi_make_endpoint(&p, NTS_KE_PORT, &ep);
			APPEND(f, loc, c->firewall.nts_ke, c->firewall.n_nts_ke, ep);
		}
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

/* An address, not a host name or a wildcard by default: the metrics are
 * for the management side, and the firewall opens this very address. */
void cfgp_metrics_listen(struct cfg_file *f, const CFGYYLTYPE *loc,
			 const CFGYYLTYPE *addr_loc, char *addr, long port)
{
	struct jgw_config *c = &f->b->c->pub;
	struct addr_prefix p;

	if (first_time(f, loc, CFG_K_M_LISTEN, "metrics listen") &&
	    parse_prefix(f, addr_loc, addr, false, &p) && port != 0) {
		cfgi_make_endpoint(&p, port < 0 ? DEFAULT_METRICS_PORT : (uint16_t)port,
				   &c->metrics.listen);
		c->metrics.has_listen = true;
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

/* The bytes of every file read, for the configuration history. Out of
 * memory only loses the copy (and is reported once as an error). */
static void keep_source(struct cfg_build *b, const char *path, const char *buf, size_t len)
{
	struct cfg_full *full = b->c;
	struct cfg_source *grown = realloc(full->sources, (full->n_sources + 1) * sizeof(*grown));
	char *abs = grown ? realpath(path, NULL) : NULL;
	char *data = abs ? malloc(len ? len : 1) : NULL;

	if (grown)
		full->sources = grown;
	if (!data) {
		free(abs);
		cfgi_at_error(b, NULL, "out of memory");
		return;
	}
	memcpy(data, buf, len);
	full->sources[full->n_sources++] = (struct cfg_source){ abs, data, len };
}

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
	cfgi_emit(b, msg);
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
		cfgi_emit(b, msg);
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
		keep_source(b, path, buf, len);
		parse_buffer(b, parent, path, &st, buf, len);
	}
	free(buf);
}

void cfgi_parse_top(struct cfg_build *b, const char *path)
{
	parse_file(b, NULL, NULL, path);
}

const char *cfgi_setting_name(enum cfg_key key)
{
	return (unsigned)key < CFG_K_MAX && settings[key].name ? settings[key].name : "?";
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

