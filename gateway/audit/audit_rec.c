/*
 * audit_rec.c — building one record (audit.h: audit_rec_*): fields escaped
 * by the one JSON writer (filters/base/json.h), names checked, a record that
 * outgrows its line marked "truncated"; commit hands it to the writer.
 */
#include <stdio.h>
#include <string.h>

#include "filters/base/json.h"
#include "filters/base/log.h"
#include "gateway/audit/writer.h"

bool aw_is_word(const char *s, size_t max, bool upper_ok)
{
	size_t n = 0;
	for (; s && s[n]; n++) {
		char c = s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
		      (upper_ok && ((c >= 'A' && c <= 'Z') || c == '-'))))
			return false;
	}
	return s && n > 0 && n < max;
}


/* ---------- JSON building ---------- */

#define TRUNC_MARK ",\"truncated\":true"

static bool put(struct audit_rec *rec, const char *s, size_t n)
{
	/* Room is always kept for the truncation mark. */
	if (rec->len + n >= sizeof(rec->fields) - sizeof(TRUNC_MARK))
		return false;
	memcpy(rec->fields + rec->len, s, n);
	rec->len += n;
	return true;
}

/* JSON string body; invalid UTF-8 becomes U+FFFD so every line is valid
 * JSON (the one writer of filters/base/json.h). Room is always kept for
 * the truncation mark. */
static bool put_escaped(struct audit_rec *rec, const char *value)
{
	size_t room = sizeof(rec->fields) - sizeof(TRUNC_MARK) - rec->len;
	size_t n = json_escape(rec->fields + rec->len, room, value);

	if (n == (size_t)-1)
		return false;
	rec->len += n;
	return true;
}

/* ,"key": — on overflow the record is marked and the field dropped whole.
 * The name is checked ([a-z0-9_]{1,31}) while it is copied: one pass, as
 * this runs for every field of every frame's record. */
static bool put_key(struct audit_rec *rec, const char *key)
{
	size_t n = 0;
	char *p = rec->fields + rec->len + 2;
	/* Room for ,"  key  ": and the truncation mark, as put() keeps. */
	size_t room = sizeof(rec->fields) - sizeof(TRUNC_MARK) - rec->len;

	for (; key && key[n]; n++) {
		unsigned char c = (unsigned char)key[n];
		/* [a-z0-9_] in two unsigned compares and one equality. */
		bool ok = (unsigned)(c - 'a') < 26 || (unsigned)(c - '0') < 10 || c == '_';
		if (!ok || n >= 31) {
			log_err("audit: invalid field name in a %s record", rec->event);
			return false;
		}
		if (n + 2 + 3 <= room)
			p[n] = c;
	}
	if (n == 0) {
		log_err("audit: invalid field name in a %s record", rec->event);
		return false;
	}
	if (n + 2 + 2 >= room)
		return false;
	rec->fields[rec->len] = ',';
	rec->fields[rec->len + 1] = '"';
	p[n] = '"';
	p[n + 1] = ':';
	rec->len += n + 4;
	return true;
}

static void field_done(struct audit_rec *rec, bool ok, size_t mark)
{
	if (!ok) {
		rec->len = mark;
		rec->truncated = true;
	}
}

/* The record this thread is building. Its fields are escaped and laid out
 * without the audit's lock (the relay's workers build theirs side by side);
 * only the commit — seq, mac, the append — takes it, so seq follows the
 * order of commits. One record open at a time per thread. */
static _Thread_local struct audit_rec thread_rec;

struct audit_rec *audit_rec_begin(struct audit *audit, const char *event)
{
	struct audit_rec *rec = &thread_rec;

	if (!audit || audit->magic != AUDIT_MAGIC)
		return NULL;
	if (rec->busy && rec->owner && rec->owner->magic == AUDIT_MAGIC) {
		/* A caller bug; refusing would silence the audit for good. */
		log_err("audit: a %s record was never committed (counted as lost)", rec->event);
		pthread_mutex_lock(&rec->owner->mu);
		aw_lose(rec->owner);
		pthread_mutex_unlock(&rec->owner->mu);
	}
	rec->busy = false;
	if (!aw_is_word(event, sizeof(rec->event), false)) {
		log_err("audit: invalid event name");
		return NULL;
	}
	rec->owner = audit;
	rec->busy = true;
	rec->truncated = false;
	rec->len = 0;
	memcpy(rec->event, event, strlen(event) + 1);   /* is_word bounded it */
	return rec;
}

