/*
 * control.h — the control socket's line protocol, shared by jgwd (server)
 * and jgwctl (client).
 *
 * One request per connection: a single line of at most CONTROL_LINE_MAX
 * bytes, ending in "\n". The answer is zero or more data lines followed by
 * one status line, "ok" or "error MESSAGE"; then the server closes.
 *
 *   status | stats | reload | peers
 *   quarantine add ADDR [TIMEOUT]     ADDR: IPv4/IPv6 address or prefix,
 *   quarantine del ADDR               TIMEOUT: seconds (suffix s, m or h)
 *   quarantine list
 */
#ifndef JGW_CONTROL_H
#define JGW_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "filters/firewall/nft.h"

#define CONTROL_LINE_MAX 256
#define CONTROL_TIMEOUT_MAX (30u * 24 * 3600)   /* a quarantine lasts <= 30 days */

enum control_cmd {
	CONTROL_STATUS,
	CONTROL_STATS,
	CONTROL_RELOAD,
	CONTROL_PEERS,
	CONTROL_QUAR_ADD,
	CONTROL_QUAR_DEL,
	CONTROL_QUAR_LIST,
	CONTROL_METRICS,              /* the Prometheus exposition (monitor.h) */
};

struct control_req {
	enum control_cmd cmd;
	struct addr_prefix addr;      /* quarantine add/del */
	uint32_t timeout_s;          /* quarantine add; 0: the set's default */
};

/* Parse one request line (with or without its "\n"). false with a message
 * in err (which quotes the bad word) when it is not a valid request. */
bool control_parse(const char *line, struct control_req *req, char *err, size_t errlen);

/* Build the request line for argv (jgwctl's words); false when they do not
 * form a valid request. */
bool control_format(int argc, char *const *argv, char *line, size_t len,
		    char *err, size_t errlen);

/* Client: send line to the daemon at path, copy data lines to out, and
 * return 0 on "ok", 1 on "error ..." (message to err_out), -1 when the
 * daemon cannot be reached or the answer is malformed (message in err). */
int control_call(const char *path, const char *line, int out_fd, int err_fd,
		 char *err, size_t errlen);

/* ---- Server side (jgwd) ---- */

struct ev_loop;
struct control_reply;
struct control_server;

/* Called once per valid request; write the answer with control_reply_*.
 * Invalid requests are answered "error ..." without a call. */
typedef void (*control_handler_fn)(void *arg, const struct control_req *req,
				   struct control_reply *reply);

/* A data line of the answer (a newline is added). */
void control_reply_line(struct control_reply *reply, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Make the status line "error MESSAGE" instead of "ok". */
void control_reply_error(struct control_reply *reply, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Listen on a unix stream socket at path (a stale socket there is replaced),
 * mode 0600, or 0660 with group gid when gid != (gid_t)-1; owned by uid
 * when uid != (uid_t)-1. At most a few clients at once; each gets a few
 * seconds to send its line. */
struct control_server *control_server_new(struct ev_loop *loop, const char *path,
					  unsigned uid, unsigned gid,
					  control_handler_fn fn, void *arg,
					  char *err, size_t errlen);
/* Closes every client and removes the socket file. */
void control_server_free(struct control_server *srv);

/* Is this a timeout word: N, Ns, Nm or Nh within 1..CONTROL_TIMEOUT_MAX? */
bool control_parse_timeout(const char *word, uint32_t *seconds);

#endif
