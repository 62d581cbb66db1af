/*
 * ctl_config.c — jgwctl config history | show | diff | rollback: the
 * configurations jgwd has loaded, as it keeps them (history.h).
 *
 * `show` and `diff` only read. `rollback` writes the kept files back where
 * they were read from, then asks jgwd to reload them as a rollback: jgwd
 * judges them as any reload and refuses unless they are exactly the kept
 * configuration (its sha256); on a refusal the files are put back as they
 * were, so the disk and the daemon keep agreeing.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gateway/control/control.h"
#include "gateway/ctl/jgwctl.h"

#define MAX_FILES 256

struct kept_file {
	char *path;
	char *data;
	size_t len;
};

struct kept {
	char sha[65];
	struct kept_file file[MAX_FILES];
	size_t n;
};

static void kept_free(struct kept *k)
{
	for (size_t i = 0; i < k->n; i++) {
		free(k->file[i].path);
		free(k->file[i].data);
	}
	k->n = 0;
}

static bool append(struct kept_file *f, size_t *cap, const char *p, size_t n)
{
	if (f->len + n + 1 > *cap) {
		size_t c = *cap ? *cap : 4096;
		char *nb;

		while (c < f->len + n + 1)
			c *= 2;
		if (!(nb = realloc(f->data, c)))
			return false;
		f->data = nb;
		*cap = c;
	}
	memcpy(f->data + f->len, p, n);
	f->len += n;
	f->data[f->len] = '\0';
	return true;
}

/* A file's text ends without its last newline: put it back when the size
 * says there was one, and refuse any other difference. */
static bool file_close(struct kept_file *f, size_t *cap, size_t want, char *err, size_t errlen)
{
	if (f->len + 1 == want && !append(f, cap, "\n", 1)) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	if (f->len != want) {
		snprintf(err, errlen, "%s: %zu bytes kept, %zu shown: it cannot be shown as text",
			 f->path, want, f->len);
		return false;
	}
	return true;
}

/* Parse the answer of "config show": "config SHA", then per file
 * "file PATH BYTES" and its lines ("> " starts one, "+ " continues it). */
static bool parse_show(char *text, struct kept *k, char *err, size_t errlen)
{
	struct kept_file *f = NULL;
	size_t cap = 0, want = 0;
	bool first = true;
	char *save = NULL;

	memset(k, 0, sizeof(*k));
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "config ", 7) == 0) {
			snprintf(k->sha, sizeof(k->sha), "%s", line + 7);
		} else if (strncmp(line, "file ", 5) == 0) {
			char *sp = strrchr(line + 5, ' ');

			if (f && !file_close(f, &cap, want, err, errlen))
				return false;
			if (!sp || k->n == MAX_FILES) {
				snprintf(err, errlen, "malformed answer");
				return false;
			}
			*sp = '\0';
			want = strtoull(sp + 1, NULL, 10);
			f = &k->file[k->n++];
			if (!(f->path = strdup(line + 5)) || !(f->data = strdup(""))) {
				snprintf(err, errlen, "out of memory");
				return false;
			}
			cap = 1;
			first = true;
		} else if (f && (line[0] == '>' || line[0] == '+') && line[1] == ' ') {
			if ((line[0] == '>' && !first && !append(f, &cap, "\n", 1)) ||
			    !append(f, &cap, line + 2, strlen(line + 2))) {
				snprintf(err, errlen, "out of memory");
				return false;
			}
			first = false;
		} else if (f && (line[0] == '>' || line[0] == '+') && line[1] == '\0') {
			/* An empty line: the reply's trailing space may be gone. */
			if (line[0] == '>' && !first && !append(f, &cap, "\n", 1)) {
				snprintf(err, errlen, "out of memory");
				return false;
			}
			first = false;
		}
	}
	if (f && !file_close(f, &cap, want, err, errlen))
		return false;
	if (strlen(k->sha) != 64) {
		snprintf(err, errlen, "malformed answer");
		return false;
	}
	return true;
}

/* Ask jgwd, and hold the data lines in memory. 0, 1 (jgwd said error: on
 * stderr), -1 (no answer: err). */
