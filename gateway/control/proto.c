/* proto.c — the control socket's line protocol: parse and format requests. */
#include "gateway/control/control.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filters/base/duration.h"
#include "filters/base/utf8.h"

#define MAX_WORDS 8

bool control_parse_duration(const char *word, uint32_t max_s, uint32_t *seconds)
{
	uint64_t ms;

	if (!dur_parse_ms(word, (uint64_t)max_s * 1000, false, &ms) || ms % 1000 != 0)
		return false;
	*seconds = (uint32_t)(ms / 1000);
	return true;
}

bool control_changes_state(enum control_cmd cmd)
{
	return cmd >= CONTROL_RELOAD;
}

bool control_root_only(enum control_cmd cmd)
{
	return cmd == CONTROL_SESSION || cmd == CONTROL_ACCOUNT || cmd == CONTROL_HA_STATE ||
	       cmd == CONTROL_UPDATE;
}

/* An account name as useradd makes them, or a name an SSH client tried
 * (anything): only the former is kept; sshlog parsers send "-" for the
 * latter. */
static bool account_name(const char *s)
{
	size_t n = strlen(s);

	if (strcmp(s, "-") == 0)
		return true;
	if (n == 0 || n > CONTROL_NAME_MAX || !((*s >= 'a' && *s <= 'z') || *s == '_'))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-.") == n;
}

/* The verbs: words as written, and how many operands follow them. */
static const struct verb {
	const char *w1, *w2;
	enum control_cmd cmd;
	int operands_min, operands_max;
	const char *operands;          /* for the message when they are wrong */
} verbs[] = {
	{ "status", NULL, CONTROL_STATUS, 0, 0, "no operand" },
	{ "stats", NULL, CONTROL_STATS, 0, 0, "no operand" },
	{ "peers", NULL, CONTROL_PEERS, 0, 0, "no operand" },
	{ "version", NULL, CONTROL_VERSION, 0, 0, "no operand" },
	{ "metrics", NULL, CONTROL_METRICS, 0, 0, "no operand" },
	{ "quarantine", "list", CONTROL_QUAR_LIST, 0, 0, "no operand" },
	{ "config", "history", CONTROL_HISTORY, 0, 0, "no operand" },
	{ "config", "show", CONTROL_SHOW, 1, 1, "SHA256|GENERATION" },
	{ "reload", NULL, CONTROL_RELOAD, 0, 0, "no operand" },
	{ "confirm", NULL, CONTROL_CONFIRM, 0, 0, "no operand" },
	{ "config", "rollback", CONTROL_ROLLBACK, 1, 1, "SHA256|GENERATION" },
	{ "quarantine", "add", CONTROL_QUAR_ADD, 1, 2, "ADDR [DURATION]" },
	{ "quarantine", "del", CONTROL_QUAR_DEL, 1, 1, "ADDR" },
	{ "tunnel", "close", CONTROL_TUNNEL_CLOSE, 1, 1, "ID" },
	{ "audit", "epoch", CONTROL_AUDIT_EPOCH, 0, 0, "no operand" },
	{ "session", NULL, CONTROL_SESSION, 4, 4, "open|close|failed USER ADDR PORT" },
	{ "account", NULL, CONTROL_ACCOUNT, 3, 3, "add|del NAME admin|read" },
	{ "ha", "state", CONTROL_HA_STATE, 1, 1, "MASTER|BACKUP|FAULT|STOP" },
	{ "update", NULL, CONTROL_UPDATE, 2, 2, "refused|installed|confirmed|rollback a|b|-" },
};

const char *control_cmd_name(enum control_cmd cmd)
{
	static char name[32];

	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (verbs[i].cmd == cmd) {
			snprintf(name, sizeof(name), "%s%s%s", verbs[i].w1,
				 verbs[i].w2 ? " " : "", verbs[i].w2 ? verbs[i].w2 : "");
			return name;
		}
	return "?";
}

/* Split on spaces/tabs; -1 on too many words. */
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

/* The comment after " -- ": text for an audit record, never a command. */
static bool take_comment(const char *text, struct control_req *req, char *err, size_t errlen)
{
	struct utf8_state u;
	size_t n = strlen(text);

	utf8_text_init(&u);
	if (n > CONTROL_COMMENT_MAX) {
		snprintf(err, errlen, "comment longer than %d bytes", CONTROL_COMMENT_MAX);
		return false;
	}
	if (n == 0 || !utf8_text_feed(&u, (const uint8_t *)text, n) || !utf8_text_complete(&u)) {
		snprintf(err, errlen, "comment must be UTF-8 text without control characters");
		return false;
	}
	memcpy(req->comment, text, n + 1);
	return true;
}

/* Options (--json, --force, --confirm D, --via A) are taken out of words;
 * the operands stay, in order. */
