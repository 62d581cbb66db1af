/*
 * reasm.h — TCP stream reassembly for captured traffic, per flow and
 * direction, with bounded memory.
 *
 * Segments may arrive out of order, retransmitted, or overlapping. The
 * first copy of a byte wins; a later copy that differs is reported
 * (REASM_EV_OVERLAP_CONFLICT) and the rest of that direction is dropped.
 * A hole that can never be filled is reported as REASM_EV_GAP and the rest
 * of that direction is dropped too: bytes after a gap are never delivered.
 * A hole is known for good when the other side acknowledges bytes past it,
 * when the capture cut a segment (snaplen: every cut is remembered until
 * another copy fills it), when a memory bound is hit, and at a RST or the
 * end of the capture.
 *
 * A copy of bytes that cannot be compared with the first copy (older than
 * the history, no history under the total bound, before the stream start,
 * or after the direction ended) is reported once per direction
 * (REASM_EV_UNVERIFIED); that direction goes on.
 *
 * In-order bytes are delivered without copying; only out-of-order bytes and
 * a short history (to compare retransmissions against) are held. Every
 * buffer that held stream bytes is wiped before it is freed.
 */
#ifndef JGW_REPLAY_REASM_H
#define JGW_REPLAY_REASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "filters/replay/pkt.h"

/* Zero in a field means its default. */
struct reasm_limits {
	size_t flow_bytes;    /* out-of-order bytes (and cut marks) held per direction; 1 MiB */
	size_t total_bytes;   /* all memory that grows with the capture: held bytes,
	                         histories, flow state, the flow table past its
	                         first 1024 buckets, and what the caller charges
	                         (reasm_charge); 256 MiB */
	size_t max_flows;     /* flows tracked at once; 65536 */
	size_t history;       /* delivered bytes kept per direction; 32 KiB */
};

enum reasm_event {
	REASM_EV_GAP,              /* bytes missing at offset: the rest is dropped */
	REASM_EV_OVERLAP_CONFLICT, /* a copy of the byte at offset differs */
	REASM_EV_LIMIT,            /* a bound was hit (a GAP follows at once) */
	REASM_EV_FIN,              /* every byte before the FIN was delivered */
	REASM_EV_RST,              /* the flow was reset (then it closes) */
	REASM_EV_UNVERIFIED,       /* a copy of bytes at offset could not be compared
	                              (first time in this direction only) */
};

enum reasm_close {
	REASM_CLOSE_FIN,           /* both directions ended with FIN */
	REASM_CLOSE_RST,
	REASM_CLOSE_END,           /* end of the capture, still open */
	REASM_CLOSE_REUSED,        /* a new SYN reused the addresses and ports */
};

struct reasm_flow_info {
	uint64_t id;                 /* 1, 2, ... in order of first packet */
	int family;                  /* AF_INET or AF_INET6 */
	uint8_t addr[2][16];         /* side 0: the initiator (SYN sender), or the
	                                first packet's source when midstream */
	uint16_t port[2];
	bool midstream;              /* no SYN seen: streams start at the first byte captured */
};

/* Callbacks; flow is what open returned. Side is 0 or 1 (see above). */
struct reasm_ops {
	/* NULL: do not track this flow (refused, counted as flows_refused; its
	 * next segment asks again). */
	void *(*open)(void *arg, const struct reasm_flow_info *info);
	/* In-order bytes; offset is the stream offset of data[0] in this side. */
	void (*data)(void *arg, void *flow, int side, uint64_t offset,
		     const uint8_t *data, size_t len);
	void (*event)(void *arg, void *flow, int side, enum reasm_event ev, uint64_t offset);
	/* Last call for a flow. */
	void (*close)(void *arg, void *flow, enum reasm_close why);
};

struct reasm_stats {
	uint64_t packets;            /* segments given to reasm_packet */
	uint64_t flows;              /* flows opened */
	uint64_t flows_refused;      /* segments whose new flow was not tracked: max_flows,
	                                total_bytes, or open said no (a refused flow asks
	                                again with each segment: each one counts) */
	uint64_t stray;              /* segments of no tracked flow, without payload or SYN */
	uint64_t retransmitted_bytes;/* copies of delivered bytes, compared and equal */
	uint64_t unverified_bytes;   /* copies that could not be compared */
	uint64_t unverified_overlaps;/* directions with such copies (one event each) */
	uint64_t overlap_conflicts;
	uint64_t gaps;
	uint64_t limit_flow;         /* segments dropped: flow_bytes bound */
	uint64_t limit_total;        /* total_bytes refused something: a segment, a flow,
	                                a history ring (once per direction), a charge */
	uint64_t after_gap_bytes;    /* bytes dropped because their direction had ended badly */
	size_t held_bytes, held_peak;/* charged to total_bytes now / at most */
};

struct reasm;

struct reasm *reasm_new(const struct reasm_limits *limits, const struct reasm_ops *ops,
			void *arg);
/* Frees every flow (wiping held bytes) without calling close. */
void reasm_free(struct reasm *r);

/* Charge n more bytes that the caller holds for its flows to the total
 * bound: false (counted in limit_total) if they do not fit. */
bool reasm_charge(struct reasm *r, size_t n);
/* Give back what reasm_charge took. */
void reasm_uncharge(struct reasm *r, size_t n);

/* Give one decoded segment. */
void reasm_packet(struct reasm *r, const struct pkt_tcp *seg);

/* End of capture: holes still open are gaps; every flow is closed, in id order. */
void reasm_finish(struct reasm *r);

void reasm_get_stats(const struct reasm *r, struct reasm_stats *out);

#endif
