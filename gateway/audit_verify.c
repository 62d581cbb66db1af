/*
 * audit_verify.c — check spool files or a collector's copy against k0.
 *
 * The first bad record is named with its file, line and seq and one of:
 *   changed   the record (or its mac) was altered; the next record still
 *             chains to what was written, or the record is the one the
 *             chain expects there but with another seq
 *   removed   seq numbers are missing (a gap), or the chain does not start at 1
 *   reordered a record appears before one that must precede it
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
 * Returns 0 (good, sealed), 3 (good with warnings), 1 (bad or unreadable).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "gateway/audit.h"
#include "gateway/audit_impl.h"

struct vrec {
	struct audit_line l;
	size_t file, lineno;
	bool first_in_file;
};

struct vstate {
	const char *const *paths;
	char **bufs;
	size_t n_files;
	struct vrec *recs;
	size_t n, cap;
	unsigned warnings;
	FILE *out;
};

static int
add_rec(struct vstate *v, const struct audit_line *l, size_t file, size_t lineno, bool first)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 1024;
		struct vrec *grown = realloc(v->recs, cap * sizeof(*grown));
		if (!grown)
			return -1;
		v->recs = grown;
		v->cap = cap;
	}
	v->recs[v->n++] = (struct vrec){ *l, file, lineno, first };
	return 0;
}

static bool
all_nul(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != '\0')
			return false;
	return true;
}

static int
load_file(struct vstate *v, size_t f)
{
	size_t len;
	if (audit_slurp(v->paths[f], &v->bufs[f], &len) != 0) {
		fprintf(v->out, "%s: %s\n", v->paths[f], strerror(errno));
		return -1;
	}
	const char *buf = v->bufs[f], *p = buf, *end = buf + len;
	size_t lineno = 0;
	bool first = true;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl ? nl : end;
		size_t n = (size_t)(stop - p);
		struct audit_line l;
		lineno++;
		const char *start = n ? audit_line_find(p, n) : NULL;
		if (n == 0) {
			/* blank lines carry nothing */
		} else if (start && audit_line_parse(start, (size_t)(stop - start), &l) == 0 && nl) {
			if (add_rec(v, &l, f, lineno, first) != 0) {
				fprintf(v->out, "verify: out of memory\n");
				return -1;
			}
			first = false;
		} else if (!nl || all_nul(p, (size_t)(end - p))) {
			fprintf(v->out, "%s:%zu: warning: torn tail: %zu bytes of a partial record "
			        "at the end of the file (crash during a write)\n", v->paths[f],
			        lineno, (size_t)(end - p));
			v->warnings++;
			break;
		} else {
			fprintf(v->out, "%s:%zu: malformed: not an audit record line\n",
			        v->paths[f], lineno);
			return -1;
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}

static void
name_rec(struct vstate *v, const struct vrec *r)
{
	fprintf(v->out, "%s:%zu: seq %llu: ", v->paths[r->file], r->lineno,
	        (unsigned long long)r->l.seq);
}

static bool
mac_ok(const uint8_t key[AUDIT_KEY_LEN], const uint8_t prev[AUDIT_MAC_LEN],
       const struct audit_line *l)
{
	uint8_t mac[AUDIT_MAC_LEN];
	audit_chain_mac(key, prev, l->text, l->body_len, mac);
	return CRYPTO_memcmp(mac, l->mac, AUDIT_MAC_LEN) == 0;
}

