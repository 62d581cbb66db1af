/*
 * relay.h — the tunnels of jgwd: LAN and WAN listeners, egress dials over
 * mTLS, ingress relays to the local servers, inspection of every frame in
 * both directions, bounded buffers with backpressure, timeouts and limits.
 *
 * The relay runs in workers (`workers N`): each a libev loop on a thread of
 * its own with its own listeners on the same addresses (SO_REUSEPORT: the
 * kernel spreads new connections over them), its own tunnels and counters.
 * What the gateway's limits count (tunnels per peer, per source, in all)
 * is shared under one lock; the audit trail is one chain (audit.h locks
 * it). Every relay_* call below is the daemon's, on its own loop's thread:
 * it locks each worker in turn. The relay knows nothing of nftables or of
 * the control socket: failures per source go out through relay_hooks, on
 * the daemon's loop, and the daemon decides about quarantine. Every tunnel and every frame verdict is
 * an audit record (docs/audit.md); nothing of a frame's fields is ever logged.
 *
 * A configuration generation (relay_gen) bundles a loaded configuration with
 * its TLS context and inspection parameters. Tunnels keep the generation they
 * started with; relay_set_gen() makes a new one current and closes the live
 * tunnels that the new one no longer allows (peer removed, or its TLS check
 * fails under the new context: CA, validity, CRLs, identity, site rule).
 */
#ifndef JGW_RELAY_H
#define JGW_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "filters/engine/inspect.h"
#include "gateway/daemon/gen.h"

struct ev_loop;
struct audit;
struct tls_ctx;

/* ---- Bounded byte buffer (one per direction of a tunnel) ---- */

struct relay_buf {
	uint8_t *data;
	size_t off;      /* first unconsumed byte */
	size_t len;      /* unconsumed bytes from off */
	size_t cap;      /* allocated */
	size_t limit;    /* never allocate more than this */
	size_t hw;       /* high-water mark: bytes [0, hw) ever held data, and
	                  * only they are wiped when the block is given back */
};

void relay_buf_init(struct relay_buf *b, size_t limit);
/* Room for up to want more bytes at the tail (grown or compacted, never
 * past limit): pointer and size in *got, NULL with *got 0 when full or out
 * of memory. */
uint8_t *relay_buf_space(struct relay_buf *b, size_t want, size_t *got);
void relay_buf_commit(struct relay_buf *b, size_t n);
const uint8_t *relay_buf_data(const struct relay_buf *b);
size_t relay_buf_len(const struct relay_buf *b);
void relay_buf_consume(struct relay_buf *b, size_t n);
/* Give the memory back (wiped) when nothing is buffered: idle tunnels
 * stay small. */
void relay_buf_trim(struct relay_buf *b);
void relay_buf_free(struct relay_buf *b);   /* wipes */
/* Free the wiped blocks this thread kept for reuse (as a worker ends, and
 * at relay_free). */
void relay_buf_drain_spares(void);

/* Bytes read from a socket at a time, and at most in one turn of a flow
 * (several reads) before its allowed bytes are written on. */
#define RELAY_READ_CHUNK ((size_t)64 * 1024)
#define RELAY_READ_BUDGET ((size_t)256 * 1024)

/* Largest frame a buffer must be able to hold whole (4 MiB body + header):
 * the engine denies longer ones when it reads their header. */
#define RELAY_MAX_FRAME ((size_t)4 * 1024 * 1024 + 48)

/* Should a direction stop reading its source? buffered: bytes held in the
 * direction's buffer; forwardable: how many of them inspection allowed.
 * Holds at most one max frame + buffer_bytes, and never more than
 * buffer_bytes already allowed but not yet written. */
bool relay_backpressure(size_t buffered, size_t forwardable, size_t buffer_bytes);

/* ---- Live tunnels per key: per peer node, per LAN source address (a
 * small hash; exposed for its tests) ---- */

