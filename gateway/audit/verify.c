/*
 * audit_verify.c — check spool files or a collector's copy against k0.
 *
 * The first bad record is named with its file, line and seq and one of:
 *   changed   the record (or its mac) was altered; the next record still
 *             chains to what was written, or the record is the one the
 *             chain expects there but with another seq, or a seq reappears
 *             with other content
 *   removed   seq numbers are missing (a gap), or the chain does not start at 1
 *             and its first record is no checkpoint
 *   reordered a record appears before one that must precede it, or a seq
 *             reappears too long after it was seen to be compared (below)
 *   forged    the mac does not verify with the epoch's key and nothing after
 *             chains to it (wrong key, rewritten records)
 *   spliced   a file does not continue the chain of the file before it, or a
 *             record of another gateway
 *   replayed  a record of an older key epoch after a newer one
 *   unsealed-epoch  the epoch moves on without a seal before it
 *   malformed not a record line
 * Warnings (the chain itself is intact):
 *   tail not sealed  the last record is not a shutdown seal (an hourly or
 *                    recovery seal does not end a spool): the writer is
 *                    running, crashed, or records after it were cut
 *   torn tail        a partial line at the end of a file (a crash during a
 *                    write; the writer continued after the last whole record)
 * Identical duplicates (at-least-once delivery to a collector) are skipped.
 *
 * Segments: every spool file after the first starts with a checkpoint
 * record, which carries the mac of the record before it (prev_mac) and is
 * chained itself: its mac is HMAC(k_epoch, prev_mac || body), k_epoch
 * derived from k0. So the input may start at a checkpoint (a pruned spool,
 * an archived segment, a collector's day file), and after a gap the chain
 * resumes at the next checkpoint: the gap is named (removed, the result is
 * bad) and the rest is still verified, so every gap of a run is reported.
 * Returns 0 (good, sealed), 3 (good with warnings), 1 (bad or unreadable).
 *
 * Streaming: seven years of spool do not fit in memory, so the files are
 * read one after the other, a line at a time, and only the chain state is
 * kept (key, epoch, previous mac, next seq) plus, for duplicates, a hash of
 * each of the last AUDIT_DUP_WINDOW records. Memory is bounded by that
 * window (16 MiB) and one read buffer, whatever the size of the input. Looking
 * ahead (is the next record chained to a changed one? does the missing seq
 * come later?) happens only once the verdict is "bad": the rest of the input
 * is then read on, quietly, and nothing more is kept.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "gateway/audit/audit.h"
#include "gateway/audit/chain.h"

/* Longest line read as a possible record line: a record is at most
 * AUDIT_LINE_MAX (4 KiB); a collector's syslog prefix adds little. A longer
 * line is malformed (or a torn tail, when no newline ends it). */
#define VERIFY_LINE_MAX  (64 * 1024)
#define VERIFY_CHUNK     (64 * 1024)
/* Duplicates: a collector's copy is at-least-once, so a record may appear
 * again; the copy must be byte for byte the record first seen. A hash of
 * each of the last audit_verify_dup_window records (by seq) is kept for
 * that. The mirror resends at most a window (AUDIT_MIRROR_INFLIGHT) plus half
 * a second of records, so the bound is generous; a seq that reappears after more newer
 * records than that can no longer be compared and is reported (reordered).
 * 16 bytes of SHA-256: finding another line with the same hash as a given
 * record is a second preimage, out of reach. */
#define DUP_HASH_LEN     16
#define DUP_BLOCK        4096u   /* hashes per block, allocated when first used */
uint32_t audit_verify_dup_window = AUDIT_DUP_WINDOW;

/* ---------- reading: one file, line by line ---------- */

struct vfile {
	int fd;
	char *buf;               /* VERIFY_LINE_MAX + VERIFY_CHUNK */
	size_t off, len;         /* unread bytes: buf[off..len) */
	bool eof;
	size_t lineno;
	bool mid_line;           /* the last piece ended at an escaped LF */
};