/* Tell a changed record from a forged run or a splice (see the top). */
static void
classify_bad_mac(struct vstate *v, size_t i, const uint8_t key[AUDIT_KEY_LEN],
                 uint32_t key_epoch, const uint8_t prev[AUDIT_MAC_LEN])
{
	const struct vrec *r = &v->recs[i];
	uint8_t expect[AUDIT_MAC_LEN];
	audit_chain_mac(key, prev, r->l.text, r->l.body_len, expect);
	name_rec(v, r);
	if (i + 1 < v->n && v->recs[i + 1].l.seq == r->l.seq + 1 &&
	    v->recs[i + 1].l.epoch == key_epoch) {
		const struct audit_line *next = &v->recs[i + 1].l;
		if (mac_ok(key, r->l.mac, next)) {
			fprintf(v->out, "changed: the record was altered after it was written "
			        "(its mac no longer matches; the next record still chains to it)\n");
			return;
		}
		if (mac_ok(key, expect, next)) {
			fprintf(v->out, "changed: its mac was altered (the content is as written)\n");
			return;
		}
	}
	if (r->first_in_file && r->file > 0)
		fprintf(v->out, "spliced: %s does not continue the chain of %s\n",
		        v->paths[r->file], v->paths[r->file - 1]);
	else
		fprintf(v->out, "forged: the mac does not verify with the key of epoch %u "
		        "(wrong key or rewritten records)\n", key_epoch);
}

/* Is l the record the chain expects at seq `expected` (after prev), but
 * with its seq altered? Its mac then verifies once the expected seq is put
 * back: the seq digits start right after `{"ts":"<27>","seq":`. Keys of a
 * few epochs ahead are tried (the record may open a new epoch). */
