/*
 * quar.c — per-source failure counting for the quarantine (quar.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "filters/firewall/quar.h"

#define QUAR_MAGIC 0x51554152u   /* "QUAR" */

struct quar_entry {
	uint8_t family;              /* 0: free */
	uint8_t addr[16];
	uint32_t count;              /* failures held in the ring, <= N */
	uint32_t head;               /* next ring slot to write */
	int64_t last_ms;             /* last failure, for eviction */
	int64_t until_ms;            /* quarantined until, 0: not */
};

struct quar {
	uint32_t magic;
	struct quar_params p;
	size_t n_buckets;
	uint64_t seed;
	struct quar_entry *e;        /* n_buckets * QUAR_WAYS */
	int64_t *times;              /* per entry: a ring of N failure times */
	struct quar_stats st;
};

struct quar *quar_new(const struct quar_params *params, char *err, size_t errlen)
{
	struct quar *q;

	if (!params || params->failures < 1 || params->failures > QUAR_MAX_FAILURES) {
		snprintf(err, errlen, "quarantine: failures must be 1..%d", QUAR_MAX_FAILURES);
		return NULL;
	}
	if (params->window_s < 1 || params->timeout_s < 1) {
		snprintf(err, errlen, "quarantine: window and timeout must be at least 1 s");
		return NULL;
	}
	if (params->capacity < 1 || params->capacity > (1u << 22)) {
		snprintf(err, errlen, "quarantine: capacity must be 1..%u", 1u << 22);
		return NULL;
	}
	q = calloc(1, sizeof *q);
	if (!q)
		goto oom;
	q->p = *params;
	q->n_buckets = (params->capacity + QUAR_WAYS - 1) / QUAR_WAYS;
	q->p.capacity = q->n_buckets * QUAR_WAYS;
	q->e = calloc(q->p.capacity, sizeof *q->e);
	q->times = calloc(q->p.capacity * params->failures, sizeof *q->times);
	if (!q->e || !q->times)
		goto oom;
	if (getrandom(&q->seed, sizeof q->seed, 0) != (ssize_t)sizeof q->seed)
		q->seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull;
	q->magic = QUAR_MAGIC;
	q->st.capacity = q->p.capacity;
	return q;
oom:
	snprintf(err, errlen, "quarantine: out of memory");
	quar_free(q);
	return NULL;
}

void quar_free(struct quar *q)
{
	if (!q)
		return;
	free(q->e);
	free(q->times);
	q->magic = 0;
	free(q);
}

static uint64_t addr_hash(const struct quar *q, const struct addr_prefix *a)
{
	uint64_t h = q->seed ^ 0xcbf29ce484222325ull;
	size_t n = a->family == AF_INET ? 4 : 16;

	h = (h ^ (uint64_t)a->family) * 0x100000001b3ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ a->addr[i]) * 0x100000001b3ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static bool valid_addr(const struct addr_prefix *a)
{
	return a && (a->family == AF_INET || a->family == AF_INET6);
}

static bool entry_is(const struct quar_entry *e, const struct addr_prefix *a)
{
	size_t n = a->family == AF_INET ? 4 : 16;
	return e->family == (uint8_t)a->family && memcmp(e->addr, a->addr, n) == 0;
}

static struct quar_entry *find(const struct quar *q, const struct addr_prefix *a)
{
	struct quar_entry *b = &q->e[(addr_hash(q, a) % q->n_buckets) * QUAR_WAYS];
	for (int i = 0; i < QUAR_WAYS; i++)
		if (entry_is(&b[i], a))
			return &b[i];
	return NULL;
}

/* The address's entry, taking a free one or evicting the quietest. */
static struct quar_entry *find_or_take(struct quar *q, const struct addr_prefix *a)
{
	struct quar_entry *b = &q->e[(addr_hash(q, a) % q->n_buckets) * QUAR_WAYS];
	struct quar_entry *victim = NULL;

	for (int i = 0; i < QUAR_WAYS; i++) {
		if (entry_is(&b[i], a))
			return &b[i];
		if (b[i].family == 0) {
			if (!victim || victim->family != 0)
				victim = &b[i];
		} else if (!victim || (victim->family != 0 && b[i].last_ms < victim->last_ms)) {
			victim = &b[i];
		}
	}
	if (victim->family != 0)
		q->st.evictions++;
	else
		q->st.tracked++;
	memset(victim, 0, sizeof *victim);
	victim->family = (uint8_t)a->family;
	memcpy(victim->addr, a->addr, a->family == AF_INET ? 4 : 16);
	return victim;
}

bool quar_failure(struct quar *q, const struct addr_prefix *addr, int64_t now_ms)
{
	struct quar_entry *e;
	int64_t *ring;
	uint32_t n;

	if (!q || q->magic != QUAR_MAGIC || !valid_addr(addr))
		return false;
	q->st.failures++;
	e = find_or_take(q, addr);
	/* A clock that steps back must not make old failures look recent. */
	if (now_ms < e->last_ms)
		now_ms = e->last_ms;
	e->last_ms = now_ms;
	if (e->until_ms > now_ms)
		return false;
	e->until_ms = 0;
	n = q->p.failures;
	ring = &q->times[(size_t)(e - q->e) * n];
	ring[e->head] = now_ms;
	e->head = (e->head + 1) % n;
	if (e->count < n)
		e->count++;
	if (e->count < n)
		return false;
	/* The ring is full: its oldest entry is the one about to be overwritten. */
	if (now_ms - ring[e->head] > (int64_t)q->p.window_s * 1000)
		return false;
	e->until_ms = now_ms + (int64_t)q->p.timeout_s * 1000;
	/* The ring stays as it is (head at its oldest), for quar_cancel; with
	 * count 0 the next N failures overwrite all of it before it is read. */
	e->count = 0;
	q->st.quarantined++;
	return true;
}