static int call_capture(const char *sock, const char *line, char **out, char *err, size_t errlen)
{
	FILE *tmp = tmpfile();
	long n;
	int rc;

	*out = NULL;
	if (!tmp) {
		snprintf(err, errlen, "temporary file: %s", strerror(errno));
		return -1;
	}
	rc = control_call(sock, line, fileno(tmp), STDERR_FILENO, err, errlen);
	if (rc == 0) {
		if (fseek(tmp, 0, SEEK_END) != 0 || (n = ftell(tmp)) < 0 || fseek(tmp, 0, SEEK_SET) != 0 ||
		    !(*out = malloc((size_t)n + 1)) || fread(*out, 1, (size_t)n, tmp) != (size_t)n) {
			snprintf(err, errlen, "reading the answer: %s", strerror(errno));
			free(*out);
			*out = NULL;
			rc = -1;
		} else {
			(*out)[n] = '\0';
		}
	}
	fclose(tmp);
	return rc;
}

static int fetch(const char *sock, const char *ref, struct kept *k)
{
	char line[CONTROL_LINE_MAX + 2], err[512], *text;
	const char *argv[] = { "config", "show", ref };
	int rc;

	if (!control_format(3, (char *const *)argv, line, sizeof(line), err, sizeof(err))) {
		fprintf(stderr, "jgwctl: %s\n", err);
		return 2;
	}
	rc = call_capture(sock, line, &text, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "jgwctl: %s\n", err);
	if (rc != 0)
		return 1;
	if (!parse_show(text, k, err, sizeof(err))) {
		fprintf(stderr, "jgwctl: config show %s: %s\n", ref, err);
		free(text);
		kept_free(k);
		return 1;
	}
	free(text);
	return 0;
}

/* As an operator reads it, and as diff compares it. */
static void render(FILE *out, const struct kept *k)
{
	fprintf(out, "# configuration %s\n", k->sha);
	for (size_t i = 0; i < k->n; i++) {
		fprintf(out, "# file %s (%zu bytes)\n", k->file[i].path, k->file[i].len);
		fwrite(k->file[i].data, 1, k->file[i].len, out);
		if (k->file[i].len && k->file[i].data[k->file[i].len - 1] != '\n')
			fputs("\n# (no newline at the end of the file)\n", out);
	}
}

static int cmd_diff(const char *sock, const char *a, const char *b)
{
	struct kept ka, kb;
	char pa[] = "/tmp/jgwctl-diff-XXXXXX", pb[] = "/tmp/jgwctl-diff-XXXXXX";
	int fa = -1, fb = -1, rc = 2, status;
	FILE *fpa = NULL, *fpb = NULL;
	pid_t pid;

	if (fetch(sock, a, &ka) != 0)
		return 2;
	if (fetch(sock, b, &kb) != 0) {
		kept_free(&ka);
		return 2;
	}
	if ((fa = mkstemp(pa)) < 0 || (fb = mkstemp(pb)) < 0 || !(fpa = fdopen(fa, "w")) ||
	    !(fpb = fdopen(fb, "w"))) {
		fprintf(stderr, "jgwctl: temporary file: %s\n", strerror(errno));
		goto out;
	}
	fa = fb = -1;
	render(fpa, &ka);
	render(fpb, &kb);
	if (fclose(fpa) != 0 || fclose(fpb) != 0) {
		fpa = fpb = NULL;
		fprintf(stderr, "jgwctl: temporary file: %s\n", strerror(errno));
		goto out;
	}
	fpa = fpb = NULL;
	fflush(stdout);
	if ((pid = fork()) == 0) {
		execlp("diff", "diff", "-u", "--label", a, "--label", b, pa, pb, (char *)NULL);
		fprintf(stderr, "jgwctl: diff: %s\n", strerror(errno));
		_exit(2);
	}
	if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status))
		rc = WEXITSTATUS(status);
out:
	if (fpa)
		fclose(fpa);
	if (fpb)
		fclose(fpb);
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	unlink(pa);
	unlink(pb);
	kept_free(&ka);
	kept_free(&kb);
	return rc;
}

/* Only where configurations live: under the top file's directory, no "..",
 * absolute. jgwd's account writes the history; root must not write for it
 * anywhere else. */
static bool safe_path(const char *path, const char *conf_dir)
{
	size_t n = strlen(conf_dir);

	return path[0] == '/' && strncmp(path, conf_dir, n) == 0 && path[n] == '/' &&
	       !strstr(path, "/../") && !strstr(path, "/./") && strlen(path) < PATH_MAX - 16;
}

/* Replace a file as a whole (a reader sees the old or the new one), with
 * the owner and mode of the one it replaces (0640 for a new one). */
