/*
 * ha.h — jgwd as one member of a site's pair (configuration `ha { }`,
 * docs/operations.md "Two appliances per site").
 *
 * keepalived decides which member holds the virtual address; its notify
 * script tells jgwd (`jgwctl ha state MASTER|BACKUP|FAULT|STOP`, a note
 * only root may send), and each change is an `ha` audit record. In FAULT
 * (the member's LAN link or its jgwd check failed) the member takes no
 * tunnels: its WAN listener is closed, so a peer is refused at once and
 * dials the pair's next address, and its live tunnels are ended (reason
 * ha-fault) so that clients resend what was not answered.
 *
 * Quarantine follows the pair: each quarantine this member makes (or
 * removes) is sent to the partner over mutually authenticated TLS 1.3 with
 * the site's own certificate (the partner must prove the same node, from
 * one of the partner addresses), and on every (re)connection the member
 * sends what it still holds, with the time left. What the partner sends is
 * put into this member's kernel set (through the hooks) and audited with
 * cause `partner`.
 */
#ifndef JGW_HA_H
#define JGW_HA_H

#include <stdbool.h>
#include <stdint.h>

#include "filters/base/addr.h"

struct ev_loop;
struct audit;
struct relay;
struct gen;
struct operator;
struct control_reply;

struct ha_hooks {
	/* Put addr into (add) or take it out of the kernel's quarantine set,
	 * and book its end; 0, or -1 with err. */
	int (*quarantine)(void *arg, bool add, const struct addr_prefix *addr, uint32_t timeout_s,
			  char *err, size_t errlen);
	void *arg;
};

struct ha;

struct ha *ha_new(struct ev_loop *loop, struct audit *audit, struct relay *relay,
		  const struct ha_hooks *hooks);
/* Follow gen's `ha { }` (start and every reload): the sync listener, the
 * connection to the partner, the TLS context that proves the site. 0, or
 * -1 with err when the sync port cannot be bound. Nothing without ha. */
int ha_configure(struct ha *ha, struct gen *gen, char *err, size_t errlen);
void ha_free(struct ha *ha);

/* keepalived's state of this member, from a root-only note: audited, and
 * in FAULT the member stops taking tunnels. The answer goes to rep. */
void ha_note(struct ha *ha, const struct operator *op, const char *state,
	     struct control_reply *rep);

/* A quarantine change made by this member (automatic or manual): tell the
 * partner now, or at the next connection. */
void ha_quarantine_local(struct ha *ha, bool add, const struct addr_prefix *addr,
			 uint32_t timeout_s, const char *cause);

/* status lines: ha_member, ha_state, ha_sync (the connection to the
 * partner: up, down or none), ha_sync_sent, ha_sync_received. */
void ha_status(const struct ha *ha, struct control_reply *rep);

#endif
