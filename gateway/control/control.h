/*
 * control.h — the control socket: its line protocol (proto.c), the client
 * jgwctl calls (client.c), and the server jgwd runs (server.c).
 *
 * One request per connection: a single line of at most CONTROL_LINE_MAX
 * bytes, ending in "\n". The answer is zero or more data lines followed by
 * one status line, "ok" or "error MESSAGE"; then the server closes.
 *
 *   status | stats | peers | version          read-only, any member
 *   quarantine list | config history           of the socket's group
 *   config show SHA|GEN
 *   reload [--confirm DURATION] [--force]     state-changing: audited with
 *   confirm                                   the caller (SO_PEERCRED), for
 *   config rollback SHA|GEN [--confirm D]     root, the daemon's account
 *   quarantine add ADDR [DURATION]            and the admin group only
 *   quarantine del ADDR
 *   tunnel close ID
 *   audit epoch
 *   session open|close|failed USER ADDR PORT  notes for the audit trail,
 *   account add|del NAME admin|read           from root only
 *   ha state MASTER|BACKUP|FAULT|STOP         (keepalived's notify script)
 *
 * Options anywhere after the verb: --json (status, stats, peers, config
 * history: one JSON object per line), --via HOST:PORT (the SSH client the
 * caller came from, as its environment says), and a comment after a lone
 * "--" (the rest of the line: UTF-8 text, no control characters, at most
 * CONTROL_COMMENT_MAX bytes), written into the audit record. A DURATION is
 * written as in the configuration: 600, 30s, 10min, 2h, 7d.
 */
#ifndef JGW_CONTROL_H
#define JGW_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "filters/base/addr.h"

#define CONTROL_LINE_MAX 512
#define CONTROL_COMMENT_MAX 200
#define CONTROL_NAME_MAX 32                     /* an account name */
#define CONTROL_TIMEOUT_MAX (30u * 24 * 3600)   /* a quarantine lasts <= 30 days */
#define CONTROL_CONFIRM_MAX (24u * 3600)        /* a reload waits <= 1 day for confirm */

enum control_cmd {
	/* read-only */
	CONTROL_STATUS,
	CONTROL_STATS,
	CONTROL_PEERS,
	CONTROL_VERSION,
	CONTROL_QUAR_LIST,
	CONTROL_HISTORY,
	CONTROL_SHOW,
	CONTROL_METRICS,              /* the Prometheus exposition (monitor.h) */
	/* state-changing: control_changes_state() */
	CONTROL_RELOAD,
	CONTROL_CONFIRM,
	CONTROL_ROLLBACK,
	CONTROL_QUAR_ADD,
	CONTROL_QUAR_DEL,
	CONTROL_TUNNEL_CLOSE,
	CONTROL_AUDIT_EPOCH,
	/* what the system tells jgwd for the audit trail: root only
	 * (control_root_only) */
	CONTROL_SESSION,
	CONTROL_ACCOUNT,
	CONTROL_HA_STATE,             /* keepalived's state of this pair member */
	CONTROL_UPDATE,               /* jgw-update: a payload refused, installed,
	                               * confirmed or rolled back */
};

struct control_req {
	enum control_cmd cmd;
	struct addr_prefix addr;      /* quarantine add/del */
	uint32_t timeout_s;           /* quarantine add; 0: the set's default */
	uint32_t confirm_s;           /* reload/rollback --confirm; 0: none */
	uint64_t id;                  /* tunnel close */
	char ref[72];                 /* config show/rollback: a sha256 or generation */
	char action[12];              /* session: open, close, failed; account: add, del;
	                               * ha state: MASTER, BACKUP, FAULT, STOP;
	                               * update: refused, installed, confirmed, rollback */
	char name[CONTROL_NAME_MAX + 1];   /* session: user; account: its name */
	char role[8];                 /* account: admin or read */
	char slot[2];                 /* update: a, b, or "" for none */
	uint16_t port;                /* session: the client's port */
	bool json, force;
	char via[64];                 /* --via: the caller's SSH client, as it says */
	char comment[CONTROL_COMMENT_MAX + 1];
};

/* The verbs that change the daemon's state: audited with their caller,
 * allowed to root, the daemon's own account and the admin group only. */
bool control_changes_state(enum control_cmd cmd);
/* Notes from the system itself (sshd's sessions, accounts made or
 * removed): only root may send them, or the audit trail could be told
 * stories by the operators it records. */
bool control_root_only(enum control_cmd cmd);
/* The verb as written ("reload", "quarantine add", ...), for records. */
const char *control_cmd_name(enum control_cmd cmd);

/* Parse one request line (with or without its "\n"). false with a message
 * in err (which quotes the bad word) when it is not a valid request. */
bool control_parse(const char *line, struct control_req *req, char *err, size_t errlen);

/* Build the request line for argv (jgwctl's words, options included; a
 * comment after "--"); false when they do not form a valid request. */
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

/* Who is on the other end of the socket, as the kernel says (SO_PEERCRED). */
struct control_caller {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	bool known;                   /* false: the kernel did not say */
};

/* Called once per valid request; write the answer with control_reply_*.
 * Invalid requests are answered "error ..." without a call. */
typedef void (*control_handler_fn)(void *arg, const struct control_req *req,
				   const struct control_caller *caller,
				   struct control_reply *reply);

/* A data line of the answer (a newline is added). */
void control_reply_line(struct control_reply *reply, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* An answer that is one object (a status, a peer, a tunnel): "key value"
 * lines, or with json one JSON object on one line. Between _begin and
 * _end, one call per member; keys are the program's own [a-z0-9_]. The
 * JSON members keep the text keys and order: docs/operations.md. */
void control_reply_begin(struct control_reply *reply, bool json);
/* The same, but in text one line of "key value key value ..." (a peer, a
 * tunnel: one line each). */
void control_reply_begin_line(struct control_reply *reply, bool json);
void control_reply_str(struct control_reply *reply, const char *key, const char *value);
void control_reply_u64(struct control_reply *reply, const char *key, uint64_t value);
void control_reply_i64(struct control_reply *reply, const char *key, int64_t value);
void control_reply_bool(struct control_reply *reply, const char *key, bool value);
void control_reply_end(struct control_reply *reply);
/* Make the status line "error MESSAGE" instead of "ok". */
void control_reply_error(struct control_reply *reply, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Has the answer become an error, and its message ("" when not). */
bool control_reply_failed(const struct control_reply *reply);
const char *control_reply_message(const struct control_reply *reply);

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

/* Is this a duration word (the configuration's units, or bare seconds)
 * within 1 s..max_s? Sub-second parts are refused. */
bool control_parse_duration(const char *word, uint32_t max_s, uint32_t *seconds);

#endif