/* A collector that escapes control characters on receive (rsyslog's
 * default) writes the records of one message on one line, joined by
 * "#012", the escaped LF. Followed by the start of a record that can only be
 * a boundary: inside a record's string values '"' is always escaped, so
 * '{"ts":"' does not occur there. Such a boundary ends a record as a LF
 * does; the line number stays that of the collector's line. */
static const char ESCAPED_LF[] = "#012{\"ts\":\"";
#define ESCAPED_LF_SKIP  4   /* "#012" */

struct vline {
	const char *text;        /* NULL for a line too long to keep */
	size_t len;              /* bytes, without the newline */
	bool nl;                 /* ended by a newline (else: the end of the file) */
};

/* More bytes after the unread ones; -1 on a read error (errno). */
static int vfile_fill(struct vfile *vf)
{
	if (vf->off > 0) {
		memmove(vf->buf, vf->buf + vf->off, vf->len - vf->off);
		vf->len -= vf->off;
		vf->off = 0;
	}
	ssize_t r;
	do
		r = read(vf->fd, vf->buf + vf->len, VERIFY_LINE_MAX + VERIFY_CHUNK - vf->len);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -1;
	if (r == 0)
		vf->eof = true;
	vf->len += (size_t)r;
	return 0;
}

/* A line longer than VERIFY_LINE_MAX: counted and dropped up to its newline. */
static int vfile_skip_long(struct vfile *vf, struct vline *out)
{
	out->text = NULL;
	out->len = 0;
	for (;;) {
		char *nl = memchr(vf->buf + vf->off, '\n', vf->len - vf->off);
		if (nl) {
			out->len += (size_t)(nl - (vf->buf + vf->off));
			out->nl = true;
			vf->off = (size_t)(nl - vf->buf) + 1;
			return 1;
		}
		out->len += vf->len - vf->off;
		vf->off = vf->len;
		if (vf->eof) {
			out->nl = false;
			return 1;
		}
		if (vfile_fill(vf) != 0)
			return -1;
	}
}

/* The next line: 1, 0 at the end of the file, -1 on a read error. */
static int vfile_line(struct vfile *vf, struct vline *out)
{
	for (;;) {
		char *start = vf->buf + vf->off;
		char *nl = memchr(start, '\n', vf->len - vf->off);
		if (nl || (vf->eof && vf->off < vf->len)) {
			out->len = nl ? (size_t)(nl - start) : vf->len - vf->off;
			const char *esc = memmem(start, out->len, ESCAPED_LF, sizeof(ESCAPED_LF) - 1);
			if (esc)
				out->len = (size_t)(esc - start);
			/* The buffer holds more than VERIFY_LINE_MAX: a line found
			 * whole may still be too long to be a record. */
			out->text = out->len <= VERIFY_LINE_MAX ? start : NULL;
			out->nl = nl != NULL || esc != NULL;
			vf->off += out->len + (esc ? ESCAPED_LF_SKIP : nl != NULL);
			vf->lineno += !vf->mid_line;
			vf->mid_line = esc != NULL;
			return 1;
		}
		if (vf->eof)
			return 0;
		if (vf->len - vf->off >= VERIFY_LINE_MAX) {
			vf->lineno += !vf->mid_line;
			vf->mid_line = false;
			return vfile_skip_long(vf, out);
		}
		if (vfile_fill(vf) != 0)
			return -1;
	}
}

/* ---------- the records of every file, in order ---------- */

struct vrec {
	struct audit_line l;     /* points into the read buffer until the next read */
	size_t file, lineno;
	bool first_in_file;
};

struct vstream {
	const char *const *paths;
	size_t n_files, file;    /* file: the one open (or next to open) */
	struct vfile vf;
	bool open, first;        /* first: no record of this file yet */
	bool quiet;              /* reading on after the verdict: no messages */
	unsigned warnings;
	FILE *out;
};

static void stream_close_file(struct vstream *st)
{
	if (st->open)
		close(st->vf.fd);
	st->open = false;
	st->file++;
}