static bool take_options(int *n, char **w, struct control_req *req, char *err, size_t errlen)
{
	int out = 0;

	for (int i = 0; i < *n; i++) {
		if (strcmp(w[i], "--json") == 0) {
			req->json = true;
		} else if (strcmp(w[i], "--force") == 0) {
			req->force = true;
		} else if (strcmp(w[i], "--confirm") == 0 || strcmp(w[i], "--via") == 0) {
			if (i + 1 >= *n) {
				snprintf(err, errlen, "%s needs a value", w[i]);
				return false;
			}
			if (w[i][2] == 'c' &&
			    !control_parse_duration(w[i + 1], CONTROL_CONFIRM_MAX, &req->confirm_s)) {
				snprintf(err, errlen, "--confirm: 1s..1d (600, 30s, 10min, 2h): `%s'", w[i + 1]);
				return false;
			}
			if (w[i][2] == 'v' && strlen(w[i + 1]) >= sizeof(req->via)) {
				snprintf(err, errlen, "--via: too long: `%s'", w[i + 1]);
				return false;
			}
			if (w[i][2] == 'v')
				memcpy(req->via, w[i + 1], strlen(w[i + 1]) + 1);
			i++;
		} else if (strncmp(w[i], "--", 2) == 0) {
			snprintf(err, errlen, "unknown option `%s'", w[i]);
			return false;
		} else {
			w[out++] = w[i];
		}
	}
	*n = out;
	return true;
}

static const struct verb *find_verb(int n, char **w, int *used)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		const struct verb *v = &verbs[i];

		if (strcmp(w[0], v->w1) != 0)
			continue;
		if (!v->w2) {
			*used = 1;
			return v;
		}
		if (n > 1 && strcmp(w[1], v->w2) == 0) {
			*used = 2;
			return v;
		}
	}
	return NULL;
}

static bool one_of(const char *w, const char *a, const char *b, const char *c)
{
	return strcmp(w, a) == 0 || strcmp(w, b) == 0 || (c && strcmp(w, c) == 0);
}

/* session EVENT USER ADDR PORT | account add|del NAME ROLE */
static bool take_note(enum control_cmd cmd, char **w, struct control_req *req,
		      char *err, size_t errlen)
{
	char *end;
	unsigned long port;

	if (cmd == CONTROL_SESSION ? !one_of(w[0], "open", "close", "failed")
				   : !one_of(w[0], "add", "del", NULL)) {
		snprintf(err, errlen, "unknown action `%s'", w[0]);
		return false;
	}
	if (!account_name(w[1]) || (cmd == CONTROL_ACCOUNT && strcmp(w[1], "-") == 0)) {
		snprintf(err, errlen, "not an account name: `%s'", w[1]);
		return false;
	}
	memcpy(req->action, w[0], strlen(w[0]) + 1);
	memcpy(req->name, w[1], strlen(w[1]) + 1);
	if (cmd == CONTROL_ACCOUNT) {
		if (!one_of(w[2], "admin", "read", NULL)) {
			snprintf(err, errlen, "role is admin or read: `%s'", w[2]);
			return false;
		}
		memcpy(req->role, w[2], strlen(w[2]) + 1);
		return true;
	}
	port = strtoul(w[3], &end, 10);
	if (!addr_prefix_parse(w[2], &req->addr) || req->addr.len != addr_bytes(req->addr.family) * 8 ||
	    *w[3] < '0' || *w[3] > '9' || *end || port > 65535) {
		snprintf(err, errlen, "not an address and port: `%s %s'", w[2], w[3]);
		return false;
	}
	req->port = (uint16_t)port;
	return true;
}

/* update refused|installed|confirmed|rollback a|b|-: the slot concerned
 * ("-": none, e.g. a payload refused before a slot was chosen); the reason
 * comes as the comment. */
static bool take_update(char **w, struct control_req *req, char *err, size_t errlen)
{
	if (!one_of(w[0], "refused", "installed", "confirmed") && strcmp(w[0], "rollback") != 0) {
		snprintf(err, errlen, "update is refused, installed, confirmed or rollback: `%s'",
			 w[0]);
		return false;
	}
	if (!one_of(w[1], "a", "b", "-")) {
		snprintf(err, errlen, "slot is a, b or -: `%s'", w[1]);
		return false;
	}
	memcpy(req->action, w[0], strlen(w[0]) + 1);
	snprintf(req->slot, sizeof(req->slot), "%s", strcmp(w[1], "-") == 0 ? "" : w[1]);
	return true;
}

