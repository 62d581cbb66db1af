/*
 * jgwctl.c — the operator's tool. Subcommands of other areas live beside
 * their modules (gateway/jgwctl.h); the daemon's commands go over the
 * control socket (gateway/control.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filters/policy/config.h"
#include "gateway/control/control.h"
#include "gateway/ctl/jgwctl.h"

#define DEFAULT_SOCKET "/run/jgw/control.sock"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: jgwctl [-s SOCKET | -c CONFIG] COMMAND\n"
		"  check FILE                        check a configuration\n"
		"  nft print [CONFIG]                the firewall ruleset of a configuration\n"
		"  audit init|verify|tail ...        audit key and records\n"
		"  status | stats | peers            ask the running jgwd\n"
		"  reload                            reload the configuration (as SIGHUP)\n"
		"  quarantine add ADDR [TIMEOUT]     block a source (TIMEOUT: N[s|m|h])\n"
		"  quarantine del ADDR               release it\n"
		"  quarantine list\n"
		"  -s SOCKET  control socket (default $JGW_CONTROL or " DEFAULT_SOCKET ")\n"
		"  -c CONFIG  take the control socket path from this configuration\n");
}

int ctl_daemon_main(int argc, char **argv)
{
	const char *sock = getenv("JGW_CONTROL"), *conf = NULL;
	struct jgw_config *cfg = NULL;
	char line[CONTROL_LINE_MAX + 2], err[512];
	int c, rc;

	if (!sock || !*sock)
		sock = DEFAULT_SOCKET;
	optind = 1;
	while ((c = getopt(argc, argv, "+s:c:h")) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 'c': conf = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (!control_format(argc - optind, argv + optind, line, sizeof(line), err, sizeof(err))) {
		fprintf(stderr, "jgwctl: %s\n", err);
		usage(stderr);
		return 2;
	}
	if (conf) {
		cfg = cfg_load(conf, NULL, NULL);
		if (!cfg) {
			fprintf(stderr, "jgwctl: %s: configuration invalid\n", conf);
			return 1;
		}
		sock = cfg->control_path;
	}
	rc = control_call(sock, line, STDOUT_FILENO, STDERR_FILENO, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "jgwctl: %s\n", err);
	cfg_free(cfg);
	return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	int i = 1;

	/* Skip the daemon options to find the command word. */
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		}
		i += (strcmp(argv[i], "-s") == 0 || strcmp(argv[i], "-c") == 0) ? 2 : 1;
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[i], "check") == 0)
		return ctl_check_main(argc - i, argv + i);
	if (strcmp(argv[i], "nft") == 0)
		return ctl_nft_main(argc - i, argv + i);
	if (strcmp(argv[i], "audit") == 0)
		return ctl_audit_main(argc - i, argv + i);
	return ctl_daemon_main(argc, argv);
}