void quar_cancel(struct quar *q, const struct addr_prefix *addr)
{
	struct quar_entry *e;

	if (!q || q->magic != QUAR_MAGIC || !valid_addr(addr) || !(e = find(q, addr)) ||
	    e->until_ms == 0)
		return;
	/* Back to N-1 of the failures that led here: the next one within T
	 * is the Nth again, and the caller tries to block the address again. */
	e->until_ms = 0;
	e->count = q->p.failures - 1;
	q->st.quarantined--;
}

void quar_forget(struct quar *q, const struct addr_prefix *addr)
{
	struct quar_entry *e;

	if (!q || q->magic != QUAR_MAGIC || !valid_addr(addr))
		return;
	e = find(q, addr);
	if (e) {
		memset(e, 0, sizeof *e);
		q->st.tracked--;
	}
}

bool quar_is_quarantined(const struct quar *q, const struct addr_prefix *addr, int64_t now_ms)
{
	const struct quar_entry *e;

	if (!q || q->magic != QUAR_MAGIC || !valid_addr(addr))
		return false;
	e = find(q, addr);
	return e && e->until_ms > now_ms;
}

uint32_t quar_timeout_s(const struct quar *q)
{
	return q ? q->p.timeout_s : 0;
}

void quar_get_stats(const struct quar *q, struct quar_stats *out)
{
	if (!out)
		return;
	memset(out, 0, sizeof *out);
	if (q)
		*out = q->st;
}

/* ---- expiry bookkeeping ---- */

struct quar_booking {
	struct quar_expired what;
	int64_t until_ms;
};

struct quar_expiry {
	struct quar_booking *b;
	size_t n, cap, max;
};

struct quar_expiry *quar_expiry_new(size_t max)
{
	struct quar_expiry *x = calloc(1, sizeof *x);

	if (x)
		x->max = max ? max : 1;
	return x;
}

void quar_expiry_free(struct quar_expiry *x)
{
	if (!x)
		return;
	free(x->b);
	free(x);
}

static bool same_addr(const struct addr_prefix *a, const struct addr_prefix *b)
{
	return a->family == b->family &&
	       memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) == 0;
}

static struct quar_booking *booking(const struct quar_expiry *x, const struct addr_prefix *a)
{
	for (size_t i = 0; i < x->n; i++)
		if (same_addr(&x->b[i].what.addr, a))
			return &x->b[i];
	return NULL;
}

/* A new slot at the end, doubling the array; NULL at max or without memory. */
static struct quar_booking *booking_new(struct quar_expiry *x)
{
	if (x->n >= x->max)
		return NULL;
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 16;
		struct quar_booking *b;

		if (cap > x->max)
			cap = x->max;
		b = realloc(x->b, cap * sizeof *b);
		if (!b)
			return NULL;
		x->b = b;
		x->cap = cap;
	}
	return &x->b[x->n++];
}

bool quar_expiry_set(struct quar_expiry *x, const struct addr_prefix *addr, const char *peer,
		     uint32_t timeout_s, int64_t until_ms)
{
	struct quar_booking *k;

	if (!x || !valid_addr(addr))
		return false;
	k = booking(x, addr);
	if (!k && !(k = booking_new(x)))
		return false;
	memset(k, 0, sizeof *k);
	k->what.addr.family = addr->family;
	memcpy(k->what.addr.addr, addr->addr, addr->family == AF_INET ? 4 : 16);
	k->what.addr.len = addr->family == AF_INET ? 32 : 128;
	if (peer)
		snprintf(k->what.peer, sizeof k->what.peer, "%s", peer);
	k->what.timeout_s = timeout_s;
	k->until_ms = until_ms;
	return true;
}

/* Order does not matter: the last booking fills the hole. */
static void booking_remove(struct quar_expiry *x, struct quar_booking *k)
{
	*k = x->b[--x->n];
}

bool quar_expiry_drop(struct quar_expiry *x, const struct addr_prefix *addr)
{
	struct quar_booking *k;

	if (!x || !valid_addr(addr) || !(k = booking(x, addr)))
		return false;
	booking_remove(x, k);
	return true;
}

void quar_expiry_extend(struct quar_expiry *x, const struct addr_prefix *addr, int64_t now_ms,
			int64_t until_ms)
{
	struct quar_booking *k;

	if (x && valid_addr(addr) && (k = booking(x, addr)) && k->until_ms <= now_ms &&
	    until_ms > k->until_ms)
		k->until_ms = until_ms;
}

int64_t quar_expiry_next(const struct quar_expiry *x)
{
	int64_t next = INT64_MAX;

	for (size_t i = 0; x && i < x->n; i++)
		if (x->b[i].until_ms < next)
			next = x->b[i].until_ms;
	return next;
}

bool quar_expiry_take(struct quar_expiry *x, int64_t now_ms, struct quar_expired *out)
{
	for (size_t i = 0; x && i < x->n; i++) {
		if (x->b[i].until_ms <= now_ms) {
			*out = x->b[i].what;
			booking_remove(x, &x->b[i]);
			return true;
		}
	}
	return false;
}

size_t quar_expiry_count(const struct quar_expiry *x)
{
	return x ? x->n : 0;
}
