/*
 * relp.h — the mirror's RELP client (relp.c): one session with the
 * collector (rsyslog imrelp) over TLS, private to the audit writer.
 *
 * Many syslog commands go out in one TLS record, and each is answered by
 * its own transaction number, so the mirror knows exactly which records the
 * collector holds: no bound estimated from a window. The collector is
 * authenticated by its chain to the configured CA *and* by name (its CN or
 * a subjectAltName DNS name must be the configured one).
 */
#ifndef JGW_AUDIT_RELP_H
#define JGW_AUDIT_RELP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Commands sent and not yet answered, at most; and bytes waiting to be
 * written, at most (a record line is at most 4 KiB). */
#define RELP_WINDOW   1024
#define RELP_OUT_MAX  ((size_t)256 * 1024)

struct relp_params {
	const char *host, *port;       /* dialled (every address of host, in turn) */
	const char *name;              /* the collector's certificate must carry it */
	const char *ca, *cert, *key;   /* PEM files; cert and key may be NULL */
	int connect_ms;                /* TCP connect and TLS handshake, each */
	int io_ms;                     /* a write that does not move, an answer that
	                                * does not come while the window is full */
};

enum relp_outcome {
	RELP_OK,
	RELP_UNREACHABLE,              /* no connection, handshake or open failed */
	RELP_REFUSED,                  /* the collector's certificate was refused */
};

struct relp;

/* Connect, check the collector, open the session. NULL with the outcome
 * and why (one line, for the log) when there is no session. */
struct relp *relp_open(const struct relp_params *p, enum relp_outcome *outcome, char *why,
		       size_t whylen);
/* End the session: with orderly, a close command and its answer are waited
 * for up to the io timeout and the TLS session is shut down. */
void relp_free(struct relp *c, bool orderly);
/* May another command be queued (window and bytes)? */
bool relp_room(const struct relp *c);
/* Queue one syslog message; tag (the record's seq) is what relp_acked
 * reports once it is answered. False when there is no room. */
bool relp_queue(struct relp *c, const char *msg, size_t len, uint64_t tag);
/* Write what is queued and read the answers that came; with nothing to
 * write and commands unanswered, wait up to wait_ms for an answer (up to
 * the io timeout when the window is full). The number of answers read, or
 * -1 when the session broke (logged; drop it). */
int relp_pump(struct relp *c, int wait_ms);
/* The tag of the last command answered "200" with every one before it;
 * 0 before the first. */
uint64_t relp_acked(const struct relp *c);
size_t relp_unanswered(const struct relp *c);

#endif
