/* server.c — jgwd's side of the control socket (libev): a few clients at
 * once, each with a deadline, answered by the daemon's handler; a reserve
 * descriptor for an operator when the process has none left. */
#include "gateway/control/control.h"

#include "filters/base/json.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_CLIENTS 8
/* One account may hold this many of the slots: a monitoring script polling
 * in a loop leaves room for an operator of another account. */
#define MAX_PER_UID (MAX_CLIENTS - 2)
#define CLIENT_TIMEOUT_S 5.0
/* Turned-away clients get "error busy", then a FIN; their socket is kept
 * this long (at most MAX_TURNED_AWAY of them) so that closing it with their
 * request unread does not reset the connection before they read the word. */
#define MAX_TURNED_AWAY 16
#define TURNED_AWAY_S 1.0

struct control_reply {
	char *buf;
	size_t len, cap;
	bool failed;
	char error[256];
	/* The object being answered (control_reply_begin): text lines go out
	 * at once, a JSON object is built here and goes out at _end. */
	bool json, first, oneline;
	char obj[8192];
	size_t obj_len;
	bool obj_cut;
};

struct control_client {
	struct control_server *srv;
	int fd;
	struct control_caller who;   /* SO_PEERCRED */
	ev_io io;
	ev_timer timer;
	char line[CONTROL_LINE_MAX + 2];
	size_t line_len;
	struct control_reply reply;
	size_t sent;
	bool writing;
};

struct control_server {
	struct ev_loop *loop;
	char *path;
	int fd;
	ev_io io;
	ev_timer resume;             /* accepting paused after EMFILE */
	/* A descriptor held in reserve: when the process has none left, it is
	 * given up to accept one operator (who gets an answer), then taken
	 * again once a client is gone. */
	int reserve_fd;
	control_handler_fn fn;
	void *arg;
	struct control_client *clients[MAX_CLIENTS];
	int turned_away[MAX_TURNED_AWAY];   /* -1: free */
	size_t turned_next;
	ev_timer linger;
};

static void reply_append(struct control_reply *r, const char *p, size_t n)
{
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 1024;
		char *nb;

		while (cap < r->len + n + 1)
			cap *= 2;
		nb = realloc(r->buf, cap);
		if (!nb) {
			r->failed = true;
			snprintf(r->error, sizeof(r->error), "out of memory");
			return;
		}
		r->buf = nb;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, p, n);
	r->len += n;
	r->buf[r->len] = '\0';
}

void control_reply_line(struct control_reply *reply, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	reply_append(reply, line, (size_t)n);
}

void control_reply_error(struct control_reply *reply, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reply->error, sizeof(reply->error), fmt, ap);
	va_end(ap);
	/* The status line is one line: no newline may hide in the message. */
	for (char *p = reply->error; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	reply->failed = true;
}

bool control_reply_failed(const struct control_reply *reply)
{
	return reply->failed;
}

const char *control_reply_message(const struct control_reply *reply)
{
	return reply->failed ? reply->error : "";
}

/* ---- answers that are one object: "key value" lines, or one JSON line ---- */

void control_reply_begin(struct control_reply *r, bool json)
{
	r->json = json;
	r->oneline = false;
	r->first = true;
	r->obj_len = 0;
	r->obj_cut = false;
	if (json)
		r->obj[r->obj_len++] = '{';
}

static void obj_put(struct control_reply *r, const char *p, size_t n)
{
	if (n >= sizeof(r->obj) - 2 - r->obj_len) {
		r->obj_cut = true;
		return;
	}
	memcpy(r->obj + r->obj_len, p, n);
	r->obj_len += n;
}

void control_reply_begin_line(struct control_reply *r, bool json)
{
	control_reply_begin(r, json);
	r->oneline = !json;
}

/* Text on one line: "key value key value". */
static bool oneline_put(struct control_reply *r, const char *key, const char *value)
{
	if (!r->oneline)
		return false;
	if (!r->first)
		obj_put(r, " ", 1);
	r->first = false;
	obj_put(r, key, strlen(key));
	obj_put(r, " ", 1);
	obj_put(r, value, strlen(value));
	return true;
}