#define RELAY_COUNT_KEY 48             /* a node code or an address in text */
struct relay_count_slot {
	char key[RELAY_COUNT_KEY];     /* "" : never used */
	uint32_t n;
};
struct relay_count {
	struct relay_count_slot *slot;
	size_t cap, used;              /* used: slots holding a key */
};
void relay_count_init(struct relay_count *pc);
bool relay_count_inc(struct relay_count *pc, const char *key);  /* false: no memory */
void relay_count_dec(struct relay_count *pc, const char *key);
size_t relay_count_get(const struct relay_count *pc, const char *key);
void relay_count_free(struct relay_count *pc);

/* ---- Counts by name and by message type since start, for metrics: fixed
 * tables inside struct relay, never allocated (relay_tally.c). A name past
 * the slots counts under "other", and so does a frame of a type the catalog
 * does not know: its code comes off the wire and must not make labels. ---- */

#define RELAY_TALLY_SLOTS 48           /* the last one is "other" */
#define RELAY_TALLY_NAME 32
struct relay_tally_slot {
	char name[RELAY_TALLY_NAME];
	uint64_t n;
};
struct relay_tally {
	struct relay_tally_slot slot[RELAY_TALLY_SLOTS];
	size_t used;
};
void relay_tally_add(struct relay_tally *t, const char *name);
/* Add src's counts into dst (the workers' tallies summed). */
void relay_tally_merge(struct relay_tally *dst, const struct relay_tally *src);

#define RELAY_TYPE_SLOTS 64
struct relay_type_slot {
	uint16_t type;
	uint64_t allowed, denied;
};
struct relay_type_tally {
	struct relay_type_slot slot[RELAY_TYPE_SLOTS];
	size_t used;
	uint64_t other_allowed, other_denied;   /* unknown types, or no slot left */
};
void relay_type_tally_add(struct relay_type_tally *t, uint16_t type, bool known, bool allowed);
void relay_type_tally_merge(struct relay_type_tally *dst, const struct relay_type_tally *src);

/* ---- Each peer address's last success and last error (relay_addr.c):
 * a tunnel that opened, or one that ended before it did, with a known peer
 * (egress: the peer it dialled; ingress: the peer its certificate named). */

struct relay_addr_key {
	char node[8];                  /* NUL-padded node code */
	uint8_t family;                /* 4 or 6 */
	uint8_t addr[16];
};
struct relay_addr_slot {
	struct relay_addr_key key;
	bool used;
	bool ok_ingress, err_ingress;
	int64_t ok_s, err_s;           /* wall clock; 0: never */
	const char *err_reason;        /* the tunnel record's reason (static) */
};
struct relay_addrs {
	struct relay_addr_slot *slot;
	size_t cap, used;
};
void relay_addr_ok(struct relay_addrs *t, const char *node, const struct sockaddr *sa, bool ingress);
void relay_addr_error(struct relay_addrs *t, const char *node, const struct sockaddr *sa,
		      bool ingress, const char *reason);
const struct relay_addr_slot *relay_addr_get(const struct relay_addrs *t, const char *node,
					     const struct sockaddr *sa);
/* Two workers' view of one address: the later success and the later error. */
void relay_addr_merge(struct relay_addr_slot *dst, const struct relay_addr_slot *src);
void relay_addrs_free(struct relay_addrs *t);

/* ---- The relay ---- */

struct relay_hooks {
	/* A source failed authentication or inspection (cause: the audit
	 * reason name); lan: it is on the site's LAN side. The daemon counts
	 * it toward quarantine. Called on the daemon's loop (the workers queue
	 * it there). */
	void (*failure)(void *arg, const struct sockaddr *src, bool lan, const char *peer,
			const char *cause);
	/* Every tunnel is closed after relay_stop(). */
	void (*stopped)(void *arg);
	/* May a new tunnel start? (audit disk limit; false: fail closed)
	 * Called on a worker's thread: it must be thread-safe. */
	bool (*admit)(void *arg, const char **why);
	void *arg;
};

