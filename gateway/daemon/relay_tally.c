/* relay_tally.c — counts by reason name and by message type (relay.h),
 * kept since start for the metrics. Fixed tables, no allocation: a reject
 * or a deny ends a connection, so a linear search over a few dozen names
 * is nothing beside it; the per-frame type count looks at the few types a
 * catalog has, most used first in practice (they arrive first). */
#include "gateway/daemon/relay.h"

#include <stdio.h>
#include <string.h>

#define OTHER "other"

static struct relay_tally_slot *tally_find(struct relay_tally *t, const char *name)
{
	for (size_t i = 0; i < t->used; i++)
		if (strncmp(t->slot[i].name, name, RELAY_TALLY_NAME - 1) == 0)
			return &t->slot[i];   /* a longer name was kept cut */
	return NULL;
}

/* n more under name (name's slot, else a new one, else "other"). */
static void tally_add_n(struct relay_tally *t, const char *name, uint64_t n)
{
	struct relay_tally_slot *s = tally_find(t, name);

	if (!s && t->used < RELAY_TALLY_SLOTS - 1) {
		s = &t->slot[t->used++];
		snprintf(s->name, sizeof(s->name), "%s", name);
	}
	if (!s && !(s = tally_find(t, OTHER))) {
		/* The last slot is kept for everything past the others. */
		s = &t->slot[t->used++];
		snprintf(s->name, sizeof(s->name), "%s", OTHER);
	}
	s->n += n;
}

void relay_tally_add(struct relay_tally *t, const char *name)
{
	tally_add_n(t, name, 1);
}

void relay_tally_merge(struct relay_tally *dst, const struct relay_tally *src)
{
	for (size_t i = 0; i < src->used; i++)
		tally_add_n(dst, src->slot[i].name, src->slot[i].n);
}

/* The slot of a known type (a new one while there is room); NULL: other. */
static struct relay_type_slot *type_slot(struct relay_type_tally *t, uint16_t type, bool known)
{
	for (size_t i = 0; known && i < t->used; i++)
		if (t->slot[i].type == type)
			return &t->slot[i];
	if (!known || t->used >= RELAY_TYPE_SLOTS)
		return NULL;
	struct relay_type_slot *s = &t->slot[t->used++];
	s->type = type;
	return s;
}

void relay_type_tally_add(struct relay_type_tally *t, uint16_t type, bool known, bool allowed)
{
	struct relay_type_slot *s = type_slot(t, type, known);
	uint64_t *n = s ? (allowed ? &s->allowed : &s->denied) :
		      (allowed ? &t->other_allowed : &t->other_denied);

	(*n)++;
}

void relay_type_tally_merge(struct relay_type_tally *dst, const struct relay_type_tally *src)
{
	for (size_t i = 0; i < src->used; i++) {
		struct relay_type_slot *s = type_slot(dst, src->slot[i].type, true);

		if (s) {
			s->allowed += src->slot[i].allowed;
			s->denied += src->slot[i].denied;
		} else {
			dst->other_allowed += src->slot[i].allowed;
			dst->other_denied += src->slot[i].denied;
		}
	}
	dst->other_allowed += src->other_allowed;
	dst->other_denied += src->other_denied;
}