static int stream_open_file(struct vstream *st)
{
	const char *path = st->paths[st->file];
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) != 0) {
		if (!st->quiet)
			fprintf(st->out, "%s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		if (!st->quiet)
			fprintf(st->out, "%s: not a regular file\n", path);
		close(fd);
		return -1;
	}
	st->vf = (struct vfile){ .fd = fd, .buf = st->vf.buf };
	st->open = true;
	st->first = true;
	return 0;
}

/* The next record: 1, 0 at the end of the input, -1 when the input is bad
 * (unreadable, or a line that is not a record; reported unless quiet). A
 * partial line at the end of a file is a torn tail: a warning, not a record. */
static int stream_next(struct vstream *st, struct vrec *rec)
{
	struct vline ln;
	for (;;) {
		if (!st->open) {
			if (st->file >= st->n_files)
				return 0;
			if (stream_open_file(st) != 0)
				return -1;
		}
		const char *path = st->paths[st->file];
		int r = vfile_line(&st->vf, &ln);
		if (r < 0) {
			if (!st->quiet)
				fprintf(st->out, "%s: %s\n", path, strerror(errno));
			return -1;
		}
		if (r == 0) {
			stream_close_file(st);
			continue;
		}
		if (ln.len == 0)
			continue;   /* blank lines carry nothing */
		const char *start = ln.text ? audit_line_find(ln.text, ln.len) : NULL;
		if (ln.nl && start &&
		    audit_line_parse(start, ln.len - (size_t)(start - ln.text), &rec->l) == 0) {
			rec->file = st->file;
			rec->lineno = st->vf.lineno;
			rec->first_in_file = st->first;
			st->first = false;
			return 1;
		}
		if (!ln.nl) {
			if (!st->quiet)
				fprintf(st->out, "%s:%zu: warning: torn tail: %zu bytes of a partial "
				        "record at the end of the file (crash during a write)\n", path,
				        st->vf.lineno, ln.len);
			st->warnings++;
			stream_close_file(st);
			continue;
		}
		if (!st->quiet) {
			if (ln.text)
				fprintf(st->out, "%s:%zu: malformed: not an audit record line\n", path,
				        st->vf.lineno);
			else
				fprintf(st->out, "%s:%zu: malformed: not an audit record line (%zu bytes, "
				        "longer than any record)\n", path, st->vf.lineno, ln.len);
		}
		return -1;
	}
}

/* ---------- the chain ---------- */

struct vwalk {
	struct vstream *st;
	FILE *out;
	uint8_t key[AUDIT_KEY_LEN], prev[AUDIT_MAC_LEN];
	uint32_t key_epoch, first_epoch;
	uint64_t expected;       /* the seq the chain needs next */
	uint64_t dups;
	uint64_t count;          /* records verified (not the duplicates) */
	uint64_t first_seq;      /* where the input starts (a checkpoint after 1) */
	uint64_t gaps, gap_records;
	bool prev_seal;          /* the last record of the chain is a seal */
	char gw[sizeof(((struct audit_line *)0)->gw)];
	/* The ring of hashes: seq s at slot (s - 1) % window, in blocks of
	 * DUP_BLOCK made as the chain reaches them, so a short input costs
	 * little and a long one at most the window. */
	uint8_t **seen;
	uint32_t window;
	EVP_MD_CTX *md_ctx;
	EVP_MD *sha256;
	char *copy;              /* a record kept while reading ahead */
	uint64_t lost;           /* records the gateway reported lost */
	/* The last record read (a duplicate too), for the tail warning. */
	struct {
		size_t file, lineno;
		uint64_t seq;
		char event[sizeof(((struct audit_line *)0)->event)];
		bool shutdown;
		const char *kind;
	} last;
};

static void name_rec(struct vwalk *w, const struct vrec *r)
{
	fprintf(w->out, "%s:%zu: seq %llu: ", w->st->paths[r->file], r->lineno,
	        (unsigned long long)r->l.seq);
}