void audit_rec_str(struct audit_rec *rec, const char *key, const char *value)
{
	if (!rec || !rec->busy)
		return;
	size_t mark = rec->len;
	bool ok = put_key(rec, key) && put(rec, "\"", 1) &&
	          put_escaped(rec, value ? value : "") && put(rec, "\"", 1);
	field_done(rec, ok, mark);
}

/* Decimal digits of v at out (no NUL); returns their number (1..20).
 * Two digits per division: tunnel ids have 19 digits, in every record. */
size_t aw_fmt_u64(char out[20], uint64_t v)
{
	static const char pairs[] =
		"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
		"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
		"8081828384858687888990919293949596979899";
	char tmp[20];
	size_t i = sizeof(tmp);
	while (v >= 100) {
		unsigned r = (unsigned)(v % 100);
		v /= 100;
		tmp[--i] = pairs[2 * r + 1];
		tmp[--i] = pairs[2 * r];
	}
	if (v >= 10) {
		tmp[--i] = pairs[2 * v + 1];
		tmp[--i] = pairs[2 * v];
	} else {
		tmp[--i] = (char)('0' + v);
	}
	memcpy(out, tmp + i, sizeof(tmp) - i);
	return sizeof(tmp) - i;
}

/* As fmt_u64 with a sign; INT64_MIN included (negated as unsigned). */
static size_t fmt_i64(char out[21], int64_t v)
{
	if (v >= 0)
		return aw_fmt_u64(out, (uint64_t)v);
	out[0] = '-';
	return 1 + aw_fmt_u64(out + 1, (uint64_t)0 - (uint64_t)v);
}

void audit_rec_u64(struct audit_rec *rec, const char *key, uint64_t value)
{
	char num[24];
	if (!rec || !rec->busy)
		return;
	size_t mark = rec->len;
	size_t n = aw_fmt_u64(num, value);
	bool ok = put_key(rec, key) && put(rec, num, n);
	field_done(rec, ok, mark);
}

void audit_rec_i64(struct audit_rec *rec, const char *key, int64_t value)
{
	char num[24];
	if (!rec || !rec->busy)
		return;
	size_t mark = rec->len;
	size_t n = fmt_i64(num, value);
	bool ok = put_key(rec, key) && put(rec, num, n);
	field_done(rec, ok, mark);
}

void audit_rec_bool(struct audit_rec *rec, const char *key, bool value)
{
	if (!rec || !rec->busy)
		return;
	size_t mark = rec->len;
	const char *v = value ? "true" : "false";
	bool ok = put_key(rec, key) && put(rec, v, strlen(v));
	field_done(rec, ok, mark);
}

static int commit_locked(struct audit_rec *rec)
{
	struct audit *a = rec->owner;
	rec->busy = false;
	if (a->spool_broken || (a->disk_full && !a->p.fail_closed)) {
		aw_lose(a);   /* count-loss policy: dropped, counted, reported later */
		return -1;
	}
	if (a->lost_unreported > 0 && aw_report_loss(a) != 0) {
		aw_lose(a);
		return -1;
	}
	if (rec->truncated) {
		memcpy(rec->fields + rec->len, TRUNC_MARK, sizeof(TRUNC_MARK) - 1);
		rec->len += sizeof(TRUNC_MARK) - 1;
	}
	return aw_append(a, rec->event, rec->fields, rec->len);
}

void aw_rec_forget(const struct audit *a)
{
	if (thread_rec.owner == a) {
		thread_rec.busy = false;
		thread_rec.owner = NULL;
	}
}

int audit_rec_commit(struct audit_rec *rec)
{
	if (!rec || !rec->busy || !rec->owner || rec->owner->magic != AUDIT_MAGIC)
		return -1;
	struct audit *a = rec->owner;
	pthread_mutex_lock(&a->mu);
	int rc = commit_locked(rec);
	pthread_mutex_unlock(&a->mu);
	return rc;
}

