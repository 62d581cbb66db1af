/*
 * fuzz_relp — libFuzzer on the mirror's reader of the collector's frames
 * (gateway/audit/relp.c, included for its static functions): the input is
 * what the collector sends, in reads of the sizes its first byte chooses,
 * to a session with eight commands waiting for their answers.
 *
 * Whatever the bytes: a frame is judged whole, incomplete or malformed the
 * same way whatever the reads were; the acknowledged tag only grows, never
 * past the commands sent, and only over answered commands; nothing is read
 * past the bytes given.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/audit/relp.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SENT 8

static struct relp *session(void)
{
	struct relp *c = calloc(1, sizeof(*c));

	if (!c || !(c->out = malloc(OUT_CAP)) || !(c->in = malloc(IN_CAP)))
		abort();
	c->fd = -1;
	c->opened = true;
	c->txnr = 2;
	for (uint64_t i = 1; i <= SENT; i++)
		if (!relp_queue(c, "m", 1, i))
			abort();
	return c;
}

/* Feed data in reads of step bytes (0: at once); the bytes consumed by
 * whole frames, or -1 at the first frame that ends the session. */
static long run(const uint8_t *data, size_t size, size_t step, uint64_t *acked)
{
	struct relp *c = session();
	size_t at = 0;
	long total = 0, used = 0;

	while (at < size && used >= 0) {
		size_t n = step && size - at > step ? step : size - at;

		if (n > IN_CAP - c->in_len)
			break;   /* an overlong frame: take_answers gives up there too */
		memcpy(c->in + c->in_len, data + at, n);
		c->in_len += n;
		at += n;
		while ((used = take_frame(c)) > 0) {
			uint64_t before = c->acked;

			memmove(c->in, c->in + used, c->in_len - (size_t)used);
			c->in_len -= (size_t)used;
			total += used;
			if (c->acked < before || c->acked > SENT || c->count > SENT ||
			    c->acked + c->count != SENT)
				abort();
		}
	}
	*acked = c->acked;
	relp_free(c, false);
	return used < 0 ? -1 : total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	uint64_t a1, a2;

	if (!quiet) {
		log_init("fuzz_relp", 0, LOG_EMERG);
		quiet = true;
	}
	if (size < 1)
		return 0;
	size_t step = data[0] % 17;
	long whole = run(data + 1, size - 1, 0, &a1);
	long split = run(data + 1, size - 1, step ? step : 1, &a2);

	if (whole != split || a1 != a2)
		abort();
	return 0;
}
