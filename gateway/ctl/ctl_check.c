/*
 * ctl_check.c — `jgwctl check FILE': load a configuration with the daemon's
 * own checks and say whether jgwd would accept it.
 *
 * Every error goes to stderr as file:line:col: message; a valid file gives
 * one summary line on stdout. Exit 0 valid, 1 invalid, 2 usage.
 *
 * The checks are gen_load(), what jgwd runs at every reload and
 * `jgwd -n` too: cfg_load, then the TLS context built as jgwd builds it
 * (certificate and key match, CA and CRLs parse, CRLs signed by an anchor)
 * and the gateway's own certificate naming the configured site. So a file
 * that passes here is not refused by the daemon for its certificates.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "filters/policy/config.h"
#include "gateway/ctl/jgwctl.h"
#include "gateway/daemon/relay.h"

static void print_error(void *arg, const char *msg)
{
	unsigned *count = arg;

	(*count)++;
	fprintf(stderr, "%s\n", msg);
}

/* argv[0] is the subcommand's name ("check"), argv[1] the file. */
int ctl_check_main(int argc, char **argv)
{
	struct gen *gen;
	const struct jgw_config *cfg;
	unsigned errors = 0;
	size_t addrs = 0;

	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: jgwctl check FILE\n");
		return 2;
	}
	gen = gen_load(argv[1], 1, print_error, &errors);
	if (gen == NULL) {
		fprintf(stderr, "%s: %u error%s, configuration rejected\n", argv[1], errors,
			errors == 1 ? "" : "s");
		return 1;
	}
	cfg = gen->cfg;
	for (size_t i = 0; i < cfg->n_peers; i++)
		addrs += cfg->peers[i].n_addrs;
	printf("%s: ok: site %s (%s), %zu peer%s (%zu address%s), sha256 %s\n", argv[1],
	       cfg->site, node_role_name(node_role((const uint8_t *)cfg->site)),
	       cfg->n_peers, cfg->n_peers == 1 ? "" : "s", addrs, addrs == 1 ? "" : "es",
	       cfg->sha256);
	gen_put(gen);
	return fflush(stdout) == 0 ? 0 : 1;
}