/* ,"key": (keys are the program's own literals, [a-z0-9_]). */
static void obj_key(struct control_reply *r, const char *key)
{
	if (!r->first)
		obj_put(r, ",", 1);
	r->first = false;
	obj_put(r, "\"", 1);
	obj_put(r, key, strlen(key));
	obj_put(r, "\":", 2);
}

void control_reply_str(struct control_reply *r, const char *key, const char *value)
{
	char esc[1024];
	size_t n;

	if (oneline_put(r, key, value))
		return;
	if (!r->json) {
		control_reply_line(r, "%s %s", key, value);
		return;
	}
	obj_key(r, key);
	n = json_escape(esc, sizeof(esc), value);
	obj_put(r, "\"", 1);
	if (n != (size_t)-1)
		obj_put(r, esc, n);
	obj_put(r, "\"", 1);
}

/* A member whose value is written as it is: a number, true or false. */
static void put_raw(struct control_reply *r, const char *key, const char *text, const char *json)
{
	if (oneline_put(r, key, text))
		return;
	if (!r->json) {
		control_reply_line(r, "%s %s", key, text);
		return;
	}
	obj_key(r, key);
	obj_put(r, json, strlen(json));
}

void control_reply_u64(struct control_reply *r, const char *key, uint64_t value)
{
	char num[24];

	snprintf(num, sizeof(num), "%llu", (unsigned long long)value);
	put_raw(r, key, num, num);
}

void control_reply_i64(struct control_reply *r, const char *key, int64_t value)
{
	char num[24];

	snprintf(num, sizeof(num), "%lld", (long long)value);
	put_raw(r, key, num, num);
}

void control_reply_bool(struct control_reply *r, const char *key, bool value)
{
	put_raw(r, key, value ? "yes" : "no", value ? "true" : "false");
}

void control_reply_end(struct control_reply *r)
{
	if (!r->json && !r->oneline)
		return;
	if (r->obj_cut) {
		control_reply_error(r, "answer too large for one line");
		return;
	}
	if (r->json)
		r->obj[r->obj_len++] = '}';
	r->obj[r->obj_len++] = '\n';
	reply_append(r, r->obj, r->obj_len);
}

static void reserve_take(struct control_server *srv)
{
	if (srv->reserve_fd < 0)
		srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void client_free(struct control_client *c)
{
	struct control_server *srv = c->srv;

	for (int i = 0; i < MAX_CLIENTS; i++)
		if (srv->clients[i] == c)
			srv->clients[i] = NULL;
	ev_io_stop(srv->loop, &c->io);
	ev_timer_stop(srv->loop, &c->timer);
	close(c->fd);
	free(c->reply.buf);
	free(c);
	reserve_take(srv);
}

static void client_write(struct control_client *c)
{
	while (c->sent < c->reply.len) {
		ssize_t n = send(c->fd, c->reply.buf + c->sent, c->reply.len - c->sent, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			client_free(c);
			return;
		}
		c->sent += (size_t)n;
	}
	client_free(c);
}

static void client_answer(struct control_client *c)
{
	struct control_req req;
	char err[256];

	c->line[c->line_len] = '\0';
	if (control_parse(c->line, &req, err, sizeof(err)))
		c->srv->fn(c->srv->arg, &req, &c->who, &c->reply);
	else
		control_reply_error(&c->reply, "%s", err);
	if (c->reply.failed) {
		reply_append(&c->reply, "error ", 6);
		c->reply.failed = true;
		reply_append(&c->reply, c->reply.error, strlen(c->reply.error));
		reply_append(&c->reply, "\n", 1);
	} else {
		reply_append(&c->reply, "ok\n", 3);
	}
	if (!c->reply.buf) {
		client_free(c);
		return;
	}
	c->writing = true;
	ev_io_stop(c->srv->loop, &c->io);
	ev_io_set(&c->io, c->fd, EV_WRITE);
	ev_io_start(c->srv->loop, &c->io);
	client_write(c);
}

static void on_client(struct ev_loop *loop, ev_io *w, int revents)
{
	struct control_client *c = w->data;
	ssize_t n;
	char *nl;

	(void)loop;
	(void)revents;
	if (c->writing) {
		client_write(c);
		return;
	}
	n = recv(c->fd, c->line + c->line_len, sizeof(c->line) - 1 - c->line_len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		client_free(c);
		return;
	}
	c->line_len += (size_t)n;
	c->line[c->line_len] = '\0';
	nl = memchr(c->line, '\n', c->line_len);
	if (nl) {
		c->line_len = (size_t)(nl - c->line) + 1;
		client_answer(c);
	} else if (n == 0 || c->line_len >= sizeof(c->line) - 1) {
		client_answer(c);   /* no newline: parse what came (errors if too long) */
	}
}

static void on_client_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	client_free(w->data);
}

