/*
 * jgwctl.c — the operator's tool. Subcommands of other areas live beside
 * their modules (jgwctl.h); the daemon's commands go over the control
 * socket (gateway/control/control.h).
 *
 * Options may come before or after the command; -c names the
 * configuration every verb uses (the file `check` and `nft print` judge,
 * the socket the others ask), and the daemon is asked whatever that file
 * says now, errors included.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filters/policy/config.h"
#include "gateway/control/control.h"
#include "gateway/ctl/jgwctl.h"
#include "jgw_version.h"

#define DEFAULT_SOCKET "/run/jgw/control.sock"
#define DEFAULT_CONFIG "/etc/jgw/jgw.conf"
#define MAX_ARGS 32

static void usage(FILE *f)
{
	fprintf(f,
		"usage: jgwctl [-c CONFIG | -s SOCKET] [--json] [--comment TEXT] COMMAND\n"
		"files:\n"
		"  check [FILE]                      judge a configuration as jgwd would\n"
		"  nft print [FILE]                  the firewall ruleset of a configuration\n"
		"  audit init|verify|tail|archive .. audit key, records, archive (jgwctl audit -h)\n"
		"the running jgwd (read-only: any member of the control group):\n"
		"  status | stats | peers | version  state, counters, peers and tunnels\n"
		"  metrics                           the Prometheus exposition\n"
		"  quarantine list                   quarantined sources\n"
		"  config history                    every configuration loaded, with its operator\n"
		"  config show SHA|GEN               a kept configuration's files\n"
		"  config diff A B                   two kept configurations compared (diff -u)\n"
		"changes (root or the control admin group; each is an audit record):\n"
		"  reload [--confirm DURATION] [--force]\n"
		"                                    load the configuration; with --confirm the\n"
		"                                    previous one comes back unless confirmed\n"
		"  confirm                           keep the reload on trial\n"
		"  config rollback SHA|GEN [--confirm DURATION] [--force]\n"
		"                                    write a kept configuration back and load it\n"
		"  quarantine add ADDR [DURATION]    block a source (DURATION: 600, 30s, 10min, 2h, 7d)\n"
		"  quarantine del ADDR               release it\n"
		"  tunnel close ID                   end one tunnel (IDs: jgwctl peers)\n"
		"  audit epoch                       seal the audit epoch and move its key on\n"
		"options:\n"
		"  -c CONFIG       the configuration (default " DEFAULT_CONFIG "); its control socket\n"
		"  -s SOCKET       the control socket (default $JGW_CONTROL, else the one CONFIG names)\n"
		"  --json          status, stats, peers, version, config history: JSON, one object a line\n"
		"  --comment TEXT  a note for the audit record of a change\n"
		"  --force         reload even if the new management networks shut out this SSH session\n"
		"  --version       print the version\n");
}

struct opts {
	const char *sock, *conf, *comment;
	char *words[MAX_ARGS];          /* the command's words, then its options */
	int n, nwords;
	bool files;                     /* a verb on files (check, nft, audit) */
};

static bool file_verb_word(char **argv, int i, int argc)
{
	return strcmp(argv[i], "check") == 0 || strcmp(argv[i], "nft") == 0 ||
	       (strcmp(argv[i], "audit") == 0 && !(i + 1 < argc && strcmp(argv[i + 1], "epoch") == 0));
}