static bool mac_ok(const uint8_t key[AUDIT_KEY_LEN], const uint8_t prev[AUDIT_MAC_LEN],
       const struct audit_line *l)
{
	uint8_t mac[AUDIT_MAC_LEN];
	audit_chain_mac(key, prev, l->text, l->body_len, mac);
	return CRYPTO_memcmp(mac, l->mac, AUDIT_MAC_LEN) == 0;
}

/* The hash a duplicate is compared by: the record's bytes from '{' to '}'
 * (a collector's prefix may differ between copies and is not part of it). */
static bool rec_hash(struct vwalk *w, const struct audit_line *l, uint8_t out[DUP_HASH_LEN])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	if (!EVP_DigestInit_ex(w->md_ctx, w->sha256, NULL) ||
	    !EVP_DigestUpdate(w->md_ctx, l->text, l->len) ||
	    !EVP_DigestFinal_ex(w->md_ctx, md, &n) || n < DUP_HASH_LEN)
		return false;
	memcpy(out, md, DUP_HASH_LEN);
	return true;
}

/* Tell a changed record from a forged run or a splice (see the top): does
 * the next record chain to this one as written, or to what it should be? */
static void classify_bad_mac(struct vwalk *w, struct vrec *r)
{
	uint8_t expect[AUDIT_MAC_LEN], mac[AUDIT_MAC_LEN];
	struct vrec next;
	struct audit_line l;

	audit_chain_mac(w->key, w->prev, r->l.text, r->l.body_len, expect);
	memcpy(mac, r->l.mac, sizeof(mac));
	name_rec(w, r);
	/* Keep this record's text: reading the next line may move the buffer. */
	memcpy(w->copy, r->l.text, r->l.len);
	if (audit_line_parse(w->copy, r->l.len, &l) != 0)
		return;   /* cannot happen: it parsed before */
	r->l = l;
	w->st->quiet = true;
	if (stream_next(w->st, &next) == 1 && next.l.seq == r->l.seq + 1 &&
	    next.l.epoch == w->key_epoch) {
		if (mac_ok(w->key, mac, &next.l)) {
			fprintf(w->out, "changed: the record was altered after it was written "
			        "(its mac no longer matches; the next record still chains to it)\n");
			return;
		}
		if (mac_ok(w->key, expect, &next.l)) {
			fprintf(w->out, "changed: its mac was altered (the content is as written)\n");
			return;
		}
	}
	if (r->first_in_file && r->file > 0)
		fprintf(w->out, "spliced: %s does not continue the chain of %s\n",
		        w->st->paths[r->file], w->st->paths[r->file - 1]);
	else
		fprintf(w->out, "forged: the mac does not verify with the key of epoch %u "
		        "(wrong key or rewritten records)\n", w->key_epoch);
}

/* Is l the record the chain expects at seq `expected` (after prev), but
 * with its seq altered? Its mac then verifies once the expected seq is put
 * back: the seq digits start right after `{"ts":"<27>","seq":`. Keys of a
 * few epochs ahead are tried (the record may open a new epoch). */
static bool seq_altered(const struct audit_line *l, const uint8_t key[AUDIT_KEY_LEN], uint32_t key_epoch,
            const uint8_t prev[AUDIT_MAC_LEN], uint64_t expected)
{
	static const size_t at = sizeof("{\"ts\":\"") - 1 + 27 + sizeof("\",\"seq\":") - 1;
	char body[AUDIT_LINE_MAX + 32], digits[24];
	uint8_t k[AUDIT_KEY_LEN];
	const char *end = l->text + l->body_len, *p = l->text + at;

	if (l->epoch < key_epoch || l->epoch - key_epoch > 64 || l->body_len > AUDIT_LINE_MAX)
		return false;
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	int n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)expected);
	size_t len = 0;
	memcpy(body, l->text, at);
	len += at;
	memcpy(body + len, digits, (size_t)n);
	len += (size_t)n;
	memcpy(body + len, p, (size_t)(end - p));
	len += (size_t)(end - p);
	memcpy(k, key, sizeof(k));
	for (uint32_t e = key_epoch; e < l->epoch; e++)
		audit_key_evolve(k);
	uint8_t mac[AUDIT_MAC_LEN];
	audit_chain_mac(k, prev, body, len, mac);
	OPENSSL_cleanse(k, sizeof(k));
	return CRYPTO_memcmp(mac, l->mac, AUDIT_MAC_LEN) == 0;
}

