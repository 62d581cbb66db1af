/* proto.c — the control socket's line protocol: parse and format requests. */
#include "gateway/control/control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORDS 5

bool control_parse_timeout(const char *word, uint32_t *seconds)
{
	unsigned long long v = 0, unit = 1;
	const char *p = word;

	if (!*p)
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned long long)(*p - '0');
		if (v > CONTROL_TIMEOUT_MAX)
			return false;
	}
	if (p == word)
		return false;
	if (*p == 's')
		p++;
	else if (*p == 'm')
		unit = 60, p++;
	else if (*p == 'h')
		unit = 3600, p++;
	if (*p || v == 0 || v * unit > CONTROL_TIMEOUT_MAX)
		return false;
	*seconds = (uint32_t)(v * unit);
	return true;
}

/* Split on single spaces/tabs; false on too many words. */
static int split(char *buf, char **words)
{
	int n = 0;
	char *save = NULL;

	for (char *w = strtok_r(buf, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (n == MAX_WORDS)
			return -1;
		words[n++] = w;
	}
	return n;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static bool parse_words(int n, char **w, struct control_req *req, char *err, size_t errlen)
{
	static const struct { const char *name; enum control_cmd cmd; } simple[] = {
		{ "status", CONTROL_STATUS }, { "stats", CONTROL_STATS },
		{ "reload", CONTROL_RELOAD }, { "peers", CONTROL_PEERS },
		{ "metrics", CONTROL_METRICS },
	};

	memset(req, 0, sizeof(*req));
	if (n == 0) {
		snprintf(err, errlen, "empty request");
		return false;
	}
	for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
		if (strcmp(w[0], simple[i].name) != 0)
			continue;
		if (n != 1) {
			snprintf(err, errlen, "%s takes no argument: `%s'", w[0], w[1]);
			return false;
		}
		req->cmd = simple[i].cmd;
		return true;
	}
	if (strcmp(w[0], "quarantine") != 0) {
		snprintf(err, errlen, "unknown command `%s'", w[0]);
		return false;
	}
	if (n < 2) {
		snprintf(err, errlen, "quarantine needs add, del or list");
		return false;
	}
	if (strcmp(w[1], "list") == 0) {
		if (n != 2) {
			snprintf(err, errlen, "quarantine list takes no argument: `%s'", w[2]);
			return false;
		}
		req->cmd = CONTROL_QUAR_LIST;
		return true;
	}
	if (strcmp(w[1], "add") == 0)
		req->cmd = CONTROL_QUAR_ADD;
	else if (strcmp(w[1], "del") == 0)
		req->cmd = CONTROL_QUAR_DEL;
	else {
		snprintf(err, errlen, "quarantine: unknown action `%s'", w[1]);
		return false;
	}
	if (n < 3) {
		snprintf(err, errlen, "quarantine %s needs an address", w[1]);
		return false;
	}
	if (!addr_prefix_parse(w[2], &req->addr)) {
		snprintf(err, errlen, "not an address or prefix: `%s'", w[2]);
		return false;
	}
	if (req->cmd == CONTROL_QUAR_DEL && n > 3) {
		snprintf(err, errlen, "quarantine del takes one address: `%s'", w[3]);
		return false;
	}
	if (n > 4) {
		snprintf(err, errlen, "too many words: `%s'", w[4]);
		return false;
	}
	if (n == 4 && !control_parse_timeout(w[3], &req->timeout_s)) {
		snprintf(err, errlen, "timeout is 1s..30d (N, Ns, Nm or Nh): `%s'", w[3]);
		return false;
	}
	return true;
}

bool control_parse(const char *line, struct control_req *req, char *err, size_t errlen)
{
	char buf[CONTROL_LINE_MAX + 1];
	char *words[MAX_WORDS];
	size_t len = strlen(line);
	int n;

	if (len && line[len - 1] == '\n')
		len--;
	if (len && line[len - 1] == '\r')
		len--;
	if (len > CONTROL_LINE_MAX) {
		snprintf(err, errlen, "request longer than %d bytes", CONTROL_LINE_MAX);
		return false;
	}
	memcpy(buf, line, len);
	buf[len] = '\0';
	if (!printable(buf)) {
		snprintf(err, errlen, "request holds control or non-ASCII bytes");
		return false;
	}
	n = split(buf, words);
	if (n < 0) {
		snprintf(err, errlen, "too many words");
		return false;
	}
	return parse_words(n, words, req, err, errlen);
}

bool control_format(int argc, char *const *argv, char *line, size_t len,
		    char *err, size_t errlen)
{
	struct control_req req;
	size_t used = 0;

	if (argc <= 0) {
		snprintf(err, errlen, "no command");
		return false;
	}
	for (int i = 0; i < argc; i++) {
		int n = snprintf(line + used, len - used, "%s%s", i ? " " : "", argv[i]);

		if (n < 0 || (size_t)n >= len - used) {
			snprintf(err, errlen, "request too long");
			return false;
		}
		used += (size_t)n;
	}
	if (!control_parse(line, &req, err, errlen))
		return false;
	if (used + 2 > len) {
		snprintf(err, errlen, "request too long");
		return false;
	}
	line[used++] = '\n';
	line[used] = '\0';
	return true;
}

