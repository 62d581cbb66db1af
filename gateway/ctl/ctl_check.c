/*
 * ctl_check.c — `jgwctl check FILE': load a configuration with the daemon's
 * own checks and say whether jgwd would accept it.
 *
 * Every error and warning goes to stderr as file:line:col: message; a valid
 * file gives one summary line on stdout. Exit 0 valid, 1 invalid, 2 usage.
 * `jgwd -n` is the same function (gen_check_file).
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
#include "gateway/daemon/gen.h"

/* argv[0] is the subcommand's name ("check"), argv[1] the file. */
int ctl_check_main(int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: jgwctl check FILE\n");
		return 2;
	}
	return gen_check_file(argv[1], stdout, stderr);
}
