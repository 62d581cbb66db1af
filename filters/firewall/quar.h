/*
 * quar.h — when to quarantine a source: "N failures (authentication or
 * inspection) within T seconds → quarantine for D seconds", per address.
 *
 * Pure logic, time passed in, no I/O: the daemon calls quar_failure() and,
 * when it says so, nft_quarantine_add(addr, quar_timeout_s()).
 *
 * Memory is fixed at quar_new(): a table of `capacity` entries in buckets
 * of QUAR_WAYS. An address maps to one bucket (keyed hash, seeded at
 * random, so an attacker cannot aim at another address's bucket); when the
 * bucket is full, the entry whose last failure is oldest is evicted — the
 * address that has been quiet longest loses its history. An evicted address
 * starts again from zero failures: the cost of a bound is that a source
 * which spreads its failures wider than the table can see slips under N.
 */
#ifndef JGW_QUAR_H
#define JGW_QUAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "filters/firewall/nft.h"

#define QUAR_WAYS 8
#define QUAR_MAX_FAILURES 64    /* the largest N */

struct quar_params {
	uint32_t failures;          /* N, 1..QUAR_MAX_FAILURES */
	uint32_t window_s;          /* T, >= 1 */
	uint32_t timeout_s;         /* D, >= 1 */
	size_t capacity;            /* addresses tracked; rounded up to QUAR_WAYS */
};

struct quar;

/* NULL when a parameter is out of range (err says which) or no memory. */
struct quar *quar_new(const struct quar_params *params, char *err, size_t errlen);
void quar_free(struct quar *q);

/* One failure of addr at now_ms. True exactly when this failure is the Nth
 * within T seconds and the address is not already quarantined: the caller
 * then quarantines it for quar_timeout_s(). Further failures before the
 * quarantine ends return false (no repeated adds). */
bool quar_failure(struct quar *q, const struct addr_prefix *addr, int64_t now_ms);

/* Forget addr (released by hand: `jgwctl quarantine del`). */
void quar_forget(struct quar *q, const struct addr_prefix *addr);

/* The quarantine quar_failure() asked for could not be put in place (the
 * kernel refused the set element): addr is not quarantined after all, and
 * keeps its last N-1 failures, so its next failure within T asks again. */
void quar_cancel(struct quar *q, const struct addr_prefix *addr);

/* Is addr quarantined according to our own bookkeeping at now_ms? */
bool quar_is_quarantined(const struct quar *q, const struct addr_prefix *addr,
			 int64_t now_ms);

uint32_t quar_timeout_s(const struct quar *q);

struct quar_stats {
	uint64_t failures, quarantined, evictions;
	size_t tracked, capacity;
};
void quar_get_stats(const struct quar *q, struct quar_stats *out);

/*
 * Expiry bookkeeping. The kernel expires quarantine set elements silently;
 * the daemon books here every address it puts into the set (automatic and
 * manual adds) with the end of its timeout, and audits the end when it
 * comes. Apart from the failure table above because it must hold manual
 * adds too and outlive a reload that makes a new failure table.
 *
 * A plain array scanned in full: the firewall lets only the peer directory
 * and the site's servers reach the listeners, so automatic quarantines
 * concern a few thousand addresses at most (manual ones are an operator's
 * commands); max bounds it all the same. Time is the caller's monotonic
 * milliseconds. No I/O.
 */
struct quar_expiry;

struct quar_expired {
	struct addr_prefix addr;
	char peer[16];               /* node code; "" when not known */
	uint32_t timeout_s;          /* as added; 0 when not known */
};

struct quar_expiry *quar_expiry_new(size_t max);
void quar_expiry_free(struct quar_expiry *x);

/* addr is in the set until until_ms. Booking an address again replaces
 * its deadline, peer and timeout (a re-add restarts the kernel's timer).
 * False when it cannot be booked: bad address, no memory, or max reached
 * (its end then goes unrecorded; the caller logs that). */
bool quar_expiry_set(struct quar_expiry *x, const struct addr_prefix *addr, const char *peer,
		     uint32_t timeout_s, int64_t until_ms);
/* addr left the set by other means (removed by hand): its end is not an
 * expiry. True when it was booked. */
bool quar_expiry_drop(struct quar_expiry *x, const struct addr_prefix *addr);
/* The kernel still holds addr at now_ms: if it is booked and due, its
 * deadline moves to until_ms (clocks differ by a few milliseconds; an
 * older kernel keeps the running timer of a re-added element). */
void quar_expiry_extend(struct quar_expiry *x, const struct addr_prefix *addr, int64_t now_ms,
			int64_t until_ms);
/* The earliest deadline; INT64_MAX when nothing is booked. */
int64_t quar_expiry_next(const struct quar_expiry *x);
/* Take out one booked address whose deadline is at or before now_ms (all
 * of them one by one with INT64_MAX). False when none is due. */
bool quar_expiry_take(struct quar_expiry *x, int64_t now_ms, struct quar_expired *out);
size_t quar_expiry_count(const struct quar_expiry *x);

#endif
