/*
 * jgw-sessions — sshd's logins, logouts and failed attempts into jgwd's
 * audit trail (docs/operators-sessions.md).
 *
 * It reads sshd's messages from the systemd journal (--journal: follows
 * it, and keeps the journal's cursor in a state file written only after
 * jgwd acknowledged the note of each event) or from lines on stdin
 * (--stdin: tests, `sshd -e`), parses them (sshlog.h) and sends each event
 * as a root-only note, `session open|close|failed USER ADDR PORT`, to the
 * control socket. While jgwd is away it waits and tries again (backoff up
 * to 30 s, a log line when it starts waiting and every few minutes after),
 * never going past an event that was not acknowledged.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-id128.h>
#include <systemd/sd-journal.h>

#include "filters/base/log.h"
#include "gateway/control/control.h"
#include "gateway/sessions/sshlog.h"
#include "jgw_version.h"

#define DEFAULT_SOCKET "/run/jgw/control.sock"
#define DEFAULT_STATE "/var/lib/jgw/sessions.cursor"
#define DEFAULT_SSHD "/usr/sbin/sshd"
#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 30000
#define WAIT_LOG_EVERY_S 300
#define RECENT_FAILED 64                /* connections whose failure is recorded */
#define OPEN_SESSIONS 256               /* sessions whose close is still expected */

static volatile sig_atomic_t stopping;

/* A session seen opening: its pam_unix close has no address, so the
 * address comes from here (matched by the monitor's pid in the journal). */
struct open_session {
	bool used, closed;
	char user[SSHLOG_NAME_MAX + 1];
	char addr[SSHLOG_ADDR_MAX];
	uint16_t port;
	long pid;                       /* the sshd process that logged it; 0: not known */
};

/* The source of one message, as the journal's trusted fields say. */
struct origin {
	long pid;                       /* 0: not known (stdin) */
	bool have_uid;
	unsigned long uid;
};

struct sessions {
	const char *socket;
	int null_fd;
	unsigned long sent, skipped, malformed, untrusted;
	struct {
		char addr[SSHLOG_ADDR_MAX];
		uint16_t port;
	} recent[RECENT_FAILED];
	size_t recent_next;
	struct open_session open[OPEN_SESSIONS];
	size_t open_next;
};

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (!stopping && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* One call; the error message (jgwd's answer or the client's) in err. */
static int call_once(struct sessions *s, const char *line, char *err, size_t errlen)
{
	int p[2], rc;
	ssize_t n;

	err[0] = '\0';
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	rc = control_call(s->socket, line, s->null_fd, p[1], err, errlen);
	if (rc == 1) {
		n = read(p[0], err, errlen - 1);
		err[n > 0 ? n : 0] = '\0';
		err[strcspn(err, "\n")] = '\0';
		if (strncmp(err, "jgwctl: ", 8) == 0)
			memmove(err, err + 8, strlen(err + 8) + 1);
	}
	close(p[0]);
	close(p[1]);
	return rc;
}

static time_t mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + 1;          /* never 0: 0 is "not waiting" below */
}

/* Send one note, waiting for jgwd as long as it takes (or until a stop):
 * true once jgwd acknowledged it. */
