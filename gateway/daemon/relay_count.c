/* relay_count.c — live tunnels per key (peer node, LAN source address). */
#include "gateway/daemon/relay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Live tunnels per peer, per LAN source                               */

/*
 * The per-peer and per-source limits are checked for every new tunnel and
 * `jgwctl peers` lists every peer: counting by walking the tunnels made both
 * linear in the tunnels (peers x tunnels for the listing), at a 機構 site
 * thousands. Open addressing on the key (a node code, or a source address
 * in text); a slot keeps its key when its count drops to 0 (so probing
 * needs no tombstones), and slots at 0 are dropped whenever the table is
 * rebuilt, so it stays about twice the number of keys with live tunnels.
 */
#define COUNT_MIN_CAP 16

void relay_count_init(struct relay_count *pc)
{
	memset(pc, 0, sizeof(*pc));
}

void relay_count_free(struct relay_count *pc)
{
	free(pc->slot);
	memset(pc, 0, sizeof(*pc));
}

static size_t count_hash(const char *key, size_t cap)
{
	size_t h = 5381;

	for (size_t i = 0; i < RELAY_COUNT_KEY && key[i]; i++)
		h = h * 33 + (unsigned char)key[i];
	return h & (cap - 1);
}

static struct relay_count_slot *count_find(const struct relay_count *pc,
						   const char *key)
{
	size_t i;

	if (pc->cap == 0)
		return NULL;
	for (i = count_hash(key, pc->cap); pc->slot[i].key[0]; i = (i + 1) & (pc->cap - 1))
		if (strcmp(pc->slot[i].key, key) == 0)
			return &pc->slot[i];
	return &pc->slot[i];   /* the empty slot where key would go */
}

/* Room for one more key: rebuild with only the live counts, doubling
 * while they would fill more than half of it. */
static bool count_reserve(struct relay_count *pc)
{
	struct relay_count old = *pc;
	size_t live = 0, cap = COUNT_MIN_CAP;

	if (2 * (pc->used + 1) <= pc->cap)
		return true;
	for (size_t i = 0; i < old.cap; i++)
		live += old.slot[i].n > 0;
	while (2 * (live + 1) > cap)
		cap *= 2;
	pc->slot = calloc(cap, sizeof(*pc->slot));
	if (!pc->slot) {
		*pc = old;
		return false;
	}
	pc->cap = cap;
	pc->used = 0;
	for (size_t i = 0; i < old.cap; i++) {
		if (old.slot[i].n > 0) {
			*count_find(pc, old.slot[i].key) = old.slot[i];
			pc->used++;
		}
	}
	free(old.slot);
	return true;
}

bool relay_count_inc(struct relay_count *pc, const char *key)
{
	struct relay_count_slot *s = count_find(pc, key);

	if (!s || !s->key[0]) {
		if (!count_reserve(pc))
			return false;
		s = count_find(pc, key);
		if (!s->key[0]) {
			snprintf(s->key, sizeof(s->key), "%s", key);
			pc->used++;
		}
	}
	s->n++;
	return true;
}

void relay_count_dec(struct relay_count *pc, const char *key)
{
	struct relay_count_slot *s = count_find(pc, key);

	if (s && s->key[0] && s->n > 0)
		s->n--;
}

size_t relay_count_get(const struct relay_count *pc, const char *key)
{
	const struct relay_count_slot *s = count_find(pc, key);

	return s && s->key[0] ? s->n : 0;
}