/* Has this seal the given reason? `reason` is a member of every seal. */
static bool seal_reason(const struct audit_line *l, const char *reason)
{
	char member[32];
	int n = snprintf(member, sizeof(member), ",\"reason\":\"%s\"", reason);
	if (strcmp(l->event, "seal") != 0 || n < 0 || (size_t)n >= sizeof(member))
		return false;
	const char *hit = memmem(l->text, l->body_len, member, (size_t)n);
	if (!hit)
		return false;
	const char *after = hit + n;
	return after == l->text + l->body_len || *after == ',';
}

/* What the last record is, for the unsealed-tail warning. Only a shutdown
 * seal ends a spool cleanly. */
static const char *tail_kind(const struct audit_line *l)
{
	if (strcmp(l->event, "seal") != 0)
		return "is not a seal";
	if (seal_reason(l, "epoch"))
		return "is an hourly (epoch) seal, not a shutdown seal";
	if (seal_reason(l, "recovery"))
		return "is a recovery seal, not a shutdown seal";
	return "is not a shutdown seal";
}

/* Does seq come anywhere in the rest of the input? Read on quietly. */
static bool appears_later(struct vwalk *w, uint64_t seq)
{
	struct vrec r;
	w->st->quiet = true;
	while (stream_next(w->st, &r) == 1)
		if (r.l.seq == seq)
			return true;
	return false;
}

/* The ring slot of seq (NULL: out of memory, or not made yet and !make). */
static uint8_t *dup_slot(struct vwalk *w, uint64_t seq, bool make)
{
	uint64_t i = (seq - 1) % w->window;
	uint8_t **block = &w->seen[i / DUP_BLOCK];
	if (!*block && make)
		*block = calloc(DUP_BLOCK, DUP_HASH_LEN);
	return *block ? *block + (i % DUP_BLOCK) * DUP_HASH_LEN : NULL;
}

/* A seq the chain has passed: an identical copy (skipped), or bad. */
static int check_again(struct vwalk *w, struct vrec *r)
{
	const struct audit_line *l = &r->l;
	uint64_t newer = w->expected - 1 - l->seq;   /* records of the chain after it */
	uint8_t h[DUP_HASH_LEN];
	bool in_window = newer < w->window;
	const uint8_t *first = in_window ? dup_slot(w, l->seq, false) : NULL;

	if (first && rec_hash(w, l, h) && CRYPTO_memcmp(h, first, DUP_HASH_LEN) == 0) {
		w->dups++;
		return 0;
	}
	name_rec(w, r);
	if (seq_altered(l, w->key, w->key_epoch, w->prev, w->expected))
		fprintf(w->out, "changed: its seq was altered (the record was written as seq %llu)\n",
		        (unsigned long long)w->expected);
	else if (in_window)
		fprintf(w->out, "changed: seq %llu was seen before with other content\n",
		        (unsigned long long)l->seq);
	else
		fprintf(w->out, "reordered: seq %llu reappears after %llu newer records; a copy is "
		        "compared with the first only within the last %u\n",
		        (unsigned long long)l->seq, (unsigned long long)newer, w->window);
	return -1;
}

