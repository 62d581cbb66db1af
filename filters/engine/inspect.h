/*
 * inspect.h — the JMSG inspection engine (docs/protocol.md §2–§6).
 *
 * One engine, used live by jgwd, by jgw-replay on captured traffic, by
 * jgw-inspect and by the fuzzers. It is incremental: bytes may arrive split
 * at any offset, and the verdicts are the same as for the whole stream at
 * once. It never copies a field value out of the stream and never prints
 * one; what it reports is frame metadata (type, codes, lengths, counts).
 *
 * A struct insp_conn follows one relayed connection, both directions:
 * frames arriving from the site LAN and frames arriving from the WAN peer.
 */
#ifndef JGW_INSPECT_H
#define JGW_INSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "filters/engine/catalog.h"
#include "filters/engine/jmsg.h"

/* Deny reasons: names are docs/protocol.md §6, stable, used in audit records. */
enum insp_reason {
	INSP_OK = 0,
	INSP_BAD_MAGIC, INSP_BAD_VERSION, INSP_BAD_FLAGS, INSP_BAD_RESERVED,
	INSP_UNKNOWN_TYPE, INSP_DIRECTION_NOT_ALLOWED, INSP_BODY_TOO_LARGE,
	INSP_SEQ_NOT_INCREASING, INSP_CLOCK_SKEW, INSP_BAD_SENDER,
	INSP_BAD_RECEIVER, INSP_SENDER_MISMATCH, INSP_RECEIVER_MISMATCH,
	INSP_PAIR_CHANGED, INSP_UNSOLICITED_RESPONSE, INSP_DUPLICATE_RESPONSE,
	INSP_TLV_TRUNCATED, INSP_TLV_ORDER, INSP_TLV_UNKNOWN_TAG, INSP_TLV_REPEAT,
	INSP_TLV_MISSING, INSP_TLV_TRAILING, INSP_BAD_VALUE, INSP_RATE_LIMITED,
	INSP_TRUNCATED_FRAME,
	/* Captured traffic only (jgw-replay): the stream lost bytes, or a copy
	 * of a byte differed from the first ("gap", "overlap-conflict"). */
	INSP_GAP, INSP_OVERLAP_CONFLICT,
	/* "bad-ref": a request or notice whose ref is not 0 (docs/protocol.md §2). */
	INSP_BAD_REF,
	/* "system-mismatch": a frame of one system (0x01xx 住基ネット, 0x02xx
	 * 附票連携システム) on a connection that carries the other one: the far
	 * end relays a connection to one local server, chosen by its system. */
	INSP_SYSTEM_MISMATCH,
	INSP_REASON_COUNT
};

const char *insp_reason_name(enum insp_reason reason);

/* Where a frame came from, seen from this gateway. */
enum insp_dir {
	INSP_FROM_LAN = 0,   /* sent by a server of this site */
	INSP_FROM_WAN = 1,   /* sent by the peer gateway's site, through the tunnel */
};

/* What the engine needs to know of the gateway it works for. */
struct insp_params {
	const struct cat_catalog *catalog;
	node_code local;             /* the node this gateway serves */
	int64_t skew_ms;             /* clock tolerance; default 300000 */
	uint32_t max_outstanding;    /* unanswered requests per connection; default 1024 */
};

/* Metadata of one inspected frame. No field values: safe to log and audit. */
struct insp_frame {
	enum insp_dir dir;
	uint64_t index;              /* 1-based frame number in this direction */
	uint64_t offset;             /* stream offset of its first byte, this direction */
	uint64_t length;             /* header + body bytes seen (less on a truncated frame) */
	uint16_t type;
	const char *type_name;       /* NULL when the type is unknown */
	enum cat_system system;      /* 0 when unknown */
	uint8_t flags;
	uint32_t body_len;
	uint64_t seq, ref;
	uint64_t time_ms;            /* as on the wire: any u64 */
	node_code sender, receiver;  /* "" until the header is complete */
	uint32_t records;            /* 0x8001 containers in the body */
	bool allowed;
	/* Allowed, but its answer could not be checked: a response, on a
	 * connection the capture joined midstream, to a request from before the
	 * capture began (insp_conn_set_midstream). Never set live. */
	bool unverified;
	enum insp_reason reason;     /* INSP_OK when allowed */
	uint16_t field;              /* the tag, on INSP_BAD_VALUE (and TLV reasons) */
};

typedef void (*insp_frame_fn)(void *arg, const struct insp_frame *frame);

struct insp_conn;

/* peer: the WAN peer's node code from its certificate, or NULL while unknown
 * (an egress connection learns it when the tunnel is up: insp_conn_set_peer). */
struct insp_conn *insp_conn_new(const struct insp_params *params, const char *peer);
bool insp_conn_set_peer(struct insp_conn *conn, const char *peer);
void insp_conn_free(struct insp_conn *conn);

/*
 * The system (docs/catalog.md: 0x01xx 住基ネット, 0x02xx 附票連携システム) that
 * the connection carries: fixed by the first frame of a system-specific
 * type whose header passed, in either direction; 0 while none came.
 * Every later frame of the other system is denied INSP_SYSTEM_MISMATCH.
 */
enum cat_system insp_conn_system(const struct insp_conn *conn);

/* Fix the system before any frame of it came (an ingress relay that picked
 * its only local server on keepalives alone). False if the connection
 * already carries the other system, or system is not one. */
bool insp_conn_set_system(struct insp_conn *conn, enum cat_system system);

/*
 * Captured traffic whose start the capture missed (jgw-replay): a response
 * whose ref is below the first seq seen from the other direction, or that
 * comes before any frame from there, answers a request from before the
 * capture. It is reported allowed with `unverified` set instead of denied
 * unsolicited-response. Only before the first byte is fed; false after.
 */
bool insp_conn_set_midstream(struct insp_conn *conn);

/* Bytes the connection holds on the heap (the struct and its tables of
 * unanswered requests), for callers that bound their memory. */
size_t insp_conn_memory(const struct insp_conn *conn);

/*
 * Inspect len more bytes of direction dir, with the gateway clock at now_ms
 * (ms since 1970; any value is safe: the clock rule cannot overflow).
 * Calls fn once per frame whose verdict became known (in order). Returns
 * false once the connection is denied: nothing after a bad frame is
 * inspected or forwarded, and later calls return false at once.
 */
bool insp_feed(struct insp_conn *conn, enum insp_dir dir, const uint8_t *data,
	       size_t len, int64_t now_ms, insp_frame_fn fn, void *arg);

/*
 * End of stream in direction dir: a partial frame left over is a deny with
 * INSP_TRUNCATED_FRAME (reported through fn). Returns false if so.
 */
bool insp_finish(struct insp_conn *conn, enum insp_dir dir, int64_t now_ms,
		 insp_frame_fn fn, void *arg);

/* Stream offset up to which every frame of dir is complete and allowed:
 * the relay may forward bytes before it and must hold the rest. */
uint64_t insp_allowed_offset(const struct insp_conn *conn, enum insp_dir dir);

/* The first receiver seen from the LAN (egress picks its peer from it). */
const char *insp_conn_first_receiver(const struct insp_conn *conn);

bool insp_conn_denied(const struct insp_conn *conn);

#endif