static bool send_note(struct sessions *s, const char *line)
{
	char err[256];
	unsigned backoff = BACKOFF_MIN_MS;
	time_t waiting_since = 0, last_log = 0;

	for (;;) {
		int rc = call_once(s, line, err, sizeof(err));
		time_t now = mono_s();

		if (rc == 0) {
			if (waiting_since)
				log_info("jgwd took the note after %lds of waiting",
					 (long)(now - waiting_since));
			s->sent++;
			return true;
		}
		if (!waiting_since || now - last_log >= WAIT_LOG_EVERY_S) {
			log_warn("%s (%s); the event waits (nothing is dropped), retrying",
				 rc == 1 ? "jgwd refused the note" : "jgwd not reachable",
				 err[0] ? err : "?");
			if (!waiting_since)
				waiting_since = now;
			last_log = now;
		}
		if (stopping)
			return false;
		sleep_ms(backoff);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
}

static bool recent_failed(struct sessions *s, const struct sshlog_event *ev)
{
	for (size_t i = 0; i < RECENT_FAILED; i++)
		if (s->recent[i].port == ev->port && strcmp(s->recent[i].addr, ev->addr) == 0)
			return true;
	return false;
}

static void remember_failed(struct sessions *s, const struct sshlog_event *ev)
{
	memcpy(s->recent[s->recent_next].addr, ev->addr, sizeof(ev->addr));
	s->recent[s->recent_next].port = ev->port;
	s->recent_next = (s->recent_next + 1) % RECENT_FAILED;
}

static struct open_session *find_session(struct sessions *s, const struct sshlog_event *ev,
					 long pid)
{
	struct open_session *only = NULL;
	int n = 0;

	for (size_t i = 0; i < OPEN_SESSIONS; i++) {
		struct open_session *o = &s->open[i];

		if (!o->used || strcmp(o->user, ev->user) != 0)
			continue;
		if (ev->have_addr && o->port == ev->port && strcmp(o->addr, ev->addr) == 0)
			return o;
		if (!ev->have_addr && pid && o->pid == pid)
			return o;
		if (!ev->have_addr && !pid && !o->closed) {
			only = o;
			n++;
		}
	}
	/* pam_unix's close without a pid: only when one session of the user is open */
	return n == 1 ? only : NULL;
}

static void remember_open(struct sessions *s, const struct sshlog_event *ev, long pid)
{
	struct open_session *o = &s->open[s->open_next];

	if (o->used && !o->closed)
		log_warn("more than %d sessions open: the close of %s from %s port %u will be "
			 "recorded only if sshd says its address", OPEN_SESSIONS, o->user, o->addr,
			 o->port);
	memset(o, 0, sizeof(*o));
	o->used = true;
	memcpy(o->user, ev->user, sizeof(o->user));
	memcpy(o->addr, ev->addr, sizeof(o->addr));
	o->port = ev->port;
	o->pid = pid;
	s->open_next = (s->open_next + 1) % OPEN_SESSIONS;
}

/* The event as a note, or false when it is not sent (said why, at debug or
 * info). A close is written once per session: sshd's Disconnected line and
 * pam_unix's both say it, whichever comes first is the record. A failed
 * attempt is written once per connection (address and port): sshd says
 * "Invalid user", "Failed ..." and "Connection closed by" for one. */
static bool note_of(struct sessions *s, struct sshlog_event *ev, long pid)
{
	struct open_session *o;

	switch (ev->kind) {
	case SSHLOG_OPEN:
		remember_open(s, ev, pid);
		return true;
	case SSHLOG_FAILED:
		if (recent_failed(s, ev)) {
			log_debug("failed attempt from %s port %u already recorded", ev->addr, ev->port);
			return false;
		}
		remember_failed(s, ev);
		return true;
	case SSHLOG_CLOSE:
		o = find_session(s, ev, pid);
		if (o && o->closed) {
			o->used = false;               /* both lines seen: done with it */
			log_debug("close of %s from %s port %u already recorded", o->user, o->addr,
				  o->port);
			return false;
		}
		if (o)
			o->closed = true;
		if (!ev->have_addr) {
			if (!o) {
				log_info("session of %s closed (pam_unix) with no address known "
					 "(opened before jgw-sessions followed sshd?): not recorded",
					 ev->user);
				return false;
			}
			memcpy(ev->addr, o->addr, sizeof(ev->addr));
			ev->port = o->port;
			ev->have_addr = true;
		}
		return true;
	}
	return false;
}

/* One message of sshd's: parse it, and send its note. false only when a
 * note could not be sent because of a stop. */
static bool handle(struct sessions *s, const char *msg, size_t len, const struct origin *from)
{
	struct sshlog_event ev;
	char line[CONTROL_LINE_MAX + 2], err[256], port[8];
	char *argv[5];

	switch (sshlog_parse(msg, len, &ev)) {
	case SSHLOG_NONE:
		return true;
	case SSHLOG_MALFORMED:
		s->malformed++;
		log_warn("an sshd message that looks like a session event but does not parse "
			 "(pid %ld): ignored", from->pid);
		return true;
	case SSHLOG_EVENT:
		break;
	}
	/* In the journal, who logged it: sshd's monitor runs as root; a
	 * session's own process (Disconnected) runs as its user, and may
	 * speak only of that user. */
	if (from->have_uid && from->uid != 0) {
		struct passwd *pw = getpwuid((uid_t)from->uid);

		if (ev.kind != SSHLOG_CLOSE || ev.pam || !pw || strcmp(pw->pw_name, ev.user) != 0) {
			s->untrusted++;
			log_warn("a session message from uid %lu (pid %ld) that is not that user's "
				 "own close: ignored", from->uid, from->pid);
			return true;
		}
	}
	if (!note_of(s, &ev, from->pid)) {
		s->skipped++;
		return true;
	}
	snprintf(port, sizeof(port), "%u", ev.port);
	argv[0] = "session";
	argv[1] = (char *)sshlog_kind_name(ev.kind);
	argv[2] = ev.user;
	argv[3] = ev.addr;
	argv[4] = port;
	if (!control_format(5, argv, line, sizeof(line), err, sizeof(err))) {
		log_err("cannot form the note of a session event (%s): not recorded", err);
		return true;
	}
	log_info("session %s %s from %s port %u%s%s", argv[1], ev.user, ev.addr, ev.port,
		 ev.method != SSHLOG_M_NONE ? " method " : "",
		 ev.method != SSHLOG_M_NONE ? sshlog_method_name(ev.method) : "");
	return send_note(s, line);
}

/* ---- --stdin ---- */

static int run_stdin(struct sessions *s)
{
	static char buf[SSHLOG_LINE_MAX + 2];
	struct origin none = { 0 };
	size_t used = 0;
	bool too_long = false;
	int c;

	/* Byte by byte through stdio: a line longer than the buffer is cut and
	 * passed on as what it is (too long: malformed if it looks like one). */
	while (!stopping && (c = getchar()) != EOF) {
		if (c != '\n') {
			if (used < sizeof(buf) - 1)
				buf[used++] = (char)c;
			else
				too_long = true;
			continue;
		}
		if (too_long && used < sizeof(buf))
			buf[used++] = '\x01';  /* a control byte: never a clean parse */
		if (!handle(s, buf, used, &none))
			break;
		used = 0;
		too_long = false;
	}
	if (used && !stopping)
		handle(s, buf, used, &none);
	return stopping ? 0 : (ferror(stdin) ? 1 : 0);
}

/* ---- --journal ---- */

static bool read_state(const char *path, char *cursor, size_t len)
{
	FILE *f = fopen(path, "re");
	bool ok = false;

	if (!f)
		return false;
	if (fgets(cursor, (int)len, f)) {
		cursor[strcspn(cursor, "\n")] = '\0';
		ok = cursor[0] != '\0';
	}
	fclose(f);
	return ok;
}

/* The cursor, durably: a new file renamed over the old one. */
static bool write_state(const char *path, const char *cursor)
{
	char tmp[PATH_MAX];
	int fd;
	bool ok;

	if (snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp))
		return false;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	ok = dprintf(fd, "%s\n", cursor) > 0 && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) < 0) {
		unlink(tmp);
		return false;
	}
	return true;
}