/* A seq ahead of the chain: records missing, moved or renumbered. */
static void report_ahead(struct vwalk *w, struct vrec *r)
{
	const struct audit_line *l = &r->l;
	uint64_t seq = l->seq;
	name_rec(w, r);
	if (seq_altered(l, w->key, w->key_epoch, w->prev, w->expected))
		fprintf(w->out, "changed: its seq was altered (the record was written as seq %llu)\n",
		        (unsigned long long)w->expected);
	else if (appears_later(w, w->expected))
		fprintf(w->out, "reordered: it comes before seq %llu\n",
		        (unsigned long long)w->expected);
	else if (w->expected == 1)
		fprintf(w->out, "removed: the chain starts at seq 1, the first record here is "
		        "seq %llu and not a checkpoint\n", (unsigned long long)seq);
	else
		fprintf(w->out, "removed: seq %llu..%llu missing before it\n",
		        (unsigned long long)w->expected, (unsigned long long)seq - 1);
}

/* The key of the record's epoch (forward only, after a seal). */
static int advance_epoch(struct vwalk *w, struct vrec *r)
{
	const struct audit_line *l = &r->l;
	if (l->epoch < w->key_epoch) {
		name_rec(w, r);
		fprintf(w->out, "replayed: a record of old key epoch %u after epoch %u\n",
		        l->epoch, w->key_epoch);
		return -1;
	}
	if (l->epoch == w->key_epoch)
		return 0;
	if (w->expected > 1 && !w->prev_seal) {
		name_rec(w, r);
		fprintf(w->out, "unsealed-epoch: epoch %u follows epoch %u without a seal "
		        "(records removed or forged)\n", l->epoch, w->key_epoch);
		return -1;
	}
	if (l->epoch - w->key_epoch > 10u * 1000 * 1000) {
		name_rec(w, r);
		fprintf(w->out, "forged: implausible epoch %u\n", l->epoch);
		return -1;
	}
	while (w->key_epoch < l->epoch) {
		audit_key_evolve(w->key);
		w->key_epoch++;
	}
	if (w->expected == 1)
		w->first_epoch = w->key_epoch;
	return 0;
}

/* The writer's own loss report (a `stats` record of source audit with
 * `lost`: records it could not write, counted, under count-loss or when a
 * full disk outlasted its hold). The chain is intact around them, but the
 * trail is not complete: a warning, with the count. */
static void note_loss(struct vwalk *w, const struct vrec *r)
{
	static const char tag[] = ",\"source\":\"audit\",\"lost\":";
	const struct audit_line *l = &r->l;
	const char *hit;
	unsigned long long n;

	if (strcmp(l->event, "stats") != 0 ||
	    !(hit = memmem(l->text, l->body_len, tag, sizeof(tag) - 1)))
		return;
	n = strtoull(hit + sizeof(tag) - 1, NULL, 10);
	if (n == 0)
		return;
	name_rec(w, r);
	fprintf(w->out, "warning: the gateway reports %llu records lost before this one "
	        "(counted: disk full or write errors)\n", n);
	w->st->warnings++;
	w->lost += n;
}

/* The prev_mac a checkpoint carries (its first member after the header). */
static bool checkpoint_prev(const struct audit_line *l, uint8_t prev[AUDIT_MAC_LEN])
{
	static const char tag[] = ",\"prev_mac\":\"";
	if (strcmp(l->event, "checkpoint") != 0)
		return false;
	const char *hit = memmem(l->text, l->body_len, tag, sizeof(tag) - 1);
	if (!hit || (size_t)(l->text + l->body_len - hit) < sizeof(tag) - 1 + 2 * AUDIT_MAC_LEN + 1)
		return false;
	hit += sizeof(tag) - 1;
	return hit[2 * AUDIT_MAC_LEN] == '"' &&
	       audit_unhex(hit, 2 * AUDIT_MAC_LEN, prev, AUDIT_MAC_LEN) == 0;
}

/* The input starts past seq 1, or seqs are missing before this record: a
 * checkpoint lets the chain resume here. Its mac must verify, under the key
 * of its epoch derived from k0, over the prev_mac it states: a checkpoint
 * can not be made without that key. 0: resumed (a gap is reported and
 * counted); -1: bad (reported). */
