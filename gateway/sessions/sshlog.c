/* sshlog.c — sshd's log messages as session events (sshlog.h says which). */
#include "gateway/sessions/sshlog.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

/* A view of part of the message: never NUL-terminated, never written. */
struct span {
	const char *p;
	size_t n;
};

static bool take(struct span *s, const char *lit)
{
	size_t n = strlen(lit);

	if (s->n < n || memcmp(s->p, lit, n) != 0)
		return false;
	s->p += n;
	s->n -= n;
	return true;
}

static bool has_prefix(struct span s, const char *lit)
{
	return take(&s, lit);
}

/* Where the next " from " starts in s at or after from; -1 when none. */
static long find(struct span s, size_t from, const char *lit)
{
	size_t n = strlen(lit);

	for (size_t i = from; i + n <= s.n; i++)
		if (memcmp(s.p + i, lit, n) == 0)
			return (long)i;
	return -1;
}

bool sshlog_account_name(const char *s, size_t len)
{
	if (len == 0 || len > SSHLOG_NAME_MAX || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return false;
	for (size_t i = 1; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-'))
			return false;
	}
	return true;
}

/* The user as recorded: the account name, or "-" for anything else. */
static void set_user(struct sshlog_event *ev, struct span u)
{
	if (sshlog_account_name(u.p, u.n)) {
		memcpy(ev->user, u.p, u.n);
		ev->user[u.n] = '\0';
	} else {
		memcpy(ev->user, "-", 2);
	}
}

/* An IPv4 or IPv6 address, the whole span; written canonically. */
static bool parse_addr(struct span a, struct sshlog_event *ev)
{
	char buf[SSHLOG_ADDR_MAX];
	unsigned char bin[16];
	int family;

	if (a.n == 0 || a.n >= sizeof(buf))
		return false;
	memcpy(buf, a.p, a.n);
	buf[a.n] = '\0';
	family = memchr(buf, ':', a.n) ? AF_INET6 : AF_INET;
	if (inet_pton(family, buf, bin) != 1 || !inet_ntop(family, bin, ev->addr, sizeof(ev->addr)))
		return false;
	ev->have_addr = true;
	return true;
}

/* A port, the whole span: 0..65535, digits only, no leading zero. */
static bool parse_port(struct span d, uint16_t *port)
{
	unsigned long v = 0;

	if (d.n == 0 || d.n > 5 || (d.n > 1 && d.p[0] == '0'))
		return false;
	for (size_t i = 0; i < d.n; i++) {
		if (d.p[i] < '0' || d.p[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(d.p[i] - '0');
	}
	if (v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

/* "ADDR port N" at the start of s; s is left after N. */
static bool addr_port(struct span *s, struct sshlog_event *ev)
{
	struct span a = *s, d;
	long sp = find(*s, 0, " port ");
	size_t i;

	if (sp <= 0)
		return false;
	a.n = (size_t)sp;
	if (memchr(a.p, ' ', a.n) || !parse_addr(a, ev))
		return false;
	d.p = s->p + sp + 6;
	for (i = 0; i < s->n - (size_t)sp - 6 && d.p[i] >= '0' && d.p[i] <= '9'; i++)
		;
	d.n = i;
	if (!parse_port(d, &ev->port))
		return false;
	s->p = d.p + d.n;
	s->n -= (size_t)sp + 6 + d.n;
	return true;
}

/* "ADDR port N" as the whole tail of s (after the last space before
 * " port "): sets the address and shortens s to what comes before " ADDR". */
static bool tail_addr_port(struct span *s, struct sshlog_event *ev)
{
	long sp = -1, at;
	struct span rest;
	size_t a;

	for (at = find(*s, 0, " port "); at >= 0; at = find(*s, (size_t)at + 1, " port "))
		sp = at;
	if (sp < 0)
		return false;
	for (a = (size_t)sp; a > 0 && s->p[a - 1] != ' '; a--)
		;
	if (a == 0)
		return false;
	rest.p = s->p + a;
	rest.n = s->n - a;
	if (!addr_port(&rest, ev) || rest.n != 0)
		return false;
	s->n = a - 1;                  /* before the space in front of ADDR */
	return true;
}

static bool method_word(struct span *s, enum sshlog_method *m)
{
	struct span w = *s;
	long sp = find(*s, 0, " ");

	if (sp <= 0)
		return false;
	w.n = (size_t)sp;
	if (w.n == 9 && memcmp(w.p, "publickey", 9) == 0) {
		*m = SSHLOG_M_PUBLICKEY;
	} else if (w.n == 8 && memcmp(w.p, "password", 8) == 0) {
		*m = SSHLOG_M_PASSWORD;
	} else if (has_prefix(w, "keyboard-interactive")) {
		/* with or without a submethod: keyboard-interactive/pam */
		struct span sub = w;

		take(&sub, "keyboard-interactive");
		if (sub.n != 0) {
			if (sub.n < 2 || sub.p[0] != '/')
				return false;
			for (size_t i = 1; i < sub.n; i++)
				if (sub.p[i] < 'a' || sub.p[i] > 'z')
					return false;
		}
		*m = SSHLOG_M_KBDINT;
	} else {
		return false;
	}
	s->p += w.n + 1;
	s->n -= w.n + 1;
	return true;
}

/* After "ssh2": nothing, or ": " and the key's text. */
static bool ssh2_end(struct span s, bool *extra)
{
	if (!take(&s, " ssh2"))
		return false;
	*extra = s.n != 0;
	return s.n == 0 || has_prefix(s, ": ");
}

/* The user's text of s (" USER from ..."): from after the leading space to
 * the " from " at offset at; none when at is 0. */
static void user_before(struct sshlog_event *ev, struct span s, long at)
{
	struct span u = { s.p + 1, at > 0 ? (size_t)at - 1 : 0 };

	set_user(ev, u);
}

/* USER from ADDR port N ssh2[: KEY] for a user sshd knows: one word, the
 * address right after it, and nothing after "ssh2" looked at. */
static bool known_user_from(struct span s, struct sshlog_event *ev)
{
	long sp = find(s, 0, " from ");
	struct span u = s, rest;
	bool extra;

	if (sp < 0)
		return false;
	u.n = (size_t)sp;
	if (u.n == 0 || memchr(u.p, ' ', u.n))
		return false;
	rest.p = s.p + sp + 6;
	rest.n = s.n - (size_t)sp - 6;
	if (!addr_port(&rest, ev) || !ssh2_end(rest, &extra))
		return false;
	set_user(ev, u);
	return true;
}

/* " USER from ADDR port N ssh2[: KEY]" for an invalid user (s starts at
 * the space after "invalid user"): the client chose USER, so the address
 * is the last one that ends the line or is followed by ": KEY"; with KEY
 * present and more than one such address, client text is on both sides of
 * it and nothing can be told. */
static bool invalid_user_from(struct span s, struct sshlog_event *ev)
{
	struct sshlog_event cand;
	int found = 0;
	bool extra = false;
	long at, last = -1;

	if (s.n == 0 || s.p[0] != ' ')
		return false;
	for (at = find(s, 0, " from "); at >= 0; at = find(s, (size_t)at + 1, " from ")) {
		struct span rest = { s.p + at + 6, s.n - (size_t)at - 6 };
		bool e;

		memset(&cand, 0, sizeof(cand));
		if (!addr_port(&rest, &cand) || !ssh2_end(rest, &e))
			continue;
		found++;
		extra = e;
		last = at;
		memcpy(ev->addr, cand.addr, sizeof(ev->addr));
		ev->port = cand.port;
	}
	/* extra: that of the last address found */
	if (found == 0 || (found > 1 && extra))
		return false;
	ev->have_addr = true;
	user_before(ev, s, last);
	return true;
}

/* "Accepted|Failed METHOD for ..." */
static enum sshlog_result auth_line(struct span s, bool accepted, struct sshlog_event *ev)
{
	ev->kind = accepted ? SSHLOG_OPEN : SSHLOG_FAILED;
	if (!method_word(&s, &ev->method))
		return SSHLOG_NONE;
	if (!take(&s, "for "))
		return SSHLOG_MALFORMED;
	if (!accepted && has_prefix(s, "invalid user")) {
		take(&s, "invalid user");
		return invalid_user_from(s, ev) ? SSHLOG_EVENT : SSHLOG_MALFORMED;
	}
	return known_user_from(s, ev) ? SSHLOG_EVENT : SSHLOG_MALFORMED;
}

/* "Invalid user USER from ADDR port N": the last " from " whose rest is
 * exactly "ADDR port N" (sshd appends it after the client's text). */
static enum sshlog_result invalid_line(struct span s, struct sshlog_event *ev)
{
	long at, last = -1;

	ev->kind = SSHLOG_FAILED;
	if (s.n == 0 || s.p[0] != ' ')
		return SSHLOG_MALFORMED;
	for (at = find(s, 0, " from "); at >= 0; at = find(s, (size_t)at + 1, " from ")) {
		struct span rest = { s.p + at + 6, s.n - (size_t)at - 6 };
		struct sshlog_event cand;

		memset(&cand, 0, sizeof(cand));
		if (addr_port(&rest, &cand) && rest.n == 0) {
			last = at;
			memcpy(ev->addr, cand.addr, sizeof(ev->addr));
			ev->port = cand.port;
		}
	}
	if (last < 0)
		return SSHLOG_MALFORMED;
	ev->have_addr = true;
	user_before(ev, s, last);
	return SSHLOG_EVENT;
}

/* " USER ADDR port N" (s starts at the space after "user"), with the
 * address the tail of the line. */
static bool user_then_tail(struct span s, struct sshlog_event *ev)
{
	if (s.n == 0 || s.p[0] != ' ' || !tail_addr_port(&s, ev) || s.n < 1)
		return false;
	set_user(ev, (struct span){ s.p + 1, s.n - 1 });
	return true;
}

static bool control_byte(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] == 0x7f)
			return true;
	return false;
}

static const char *const prefixes[] = {
	"Accepted ", "Failed ", "Invalid user", "Disconnected from user ",
	"pam_unix(sshd:session): session closed for user ",
	"Connection closed by authenticating user", "Connection closed by invalid user",
};

enum sshlog_result sshlog_parse(const char *msg, size_t len, struct sshlog_event *ev)
{
	struct span s = { msg, len };
	bool known = false;

	memset(ev, 0, sizeof(*ev));
	if (s.n && s.p[s.n - 1] == '\n')
		s.n--;
	if (s.n && s.p[s.n - 1] == '\r')
		s.n--;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		known = known || has_prefix(s, prefixes[i]);
	if (!known)
		return SSHLOG_NONE;
	if (s.n > SSHLOG_LINE_MAX || control_byte(s.p, s.n))
		return SSHLOG_MALFORMED;

	if (take(&s, "Accepted "))
		return auth_line(s, true, ev);
	if (take(&s, "Failed "))
		return auth_line(s, false, ev);
	if (take(&s, "Invalid user"))
		return invalid_line(s, ev);
	if (take(&s, "Disconnected from user")) {
		ev->kind = SSHLOG_CLOSE;
		return user_then_tail(s, ev) ? SSHLOG_EVENT : SSHLOG_MALFORMED;
	}
	if (take(&s, "pam_unix(sshd:session): session closed for user ")) {
		ev->kind = SSHLOG_CLOSE;
		ev->pam = true;
		if (!sshlog_account_name(s.p, s.n))
			return SSHLOG_MALFORMED;
		set_user(ev, s);
		return SSHLOG_EVENT;
	}
	/* Connection closed by authenticating|invalid user USER ADDR port N [preauth] */
	ev->kind = SSHLOG_FAILED;
	if (!(take(&s, "Connection closed by authenticating user") ||
	      take(&s, "Connection closed by invalid user")))
		return SSHLOG_NONE;
	if (s.n < 10 || memcmp(s.p + s.n - 10, " [preauth]", 10) != 0)
		return SSHLOG_MALFORMED;
	s.n -= 10;
	return user_then_tail(s, ev) ? SSHLOG_EVENT : SSHLOG_MALFORMED;
}

const char *sshlog_kind_name(enum sshlog_kind kind)
{
	switch (kind) {
	case SSHLOG_OPEN: return "open";
	case SSHLOG_CLOSE: return "close";
	case SSHLOG_FAILED: return "failed";
	}
	return "?";
}

const char *sshlog_method_name(enum sshlog_method method)
{
	switch (method) {
	case SSHLOG_M_PUBLICKEY: return "publickey";
	case SSHLOG_M_PASSWORD: return "password";
	case SSHLOG_M_KBDINT: return "keyboard-interactive";
	case SSHLOG_M_NONE: break;
	}
	return "-";
}
