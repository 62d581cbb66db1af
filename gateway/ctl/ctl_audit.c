/*
 * ctl_audit.c — jgwctl audit init | verify | tail | archive.
 * Called as ctl_audit_main(argc, argv) with argv[0] == "audit".
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "gateway/audit/audit.h"
#include "gateway/audit/chain.h"
#include "gateway/audit/spool.h"
#include "gateway/ctl/jgwctl.h"

#define DEFAULT_SPOOL "/var/lib/jgw/audit"
#define DEFAULT_KEY   "/var/lib/jgw/audit.key"

static int cmd_init(int argc, char **argv)
{
	const char *out = "-", *key_file = DEFAULT_KEY;
	char err[512];
	int c;
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "key-file", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:k:", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'k': key_file = optarg; break;
		default: goto usage;
		}
	}
	if (optind != argc)
		goto usage;
	if (audit_init_key(out, key_file, err, sizeof(err)) != 0) {
		fprintf(stderr, "jgwctl audit init: %s\n", err);
		return 1;
	}
	fprintf(stderr, "jgwctl audit init: k0 written to %s; current key (epoch 0) "
	        "installed as %s\n", strcmp(out, "-") == 0 ? "stdout" : out, key_file);
	return 0;
usage:
	fprintf(stderr, "usage: jgwctl audit init [-o K0_OUT|-] [-k KEY_FILE]\n");
	return 2;
}

/* PATH may be a spool directory: its files in order. */
static int expand(const char *path, char ***list, size_t *n, size_t *cap)
{
	struct stat st;
	char **names = NULL;
	uint64_t *firsts = NULL;
	size_t k = 0;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (audit_spool_list(path, &names, &firsts, &k) != 0)
			return -1;
	}
	size_t add = names ? k : 1;
	if (*n + add > *cap) {
		size_t nc = (*n + add) * 2;
		char **grown = realloc(*list, nc * sizeof(*grown));
		if (!grown) {
			audit_spool_list_free(names, firsts, k);
			return -1;
		}
		*list = grown;
		*cap = nc;
	}
	if (!names) {
		(*list)[(*n)++] = strdup(path);
		return (*list)[*n - 1] ? 0 : -1;
	}
	for (size_t i = 0; i < k; i++) {
		size_t len = strlen(path) + strlen(names[i]) + 2;
		char *full = malloc(len);
		if (!full)
			break;
		snprintf(full, len, "%s/%s", path, names[i]);
		(*list)[(*n)++] = full;
	}
	audit_spool_list_free(names, firsts, k);
	return 0;
}

static int cmd_verify(int argc, char **argv)
{
	const char *key = NULL;
	bool strict = false;
	int c, rc = 1;
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "strict", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	optind = 1;
	while ((c = getopt_long(argc, argv, "k:s", opts, NULL)) != -1) {
		switch (c) {
		case 'k': key = optarg; break;
		case 's': strict = true; break;
		default: goto usage;
		}
	}
	if (!key || optind >= argc)
		goto usage;
	char **paths = NULL;
	size_t n = 0, cap = 0;
	for (int i = optind; i < argc; i++) {
		if (expand(argv[i], &paths, &n, &cap) != 0) {
			fprintf(stderr, "jgwctl audit verify: %s: %s\n", argv[i], strerror(errno));
			goto out;
		}
	}
	rc = audit_verify(key, (const char *const *)paths, n, stdout);
	if (rc == 3 && strict)
		rc = 1;
out:
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	return rc;
usage:
	fprintf(stderr, "usage: jgwctl audit verify --key K0_FILE [--strict] PATH...\n"
	        "  PATH: spool files, archived segments or a collector's (day) files, in order,\n"
	        "        or a spool directory; a run may start at a segment's checkpoint\n"
	        "  exit: 0 intact and sealed, 3 intact with warnings (1 with --strict), 1 bad\n");
	return 2;
}

/* Sealed spool files copied out for the auditors: each a segment that
 * verify checks on its own with k0 (docs/audit.md, Archive). */
