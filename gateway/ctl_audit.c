/*
 * ctl_audit.c — jgwctl audit init | verify | tail.
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

#include "gateway/audit.h"
#include "gateway/audit_impl.h"
#include "gateway/jgwctl.h"

#define DEFAULT_SPOOL "/var/lib/jgw/audit"
#define DEFAULT_KEY   "/var/lib/jgw/audit.key"

int
audit_init_key(const char *key_out, const char *key_file, char *err, size_t errlen)
{
	uint8_t k0[AUDIT_KEY_LEN];
	char hex[2 * AUDIT_KEY_LEN + 2];
	struct stat st;
	int rc = -1;

	if (stat(key_file, &st) == 0) {
		snprintf(err, errlen, "%s exists: the chain already has a key "
		         "(a new k0 would start a new chain; remove it deliberately first)", key_file);
		return -1;
	}
	if (RAND_priv_bytes(k0, sizeof(k0)) != 1) {
		snprintf(err, errlen, "no randomness for k0");
		return -1;
	}
	audit_hex(k0, sizeof(k0), hex);
	strcat(hex, "\n");
	if (!key_out || strcmp(key_out, "-") == 0) {
		if (fputs(hex, stdout) == EOF || fflush(stdout) != 0) {
			snprintf(err, errlen, "stdout: %s", strerror(errno));
			goto out;
		}
	} else {
		/* Handed out once: never overwrite an earlier k0. */
		int fd = open(key_out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0400);
		if (fd < 0) {
			snprintf(err, errlen, "%s: %s", key_out, strerror(errno));
			goto out;
		}
		ssize_t w = write(fd, hex, strlen(hex));
		if (w != (ssize_t)strlen(hex) || fsync(fd) != 0) {
			snprintf(err, errlen, "%s: %s", key_out, strerror(errno ? errno : EIO));
			close(fd);
			unlink(key_out);
			goto out;
		}
		close(fd);
	}
	rc = audit_key_store(key_file, 0, k0, err, errlen);
out:
	OPENSSL_cleanse(k0, sizeof(k0));
	OPENSSL_cleanse(hex, sizeof(hex));
	return rc;
}

static int
cmd_init(int argc, char **argv)
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
static int
expand(const char *path, char ***list, size_t *n, size_t *cap)
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

static int
cmd_verify(int argc, char **argv)
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
	        "  PATH: spool files or a collector's copy, in order, or a spool directory\n"
	        "  exit: 0 intact and sealed, 3 intact with warnings (1 with --strict), 1 bad\n");
	return 2;
}

/* One record as a readable line: "ts seq event epoch key=value ...".
 * Values are printed as they stand in the JSON (escaped, so no control
 * characters reach the terminal). */
static void
print_human(const struct audit_line *l, FILE *out)
{
	fprintf(out, "%.27s #%llu %-10s e%u", l->text + 7, (unsigned long long)l->seq,
	        l->event, l->epoch);
	const char *p = memchr(l->text, ',', l->body_len), *end = l->text + l->body_len;
	/* Skip the five fixed members. */
	for (int skip = 0; p && skip < 4; skip++)
		p = memchr(p + 1, ',', (size_t)(end - p - 1));
	while (p && p < end) {
		const char *k = p + 2, *kq = memchr(k, '"', (size_t)(end - k));
		if (!kq || kq + 2 > end)
			break;
		const char *v = kq + 2, *q = v;
		bool in_str = false;
		for (; q < end; q++) {
			if (in_str && *q == '\\') {
				q++;
				continue;
			}
			if (*q == '"')
				in_str = !in_str;
			else if (!in_str && *q == ',')
				break;
		}
		const char *vs = v, *ve = q;
		if (ve - vs >= 2 && *vs == '"') {
			vs++;
			ve--;
		}
		fprintf(out, " %.*s=%.*s", (int)(kq - k), k, (int)(ve - vs), vs);
		p = q < end ? q : NULL;
	}
	fputc('\n', out);
}

static void
print_buf(const char *buf, size_t len, size_t skip_to_last, FILE *out)
{
	size_t total = 0;
	for (const char *p = buf; (p = memchr(p, '\n', (size_t)(buf + len - p))); p++)
		total++;
	size_t idx = 0;
	for (const char *p = buf, *nl; p < buf + len && (nl = memchr(p, '\n', (size_t)(buf + len - p)));
	     p = nl + 1, idx++) {
		struct audit_line l;
		if (total - idx > skip_to_last)
			continue;
		const char *s = audit_line_find(p, (size_t)(nl - p));
		if (s && audit_line_parse(s, (size_t)(nl - s), &l) == 0)
			print_human(&l, out);
		else
			fprintf(out, "(not a record: %zu bytes)\n", (size_t)(nl - p));
	}
}

