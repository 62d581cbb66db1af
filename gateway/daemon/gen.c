/*
 * gen.c — configuration generations: a loaded configuration with the TLS
 * context and engine parameters built from it, and every check that needs
 * them (the gateway's own certificate must name the site). jgwd's start and
 * reload, `jgwd -n` and `jgwctl check` all build one here.
 */
#include "gateway/daemon/gen.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "filters/policy/policy.h"
#include "tunnels/tls.h"

static bool tls_peer_ok(void *arg, const char *node, const char **why)
{
	return cfg_peer_allowed(arg, node, why);
}

/* The one place that maps a configuration to TLS parameters. */
static void tls_params_of(const struct jgw_config *cfg, uint64_t generation,
			  struct tls_params *out)
{
	*out = (struct tls_params){
		.cert_file = cfg->tls.cert,
		.key_file = cfg->tls.key,
		.ca_file = cfg->tls.ca,
		.crl_files = (const char *const *)cfg->tls.crls,
		.n_crl = cfg->tls.n_crls,
		.allow_tls12 = cfg->tls.tls12,
		.crl_policy = cfg->tls.crl_policy == CFG_CRL_FAIL_OPEN ? TLS_CRL_FAIL_OPEN
									: TLS_CRL_FAIL_CLOSED,
		.crl_alarm_s = cfg->tls.crl_alarm_s,
		.generation = generation,
		.peer_ok = tls_peer_ok,
		/* The callback only reads the configuration. */
		.peer_ok_arg = (void *)(uintptr_t)cfg,
	};
}


/* One message of a generation's checks, as cfg_load reports its own: at
 * the statement that named the file when the configuration knows it, else
 * at the file; kind is "" for an error, "warning: " for a warning. */
static void gen_vmsg(const struct jgw_config *cfg, const char *at, const char *kind,
		     cfg_error_fn err, void *arg, const char *fmt, va_list ap)
{
	char msg[1024];
	int n = snprintf(msg, sizeof(msg), "%s: %s", at ? at : cfg->path ? cfg->path : "-", kind);

	if (n < 0 || (size_t)n >= sizeof(msg))
		n = 0;
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	if (err)
		err(arg, msg);
	else
		fprintf(stderr, "%s\n", msg);
}

