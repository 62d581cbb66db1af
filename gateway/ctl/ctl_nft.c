/*
 * ctl_nft.c — `jgwctl nft print [CONFIG]`: the ruleset a configuration
 * would apply, in nft syntax, through the daemon's own parser. The output
 * can be checked with `nft -c -f -` and applied with `nft -f -`.
 */
#include <stdio.h>
#include <string.h>

#include "filters/policy/config.h"
#include "gateway/ctl/jgwctl.h"

#define DEFAULT_CONFIG "/etc/jgw/jgw.conf"

static void print_error(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "%s\n", msg);
}

int ctl_nft_main(int argc, char **argv)
{
	const char *path = DEFAULT_CONFIG;
	struct jgw_config *cfg;
	struct nft_policy pol;
	int rc;

	/* argv[0] is "nft" */
	if (argc < 2 || strcmp(argv[1], "print") != 0 || argc > 3) {
		fprintf(stderr, "usage: jgwctl nft print [CONFIG]\n");
		return 2;
	}
	if (argc == 3)
		path = argv[2];
	cfg = cfg_load(path, print_error, NULL);
	if (!cfg)
		return 1;
	/* cfg_nft_policy fills a policy whatever `enabled` says: printing it
	 * would show rules that jgwd never applies for this file. */
	if (!cfg->firewall.enabled || !cfg_nft_policy(cfg, &pol)) {
		fprintf(stderr, "%s: the firewall is not enabled in this configuration\n", path);
		cfg_free(cfg);
		return 1;
	}
	rc = nft_print(&pol, stdout) == 0 && fflush(stdout) == 0 ? 0 : 1;
	cfg_free(cfg);
	return rc;
}