struct relay_stats {
	uint64_t tunnels_open, tunnels_total, tunnels_rejected;
	uint64_t egress_open, ingress_open;
	uint64_t frames_allowed, frames_denied;
	uint64_t bytes_allowed, bytes_denied;   /* frame lengths per verdict */
	uint64_t bytes_in, bytes_out;      /* in: from the WAN; out: to the WAN */
	uint64_t generation;
	size_t buffered_bytes;
};

struct relay;

/* Workers: at most RELAY_WORKERS_MAX; the default is one per online CPU. */
#define RELAY_WORKERS_MAX 64
unsigned relay_default_workers(void);

/* loop: the daemon's (the hooks run on it). The workers' threads start at
 * the first relay_set_gen(). */
struct relay *relay_new(struct ev_loop *loop, struct audit *audit,
			const struct relay_hooks *hooks, unsigned n_workers);
unsigned relay_workers(const struct relay *r);
/* Bind and listen on the LAN and WAN listeners of gen's configuration. */
int relay_listen(struct relay *r, const struct jgw_config *cfg, char *err, size_t errlen);
/* Close (on false) or open again the WAN listener: a member of a pair in
 * FAULT takes no tunnels from the WAN, so that a peer's connect is refused
 * at once and it dials the pair's next address. 0, or -1 (err) when it
 * cannot be bound again. */
int relay_wan_listen(struct relay *r, bool on, char *err, size_t errlen);
/* Make gen current (takes a reference); close the tunnels it no longer
 * allows (audited). The first call starts accepting. */
void relay_set_gen(struct relay *r, struct gen *gen);
const struct gen *relay_current(const struct relay *r);
/* With the fail-closed CRL policy and a CRL of the current generation past
 * its nextUpdate, end every authenticated tunnel (audited crl-stale), as a
 * reload would; new handshakes are refused by the TLS layer. Called
 * periodically. Returns how many were closed. */
size_t relay_check_crl(struct relay *r, int64_t now_s);
/* Live tunnels with this peer node (O(1): `jgwctl peers`). */
size_t relay_peer_tunnels(const struct relay *r, const char *node);
/* Since start, every worker's summed: connections that ended before their
 * tunnel opened, by the reason of their record; denied frames by inspection
 * reason; frames by type and verdict (metrics). */
struct relay_tallies {
	struct relay_tally rejects, denies;
	struct relay_type_tally types;
};
void relay_tallies(const struct relay *r, struct relay_tallies *out);
/* The last success and error at a peer's address (IP; the port is not
 * compared), in out; false when none was seen. */
bool relay_peer_addr(const struct relay *r, const char *node, const struct sockaddr *sa,
		     struct relay_addr_slot *out);
/* End one tunnel now (audited with reason); false when no tunnel has id. */
bool relay_close(struct relay *r, uint64_t id, const char *reason);
/* Stop accepting and end every tunnel now (TLS close_notify, a close
 * record each; frames in flight are not drained); then hooks->stopped. */
void relay_stop(struct relay *r);
void relay_free(struct relay *r);

void relay_get_stats(const struct relay *r, struct relay_stats *out);
/* Counters since the last call (for periodic stats records), then reset. */
void relay_take_interval(struct relay *r, struct relay_stats *out);

/* One call per live tunnel, for `jgwctl peers`. */
struct relay_tunnel_info {
	uint64_t id;
	unsigned worker;                 /* the worker that holds it, from 0 */
	const char *side;                /* "lan" (egress) or "wan" (ingress) */
	const char *state;
	const char *peer;                /* "" while unknown */
	const char *peer_addr;
	uint64_t generation;
	uint64_t bytes_in, bytes_out, frames_in, frames_out;
	int64_t age_ms;
};
typedef void (*relay_tunnel_fn)(void *arg, const struct relay_tunnel_info *info);
void relay_foreach(const struct relay *r, relay_tunnel_fn fn, void *arg);

#endif