static void gen_error(const struct jgw_config *cfg, const char *at, cfg_error_fn err, void *arg,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void gen_error(const struct jgw_config *cfg, const char *at, cfg_error_fn err, void *arg,
		      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	gen_vmsg(cfg, at, "", err, arg, fmt, ap);
	va_end(ap);
}

static const char *fault_where(const struct jgw_config *cfg, const struct tls_fault *f)
{
	switch (f->file) {
	case TLS_FAULT_CERT: return cfg_tls_where(cfg, CFG_TLS_CERT, 0);
	case TLS_FAULT_KEY: return cfg_tls_where(cfg, CFG_TLS_KEY, 0);
	case TLS_FAULT_CA: return cfg_tls_where(cfg, CFG_TLS_CA, 0);
	case TLS_FAULT_CRL: return cfg_tls_where(cfg, CFG_TLS_CRL, f->crl);
	default: return NULL;
	}
}

/* The gateway's own certificate must prove the configured site: a gateway
 * with another node's certificate would be refused (or worse, accepted as
 * that node) by every peer. */
static bool gen_own_node_ok(const struct jgw_config *cfg, const struct tls_ctx *tls,
			    cfg_error_fn err, void *arg)
{
	const char *own = tls_ctx_node(tls), *at = cfg_tls_where(cfg, CFG_TLS_CERT, 0);

	if (!own) {
		gen_error(cfg, at, err, arg, "tls certificate '%s' has no valid urn:jgw:node: identity",
			  cfg->tls.cert);
		return false;
	}
	if (strcmp(own, cfg->site) != 0) {
		gen_error(cfg, at, err, arg, "tls certificate '%s' names node %s, but this site is %s",
			  cfg->tls.cert, own, cfg->site);
		return false;
	}
	return true;
}

/* A warning of the checks: the configuration stays acceptable. */
static void gen_warning(const struct jgw_config *cfg, const char *at, cfg_error_fn err, void *arg,
			const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void gen_warning(const struct jgw_config *cfg, const char *at, cfg_error_fn err, void *arg,
			const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	gen_vmsg(cfg, at, "warning: ", err, arg, fmt, ap);
	va_end(ap);
}

/* "3d 4h", "5h 2min", "40s": a span for a human. */
static const char *span(int64_t s, char *buf, size_t len)
{
	if (s < 0)
		s = -s;
	if (s >= 86400)
		snprintf(buf, len, "%lldd %lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(buf, len, "%lldh %lldmin", (long long)(s / 3600), (long long)(s % 3600 / 60));
	else if (s >= 60)
		snprintf(buf, len, "%lldmin", (long long)(s / 60));
	else
		snprintf(buf, len, "%llds", (long long)s);
	return buf;
}

/* The accounts the daemon drops to must exist where it runs. */
static bool accounts_ok(const struct jgw_config *cfg, cfg_error_fn err, void *arg)
{
	bool ok = true;

	if (cfg->user && !getpwnam(cfg->user)) {
		gen_error(cfg, cfg_tls_where(cfg, CFG_AT_USER, 0), err, arg,
			  "user '%s': no such user on this system (create it: adduser --system "
			  "--group %s; or remove the statement)", cfg->user, cfg->user);
		ok = false;
	}
	if (cfg->group && !getgrnam(cfg->group)) {
		gen_error(cfg, cfg_tls_where(cfg, CFG_AT_GROUP, 0), err, arg,
			  "group '%s': no such group on this system (create it: addgroup --system "
			  "%s; or remove the statement)", cfg->group, cfg->group);
		ok = false;
	}
	/* The control groups: a missing one would make the socket root's
	 * alone, or let nobody change state, without a word. */
	if (cfg->control_group && !getgrnam(cfg->control_group)) {
		gen_error(cfg, cfg_tls_where(cfg, CFG_AT_CTL_GROUP, 0), err, arg,
			  "control group '%s': no such group on this system (create it: addgroup "
			  "%s; or remove the statement)", cfg->control_group, cfg->control_group);
		ok = false;
	}
	if (cfg->control_admin_group && !getgrnam(cfg->control_admin_group)) {
		gen_error(cfg, cfg_tls_where(cfg, CFG_AT_CTL_ADMIN, 0), err, arg,
			  "control admin-group '%s': no such group on this system (create it: "
			  "addgroup %s; or remove the statement)", cfg->control_admin_group,
			  cfg->control_admin_group);
		ok = false;
	}
	return ok;
}

/* The chain's current key must be there: without it the daemon writes no
 * record, so it does not start. */
static bool audit_key_ok(const struct jgw_config *cfg, cfg_error_fn err, void *arg)
{
	const char *at = cfg_tls_where(cfg, CFG_AT_AUDIT_KEY, 0);
	struct stat st;

	if (stat(cfg->audit.key_file, &st) == 0)
		return true;
	if (errno == ENOENT) {
		gen_error(cfg, at, err, arg, "audit key '%s' does not exist: make it once with "
			  "`jgwctl audit init -k %s -o K0_FILE` and hand K0_FILE to the auditors",
			  cfg->audit.key_file, cfg->audit.key_file);
		return false;
	}
	/* An operator's check may not see into the daemon's state: say so
	 * rather than guess. */
	gen_warning(cfg, at, err, arg, "audit key '%s' not checked: %s (run the check as root "
		    "or as the daemon's user to include it)", cfg->audit.key_file, strerror(errno));
	return true;
}

/* A private key others can read is a key others have. */
static bool key_mode_ok(const struct jgw_config *cfg, cfg_error_fn err, void *arg)
{
	struct stat st;

	if (stat(cfg->tls.key, &st) != 0 || (st.st_mode & 0027) == 0)
		return true;
	if (st.st_mode & 0007) {
		gen_error(cfg, cfg_tls_where(cfg, CFG_TLS_KEY, 0), err, arg,
			  "tls key '%s' can be read by every account (mode %04o): chmod 600 %s "
			  "(or 640 with the daemon's group)", cfg->tls.key,
			  (unsigned)(st.st_mode & 07777), cfg->tls.key);
		return false;
	}
	gen_warning(cfg, cfg_tls_where(cfg, CFG_TLS_KEY, 0), err, arg,
		    "tls key '%s' is writable by its group (mode %04o): chmod g-w %s", cfg->tls.key,
		    (unsigned)(st.st_mode & 07777), cfg->tls.key);
	return true;
}

/* What a peer would say of our own certificate, with the fix. */
static const char *own_cert_fix(const char *why)
{
	if (strcmp(why, "cert-expired") == 0)
		return "it has expired: install a renewed certificate for this site";
	if (strcmp(why, "cert-not-yet-valid") == 0)
		return "it is not valid yet: check the clock (timedatectl) or the certificate's dates";
	if (strcmp(why, "cert-revoked") == 0)
		return "a configured CRL revokes it: install a new certificate for this site";
	if (strcmp(why, "unknown-ca") == 0)
		return "it was not issued by the configured tls ca: name the CA that issued it, "
		       "or install a certificate of the configured CA";
	if (strcmp(why, "crl-stale") == 0 || strcmp(why, "crl-missing") == 0)
		return "the CRLs do not cover it: configure a current CRL of its issuer";
	return "every peer would refuse it";
}

static bool own_cert_ok(const struct jgw_config *cfg, const struct tls_ctx *tls,
			cfg_error_fn err, void *arg)
{
	const char *at = cfg_tls_where(cfg, CFG_TLS_CERT, 0), *why;
	int64_t now = (int64_t)time(NULL), left;
	char s[32];

	why = tls_ctx_check_own(tls, now, &left);
	/* A stale CRL is the CRL's mistake, named once by crl_ok. */
	if (why && strcmp(why, "crl-stale") != 0) {
		gen_error(cfg, at, err, arg, "tls certificate '%s' would be refused by every peer "
			  "(%s): %s", cfg->tls.cert, why, own_cert_fix(why));
		return false;
	}
	if (left < 30 * 86400)
		gen_warning(cfg, at, err, arg, "tls certificate '%s' expires in %s: renew it before "
			    "then", cfg->tls.cert, span(left, s, sizeof(s)));
	return true;
}

/* A CRL past its nextUpdate under fail-closed refuses every peer: that is
 * a configuration that cannot work, not a warning. */
static bool crl_ok(const struct jgw_config *cfg, const struct tls_ctx *tls,
		   cfg_error_fn err, void *arg)
{
	int64_t left = tls_ctx_crl_remaining(tls, (int64_t)time(NULL));
	const char *at = cfg->tls.n_crls ? cfg_tls_where(cfg, CFG_TLS_CRL, 0) : NULL;
	char s[32];

	if (left == INT64_MAX)
		return true;
	if (left <= 0 && cfg->tls.crl_policy == CFG_CRL_FAIL_CLOSED) {
		gen_error(cfg, at, err, arg, "a CRL went stale %s ago (past its nextUpdate): under "
			  "crl-policy fail-closed every peer would be refused; install the CA's "
			  "current CRL", span(left, s, sizeof(s)));
		return false;
	}
	if (left <= 0)
		gen_warning(cfg, at, err, arg, "a CRL went stale %s ago; crl-policy fail-open uses it "
			    "anyway: install the CA's current CRL", span(left, s, sizeof(s)));
	else if (left < (int64_t)cfg->tls.crl_alarm_s)
		gen_warning(cfg, at, err, arg, "a CRL goes stale in %s (its nextUpdate): install the "
			    "CA's next CRL before then", span(left, s, sizeof(s)));
	return true;
}

/* What start and run time would refuse, judged now. */
static bool daemon_checks(const struct jgw_config *cfg, const struct tls_ctx *tls,
			  cfg_error_fn err, void *arg)
{
	bool ok = accounts_ok(cfg, err, arg);

	ok &= audit_key_ok(cfg, err, arg);
	ok &= key_mode_ok(cfg, err, arg);
	ok &= own_cert_ok(cfg, tls, err, arg);
	ok &= crl_ok(cfg, tls, err, arg);
	return ok;
}

struct gen *gen_new(struct jgw_config *cfg, uint64_t generation,
				cfg_error_fn err, void *arg)
{
	struct gen *gen = calloc(1, sizeof(*gen));
	struct tls_params tp;
	struct tls_fault fault;
	char msg[512];

	if (!gen) {
		gen_error(cfg, NULL, err, arg, "out of memory");
		return NULL;
	}
	tls_params_of(cfg, generation, &tp);
	gen->tls = tls_ctx_new_at(&tp, msg, sizeof(msg), &fault);
	if (!gen->tls) {
		gen_error(cfg, fault_where(cfg, &fault), err, arg, "tls: %s",
			  msg[0] ? msg : "cannot build the TLS context");
		free(gen);
		return NULL;
	}
	if (!gen_own_node_ok(cfg, gen->tls, err, arg) || !daemon_checks(cfg, gen->tls, err, arg)) {
		tls_ctx_free(gen->tls);
		free(gen);
		return NULL;
	}
	cfg->generation = generation;
	gen->generation = generation;
	gen->cfg = cfg;
	policy_insp_params(cfg, &gen->insp);
	gen->refs = 1;
	return gen;
}

struct gen *gen_load(const char *path, uint64_t generation, cfg_error_fn err, void *arg)
{
	struct jgw_config *cfg = cfg_load(path, err, arg);
	struct gen *gen;

	if (!cfg)
		return NULL;
	gen = gen_new(cfg, generation, err, arg);
	if (!gen)
		cfg_free(cfg);
	return gen;
}

struct gen *gen_hold(const struct gen *gen)
{
	struct gen *g = (struct gen *)gen;

	atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
	return g;
}

void gen_put(struct gen *gen)
{
	/* The last one out frees: acq_rel so that it sees every write the
	 * other holders made before they let go. */
	if (!gen || atomic_fetch_sub_explicit(&gen->refs, 1, memory_order_acq_rel) > 1)
		return;
	tls_ctx_free(gen->tls);
	cfg_free(gen->cfg);
	free(gen);
}

struct check_count {
	FILE *err;
	unsigned errors, warnings;
};

static void check_print(void *arg, const char *msg)
{
	struct check_count *c = arg;

	if (cfg_msg_is_warning(msg))
		c->warnings++;
	else
		c->errors++;
	fprintf(c->err, "%s\n", msg);
}

int gen_check_file(const char *path, FILE *out, FILE *err)
{
	struct check_count c = { .err = err };
	struct gen *gen = gen_load(path, 1, check_print, &c);
	const struct jgw_config *cfg;
	size_t addrs = 0;

	if (gen == NULL) {
		fprintf(err, "%s: %u error%s, configuration rejected\n", path, c.errors,
			c.errors == 1 ? "" : "s");
		return 1;
	}
	cfg = gen->cfg;
	for (size_t i = 0; i < cfg->n_peers; i++)
		addrs += cfg->peers[i].n_addrs;
	fprintf(out, "%s: ok: site %s (%s), %zu peer%s (%zu address%s), %u warning%s, sha256 %s\n",
		path, cfg->site, node_role_name(node_role((const uint8_t *)cfg->site)),
		cfg->n_peers, cfg->n_peers == 1 ? "" : "s", addrs, addrs == 1 ? "" : "es",
		c.warnings, c.warnings == 1 ? "" : "s", cfg->sha256);
	gen_put(gen);
	return fflush(out) == 0 ? 0 : 1;
}
