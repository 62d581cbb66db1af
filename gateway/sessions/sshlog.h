/*
 * sshlog.h — sshd's log messages (OpenSSH 9.2, Debian 12) read as session
 * events for the audit trail: a login, its end, a failed attempt.
 *
 * One message at a time (the journal's MESSAGE, or a line of `sshd -e`),
 * without any syslog prefix. Recognised, everything else is SSHLOG_NONE:
 *
 *   Accepted METHOD for USER from ADDR port N ssh2[: KEY]          open
 *   Disconnected from user USER ADDR port N                        close
 *   pam_unix(sshd:session): session closed for user USER           close (no address)
 *   Failed METHOD for [invalid user ]USER from ADDR port N ssh2[: KEY]   failed
 *   Invalid user USER from ADDR port N                             failed
 *   Connection closed by authenticating user USER ADDR port N [preauth]  failed
 *   Connection closed by invalid user USER ADDR port N [preauth]   failed
 *
 * METHOD is publickey, password or keyboard-interactive (with a submethod
 * such as keyboard-interactive/pam); "Failed none" and other methods are
 * SSHLOG_NONE (the "Invalid user" line of the same attempt is the record).
 *
 * Who chose which text: sshd writes USER as the client sent it (for an
 * invalid user: anything, escaped by sshd as \ooo for control and
 * non-ASCII bytes), then appends the address it knows. So:
 *  - USER is kept only when it is an account name ([a-z_][a-z0-9_.-]{0,31});
 *    anything else becomes "-", never the client's text;
 *  - for a user sshd knows (Accepted, Failed without "invalid user",
 *    "authenticating user", Disconnected, pam_unix), USER is one word and
 *    the address must follow it at once: text after the address (a
 *    certificate's ID in KEY) is never looked at;
 *  - for an invalid user, the address is the LAST "from ADDR port N" of the
 *    line (the last "ADDR port N [preauth]" for "Connection closed"), the
 *    one sshd appended after the user's text: `Invalid user x from 1.2.3.4
 *    port 1 from 10.0.0.1 port 2` is user "-" from 10.0.0.1 port 2. A
 *    "Failed ... for invalid user" line whose KEY text also holds " from "
 *    has client text on both sides of the address and is SSHLOG_MALFORMED.
 *
 * ADDR must be an IPv4 or IPv6 address (inet_pton; no scope, no name), N a
 * port 0..65535 without sign or leading zero. A message longer than
 * SSHLOG_LINE_MAX, or with a control byte (sshd escapes them), is
 * SSHLOG_MALFORMED when it starts like one of the messages above, else
 * SSHLOG_NONE.
 */
#ifndef JGW_SSHLOG_H
#define JGW_SSHLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SSHLOG_LINE_MAX 2048
#define SSHLOG_NAME_MAX 32                  /* an account name, as control.h */
#define SSHLOG_ADDR_MAX 46                  /* INET6_ADDRSTRLEN */

enum sshlog_result {
	SSHLOG_NONE,              /* not a session message: ignore it */
	SSHLOG_EVENT,             /* an event, in *ev */
	SSHLOG_MALFORMED,         /* starts like a session message but does not parse */
};

enum sshlog_kind { SSHLOG_OPEN, SSHLOG_CLOSE, SSHLOG_FAILED };

enum sshlog_method {
	SSHLOG_M_NONE,            /* not said (close, Invalid user, Connection closed) */
	SSHLOG_M_PUBLICKEY,
	SSHLOG_M_PASSWORD,
	SSHLOG_M_KBDINT,
};

struct sshlog_event {
	enum sshlog_kind kind;
	enum sshlog_method method;
	char user[SSHLOG_NAME_MAX + 1];     /* an account name, or "-" */
	bool have_addr;                     /* false: pam_unix's close */
	char addr[SSHLOG_ADDR_MAX];         /* canonical (inet_ntop) */
	uint16_t port;
	bool pam;                           /* the close came from pam_unix */
};

/* Read one message of len bytes (a trailing "\r\n" or "\n" is allowed). */
enum sshlog_result sshlog_parse(const char *msg, size_t len, struct sshlog_event *ev);

/* Is s an account name as useradd makes them: [a-z_][a-z0-9_.-]{0,31}? */
bool sshlog_account_name(const char *s, size_t len);

/* "open", "close", "failed": the word of the control note. */
const char *sshlog_kind_name(enum sshlog_kind kind);
/* "publickey", "password", "keyboard-interactive", "-". */
const char *sshlog_method_name(enum sshlog_method method);

#endif
