/*
 * ctl_check.c — `jgwctl check FILE': load a configuration with the daemon's
 * own loader (cfg_load) and say whether jgwd would accept it.
 *
 * Every error goes to stderr as file:line:col: message; a valid file gives
 * one summary line on stdout. Exit 0 valid, 1 invalid, 2 usage.
 *
 * Beyond cfg_load, the TLS material is loaded the way jgwd loads it
 * (tls_ctx_new: certificate and key match, CA and CRLs parse), so a file
 * that passes here is not refused by the daemon for its certificates.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "gateway/config.h"
#include "gateway/jgwctl.h"
#include "tunnels/tls.h"

/* The TLS context jgwd would build from this configuration. */
static bool check_tls(const char *file, struct jgw_config *cfg)
{
	struct tls_params tp;
	char err[512] = "";
	struct tls_ctx *ctx;

	cfg_tls_params(cfg, 0, &tp);
	ctx = tls_ctx_new(&tp, err, sizeof(err));

	if (ctx == NULL) {
		fprintf(stderr, "%s: tls: %s\n", file, err[0] ? err : "cannot build the TLS context");
		return false;
	}
	tls_ctx_free(ctx);
	return true;
}

static void print_error(void *arg, const char *msg)
{
	unsigned *count = arg;

	(*count)++;
	fprintf(stderr, "%s\n", msg);
}

/* argv[0] is the subcommand's name ("check"), argv[1] the file. */
int ctl_check_main(int argc, char **argv)
{
	struct jgw_config *cfg;
	unsigned errors = 0;
	size_t addrs = 0;

	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: jgwctl check FILE\n");
		return 2;
	}
	cfg = cfg_load(argv[1], print_error, &errors);
	if (cfg == NULL) {
		fprintf(stderr, "%s: %u error%s, configuration rejected\n", argv[1], errors,
			errors == 1 ? "" : "s");
		return 1;
	}
	if (!check_tls(argv[1], cfg)) {
		fprintf(stderr, "%s: 1 error, configuration rejected\n", argv[1]);
		cfg_free(cfg);
		return 1;
	}
	for (size_t i = 0; i < cfg->n_peers; i++)
		addrs += cfg->peers[i].n_addrs;
	printf("%s: ok: site %s (%s), %zu peer%s (%zu address%s), sha256 %s\n", argv[1],
	       cfg->site, jmsg_role_name(jmsg_node_role((const uint8_t *)cfg->site)),
	       cfg->n_peers, cfg->n_peers == 1 ? "" : "s", addrs, addrs == 1 ? "" : "es",
	       cfg->sha256);
	cfg_free(cfg);
	return fflush(stdout) == 0 ? 0 : 1;
}