/* Out of descriptors with a client waiting: it would wake us again at once,
 * so accept it with the reserve descriptor, or pause accepting for a second
 * when the reserve is in use too. */
static int accept_exhausted(struct control_server *srv)
{
	int fd = -1;

	if (srv->reserve_fd >= 0) {
		close(srv->reserve_fd);
		srv->reserve_fd = -1;
		fd = accept4(srv->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0)
			return fd;
		reserve_take(srv);
	}
	ev_io_stop(srv->loop, &srv->io);
	ev_timer_set(&srv->resume, 1.0, 0.0);
	ev_timer_start(srv->loop, &srv->resume);
	return -1;
}

static void turned_away_close(struct control_server *srv, size_t i)
{
	char sink[512];

	if (srv->turned_away[i] < 0)
		return;
	/* Read what the client sent, so the close is a FIN, not a reset. */
	while (recv(srv->turned_away[i], sink, sizeof(sink), MSG_DONTWAIT) > 0)
		;
	close(srv->turned_away[i]);
	srv->turned_away[i] = -1;
}

static void on_linger(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct control_server *srv = w->data;

	(void)loop;
	(void)revents;
	for (size_t i = 0; i < MAX_TURNED_AWAY; i++)
		turned_away_close(srv, i);
	reserve_take(srv);
}

/* Every slot taken (or this account holds its share): say so, end our side,
 * and keep the socket a moment so the word arrives whole. */
static void turn_away(struct control_server *srv, int fd, const char *why)
{
	char msg[96];
	int n = snprintf(msg, sizeof(msg), "error busy: %s; try again\n", why);
	size_t i = srv->turned_next++ % MAX_TURNED_AWAY;

	if (send(fd, msg, (size_t)n, MSG_NOSIGNAL) < 0)
		(void)0;
	shutdown(fd, SHUT_WR);
	turned_away_close(srv, i);
	srv->turned_away[i] = fd;
	if (!ev_is_active(&srv->linger)) {
		ev_timer_set(&srv->linger, TURNED_AWAY_S, 0.0);
		ev_timer_start(srv->loop, &srv->linger);
	}
}

/* Who connected, as the kernel says: the operator's account, not a name
 * the client could choose. */
static struct control_caller peer_of(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	struct control_caller who = { .uid = (uid_t)-1, .gid = (gid_t)-1, .pid = 0 };

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 && len == sizeof(cr)) {
		who.uid = cr.uid;
		who.gid = cr.gid;
		who.pid = cr.pid;
		who.known = true;
	}
	return who;
}

