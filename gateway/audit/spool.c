/*
 * audit_spool.c — the line format and the spool layout shared by the
 * writer, the mirror and the verifier.
 *
 * A record line is, byte for byte:
 *   {"ts":"<27>","seq":N,"gw":"G","event":"E","epoch":K[,fields],"mac":"<64 hex>"}
 * The mac is always the last member; it covers the line without it: the
 * bytes from '{' up to `,"mac":"`, then the closing "}" (the newline is not
 * part of the line; see audit_chain_mac).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway/audit/chain.h"
#include "gateway/audit/spool.h"

static bool take(const char **p, const char *end, const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0)
		return false;
	*p += n;
	return true;
}

static bool take_u64(const char **p, const char *end, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	if (s >= end || *s < '0' || *s > '9' || (*s == '0' && s + 1 < end &&
	    s[1] >= '0' && s[1] <= '9'))
		return false;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	*out = v;
	return true;
}

static bool take_word(const char **p, const char *end, char *out, size_t cap)
{
	size_t n = 0;
	const char *s = *p;
	for (; s < end && *s != '"'; s++) {
		char c = *s;
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		      (c >= 'A' && c <= 'Z') || c == '_' || c == '-') || n + 1 >= cap)
			return false;
		out[n++] = c;
	}
	if (n == 0 || s >= end)
		return false;
	out[n] = '\0';
	*p = s + 1;
	return true;
}

static bool ts_shape_ok(const char *t)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
	for (size_t i = 0; i < sizeof(shape) - 1; i++) {
		if (shape[i] == 'd' ? (t[i] < '0' || t[i] > '9') : t[i] != shape[i])
			return false;
	}
	return true;
}

int audit_line_parse(const char *text, size_t len, struct audit_line *out)
{
	const char *p = text, *end = text + len;
	uint64_t epoch;

	memset(out, 0, sizeof(*out));
	if (len < 64 + AUDIT_MAC_TAIL)
		return -1;
	const char *tail = end - AUDIT_MAC_TAIL;
	if (memcmp(tail, AUDIT_MAC_TAG, sizeof(AUDIT_MAC_TAG) - 1) != 0 ||
	    end[-2] != '"' || end[-1] != '}' ||
	    audit_unhex(tail + sizeof(AUDIT_MAC_TAG) - 1, 2 * AUDIT_MAC_LEN, out->mac,
	                AUDIT_MAC_LEN) != 0)
		return -1;
	if (!take(&p, tail, "{\"ts\":\"") || tail - p < 27 || !ts_shape_ok(p))
		return -1;
	p += 27;
	if (!take(&p, tail, "\",\"seq\":") || !take_u64(&p, tail, &out->seq) ||
	    out->seq == 0 ||
	    !take(&p, tail, ",\"gw\":\"") || !take_word(&p, tail, out->gw, sizeof(out->gw)) ||
	    !take(&p, tail, ",\"event\":\"") ||
	    !take_word(&p, tail, out->event, sizeof(out->event)) ||
	    !take(&p, tail, ",\"epoch\":") || !take_u64(&p, tail, &epoch) ||
	    epoch > UINT32_MAX)
		return -1;
	if (p != tail && *p != ',')
		return -1;
	out->epoch = (uint32_t)epoch;
	out->text = text;
	out->len = len;
	out->body_len = (size_t)(tail - text);
	return 0;
}

const char *audit_line_find(const char *text, size_t len)
{
	static const char start[] = "{\"ts\":\"";
	if (len >= sizeof(start) - 1 && memcmp(text, start, sizeof(start) - 1) == 0)
		return text;
	const char *hit = memmem(text, len, start, sizeof(start) - 1);
	return hit;
}

static int cmp_u64(const void *a, const void *b)
{
	const uint64_t *x = *(const uint64_t *const *)a, *y = *(const uint64_t *const *)b;
	return *x < *y ? -1 : *x > *y;
}

int audit_spool_list(const char *dir, char ***names_out, uint64_t **firsts_out, size_t *n_out)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	size_t n = 0, cap = 0;
	uint64_t *firsts = NULL;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		unsigned long long first;
		int used = 0;
		if (sscanf(de->d_name, "audit-%20llu.jsonl%n", &first, &used) != 1 ||
		    de->d_name[used] != '\0' || strlen(de->d_name) != 32)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			uint64_t *grown = realloc(firsts, cap * sizeof(*firsts));
			if (!grown)
				goto fail;
			firsts = grown;
		}
		firsts[n++] = first;
	}
	closedir(d);
	d = NULL;
	/* Sort the numbers; names are rebuilt from them (one spelling per file). */
	uint64_t **ptrs = calloc(n ? n : 1, sizeof(*ptrs));
	char **names = calloc(n ? n : 1, sizeof(*names));
	uint64_t *sorted = calloc(n ? n : 1, sizeof(*sorted));
	if (!ptrs || !names || !sorted) {
		free(ptrs); free(names); free(sorted);
		goto fail;
	}
	for (size_t i = 0; i < n; i++)
		ptrs[i] = &firsts[i];
	qsort(ptrs, n, sizeof(*ptrs), cmp_u64);
	for (size_t i = 0; i < n; i++) {
		sorted[i] = *ptrs[i];
		names[i] = malloc(40);
		if (!names[i]) {
			audit_spool_list_free(names, sorted, i);
			free(ptrs);
			goto fail;
		}
		snprintf(names[i], 40, AUDIT_FILE_FMT, (unsigned long long)sorted[i]);
	}
	free(ptrs);
	free(firsts);
	*names_out = names;
	*firsts_out = sorted;
	*n_out = n;
	return 0;
fail:
	if (d)
		closedir(d);
	free(firsts);
	errno = ENOMEM;
	return -1;
}

void audit_spool_list_free(char **names, uint64_t *firsts, size_t n)
{
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
	free(firsts);
}

int audit_slurp(const char *path, char **buf_out, size_t *len_out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = errno ? errno : EINVAL;
		return -1;
	}
	size_t cap = (size_t)st.st_size + 1, len = 0;
	char *buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -1;
	}
	for (;;) {
		if (len + 1 >= cap) {
			char *grown = realloc(buf, cap * 2);
			if (!grown) {
				free(buf);
				close(fd);
				return -1;
			}
			buf = grown;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + len, cap - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	*buf_out = buf;
	*len_out = len;
	return 0;
}

uint64_t audit_seq_file_read(const char *dir, const char *name)
{
	char path[4096], *buf;
	size_t len;
	unsigned long long v = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (audit_slurp(path, &buf, &len) != 0)
		return 0;
	if (sscanf(buf, "%llu", &v) != 1)
		v = 0;
	free(buf);
	return v;
}
