/*
 * gen.h — a configuration generation: a loaded configuration with the TLS
 * context and inspection parameters built from it. jgwd keeps the current
 * one and tunnels keep the one they started with (reference counted); its
 * building runs every check a configuration must pass, so `jgwd -n` and
 * `jgwctl check` judge exactly what start and reload judge.
 */
#ifndef JGW_GEN_H
#define JGW_GEN_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "filters/engine/inspect.h"
#include "filters/policy/config.h"

struct tls_ctx;

struct gen {
	uint64_t generation;
	struct jgw_config *cfg;        /* owned */
	struct tls_ctx *tls;           /* owned */
	struct insp_params insp;
	atomic_uint refs;              /* relay + live tunnels (workers take and
	                                * drop them on their own threads) */
};

/* Build a generation from a loaded configuration (takes cfg on success):
 * its TLS context, and the checks that need it — the gateway's own
 * certificate must name the configured site. Errors go to err (stderr when
 * NULL) as cfg_load reports its own, "file:line:col: message" at the
 * statement that named the file (tls certificate, key, ca, crl). */
struct gen *gen_new(struct jgw_config *cfg, uint64_t generation, cfg_error_fn err, void *arg);
/* cfg_load + gen_new: every check a configuration must pass. The one path
 * of jgwd's reload, `jgwd -n` and `jgwctl check` (jgwd's start runs the
 * same two steps with the audit opened between them). */
struct gen *gen_load(const char *path, uint64_t generation, cfg_error_fn err, void *arg);
void gen_put(struct gen *gen);   /* drop a reference */
/* Take another reference (jgwd keeps the generation a trial replaced). The
 * count is bookkeeping, not the generation's value: a const one may be held. */
struct gen *gen_hold(const struct gen *gen);

/* `jgwctl check FILE` and `jgwd -n`, one and the same: every error and
 * warning to err as file:line:col: message, then one summary line (to out
 * when accepted, with the warnings counted; to err when refused).
 * 0 accepted, 1 refused. */
int gen_check_file(const char *path, FILE *out, FILE *err);

#endif