/* A field of the current entry as a string (without "NAME="), cut to len. */
static bool field(sd_journal *j, const char *name, char *out, size_t len, size_t *outlen)
{
	const void *d;
	size_t l, n = strlen(name);

	if (sd_journal_get_data(j, name, &d, &l) < 0 || l < n + 1)
		return false;
	l -= n + 1;
	if (outlen)
		*outlen = l;
	if (l >= len)
		l = len - 1;
	memcpy(out, (const char *)d + n + 1, l);
	out[l] = '\0';
	return true;
}

static long field_num(sd_journal *j, const char *name, bool *have)
{
	char buf[24], *end;
	long v;

	*have = false;
	if (!field(j, name, buf, sizeof(buf), NULL))
		return 0;
	v = strtol(buf, &end, 10);
	*have = end != buf && *end == '\0' && v >= 0;
	return *have ? v : 0;
}

static int run_journal(struct sessions *s, const char *state, const char *sshd)
{
	static char msg[SSHLOG_LINE_MAX + 2];
	char cursor[512], exe[PATH_MAX];
	char *cur = NULL;
	bool dirty = false;
	sd_journal *j;
	int r;

	if ((r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM)) < 0) {
		log_err("cannot open the journal: %s", strerror(-r));
		return 1;
	}
	/* _COMM and SYSLOG_IDENTIFIER are what a process says of itself: the
	 * journal's _EXE and _UID (the kernel's) decide below. */
	if (sd_journal_add_match(j, "_COMM=sshd", 0) < 0 || sd_journal_add_disjunction(j) < 0 ||
	    sd_journal_add_match(j, "SYSLOG_IDENTIFIER=sshd", 0) < 0) {
		log_err("cannot set the journal matches");
		sd_journal_close(j);
		return 1;
	}
	if (read_state(state, cursor, sizeof(cursor))) {
		if ((r = sd_journal_seek_cursor(j, cursor)) < 0) {
			log_err("cursor in %s refused by the journal: %s", state, strerror(-r));
			sd_journal_close(j);
			return 1;
		}
		/* Go to the entry of the cursor; it was done, start after it. */
		if (sd_journal_next(j) > 0 && sd_journal_test_cursor(j, cursor) <= 0) {
			log_warn("the entry of the cursor in %s is no longer in the journal (rotated "
				 "away?): following from the next one there is", state);
			sd_journal_previous(j);
		}
		log_info("following sshd in the journal after the cursor in %s", state);
	} else {
		sd_id128_t boot;

		/* No cursor yet: this boot's messages from its start. */
		if (sd_id128_get_boot(&boot) < 0 || sd_journal_seek_monotonic_usec(j, boot, 0) < 0)
			sd_journal_seek_tail(j);
		log_info("following sshd in the journal from the start of this boot (no cursor in %s)",
			 state);
	}
	while (!stopping) {
		struct origin from = { 0 };
		unsigned long sent = s->sent;
		size_t len = 0;
		bool have_pid;

		r = sd_journal_next(j);
		if (r < 0) {
			log_err("reading the journal: %s", strerror(-r));
			break;
		}
		if (r == 0) {
			/* Caught up: the cursor of what was skipped since the last note. */
			if (dirty && cur && write_state(state, cur))
				dirty = false;
			r = sd_journal_wait(j, 1000000);
			if (r < 0) {
				log_err("waiting on the journal: %s", strerror(-r));
				break;
			}
			continue;
		}
		if (!field(j, "MESSAGE", msg, sizeof(msg), &len))
			goto next;
		from.pid = field_num(j, "_PID", &have_pid);
		from.uid = (unsigned long)field_num(j, "_UID", &from.have_uid);
		/* _UID is the kernel's (SCM_CREDENTIALS). _EXE is read from /proc
		 * by journald and is missing when the process exited first (a
		 * session's process logs its Disconnected line and exits): then
		 * the _UID rule of handle() alone decides. */
		if (!from.have_uid || (field(j, "_EXE", exe, sizeof(exe), NULL) &&
				       strcmp(exe, sshd) != 0)) {
			/* Another program calling itself sshd: its words are not sshd's. */
			if (sshlog_parse(msg, len, &(struct sshlog_event){ 0 }) != SSHLOG_NONE) {
				s->untrusted++;
				log_warn("a session message from a process that is not %s (pid %ld): "
					 "ignored", sshd, from.pid);
			}
			goto next;
		}
		if (len > SSHLOG_LINE_MAX)
			len = SSHLOG_LINE_MAX + 1;
		if (!handle(s, msg, len, &from))
			break;
next:
		free(cur);
		cur = NULL;
		if (sd_journal_get_cursor(j, &cur) < 0) {
			log_err("the journal gives no cursor for an entry");
			break;
		}
		/* Each acknowledged note moves the cursor on disk at once; what
		 * is skipped is written when the journal is caught up. */
		dirty = true;
		if (s->sent != sent) {
			if (write_state(state, cur))
				dirty = false;
			else
				log_err("cannot write %s: %s (a restart would send the last note "
					"again)", state, strerror(errno));
		}
	}
	if (dirty && cur && !write_state(state, cur))
		log_err("cannot write %s: %s", state, strerror(errno));
	free(cur);
	sd_journal_close(j);
	return stopping ? 0 : 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: jgw-sessions --journal [-s SOCKET] [--state FILE] [--sshd PATH] [-d]\n"
		"       jgw-sessions --stdin [-s SOCKET] [-d]\n"
		"       jgw-sessions --version | -h\n"
		"  --journal      follow sshd's messages in the systemd journal\n"
		"  --stdin        read sshd's messages as lines on stdin (sshd -e)\n"
		"  -s SOCKET      jgwd's control socket (default " DEFAULT_SOCKET ")\n"
		"  --state FILE   the journal cursor of the last recorded event (default\n"
		"                 " DEFAULT_STATE ")\n"
		"  --sshd PATH    the sshd whose journal entries count (default " DEFAULT_SSHD ")\n"
		"  -d             debug lines\n");
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "journal", no_argument, NULL, 'J' },
		{ "stdin", no_argument, NULL, 'I' },
		{ "state", required_argument, NULL, 'S' },
		{ "sshd", required_argument, NULL, 'X' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct sessions s;
	const char *state = DEFAULT_STATE, *sshd = DEFAULT_SSHD;
	struct sigaction sa;
	int mode = 0, debug = 0, c, rc;

	s.socket = DEFAULT_SOCKET;
	while ((c = getopt_long(argc, argv, "s:dh", longs, NULL)) != -1) {
		switch (c) {
		case 'J':
		case 'I':
			if (mode && mode != c) {
				fprintf(stderr, "jgw-sessions: --journal or --stdin, not both\n");
				return 2;
			}
			mode = c;
			break;
		case 's': s.socket = optarg; break;
		case 'S': state = optarg; break;
		case 'X': sshd = optarg; break;
		case 'd': debug = 1; break;
		case 'V':
			printf("jgw-sessions %s\n", JGW_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !mode) {
		usage(stderr);
		return 2;
	}
	log_init("jgw-sessions", 0, debug ? LOG_DEBUG : LOG_INFO);
	if (geteuid() != 0)
		log_warn("not running as root: jgwd takes session notes from root only");
	if ((s.null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0) {
		log_err("/dev/null: %s", strerror(errno));
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = mode == 'J' ? run_journal(&s, state, sshd) : run_stdin(&s);
	log_info("stopping: %lu notes sent, %lu repeats not sent, %lu malformed, %lu untrusted",
		 s.sent, s.skipped, s.malformed, s.untrusted);
	return rc;
}