/* The spool file right after the one starting at `after`. */
static int
next_file(const char *dir, uint64_t after, char *path, size_t cap, uint64_t *first)
{
	char **names;
	uint64_t *firsts;
	size_t n;
	int rc = -1;
	if (audit_spool_list(dir, &names, &firsts, &n) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (firsts[i] > after) {
			snprintf(path, cap, "%s/%s", dir, names[i]);
			*first = firsts[i];
			rc = 0;
			break;
		}
	}
	audit_spool_list_free(names, firsts, n);
	return rc;
}

static void
print_fragment(size_t n, FILE *out)
{
	fprintf(out, "(not a record: %zu bytes)\n", n);
}

/* Read to the end of the file, printing every whole line; an unfinished
 * line waits in chunk for the rest. */
static int
follow_read(struct audit_follow *f, FILE *out)
{
	for (;;) {
		ssize_t r = read(f->fd, f->chunk + f->have, sizeof(f->chunk) - f->have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -1 : 0;
		f->have += (size_t)r;
		size_t upto = f->have;
		while (upto > 0 && f->chunk[upto - 1] != '\n')
			upto--;
		print_buf(f->chunk, upto, SIZE_MAX, out);
		memmove(f->chunk, f->chunk + upto, f->have - upto);
		f->have -= upto;
		if (f->have == sizeof(f->chunk)) {   /* longer than any record */
			print_fragment(f->have, out);
			f->have = 0;
		}
	}
}

int
audit_follow_open(struct audit_follow *f, const char *dir, const char *path,
                  uint64_t first, off_t at)
{
	f->dir = dir;
	f->first = first;
	f->have = 0;
	f->at_end = NULL;
	f->at_end_arg = NULL;
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return -1;
	if (lseek(f->fd, at, SEEK_SET) < 0) {
		audit_follow_close(f);
		return -1;
	}
	return 0;
}

void
audit_follow_close(struct audit_follow *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

/* After an fdatasync error the writer cuts its file back to the last
 * committed record, and a file without one is made anew under the same
 * name: follow the file that now has the name, or its new end. What was
 * cut was never committed. 1: moved, 0: nothing changed. */
static int
follow_cut(struct audit_follow *f)
{
	struct stat named, open_st;
	if (stat(f->path, &named) != 0 || fstat(f->fd, &open_st) != 0)
		return 0;
	if (named.st_ino != open_st.st_ino || named.st_dev != open_st.st_dev) {
		int fd = open(f->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return 0;
		close(f->fd);
		f->fd = fd;
		f->have = 0;
		return 1;
	}
	off_t at = lseek(f->fd, 0, SEEK_CUR);
	if (at < 0 || open_st.st_size >= at)
		return 0;
	f->have = 0;
	return lseek(f->fd, open_st.st_size, SEEK_SET) < 0 ? 0 : 1;
}

int
audit_follow_poll(struct audit_follow *f, FILE *out)
{
	char next[4096];
	uint64_t nfirst;
	if (follow_read(f, out) != 0)
		return -1;
	if (f->at_end)
		f->at_end(f->at_end_arg);
	if (!f->dir)
		return 0;
	if (next_file(f->dir, f->first, next, sizeof(next), &nfirst) != 0)
		return follow_cut(f);
	/* The writer starts a file only once the one before is complete, but
	 * its last write may have landed after the read above found the end:
	 * read to the end again, and print all of it, a torn last line
	 * included, before moving on; nothing read is left behind. */
	if (follow_read(f, out) != 0)
		return -1;
	if (f->have > 0)
		print_fragment(f->have, out);
	f->have = 0;
	int fd = open(next, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	close(f->fd);
	f->fd = fd;
	f->first = nfirst;
	snprintf(f->path, sizeof(f->path), "%s", next);
	return 1;
}

static volatile sig_atomic_t tail_stop;
static void on_signal(int sig) { (void)sig; tail_stop = 1; }

static int
newest_file(const char *dir, char *path, size_t cap, uint64_t *first)
{
	char **names = NULL;
	uint64_t *firsts = NULL;
	size_t n = 0;
	if (audit_spool_list(dir, &names, &firsts, &n) != 0 || n == 0) {
		if (n == 0 && names)
			audit_spool_list_free(names, firsts, n);
		return -1;
	}
	snprintf(path, cap, "%s/%s", dir, names[n - 1]);
	*first = firsts[n - 1];
	audit_spool_list_free(names, firsts, n);
	return 0;
}

static int
cmd_tail(int argc, char **argv)
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
		if (newest_file(target, path, sizeof(path), &first) != 0) {
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
	print_buf(buf, done, (size_t)count, stdout);
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

int
ctl_audit_main(int argc, char **argv)
{
	if (argc < 2)
		goto usage;
	if (strcmp(argv[1], "init") == 0)
		return cmd_init(argc - 1, argv + 1);
	if (strcmp(argv[1], "verify") == 0)
		return cmd_verify(argc - 1, argv + 1);
	if (strcmp(argv[1], "tail") == 0)
		return cmd_tail(argc - 1, argv + 1);
usage:
	fprintf(stderr, "usage: jgwctl audit init|verify|tail ...\n");
	return 2;
}