static bool take_operands(const struct verb *v, int n, char **w, struct control_req *req,
			  char *err, size_t errlen)
{
	char *end;

	switch (v->cmd) {
	case CONTROL_SHOW:
	case CONTROL_ROLLBACK:
		if (strlen(w[0]) >= sizeof(req->ref) || !printable(w[0])) {
			snprintf(err, errlen, "not a sha256 or a generation: `%s'", w[0]);
			return false;
		}
		memcpy(req->ref, w[0], strlen(w[0]) + 1);
		return true;
	case CONTROL_SESSION:
	case CONTROL_ACCOUNT:
		return take_note(v->cmd, w, req, err, errlen);
	case CONTROL_UPDATE:
		return take_update(w, req, err, errlen);
	case CONTROL_HA_STATE:
		if (!one_of(w[0], "MASTER", "BACKUP", "FAULT") && strcmp(w[0], "STOP") != 0) {
			snprintf(err, errlen, "ha state is MASTER, BACKUP, FAULT or STOP: `%s'", w[0]);
			return false;
		}
		memcpy(req->action, w[0], strlen(w[0]) + 1);
		return true;
	case CONTROL_TUNNEL_CLOSE:
		req->id = strtoull(w[0], &end, 10);
		if (*w[0] < '0' || *w[0] > '9' || *end) {
			snprintf(err, errlen, "not a tunnel id: `%s'", w[0]);
			return false;
		}
		return true;
	case CONTROL_QUAR_ADD:
	case CONTROL_QUAR_DEL:
		if (!addr_prefix_parse(w[0], &req->addr)) {
			snprintf(err, errlen, "not an address or prefix: `%s'", w[0]);
			return false;
		}
		if (n == 2 && !control_parse_duration(w[1], CONTROL_TIMEOUT_MAX, &req->timeout_s)) {
			snprintf(err, errlen, "duration is 1s..30d (600, 30s, 10min, 2h, 7d): `%s'",
				 w[1]);
			return false;
		}
		return true;
	default:
		return true;
	}
}

/* "quarantine" alone, or with a word it does not take: name the choices. */
static void unknown_verb(int n, char **w, char *err, size_t errlen)
{
	char choices[128] = "";
	size_t used = 0;

	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (!verbs[i].w2 || strcmp(verbs[i].w1, w[0]) != 0)
			continue;
		int k = snprintf(choices + used, sizeof(choices) - used, "%s%s", used ? ", " : "",
				 verbs[i].w2);
		if (k > 0 && (size_t)k < sizeof(choices) - used)
			used += (size_t)k;
	}
	if (!used)
		snprintf(err, errlen, "unknown command `%s'", w[0]);
	else if (n == 1)
		snprintf(err, errlen, "%s needs one of: %s", w[0], choices);
	else
		snprintf(err, errlen, "unknown action `%s' for %s (%s)", w[1], w[0], choices);
}

static bool parse_words(int n, char **w, struct control_req *req, char *err, size_t errlen)
{
	const struct verb *v;
	int used = 0;

	if (!take_options(&n, w, req, err, errlen))
		return false;
	if (n == 0) {
		snprintf(err, errlen, "empty request");
		return false;
	}
	if (!(v = find_verb(n, w, &used))) {
		unknown_verb(n, w, err, errlen);
		return false;
	}
	req->cmd = v->cmd;
	n -= used;
	w += used;
	if (n < v->operands_min || n > v->operands_max) {
		snprintf(err, errlen, "%s takes %s%s%s%s", control_cmd_name(v->cmd), v->operands,
			 n > v->operands_max ? ": `" : "", n > v->operands_max ? w[v->operands_max] : "",
			 n > v->operands_max ? "'" : "");
		return false;
	}
	if (req->confirm_s && v->cmd != CONTROL_RELOAD && v->cmd != CONTROL_ROLLBACK) {
		snprintf(err, errlen, "--confirm is for reload and config rollback");
		return false;
	}
	return take_operands(v, n, w, req, err, errlen);
}

bool control_parse(const char *line, struct control_req *req, char *err, size_t errlen)
{
	char buf[CONTROL_LINE_MAX + 1];
	char *words[MAX_WORDS], *tail;
	size_t len = strlen(line);
	int n;

	memset(req, 0, sizeof(*req));
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
	/* The comment may be any text: it is cut off before the words. */
	if ((tail = strstr(buf, " -- ")) != NULL || (len >= 3 && strcmp(buf + len - 3, " --") == 0)) {
		if (!tail) {
			snprintf(err, errlen, "empty comment after --");
			return false;
		}
		*tail = '\0';
		if (!take_comment(tail + 4, req, err, errlen))
			return false;
	}
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
	bool in_comment = false;

	if (argc <= 0) {
		snprintf(err, errlen, "no command");
		return false;
	}
	for (int i = 0; i < argc; i++) {
		/* After a lone "--" the rest is the comment, one string. */
		int n = snprintf(line + used, len - used, "%s%s", i ? " " : "", argv[i]);

		if (n < 0 || (size_t)n >= len - used) {
			snprintf(err, errlen, "request too long");
			return false;
		}
		used += (size_t)n;
		if (!in_comment && strcmp(argv[i], "--") == 0)
			in_comment = true;
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