static int resume_at_checkpoint(struct vwalk *w, struct vrec *r, const uint8_t prev[AUDIT_MAC_LEN])
{
	const struct audit_line *l = &r->l;
	uint8_t key[AUDIT_KEY_LEN];
	if (l->epoch < w->key_epoch) {
		name_rec(w, r);
		fprintf(w->out, "replayed: a checkpoint of old key epoch %u after epoch %u\n",
		        l->epoch, w->key_epoch);
		return -1;
	}
	if (l->epoch - w->key_epoch > 10u * 1000 * 1000) {
		name_rec(w, r);
		fprintf(w->out, "forged: implausible epoch %u\n", l->epoch);
		return -1;
	}
	memcpy(key, w->key, sizeof(key));
	for (uint32_t e = w->key_epoch; e < l->epoch; e++)
		audit_key_evolve(key);
	if (!mac_ok(key, prev, l)) {
		OPENSSL_cleanse(key, sizeof(key));
		name_rec(w, r);
		fprintf(w->out, "forged: a checkpoint whose mac does not verify with the key of "
		        "epoch %u (a forged or altered checkpoint, or the wrong key)\n", l->epoch);
		return -1;
	}
	if (w->expected > 1) {
		name_rec(w, r);
		fprintf(w->out, "removed: seq %llu..%llu missing before it (the chain resumes at "
		        "this checkpoint)\n", (unsigned long long)w->expected,
		        (unsigned long long)l->seq - 1);
		w->gaps++;
		w->gap_records += l->seq - w->expected;
	} else {
		w->first_seq = l->seq;
		w->first_epoch = l->epoch;
	}
	memcpy(w->key, key, sizeof(key));
	OPENSSL_cleanse(key, sizeof(key));
	w->key_epoch = l->epoch;
	memcpy(w->prev, prev, sizeof(w->prev));
	w->expected = l->seq;
	w->prev_seal = false;
	return 0;
}

/* One record: 0 on (or skipped as an identical copy), -1 bad (reported). */
static int check_record(struct vwalk *w, struct vrec *r)
{
	const struct audit_line *l = &r->l;
	uint8_t h[DUP_HASH_LEN], *slot;

	w->last.file = r->file;
	w->last.lineno = r->lineno;
	w->last.seq = l->seq;
	memcpy(w->last.event, l->event, sizeof(w->last.event));
	w->last.shutdown = seal_reason(l, "shutdown");
	w->last.kind = tail_kind(l);
	if (!w->gw[0])
		memcpy(w->gw, l->gw, sizeof(w->gw));
	if (strcmp(l->gw, w->gw) != 0) {
		name_rec(w, r);
		fprintf(w->out, "spliced: a record of gateway %s in the chain of %s\n", l->gw, w->gw);
		return -1;
	}
	if (l->seq < w->expected)
		return check_again(w, r);
	uint8_t cp_prev[AUDIT_MAC_LEN];
	bool checkpoint = checkpoint_prev(l, cp_prev);
	if (l->seq > w->expected) {
		if (!checkpoint) {
			report_ahead(w, r);
			return -1;
		}
		if (resume_at_checkpoint(w, r, cp_prev) != 0)
			return -1;
	}
	if (advance_epoch(w, r) != 0)
		return -1;
	if (!mac_ok(w->key, w->prev, l)) {
		classify_bad_mac(w, r);
		return -1;
	}
	/* In the chain, a checkpoint states the mac that is really before it. */
	if (checkpoint && CRYPTO_memcmp(cp_prev, w->prev, AUDIT_MAC_LEN) != 0) {
		name_rec(w, r);
		fprintf(w->out, "forged: the checkpoint's prev_mac is not the mac of seq %llu\n",
		        (unsigned long long)l->seq - 1);
		return -1;
	}
	if (!rec_hash(w, l, h) || !(slot = dup_slot(w, l->seq, true))) {
		fprintf(w->out, "verify: out of memory\n");
		return -1;
	}
	memcpy(slot, h, DUP_HASH_LEN);
	memcpy(w->prev, l->mac, sizeof(w->prev));
	w->prev_seal = strcmp(l->event, "seal") == 0;
	w->expected++;
	w->count++;
	note_loss(w, r);
	return 0;
}

