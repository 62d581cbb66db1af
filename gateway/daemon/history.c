/* history.c — the configuration history (history.h). */
#include "gateway/daemon/history.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "filters/base/fdio.h"

#define MAX_KEPT_FILE ((size_t)4 << 20)   /* the loader reads no more per file */

void history_dir(const struct jgw_config *cfg, char *out, size_t len)
{
	const char *key = cfg->audit.key_file, *slash = strrchr(key, '/');

	if (!slash)
		snprintf(out, len, "config");
	else
		snprintf(out, len, "%.*s/config", (int)(slash - key), key);
}

static bool is_sha(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");

	return n == 64 && s[64] == '\0';
}

static int write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	int rc;

	if (fd < 0)
		return -1;
	rc = fd_write_all(fd, data, len) && fsync(fd) == 0 ? 0 : -1;
	close(fd);
	return rc;
}

static int mkdirs(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s", dir);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0750) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(path, 0750) != 0 && errno != EEXIST ? -1 : 0;
}

int history_init(const char *dir, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	char objects[PATH_MAX + 16];

	snprintf(objects, sizeof(objects), "%s/objects", dir);
	if (mkdirs(objects) != 0) {
		snprintf(err, errlen, "configuration history %s: %s", objects, strerror(errno));
		return -1;
	}
	if (uid == (uid_t)-1 && gid == (gid_t)-1)
		return 0;
	if (chown(dir, uid, gid) != 0 || chown(objects, uid, gid) != 0) {
		snprintf(err, errlen, "configuration history %s: %s", dir, strerror(errno));
		return -1;
	}
	/* The index is appended to after the drop (a first run as root made it). */
	snprintf(objects, sizeof(objects), "%s/index", dir);
	if (chown(objects, uid, gid) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "configuration history %s: %s", objects, strerror(errno));
		return -1;
	}
	return 0;
}

/* The files into a temporary directory, then one rename: a kept object is
 * whole or absent. */
static int keep_files(const char *tmp, const struct cfg_source *src, size_t n)
{
	char path[PATH_MAX + 128], line[PATH_MAX + 64];   /* tmp is PATH_MAX + 96 */
	size_t mlen = 0, mcap = 0;
	char *manifest = NULL;
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		int k = snprintf(line, sizeof(line), "%zu\t%zu\t%s\n", i, src[i].len, src[i].path);
		char *grown;

		snprintf(path, sizeof(path), "%s/%zu", tmp, i);
		if (write_file(path, src[i].data, src[i].len) != 0 || k < 0 || (size_t)k >= sizeof(line)) {
			rc = -1;
			break;
		}
		if (mlen + (size_t)k > mcap) {
			mcap = (mlen + (size_t)k) * 2;
			if (!(grown = realloc(manifest, mcap))) {
				rc = -1;
				break;
			}
			manifest = grown;
		}
		memcpy(manifest + mlen, line, (size_t)k);
		mlen += (size_t)k;
	}
	snprintf(path, sizeof(path), "%s/manifest", tmp);
	if (rc == 0)
		rc = write_file(path, manifest ? manifest : "", mlen);
	free(manifest);
	return rc;
}

