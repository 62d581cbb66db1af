/*
 * fuzz_inspect.c — libFuzzer target: the frame parser and inspector over
 * both directions of a connection, with arbitrary cuts into reads. Input
 * format: tests/fuzz/jmsg-gen.c. The catalog is conf/catalog.jcat (or
 * $JGW_FUZZ_CATALOG), loaded once.
 *
 * Beyond the sanitizers it checks the engine's promises: the same verdicts
 * when every record is fed one byte at a time; verdicts arrive in
 * order, at most one deny and nothing after it, the allowed offset never
 * passes what was fed nor moves back, no frame reports a reason it does
 * not own, the allowed frames of one connection are of one system, and
 * only a midstream connection (bit 4 of the first byte) reports an
 * allowed frame unverified.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filters/engine/catalog.h"
#include "filters/engine/inspect.h"

#define NOW 1763000000000LL

static struct cat_catalog *catalog;

#define MAX_SEEN 512

struct seen {
	uint64_t index, offset, length;
	int dir, reason;
	uint16_t field, type;
	bool allowed, unverified;
};

struct watch {
	uint64_t next_index[2];
	uint64_t fed[2];
	bool denied;
	bool midstream;
	int system;                      /* of the allowed frames so far */
	struct seen seen[MAX_SEEN];
	size_t n_seen;
};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *path = getenv("JGW_FUZZ_CATALOG");
	(void)argc;
	(void)argv;
	catalog = cat_load(path ? path : "conf/catalog.jcat", NULL, NULL);
	if (catalog == NULL) {
		fprintf(stderr, "fuzz_inspect: cannot load the catalog\n");
		exit(1);
	}
	return 0;
}

static void on_frame(void *arg, const struct insp_frame *f)
{
	struct watch *w = arg;
	int d = f->dir;

	if (w->denied)
		abort();                       /* nothing after a deny */
	if (f->index != w->next_index[d])
		abort();                       /* in order, none skipped */
	w->next_index[d]++;
	if (f->allowed && f->offset + f->length > w->fed[d])
		abort();                       /* allowed only when all of it was seen */
	if (w->n_seen < MAX_SEEN)
		w->seen[w->n_seen++] = (struct seen){ f->index, f->offset, f->length, d, (int)f->reason,
						      f->field, f->type, f->allowed, f->unverified };
	if (f->unverified && (!f->allowed || !w->midstream || !(f->flags & JMSG_FLAG_RESPONSE)))
		abort();                       /* unverified: an allowed answer, midstream only */
	if (f->allowed && f->system) {
		if (w->system && w->system != (int)f->system)
			abort();               /* one system per connection */
		w->system = (int)f->system;
	}
	if (!f->allowed) {
		if (f->reason == INSP_OK || f->reason == INSP_GAP || f->reason == INSP_OVERLAP_CONFLICT ||
		    f->reason >= INSP_REASON_COUNT)
			abort();
		w->denied = true;
	} else if (f->reason != INSP_OK) {
		abort();
	}
}

/* One run over the input; bytewise: feed every record one byte at a time. */
static void run(const uint8_t *data, size_t size, bool bytewise, struct watch *w)
{
	static const char *const peers[4] = { NULL, "131024", "130001", "000000" };
	static const uint32_t limits[4] = { 1, 2, 4, 1024 };
	uint64_t allowed[2] = { 0, 0 };

	struct insp_params p = { .catalog = catalog, .skew_ms = 300000,
				 .max_outstanding = limits[(data[0] >> 2) & 3] };
	memcpy(p.local, "131016", sizeof(node_code));
	struct insp_conn *c = insp_conn_new(&p, peers[data[0] & 3]);
	if (c == NULL)
		abort();
	w->midstream = data[0] & 0x10;
	if (w->midstream && !insp_conn_set_midstream(c))
		abort();
	size_t at = 1;
	while (at < size) {
		uint8_t dir = data[at++];
		int d = dir & 1;
		if (dir & 0x80) {
			insp_finish(c, (enum insp_dir)d, NOW, on_frame, w);
		} else {
			size_t n = 0;
			if (at + 2 <= size)
				n = (size_t)data[at] << 8 | data[at + 1];
			at += 2;
			if (at > size)
				break;
			if (n > size - at)
				n = size - at;
			w->fed[d] += n;
			if (bytewise)
				for (size_t i = 0; i < n; i++)
					insp_feed(c, (enum insp_dir)d, data + at + i, 1, NOW, on_frame, w);
			else
				insp_feed(c, (enum insp_dir)d, data + at, n, NOW, on_frame, w);
			at += n;
		}
		uint64_t a = insp_allowed_offset(c, (enum insp_dir)d);
		if (a < allowed[d] || a > w->fed[d])
			abort();
		allowed[d] = a;
		if (insp_conn_denied(c) != w->denied)
			abort();
	}
	if (w->system && (int)insp_conn_system(c) != w->system)
		abort();
	insp_conn_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct watch whole, bytes;

	if (size < 1)
		return 0;
	memset(&whole, 0, sizeof(whole));
	memset(&bytes, 0, sizeof(bytes));
	whole.next_index[0] = whole.next_index[1] = 1;
	bytes.next_index[0] = bytes.next_index[1] = 1;
	run(data, size, false, &whole);
	/* The cut into reads must not matter (and this drives the engine's
	 * streaming path where the first run took its whole-field path). */
	run(data, size, true, &bytes);
	if (whole.n_seen != bytes.n_seen)
		abort();
	for (size_t i = 0; i < whole.n_seen; i++) {
		const struct seen *a = &whole.seen[i], *b = &bytes.seen[i];
		if (a->index != b->index || a->offset != b->offset || a->length != b->length ||
		    a->dir != b->dir || a->reason != b->reason || a->field != b->field ||
		    a->type != b->type || a->allowed != b->allowed || a->unverified != b->unverified)
			abort();
	}
	return 0;
}