static int walk(struct vwalk *w)
{
	struct vrec r;
	int got;

	while ((got = stream_next(w->st, &r)) == 1)
		if (check_record(w, &r) != 0)
			return 1;
	if (got < 0)
		return 1;
	if (w->count == 0) {
		fprintf(w->out, "verify: no records\n");
		return 1;
	}
	uint64_t last_seq = w->expected - 1;
	if (!w->last.shutdown || w->last.seq != last_seq) {
		fprintf(w->out, "%s:%zu: warning: tail not sealed: the last record (seq %llu, %s) "
		        "%s: the writer is running or crashed, or records after it "
		        "were cut\n", w->st->paths[w->last.file], w->last.lineno,
		        (unsigned long long)last_seq, w->last.event, w->last.kind);
		w->st->warnings++;
	}
	fprintf(w->out, "verify: %llu records, seq %llu..%llu, epochs %u..%u, %llu duplicates "
	        "skipped: ", (unsigned long long)w->count, (unsigned long long)w->first_seq,
	        (unsigned long long)last_seq, w->first_epoch, w->key_epoch,
	        (unsigned long long)w->dups);
	if (w->gaps)
		fprintf(w->out, "chain intact between %llu gaps (%llu records missing)",
		        (unsigned long long)w->gaps, (unsigned long long)w->gap_records);
	else
		fprintf(w->out, "chain intact%s", w->st->warnings ? ", with warnings" : "");
	if (w->first_seq > 1)
		fprintf(w->out, "; starts at the checkpoint of seq %llu (seq 1..%llu are not in "
		        "the input)", (unsigned long long)w->first_seq,
		        (unsigned long long)w->first_seq - 1);
	if (w->lost)
		fprintf(w->out, " (%llu records reported lost by the gateway)",
		        (unsigned long long)w->lost);
	fputc('\n', w->out);
	if (w->gaps)
		return 1;
	return w->st->warnings ? 3 : 0;
}

int audit_verify(const char *k0_file, const char *const *paths, size_t n_paths, FILE *out)
{
	uint8_t k0[AUDIT_KEY_LEN];
	char err[512];
	int rc = 1;

	if (audit_k0_load(k0_file, k0, err, sizeof(err)) != 0) {
		fprintf(out, "%s\n", err);
		return 1;
	}
	struct vstream st = { .paths = paths, .n_files = n_paths, .out = out };
	struct vwalk w = { .st = &st, .out = out, .expected = 1, .first_seq = 1,
	                   .window = audit_verify_dup_window ? audit_verify_dup_window : 1 };
	memcpy(w.key, k0, sizeof(w.key));
	OPENSSL_cleanse(k0, sizeof(k0));
	size_t blocks = (w.window + DUP_BLOCK - 1) / DUP_BLOCK;
	st.vf.buf = malloc(VERIFY_LINE_MAX + VERIFY_CHUNK);
	w.seen = calloc(blocks, sizeof(*w.seen));
	w.copy = malloc(VERIFY_LINE_MAX);
	w.md_ctx = EVP_MD_CTX_new();
	w.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!st.vf.buf || !w.seen || !w.copy || !w.md_ctx || !w.sha256)
		fprintf(out, "verify: out of memory\n");
	else
		rc = walk(&w);
	if (rc == 1)
		fprintf(out, "verify: FAILED\n");
	if (st.open)
		close(st.vf.fd);
	free(st.vf.buf);
	for (size_t i = 0; w.seen && i < blocks; i++)
		free(w.seen[i]);
	free(w.seen);
	free(w.copy);
	EVP_MD_CTX_free(w.md_ctx);
	EVP_MD_free(w.sha256);
	OPENSSL_cleanse(w.key, sizeof(w.key));
	return rc;
}