static bool
seq_altered(const struct audit_line *l, const uint8_t key[AUDIT_KEY_LEN], uint32_t key_epoch,
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
static bool
seal_reason(const struct audit_line *l, const char *reason)
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
static const char *
tail_kind(const struct audit_line *l)
{
	if (strcmp(l->event, "seal") != 0)
		return "is not a seal";
	if (seal_reason(l, "epoch"))
		return "is an hourly (epoch) seal, not a shutdown seal";
	if (seal_reason(l, "recovery"))
		return "is a recovery seal, not a shutdown seal";
	return "is not a shutdown seal";
}

static bool
appears_later(const struct vstate *v, size_t i, uint64_t seq)
{
	for (size_t j = i + 1; j < v->n; j++)
		if (v->recs[j].l.seq == seq)
			return true;
	return false;
}

static int
walk(struct vstate *v, const uint8_t k0[AUDIT_KEY_LEN])
{
	uint8_t key[AUDIT_KEY_LEN], prev[AUDIT_MAC_LEN] = { 0 };
	uint32_t key_epoch = 0, first_epoch = 0;
	uint64_t expected = 1, dups = 0;
	const struct audit_line **seen = NULL;
	int rc = 1;

	memcpy(key, k0, sizeof(key));
	if (v->n == 0) {
		fprintf(v->out, "verify: no records\n");
		goto out;
	}
	seen = calloc(v->n + 1, sizeof(*seen));
	if (!seen)
		goto out;
	for (size_t i = 0; i < v->n; i++) {
		const struct vrec *r = &v->recs[i];
		const struct audit_line *l = &r->l;
		if (strcmp(l->gw, v->recs[0].l.gw) != 0) {
			name_rec(v, r);
			fprintf(v->out, "spliced: a record of gateway %s in the chain of %s\n",
			        l->gw, v->recs[0].l.gw);
			goto out;
		}
		if (l->seq < expected) {
			const struct audit_line *was = l->seq - 1 < v->n ? seen[l->seq - 1] : NULL;
			if (was && was->len == l->len && memcmp(was->text, l->text, l->len) == 0) {
				dups++;
				continue;
			}
			name_rec(v, r);
			if (seq_altered(l, key, key_epoch, prev, expected))
				fprintf(v->out, "changed: its seq was altered (the record was "
				        "written as seq %llu)\n", (unsigned long long)expected);
			else
				fprintf(v->out, "%s: seq %llu was seen before with other content\n",
				        was ? "changed" : "reordered", (unsigned long long)l->seq);
			goto out;
		}
		if (l->seq > expected) {
			name_rec(v, r);
			if (seq_altered(l, key, key_epoch, prev, expected))
				fprintf(v->out, "changed: its seq was altered (the record was "
				        "written as seq %llu)\n", (unsigned long long)expected);
			else if (appears_later(v, i, expected))
				fprintf(v->out, "reordered: it comes before seq %llu\n",
				        (unsigned long long)expected);
			else if (expected == 1)
				fprintf(v->out, "removed: the chain starts at seq 1, the first record "
				        "here is seq %llu\n", (unsigned long long)l->seq);
			else
				fprintf(v->out, "removed: seq %llu..%llu missing before it\n",
				        (unsigned long long)expected, (unsigned long long)l->seq - 1);
			goto out;
		}
		if (l->epoch < key_epoch) {
			name_rec(v, r);
			fprintf(v->out, "replayed: a record of old key epoch %u after epoch %u\n",
			        l->epoch, key_epoch);
			goto out;
		}
		if (l->epoch > key_epoch) {
			if (i > 0 && strcmp(v->recs[i - 1].l.event, "seal") != 0) {
				name_rec(v, r);
				fprintf(v->out, "unsealed-epoch: epoch %u follows epoch %u without a "
				        "seal (records removed or forged)\n", l->epoch, key_epoch);
				goto out;
			}
			if (l->epoch - key_epoch > 10u * 1000 * 1000) {
				name_rec(v, r);
				fprintf(v->out, "forged: implausible epoch %u\n", l->epoch);
				goto out;
			}
			while (key_epoch < l->epoch) {
				audit_key_evolve(key);
				key_epoch++;
			}
			if (i == 0)
				first_epoch = key_epoch;
		}
		if (!mac_ok(key, prev, l)) {
			classify_bad_mac(v, i, key, key_epoch, prev);
			goto out;
		}
		memcpy(prev, l->mac, sizeof(prev));
		seen[l->seq - 1] = l;
		expected++;
	}
	const struct vrec *last = &v->recs[v->n - 1];
	uint64_t last_seq = expected - 1;
	if (!seal_reason(&last->l, "shutdown") || last->l.seq != last_seq) {
		fprintf(v->out, "%s:%zu: warning: tail not sealed: the last record (seq %llu, %s) "
		        "%s: the writer is running or crashed, or records after it "
		        "were cut\n", v->paths[last->file], last->lineno,
		        (unsigned long long)last_seq, last->l.event, tail_kind(&last->l));
		v->warnings++;
	}
	fprintf(v->out, "verify: %llu records, seq 1..%llu, epochs %u..%u, %llu duplicates "
	        "skipped: chain intact%s\n", (unsigned long long)last_seq,
	        (unsigned long long)last_seq, first_epoch, key_epoch,
	        (unsigned long long)dups, v->warnings ? ", with warnings" : "");
	rc = v->warnings ? 3 : 0;
out:
	if (rc == 1)
		fprintf(v->out, "verify: FAILED\n");
	free(seen);
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

int
audit_verify(const char *k0_file, const char *const *paths, size_t n_paths, FILE *out)
{
	uint8_t k0[AUDIT_KEY_LEN];
	char err[512];
	int rc = 1;

	if (audit_k0_load(k0_file, k0, err, sizeof(err)) != 0) {
		fprintf(out, "%s\n", err);
		return 1;
	}
	struct vstate v = { .paths = paths, .n_files = n_paths, .out = out };
	v.bufs = calloc(n_paths ? n_paths : 1, sizeof(*v.bufs));
	if (!v.bufs)
		goto out;
	for (size_t f = 0; f < n_paths; f++)
		if (load_file(&v, f) != 0)
			goto out;
	rc = walk(&v, k0);
out:
	for (size_t f = 0; v.bufs && f < n_paths; f++)
		free(v.bufs[f]);
	free(v.bufs);
	free(v.recs);
	OPENSSL_cleanse(k0, sizeof(k0));
	return rc;
}
