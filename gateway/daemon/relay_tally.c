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

void relay_tally_add(struct relay_tally *t, const char *name)
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
	s->n++;
}

void relay_type_tally_add(struct relay_type_tally *t, uint16_t type, bool known, bool allowed)
{
	struct relay_type_slot *s = NULL;

	for (size_t i = 0; known && i < t->used && !s; i++)
		if (t->slot[i].type == type)
			s = &t->slot[i];
	if (!s && known && t->used < RELAY_TYPE_SLOTS) {
		s = &t->slot[t->used++];
		s->type = type;
	}
	if (!s) {
		if (allowed)
			t->other_allowed++;
		else
			t->other_denied++;
		return;
	}
	if (allowed)
		s->allowed++;
	else
		s->denied++;
}