/* -s, -c, --comment, --version, -h anywhere; everything else is the
 * command's, words first (in order), then the options it takes itself.
 * The verbs on files (check, nft, audit ...) take their own options: for
 * them only what comes before the verb is jgwctl's. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	char *words[MAX_ARGS], *flags[MAX_ARGS];
	int nw = 0, nf = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool takes = strcmp(a, "-s") == 0 || strcmp(a, "-c") == 0 ||
			     strcmp(a, "--comment") == 0 || strcmp(a, "--confirm") == 0;

		if (nw == 0 && a[0] != '-' && file_verb_word(argv, i, argc)) {
			if (argc - i >= MAX_ARGS) {
				fprintf(stderr, "jgwctl: too many arguments\n");
				return 2;
			}
			memcpy(o->words, argv + i, (size_t)(argc - i) * sizeof(*argv));
			o->n = o->nwords = argc - i;
			o->files = true;
			return -1;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(a, "--version") == 0) {
			printf("jgwctl %s\n", JGW_VERSION);
			return 0;
		}
		if (takes && i + 1 >= argc) {
			fprintf(stderr, "jgwctl: %s needs a value\n", a);
			return 2;
		}
		if (nw + nf + 2 >= MAX_ARGS) {
			fprintf(stderr, "jgwctl: too many arguments\n");
			return 2;
		}
		if (strcmp(a, "-s") == 0)
			o->sock = argv[++i];
		else if (strcmp(a, "-c") == 0)
			o->conf = argv[++i];
		else if (strcmp(a, "--comment") == 0)
			o->comment = argv[++i];
		else if (strcmp(a, "--confirm") == 0) {
			flags[nf++] = argv[i];
			flags[nf++] = argv[++i];
		} else if (a[0] == '-' && a[1] == '-' && a[2])
			flags[nf++] = argv[i];
		else
			words[nw++] = argv[i];
	}
	if (nw == 0) {
		usage(stderr);
		return 2;
	}
	memcpy(o->words, words, (size_t)nw * sizeof(*words));
	memcpy(o->words + nw, flags, (size_t)nf * sizeof(*flags));
	o->n = nw + nf;
	o->nwords = nw;
	return -1;
}

/* SSH_CONNECTION is "client port server port": the client is where this
 * session comes from, which a reload must not shut out. */
static void add_via(struct opts *o, char *buf, size_t len)
{
	const char *ssh = getenv("SSH_CONNECTION");
	size_t n;

	if (!ssh || !*ssh || o->n + 2 >= MAX_ARGS)
		return;
	n = strcspn(ssh, " ");
	if (n == 0 || n >= len)
		return;
	memcpy(buf, ssh, n);
	buf[n] = '\0';
	o->words[o->n++] = "--via";
	o->words[o->n++] = buf;
}

static int daemon_call(const char *sock, struct opts *o)
{
	char line[CONTROL_LINE_MAX + 2], err[512];
	int rc;

	if (!control_format(o->n, o->words, line, sizeof(line), err, sizeof(err))) {
		fprintf(stderr, "jgwctl: %s (jgwctl -h)\n", err);
		return 2;
	}
	rc = control_call(sock, line, STDOUT_FILENO, STDERR_FILENO, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "jgwctl: %s\n", err);
	return rc == 0 ? 0 : 1;
}

/* Verbs on files, with -c as their file when none is given. */
static int file_verb(struct opts *o)
{
	char *argv[4] = { o->words[0], NULL, NULL, NULL };
	const char *w = o->words[0];

	if (strcmp(w, "check") == 0) {
		argv[1] = o->n > 1 ? o->words[1] : (char *)(o->conf ? o->conf : DEFAULT_CONFIG);
		return ctl_check_main(o->n > 2 ? o->n : 2, o->n > 2 ? o->words : argv);
	}
	if (strcmp(w, "nft") == 0) {
		if (o->n != 2 || !o->conf)
			return ctl_nft_main(o->n, o->words);
		argv[1] = o->words[1];
		argv[2] = (char *)o->conf;
		return ctl_nft_main(3, argv);
	}
	return ctl_audit_main(o->n, o->words);
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	char via[64], *sock_cfg = NULL;
	const char *sock;
	int rc = parse_args(argc, argv, &o);

	if (rc >= 0)
		return rc;
	if (o.files)
		return file_verb(&o);

	sock = o.sock ? o.sock : getenv("JGW_CONTROL");
	if (!sock || !*sock) {
		sock_cfg = cfg_control_socket(o.conf ? o.conf : DEFAULT_CONFIG);
		sock = sock_cfg ? sock_cfg : DEFAULT_SOCKET;
		if (o.conf && !sock_cfg)
			fprintf(stderr, "jgwctl: %s cannot be read; asking %s\n", o.conf, sock);
	}
	add_via(&o, via, sizeof(via));
	if (o.comment && o.n + 2 < MAX_ARGS) {
		o.words[o.n++] = "--";
		o.words[o.n++] = (char *)o.comment;
	}
	rc = -1;
	if (strcmp(o.words[0], "config") == 0)
		rc = ctl_config_main(sock, o.conf ? o.conf : DEFAULT_CONFIG, o.nwords, o.n, o.words);
	if (rc < 0)
		rc = daemon_call(sock, &o);
	free(sock_cfg);
	return rc;
}
