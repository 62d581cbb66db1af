/*
 * relay_buf.c — the relay's byte buffers: one per direction of a tunnel,
 * grown on demand up to a limit, given back (wiped) when idle, with a few
 * wiped blocks kept for reuse.
 */
#include "gateway/daemon/relay.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

/* ------------------------------------------------------------------ */
/* Buffers                                                             */

#define BUF_MIN_CAP ((size_t)16 * 1024)

/*
 * Spare blocks. Under pipelined load a direction empties its buffer, gives
 * the block back (idle) and needs one again a few microseconds later; the
 * malloc/free of 64-256 KiB blocks then cost page faults on every cycle.
 * A few wiped blocks are kept for reuse instead. An idle tunnel still holds
 * no buffer, and the spares hold no frame bytes (wiped up to their
 * high-water mark before they are kept). Each thread (each worker's loop)
 * keeps its own spares: no locking.
 */
#define SPARE_MAX     8
#define SPARE_CAP_MAX ((size_t)256 * 1024)

static _Thread_local struct {
	uint8_t *data;
	size_t cap;
} spare[SPARE_MAX];
static _Thread_local size_t n_spare;

/* A block of cap bytes: a spare of exactly that size, else a new one (the
 * sizes a buffer grows through repeat, so exact matches are the rule). The
 * most recently kept block is taken first: it is the one still in cache. */
static uint8_t *block_get(size_t cap)
{
	for (size_t i = n_spare; i-- > 0;) {
		if (spare[i].cap == cap) {
			uint8_t *d = spare[i].data;

			memmove(&spare[i], &spare[i + 1], (n_spare - i - 1) * sizeof(spare[0]));
			n_spare--;
			return d;
		}
	}
	return malloc(cap);
}

/* Wipe the bytes that held data, then keep the block (the oldest spare
 * makes room) or free it when it is too large to keep. */
static void block_put(uint8_t *data, size_t hw, size_t cap)
{
	if (!data)
		return;
	explicit_bzero(data, hw);
	if (cap > SPARE_CAP_MAX) {
		free(data);
		return;
	}
	if (n_spare == SPARE_MAX) {
		free(spare[0].data);
		memmove(&spare[0], &spare[1], (SPARE_MAX - 1) * sizeof(spare[0]));
		n_spare--;
	}
	spare[n_spare].data = data;
	spare[n_spare].cap = cap;
	n_spare++;
}

void relay_buf_drain_spares(void)
{
	while (n_spare > 0)
		free(spare[--n_spare].data);
}

void relay_buf_init(struct relay_buf *b, size_t limit)
{
	memset(b, 0, sizeof(*b));
	b->limit = limit;
}

static bool buf_grow(struct relay_buf *b, size_t need)
{
	size_t cap = b->cap ? b->cap : BUF_MIN_CAP;
	uint8_t *n;

	while (cap < need)
		cap = cap > b->limit / 2 ? b->limit : cap * 2;
	if (cap > b->limit)
		cap = b->limit;
	if (cap < need)
		return false;
	/* Not realloc: the old block held frame bytes and must be wiped. */
	n = block_get(cap);
	if (!n)
		return false;
	if (b->len)
		memcpy(n, b->data + b->off, b->len);
	block_put(b->data, b->hw, b->cap);
	b->data = n;
	b->cap = cap;
	b->off = 0;
	b->hw = b->len;
	return true;
}

uint8_t *relay_buf_space(struct relay_buf *b, size_t want, size_t *got)
{
	size_t room;

	*got = 0;
	if (b->len >= b->limit || want == 0)
		return NULL;
	if (want > b->limit - b->len)
		want = b->limit - b->len;
	room = b->cap - b->off - b->len;
	if (room < want && b->off > 0 && b->cap - b->len >= want) {
		memmove(b->data, b->data + b->off, b->len);
		b->off = 0;
		room = b->cap - b->len;
	}
	if (room < want) {
		if (!buf_grow(b, b->len + want) && b->cap - b->off - b->len == 0)
			return NULL;
		room = b->cap - b->off - b->len;
	}
	*got = room < want ? room : want;
	return b->data + b->off + b->len;
}

void relay_buf_commit(struct relay_buf *b, size_t n)
{
	b->len += n;
	if (b->off + b->len > b->hw)
		b->hw = b->off + b->len;
}

const uint8_t *relay_buf_data(const struct relay_buf *b)
{
	return b->data ? b->data + b->off : NULL;
}

size_t relay_buf_len(const struct relay_buf *b)
{
	return b->len;
}

void relay_buf_consume(struct relay_buf *b, size_t n)
{
	if (n > b->len)
		n = b->len;
	b->off += n;
	b->len -= n;
	if (b->len == 0)
		b->off = 0;
}

/* Wiping only up to the high-water mark matters under pipelined load: a
 * direction goes idle (and gives its block back) many times a second, and
 * most blocks were never filled to their capacity. */
void relay_buf_trim(struct relay_buf *b)
{
	if (b->len == 0 && b->data) {
		block_put(b->data, b->hw, b->cap);
		b->data = NULL;
		b->cap = 0;
		b->off = 0;
		b->hw = 0;
	}
}

void relay_buf_free(struct relay_buf *b)
{
	block_put(b->data, b->hw, b->cap);
	b->data = NULL;
	b->cap = b->off = b->len = b->hw = 0;
}

bool relay_backpressure(size_t buffered, size_t forwardable, size_t buffer_bytes)
{
	return buffered >= RELAY_MAX_FRAME + buffer_bytes || forwardable >= buffer_bytes;
}