static int cmd_archive(int argc, char **argv)
{
	const char *out = NULL;
	char err[512];
	int c;
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		default: goto usage;
		}
	}
	if (!out || argc - optind > 1)
		goto usage;
	const char *spool = optind < argc ? argv[optind] : DEFAULT_SPOOL;
	if (audit_archive(spool, out, stdout, err, sizeof(err)) != 0) {
		fprintf(stderr, "jgwctl audit archive: %s\n", err);
		return 1;
	}
	return 0;
usage:
	fprintf(stderr, "usage: jgwctl audit archive -o DIR [SPOOL_DIR]\n"
	        "  copies the sealed spool files not archived yet into DIR (with DIR/MANIFEST)\n");
	return 2;
}

static volatile sig_atomic_t tail_stop;
static void on_signal(int sig) { (void)sig; tail_stop = 1; }

static int cmd_tail(int argc, char **argv)
{
	bool follow = false;
	long count = 10;
	int c;
	optind = 1;
	while ((c = getopt(argc, argv, "fn:")) != -1) {
		switch (c) {
		case 'f': follow = true; break;
		case 'n': count = strtol(optarg, NULL, 10); break;
		default: goto usage;
		}
	}
	if (argc - optind > 1 || count < 0)
		goto usage;
	const char *target = optind < argc ? argv[optind] : DEFAULT_SPOOL;
	struct stat st;
	bool is_dir = stat(target, &st) == 0 && S_ISDIR(st.st_mode);
	char path[4096];
	uint64_t first = 0;
	if (is_dir) {
		if (audit_spool_newest(target, path, sizeof(path), &first) != 0) {
			fprintf(stderr, "jgwctl audit tail: %s: no spool files\n", target);
			return 1;
		}
	} else {
		snprintf(path, sizeof(path), "%s", target);
	}
	char *buf;
	size_t len;
	if (audit_slurp(path, &buf, &len) != 0) {
		fprintf(stderr, "jgwctl audit tail: %s: %s\n", path, strerror(errno));
		return 1;
	}
	size_t done = len;
	while (done > 0 && buf[done - 1] != '\n')
		done--;   /* a partial last line waits for its newline */
	audit_print_records(buf, done, (size_t)count, stdout);
	free(buf);
	fflush(stdout);
	if (!follow)
		return 0;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	struct audit_follow *fl = malloc(sizeof(*fl));
	if (!fl || audit_follow_open(fl, is_dir ? target : NULL, path, first, (off_t)done) != 0) {
		fprintf(stderr, "jgwctl audit tail: %s: %s\n", path, strerror(errno));
		free(fl);
		return 1;
	}
	int rc = 0;
	while (!tail_stop) {
		int r = audit_follow_poll(fl, stdout);
		fflush(stdout);
		if (r < 0) {
			fprintf(stderr, "jgwctl audit tail: %s: %s\n", fl->path, strerror(errno));
			rc = 1;
			break;
		}
		if (r == 0) {
			struct timespec pause = { 0, 200 * 1000 * 1000 };
			nanosleep(&pause, NULL);
		}
	}
	audit_follow_close(fl);
	free(fl);
	return rc;
usage:
	fprintf(stderr, "usage: jgwctl audit tail [-f] [-n N] [SPOOL_DIR|FILE]\n");
	return 2;
}

int ctl_audit_main(int argc, char **argv)
{
	if (argc < 2)
		goto usage;
	if (strcmp(argv[1], "init") == 0)
		return cmd_init(argc - 1, argv + 1);
	if (strcmp(argv[1], "verify") == 0)
		return cmd_verify(argc - 1, argv + 1);
	if (strcmp(argv[1], "tail") == 0)
		return cmd_tail(argc - 1, argv + 1);
	if (strcmp(argv[1], "archive") == 0)
		return cmd_archive(argc - 1, argv + 1);
usage:
	fprintf(stderr, "usage: jgwctl audit init|verify|tail|archive ...\n");
	return 2;
}
