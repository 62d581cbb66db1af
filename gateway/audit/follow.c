/*
 * follow.c — reading a spool as it grows: records as readable lines (jgwctl
 * audit tail), the newest file, and following a file across rotations and
 * the writer's cut-backs (tail -f).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway/audit/chain.h"
#include "gateway/audit/spool.h"

/* One record as a readable line: "ts seq event epoch key=value ...".
 * Values are printed as they stand in the JSON (escaped, so no control
 * characters reach the terminal). */
static void print_human(const struct audit_line *l, FILE *out)
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

void audit_print_records(const char *buf, size_t len, size_t skip_to_last, FILE *out)
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
static int next_file(const char *dir, uint64_t after, char *path, size_t cap, uint64_t *first)
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

static void print_fragment(size_t n, FILE *out)
{
	fprintf(out, "(not a record: %zu bytes)\n", n);
}

/* Read to the end of the file, printing every whole line; an unfinished
 * line waits in chunk for the rest. */
static int follow_read(struct audit_follow *f, FILE *out)
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
		audit_print_records(f->chunk, upto, SIZE_MAX, out);
		memmove(f->chunk, f->chunk + upto, f->have - upto);
		f->have -= upto;
		if (f->have == sizeof(f->chunk)) {   /* longer than any record */
			print_fragment(f->have, out);
			f->have = 0;
		}
	}
}

int audit_follow_open(struct audit_follow *f, const char *dir, const char *path,
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

void audit_follow_close(struct audit_follow *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

/* After an fdatasync error the writer cuts its file back to the last
 * committed record, and a file without one is made anew under the same
 * name: follow the file that now has the name, or its new end. What was
 * cut was never committed. 1: moved, 0: nothing changed. */
static int follow_cut(struct audit_follow *f)
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

int audit_follow_poll(struct audit_follow *f, FILE *out)
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

int audit_spool_newest(const char *dir, char *path, size_t cap, uint64_t *first)
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