int history_keep(const char *dir, const struct jgw_config *cfg, char *err, size_t errlen)
{
	const struct cfg_source *src;
	size_t n = cfg_sources(cfg, &src);
	char obj[PATH_MAX + 80], tmp[PATH_MAX + 96];
	struct stat st;
	int dfd;

	snprintf(obj, sizeof(obj), "%s/objects/%s", dir, cfg->sha256);
	if (stat(obj, &st) == 0)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s/objects/.%s.%d", dir, cfg->sha256, (int)getpid());
	if (mkdirs(tmp) != 0 || keep_files(tmp, src, n) != 0 || rename(tmp, obj) != 0) {
		snprintf(err, errlen, "configuration history %s: %s", obj, strerror(errno));
		return -1;
	}
	/* The rename is durable before the index names it. */
	snprintf(tmp, sizeof(tmp), "%s/objects", dir);
	if ((dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* Index fields are the program's own words and codes; an operator name
 * with a tab or a newline would break the line, so those become '_'. */
static void clean(char *s)
{
	for (; *s; s++)
		if (*s == '\t' || *s == '\n' || *s == '\r')
			*s = '_';
}

int history_note(const char *dir, const struct history_entry *e, char *err, size_t errlen)
{
	struct history_entry c = *e;
	char path[PATH_MAX], line[512];
	int fd, n, rc;

	clean(c.operator);
	clean(c.action);
	clean(c.outcome);
	snprintf(path, sizeof(path), "%s/index", dir);
	n = snprintf(line, sizeof(line), "%llu\t%lld\t%s\t%s\t%s\t%s\n",
		     (unsigned long long)c.generation, (long long)c.time_s, c.sha,
		     c.operator[0] ? c.operator : "-", c.action, c.outcome);
	if (mkdirs(dir) != 0 || (fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640)) < 0) {
		snprintf(err, errlen, "configuration history %s: %s", path, strerror(errno));
		return -1;
	}
	rc = fd_write_all(fd, line, (size_t)n) && fdatasync(fd) == 0 ? 0 : -1;
	if (rc != 0)
		snprintf(err, errlen, "configuration history %s: %s", path, strerror(errno));
	close(fd);
	return rc;
}

static bool parse_entry(char *line, struct history_entry *e)
{
	char *f[6], *save = NULL;
	int n = 0;

	for (char *t = strtok_r(line, "\t\n", &save); t && n < 6; t = strtok_r(NULL, "\t\n", &save))
		f[n++] = t;
	if (n != 6 || !is_sha(f[2]))
		return false;
	memset(e, 0, sizeof(*e));
	e->generation = strtoull(f[0], NULL, 10);
	e->time_s = strtoll(f[1], NULL, 10);
	snprintf(e->sha, sizeof(e->sha), "%s", f[2]);
	snprintf(e->operator, sizeof(e->operator), "%s", f[3]);
	snprintf(e->action, sizeof(e->action), "%s", f[4]);
	snprintf(e->outcome, sizeof(e->outcome), "%s", f[5]);
	return true;
}

int history_list(const char *dir, history_entry_fn fn, void *arg, char *err, size_t errlen)
{
	char path[PATH_MAX], line[512];
	struct history_entry e;
	FILE *f;

	snprintf(path, sizeof(path), "%s/index", dir);
	if (!(f = fopen(path, "re"))) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "configuration history %s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f))
		if (parse_entry(line, &e))
			fn(arg, &e);
	fclose(f);
	return 0;
}

struct resolve {
	uint64_t generation;
	char sha[65];
	bool found;
};

static void by_generation(void *arg, const struct history_entry *e)
{
	struct resolve *r = arg;

	/* The last loaded configuration of that generation. */
	if (e->generation == r->generation && strcmp(e->outcome, "ok") == 0) {
		memcpy(r->sha, e->sha, sizeof(r->sha));
		r->found = true;
	}
}

/* A sha256 prefix: exactly one kept object starts with it. */
static int by_prefix(const char *dir, const char *ref, char sha[65], char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct dirent *de;
	size_t n = strlen(ref);
	int hits = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/objects", dir);
	if (!(d = opendir(path))) {
		snprintf(err, errlen, "no configuration history in %s", dir);
		return -1;
	}
	while ((de = readdir(d)))
		if (is_sha(de->d_name) && strncmp(de->d_name, ref, n) == 0 && hits++ == 0)
			memcpy(sha, de->d_name, 65);
	closedir(d);
	if (hits == 1)
		return 0;
	if (hits)
		snprintf(err, errlen, "%s names %d kept configurations: give more digits", ref, hits);
	else
		snprintf(err, errlen, "no kept configuration has a sha256 starting %s", ref);
	return -1;
}

int history_resolve(const char *dir, const char *ref, char sha[65], char *err, size_t errlen)
{
	size_t digits = strspn(ref, "0123456789"), hex = strspn(ref, "0123456789abcdef");

	if (ref[digits] == '\0' && digits > 0 && digits < 8) {
		struct resolve r = { .generation = strtoull(ref, NULL, 10) };

		if (history_list(dir, by_generation, &r, err, errlen) != 0)
			return -1;
		if (!r.found) {
			snprintf(err, errlen, "no configuration of generation %s in the history", ref);
			return -1;
		}
		memcpy(sha, r.sha, 65);
		return 0;
	}
	if (ref[hex] != '\0' || hex < 8) {
		snprintf(err, errlen, "not a generation or a sha256 (8 to 64 hex digits): `%s'", ref);
		return -1;
	}
	return by_prefix(dir, ref, sha, err, errlen);
}

static char *read_small(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && (size_t)n <= MAX_KEPT_FILE &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL) {
		*len = fread(buf, 1, (size_t)n, f);
		buf[*len] = '\0';
	}
	fclose(f);
	return buf;
}

int history_files(const char *dir, const char *sha, history_file_fn fn, void *arg,
		  char *err, size_t errlen)
{
	char path[PATH_MAX + 96], *manifest, *save = NULL;
	size_t mlen = 0;

	if (!is_sha(sha)) {
		snprintf(err, errlen, "not a sha256: `%s'", sha);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/objects/%s/manifest", dir, sha);
	if (!(manifest = read_small(path, &mlen))) {
		snprintf(err, errlen, "configuration %s is not kept: %s", sha, strerror(errno));
		return -1;
	}
	for (char *line = strtok_r(manifest, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *tab1 = strchr(line, '\t'), *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
		size_t len = 0;
		char *data;

		if (!tab2)
			continue;
		*tab1 = '\0';
		snprintf(path, sizeof(path), "%s/objects/%s/%s", dir, sha, line);
		if (!(data = read_small(path, &len))) {
			snprintf(err, errlen, "configuration %s: file %s: %s", sha, line, strerror(errno));
			free(manifest);
			return -1;
		}
		fn(arg, tab2 + 1, data, len);
		free(data);
	}
	free(manifest);
	return 0;
}