static int write_file(const char *path, const char *data, size_t len)
{
	char tmp[PATH_MAX];
	struct stat st;
	bool had = stat(path, &st) == 0;
	int fd, rc = -1;

	snprintf(tmp, sizeof(tmp), "%s.jgwctl-%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, had ? st.st_mode & 07777 : 0640);
	if (fd < 0)
		return -1;
	if ((!had || fchown(fd, st.st_uid, st.st_gid) == 0) &&
	    (size_t)write(fd, data, len) == len && fsync(fd) == 0)
		rc = 0;
	if (close(fd) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -1;
	if (rc != 0)
		unlink(tmp);
	return rc;
}

/* The files as they are now (to put back), NULL data where none was. */
static int save_current(const struct kept *k, struct kept *now)
{
	memset(now, 0, sizeof(*now));
	for (size_t i = 0; i < k->n; i++) {
		struct kept_file *f = &now->file[now->n++];
		FILE *in = fopen(k->file[i].path, "re");
		size_t cap = 0;
		char buf[8192];
		size_t r;

		if (!(f->path = strdup(k->file[i].path)))
			return -1;
		if (!in)
			continue;
		while ((r = fread(buf, 1, sizeof(buf), in)) > 0)
			if (!append(f, &cap, buf, r)) {
				fclose(in);
				return -1;
			}
		fclose(in);
		if (!f->data && !(f->data = strdup("")))
			return -1;
	}
	return 0;
}

static void put_back(const struct kept *now)
{
	for (size_t i = 0; i < now->n; i++) {
		const struct kept_file *f = &now->file[i];

		if (f->data ? write_file(f->path, f->data, f->len) != 0 : unlink(f->path) != 0)
			fprintf(stderr, "jgwctl: could not put %s back: %s\n", f->path, strerror(errno));
	}
}

static int cmd_rollback(const char *sock, const char *conf, int argc, char **argv)
{
	char line[CONTROL_LINE_MAX + 2], err[512], dir[PATH_MAX];
	struct kept k, now;
	int rc;

	snprintf(dir, sizeof(dir), "%s", conf);
	snprintf(dir, sizeof(dir), "%s", dirname(dir));
	if (fetch(sock, argv[2], &k) != 0)
		return 1;
	for (size_t i = 0; i < k.n; i++) {
		if (!safe_path(k.file[i].path, dir)) {
			fprintf(stderr, "jgwctl: rollback: %s is not under %s: not written (give -c "
				"with the configuration's top file)\n", k.file[i].path, dir);
			kept_free(&k);
			return 1;
		}
	}
	if (save_current(&k, &now) != 0) {
		fprintf(stderr, "jgwctl: out of memory\n");
		kept_free(&k);
		kept_free(&now);
		return 1;
	}
	for (size_t i = 0; i < k.n; i++) {
		if (write_file(k.file[i].path, k.file[i].data, k.file[i].len) != 0) {
			fprintf(stderr, "jgwctl: rollback: writing %s: %s\n", k.file[i].path,
				strerror(errno));
			put_back(&now);
			kept_free(&k);
			kept_free(&now);
			return 1;
		}
	}
	/* The daemon reloads them and insists on this very configuration. */
	argv[2] = k.sha;
	rc = control_format(argc, argv, line, sizeof(line), err, sizeof(err)) ?
	     control_call(sock, line, STDOUT_FILENO, STDERR_FILENO, err, sizeof(err)) : -1;
	if (rc < 0)
		fprintf(stderr, "jgwctl: %s\n", err);
	if (rc != 0) {
		put_back(&now);
		fprintf(stderr, "jgwctl: rollback refused: the files are as they were\n");
	}
	kept_free(&k);
	kept_free(&now);
	return rc == 0 ? 0 : 1;
}

int ctl_config_main(const char *sock, const char *conf, int nwords, int argc, char **argv)
{
	struct kept k;

	if (nwords == 3 && strcmp(argv[1], "show") == 0) {
		if (fetch(sock, argv[2], &k) != 0)
			return 1;
		render(stdout, &k);
		kept_free(&k);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	if (nwords == 4 && strcmp(argv[1], "diff") == 0)
		return cmd_diff(sock, argv[2], argv[3]);
	if (nwords == 3 && strcmp(argv[1], "rollback") == 0)
		return cmd_rollback(sock, conf, argc, argv);
	return -1;   /* history, or a usage error: the plain request path */
}