static void on_control_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct control_server *srv = w->data;
	struct control_client *c;
	int fd, slot = -1, same_uid = 0;
	struct control_caller who;

	(void)revents;
	fd = accept4(srv->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM))
		fd = accept_exhausted(srv);
	if (fd < 0)
		return;
	who = peer_of(fd);
	for (int i = 0; i < MAX_CLIENTS; i++) {
		if (!srv->clients[i])
			slot = slot < 0 ? i : slot;
		else if (srv->clients[i]->who.uid == who.uid)
			same_uid++;
	}
	if (slot < 0) {
		turn_away(srv, fd, "every control slot is in use");
		return;
	}
	if (same_uid >= MAX_PER_UID) {
		turn_away(srv, fd, "this account holds its share of the control slots");
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		turn_away(srv, fd, "out of memory");
		return;
	}
	c->srv = srv;
	c->fd = fd;
	c->who = who;
	srv->clients[slot] = c;
	ev_io_init(&c->io, on_client, fd, EV_READ);
	c->io.data = c;
	ev_timer_init(&c->timer, on_client_timeout, CLIENT_TIMEOUT_S, 0.0);
	c->timer.data = c;
	ev_io_start(loop, &c->io);
	ev_timer_start(loop, &c->timer);
}

static void on_control_resume(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct control_server *srv = w->data;

	(void)revents;
	ev_io_start(loop, &srv->io);
}

struct control_server *control_server_new(struct ev_loop *loop, const char *path,
					  unsigned uid, unsigned gid,
					  control_handler_fn fn, void *arg,
					  char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct control_server *srv;
	struct stat st;
	mode_t old;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control socket path too long: %s", path);
		return NULL;
	}
	strcpy(sun.sun_path, path);
	/* Replace only a stale socket, never another kind of file. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "control socket %s: exists and is not a socket", path);
			return NULL;
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		return NULL;
	}
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 16) < 0) {
		umask(old);
		snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	umask(old);
	/* Mode first: once the socket is another user's, changing its mode
	 * needs CAP_FOWNER, which a sandboxed jgwd does not have. */
	if (chmod(path, gid != (unsigned)-1 ? 0660 : 0600) < 0) {
		snprintf(err, errlen, "control socket %s: chmod: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return NULL;
	}
	/* Already ours when jgwd was started as its user (the appliance's
	 * unit): then no chown, which that sandbox does not allow. */
	if (uid == geteuid())
		uid = (unsigned)-1;
	if (gid == getegid())
		gid = (unsigned)-1;
	if ((uid != (unsigned)-1 || gid != (unsigned)-1) && chown(path, uid, gid) < 0) {
		/* Not root: the socket may go only to a group jgwd's user is in. */
		snprintf(err, errlen, "control socket %s: chown: %s%s", path, strerror(errno),
		         errno == EPERM && geteuid() != 0 ?
		         " (jgwd's user must be a member of the control group: "
		         "SupplementaryGroups= in its unit)" : "");
		close(fd);
		unlink(path);
		return NULL;
	}
	srv = calloc(1, sizeof(*srv));
	if (!srv || !(srv->path = strdup(path))) {
		free(srv);
		close(fd);
		unlink(path);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	srv->loop = loop;
	srv->fd = fd;
	srv->fn = fn;
	srv->arg = arg;
	ev_io_init(&srv->io, on_control_accept, fd, EV_READ);
	srv->io.data = srv;
	ev_io_start(loop, &srv->io);
	ev_timer_init(&srv->resume, on_control_resume, 1.0, 0.0);
	srv->resume.data = srv;
	ev_timer_init(&srv->linger, on_linger, TURNED_AWAY_S, 0.0);
	srv->linger.data = srv;
	for (size_t i = 0; i < MAX_TURNED_AWAY; i++)
		srv->turned_away[i] = -1;
	srv->reserve_fd = -1;
	reserve_take(srv);
	return srv;
}

void control_server_free(struct control_server *srv)
{
	if (!srv)
		return;
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (srv->clients[i])
			client_free(srv->clients[i]);
	ev_io_stop(srv->loop, &srv->io);
	ev_timer_stop(srv->loop, &srv->resume);
	ev_timer_stop(srv->loop, &srv->linger);
	for (size_t i = 0; i < MAX_TURNED_AWAY; i++)
		turned_away_close(srv, i);
	if (srv->reserve_fd >= 0)
		close(srv->reserve_fd);
	close(srv->fd);
	unlink(srv->path);
	free(srv->path);
	free(srv);
}
