/*
 * operator.h — who asked for a change on the control socket, and the
 * record of it (docs/operations.md, "Operators and their history").
 *
 * The account is the kernel's (SO_PEERCRED: uid, pid), the login account
 * and session are the kernel's too (/proc/PID/loginuid and sessionid, set
 * at login and kept through su and sudo); only the SSH client address
 * (`via`) and the comment are what the caller says. Every state-changing
 * request is an `admin` audit record, refused ones included.
 */
#ifndef JGW_OPERATOR_H
#define JGW_OPERATOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "gateway/control/control.h"

struct audit;
struct audit_rec;

struct operator {
	bool known;                   /* the kernel named the caller */
	uid_t uid;
	pid_t pid;
	char name[64];                /* the account's name, or "uid:N" */
	bool have_login;
	uint32_t login_uid;           /* the account that logged in (sudo keeps it) */
	char login[64];
	uint32_t session;             /* the kernel's audit session id; 0: none */
	char via[64];                 /* as the caller says */
	char comment[CONTROL_COMMENT_MAX + 1];
};

/* The operator behind a request. */
void operator_of(const struct control_caller *caller, const struct control_req *req,
		 struct operator *out);

/* May this operator change state? root, the daemon's own account, and the
 * members of admin_group (NULL: no group). why: a message when not. */
bool operator_may_change(const struct operator *op, const char *admin_group,
			 char *why, size_t whylen);

/* The operator's members in any record (config, quarantine, admin). */
void operator_fields(struct audit_rec *rec, const struct operator *op);

/* The `admin` record of one state-changing request: its action, the
 * outcome ("ok", "refused", "error") and, unless ok, why. */
void operator_record(struct audit *audit, const struct operator *op, const char *action,
		     const char *outcome, const char *detail);

#endif
