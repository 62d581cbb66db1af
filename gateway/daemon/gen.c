/*
 * gen.c — configuration generations: a loaded configuration with the TLS
 * context and engine parameters built from it, and every check that needs
 * them (the gateway's own certificate must name the site). jgwd's start and
 * reload, `jgwd -n` and `jgwctl check` all build one here.
 */
#include "gateway/daemon/gen.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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


/* One error of a generation, as cfg_load reports its own: at the statement
 * that named the file when the configuration knows it, else at the file. */
static void gen_error(const struct jgw_config *cfg, const char *at, cfg_error_fn err, void *arg,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void gen_error(const struct jgw_config *cfg, const char *at, cfg_error_fn err, void *arg,
		      const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n = snprintf(msg, sizeof(msg), "%s: ", at ? at : cfg->path ? cfg->path : "-");

	if (n < 0 || (size_t)n >= sizeof(msg))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	if (err)
		err(arg, msg);
	else
		fprintf(stderr, "%s\n", msg);
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
	if (!gen_own_node_ok(cfg, gen->tls, err, arg)) {
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

void gen_put(struct gen *gen)
{
	if (!gen || --gen->refs > 0)
		return;
	tls_ctx_free(gen->tls);
	cfg_free(gen->cfg);
	free(gen);
}

