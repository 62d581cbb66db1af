/* relay_addr.c — each peer address's last success and last error, for
 * `jgwctl peers` (relay.h). */
#include "gateway/daemon/relay.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "filters/base/addr.h"

/*
 * Keyed by the peer's node code and the IP address (no port: a peer dials
 * in from any port, and is dialled at its configured one). Only addresses
 * of configured peers are entered, so the table is as large as the
 * directory; it is capped all the same, and never shrinks (a peer removed
 * by a reload keeps its slot until the restart).
 */
#define ADDR_MIN_CAP 64
#define ADDR_MAX_KEYS 65536

static size_t addr_hash(const struct relay_addr_key *k, size_t cap)
{
	const unsigned char *p = (const unsigned char *)k;
	size_t h = 2166136261u;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 16777619u;
	return h & (cap - 1);
}

static bool key_of(const char *node, const struct sockaddr *sa, struct relay_addr_key *k)
{
	struct addr_prefix a;

	memset(k, 0, sizeof(*k));
	if (!node || !node[0] || !addr_from_sockaddr(sa, &a))
		return false;
	memcpy(k->node, node, strnlen(node, sizeof(k->node) - 1));
	k->family = (uint8_t)(a.family == AF_INET ? 4 : 6);
	memcpy(k->addr, a.addr, sizeof(k->addr));
	return true;
}

static struct relay_addr_slot *slot_find(const struct relay_addrs *t, const struct relay_addr_key *k)
{
	size_t i;

	if (!t->cap)
		return NULL;
	for (i = addr_hash(k, t->cap); t->slot[i].used; i = (i + 1) & (t->cap - 1))
		if (memcmp(&t->slot[i].key, k, sizeof(*k)) == 0)
			return &t->slot[i];
	return &t->slot[i];
}

static bool grow(struct relay_addrs *t)
{
	struct relay_addrs old = *t;
	size_t cap = t->cap ? t->cap * 2 : ADDR_MIN_CAP;

	if (!(t->slot = calloc(cap, sizeof(*t->slot)))) {
		*t = old;
		return false;
	}
	t->cap = cap;
	for (size_t i = 0; i < old.cap; i++)
		if (old.slot[i].used)
			*slot_find(t, &old.slot[i].key) = old.slot[i];
	free(old.slot);
	return true;
}

static struct relay_addr_slot *slot_get(struct relay_addrs *t, const char *node,
					const struct sockaddr *sa)
{
	struct relay_addr_key k;
	struct relay_addr_slot *s;

	if (!key_of(node, sa, &k))
		return NULL;
	s = slot_find(t, &k);
	if (s && s->used)
		return s;
	if (t->used >= ADDR_MAX_KEYS || (2 * (t->used + 1) > t->cap && !grow(t)))
		return NULL;
	s = slot_find(t, &k);
	s->used = true;
	s->key = k;
	t->used++;
	return s;
}

void relay_addr_ok(struct relay_addrs *t, const char *node, const struct sockaddr *sa, bool ingress)
{
	struct relay_addr_slot *s = slot_get(t, node, sa);

	if (s) {
		s->ok_s = (int64_t)time(NULL);
		s->ok_ingress = ingress;
	}
}

void relay_addr_error(struct relay_addrs *t, const char *node, const struct sockaddr *sa,
		      bool ingress, const char *reason)
{
	struct relay_addr_slot *s = slot_get(t, node, sa);

	if (s) {
		s->err_s = (int64_t)time(NULL);
		s->err_ingress = ingress;
		s->err_reason = reason;
	}
}

const struct relay_addr_slot *relay_addr_get(const struct relay_addrs *t, const char *node,
					     const struct sockaddr *sa)
{
	struct relay_addr_key k;
	const struct relay_addr_slot *s;

	if (!key_of(node, sa, &k) || !(s = slot_find(t, &k)) || !s->used)
		return NULL;
	return s;
}

void relay_addr_merge(struct relay_addr_slot *dst, const struct relay_addr_slot *src)
{
	if (!dst->used) {
		*dst = *src;
		return;
	}
	if (src->ok_s > dst->ok_s) {
		dst->ok_s = src->ok_s;
		dst->ok_ingress = src->ok_ingress;
	}
	if (src->err_s > dst->err_s) {
		dst->err_s = src->err_s;
		dst->err_ingress = src->err_ingress;
		dst->err_reason = src->err_reason;
	}
}

void relay_addrs_free(struct relay_addrs *t)
{
	free(t->slot);
	memset(t, 0, sizeof(*t));
}
