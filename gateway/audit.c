/*
 * audit.c — the audit writer: records, the HMAC chain, the spool with group
 * commit and rotation, key epochs and seals, and the disk policy.
 *
 * Single-threaded by contract (the daemon's event loop); the mirror thread
 * only reads spool files and learns the durable seq through
 * audit_mirror_notify(). Ordering rules that make restarts safe:
 *   - records are appended to an in-memory batch and written with one
 *     write() per batch (at every tick, when the batch passes FLUSH_BYTES,
 *     before every fdatasync, rotation, seal and close); a failed write is
 *     cut back, so the spool never keeps a half record of ours;
 *   - a record is committed only when the fdatasync covering it returned,
 *     and that fdatasync always follows the write of the whole batch;
 *   - near the disk alarm level, or after a failed write, every record is
 *     written on its own again, so a loss is attributed to the record whose
 *     commit reported it;
 *   - an fdatasync that fails ends the trust in everything written since
 *     the last good one (the kernel may have dropped those pages): they are
 *     counted as lost, cut from the file, and seq and chain go back to the
 *     last committed record and go on in a new file;
 *   - a seal is made durable before the key file moves to the next epoch, and
 *     the key file moves before any record of the new epoch is written; the
 *     old key (and the HMAC state made from it) is wiped at once;
 *   - every run writes in a fresh epoch (start-up epoch change).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "gateway/audit.h"
#include "gateway/audit_impl.h"
#include "gateway/log.h"

#define AUDIT_MAGIC      0x4a415544u   /* "JAUD" */
#define FIELDS_MAX       (AUDIT_LINE_MAX - 256)
#define DISK_CHECK_MS    1000
#define DISK_CHECK_BYTES (64 * 1024)   /* and after this much written */
#define DEFAULT_ROTATE   (64ull << 20)
/* One write(2) per batch: at 320-byte records, one per ~800 records. */
#define FLUSH_BYTES      (256 * 1024)
/* Under fail-closed a batch that cannot be written is kept, not dropped,
 * and written once the disk takes it again; up to this much waits (about
 * 3,000 records: the frame and close records of the tunnels that are being
 * refused). A record that does not fit is lost (counted). */
#define HOLD_BYTES       (1024 * 1024)
#define WBUF_CAP         (HOLD_BYTES + AUDIT_LINE_MAX + 2)
#define AUDIT_TS_LEN     27
/* A failed key epoch change is tried again after this long, not every tick. */
#define KEY_RETRY_MS     5000

struct audit_rec {
	struct audit *owner;
	bool busy, truncated;
	char event[16];
	size_t len;
	char fields[FIELDS_MAX];
};

struct audit {
	uint32_t magic;
	struct audit_params p;
	char *gw, *spool_dir, *key_file;
	char *c_host, *c_ca, *c_cert, *c_key;
	int dir_fd, fd;
	uint64_t file_first;             /* first seq of the open spool file */
	uint64_t file_bytes, spool_bytes, unchecked_bytes;
	uint64_t synced_bytes;           /* the file's size at its last good fdatasync */
	uint64_t seq, durable_seq;
	uint8_t prev_mac[AUDIT_MAC_LEN];
	uint8_t d_mac[AUDIT_MAC_LEN];    /* mac of the last committed record */
	uint8_t key[AUDIT_KEY_LEN];
	uint32_t epoch;
	uint64_t epoch_records;
	int64_t epoch_start_ms, last_sync_ms, last_disk_ms;
	int64_t tick_base;        /* caller's clock minus ours, from the first tick */
	bool tick_base_set;
	bool dirty, disk_alarm, disk_full, in_internal, write_failing;
	int write_errno;                 /* of the failing write */
	/* An fdatasync failed and the file could not be cut back: nothing more
	 * is written until a restart (see sync_failed). */
	bool spool_broken;
	/* A failed epoch change: its seal (while it is the last record) and
	 * when to try the key file again (epoch clock). */
	uint64_t pending_seal_seq;
	int64_t key_retry_ms;
	bool key_alarm;
	uint64_t records, lost, lost_unreported, syncs;
	/* The batch: records appended but not yet written. The snapshot is
	 * the chain state after the last written record, to go back to when
	 * a batch cannot be written. */
	char *wbuf;
	size_t wlen;
	uint64_t w_records;              /* records in the batch */
	uint64_t w_seq;                  /* seq of the last written record */
	uint8_t w_mac[AUDIT_MAC_LEN];    /* its mac */
	uint64_t batch_room;             /* bytes that may be batched before the
	                                  * next disk check (room below the alarm) */
	/* HMAC keyed once per epoch; each record re-inits it (no key setup). */
	EVP_MAC *hmac;
	EVP_MAC_CTX *hmac_ctx;
	bool hmac_ready;
	/* Timestamp: the seconds part is formatted once per second. */
	time_t ts_sec;
	char ts_prefix[20];
	struct audit_rec rec;
	struct audit_mirror *mirror;
};

static bool
is_word(const char *s, size_t max, bool upper_ok)
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

static void lose(struct audit *a);

/* ---------- JSON building ---------- */

#define TRUNC_MARK ",\"truncated\":true"

static bool
put(struct audit_rec *rec, const char *s, size_t n)
{
	/* Room is always kept for the truncation mark. */
	if (rec->len + n >= sizeof(rec->fields) - sizeof(TRUNC_MARK))
		return false;
	memcpy(rec->fields + rec->len, s, n);
	rec->len += n;
	return true;
}

/* Length of a valid UTF-8 sequence at s (1..4), 0 when invalid. */
static size_t
utf8_len(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0))
			return 0;   /* overlong, surrogate */
		return 3;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

/* Printable ASCII that needs no escaping: the common case, copied in runs. */
static bool
plain_ascii(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* \u00XX for a control character without a named escape. */
static size_t
escape_u00(unsigned char c, char esc[8])
{
	static const char digits[] = "0123456789abcdef";
	memcpy(esc, "\\u00", 4);
	esc[4] = digits[c >> 4];
	esc[5] = digits[c & 15];
	return 6;
}

/* JSON string body; invalid UTF-8 becomes U+FFFD so every line is valid JSON. */
static bool
put_escaped(struct audit_rec *rec, const char *value)
{
	const unsigned char *s = (const unsigned char *)value;
	char esc[8];
	while (*s) {
		size_t n = 0;
		bool ok;
		while (plain_ascii(s[n]))
			n++;
		if (n > 0) {
			if (!put(rec, (const char *)s, n))
				return false;
			s += n;
			continue;
		}
		if (!*s)
			break;
		n = utf8_len(s);
		if (n == 0) {
			ok = put(rec, "\\ufffd", 6);
			n = 1;
		} else if (*s == '"' || *s == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*s;
			ok = put(rec, esc, 2);
		} else if (*s < 0x20 || *s == 0x7f) {
			const char *named = *s == '\n' ? "\\n" : *s == '\r' ? "\\r" :
			                    *s == '\t' ? "\\t" : NULL;
			if (named)
				ok = put(rec, named, 2);
			else
				ok = put(rec, esc, escape_u00(*s, esc));
		} else {
			ok = put(rec, (const char *)s, n);
		}
		if (!ok)
			return false;
		s += n;
	}
	return true;
}

/* ,"key": — on overflow the record is marked and the field dropped whole.
 * The name is checked ([a-z0-9_]{1,31}) while it is copied: one pass, as
 * this runs for every field of every frame's record. */
static bool
put_key(struct audit_rec *rec, const char *key)
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

static void
field_done(struct audit_rec *rec, bool ok, size_t mark)
{
	if (!ok) {
		rec->len = mark;
		rec->truncated = true;
	}
}

struct audit_rec *
audit_rec_begin(struct audit *audit, const char *event)
{
	if (!audit || audit->magic != AUDIT_MAGIC)
		return NULL;
	if (audit->rec.busy) {
		/* A caller bug; refusing would silence the audit for good. */
		log_err("audit: a %s record was never committed (counted as lost)",
		        audit->rec.event);
		lose(audit);
	}
	if (!is_word(event, sizeof(audit->rec.event), false)) {
		log_err("audit: invalid event name");
		return NULL;
	}
	struct audit_rec *rec = &audit->rec;
	rec->owner = audit;
	rec->busy = true;
	rec->truncated = false;
	rec->len = 0;
	memcpy(rec->event, event, strlen(event) + 1);   /* is_word bounded it */
	return rec;
}

void
audit_rec_str(struct audit_rec *rec, const char *key, const char *value)
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
static size_t
fmt_u64(char out[20], uint64_t v)
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
static size_t
fmt_i64(char out[21], int64_t v)
{
	if (v >= 0)
		return fmt_u64(out, (uint64_t)v);
	out[0] = '-';
	return 1 + fmt_u64(out + 1, (uint64_t)0 - (uint64_t)v);
}

void
audit_rec_u64(struct audit_rec *rec, const char *key, uint64_t value)
{
	char num[24];
	if (!rec || !rec->busy)
		return;
	size_t mark = rec->len;
	size_t n = fmt_u64(num, value);
	bool ok = put_key(rec, key) && put(rec, num, n);
	field_done(rec, ok, mark);
}

void
audit_rec_i64(struct audit_rec *rec, const char *key, int64_t value)
{
	char num[24];
	if (!rec || !rec->busy)
		return;
	size_t mark = rec->len;
	size_t n = fmt_i64(num, value);
	bool ok = put_key(rec, key) && put(rec, num, n);
	field_done(rec, ok, mark);
}

void
audit_rec_bool(struct audit_rec *rec, const char *key, bool value)
{
	if (!rec || !rec->busy)
		return;
	size_t mark = rec->len;
	const char *v = value ? "true" : "false";
	bool ok = put_key(rec, key) && put(rec, v, strlen(v));
	field_done(rec, ok, mark);
}

/* ---------- spool ---------- */

/* RFC 3339 UTC with microseconds: always 27 characters (no NUL). The
 * date and time of day change once a second: only then is strftime run. */
static void
format_ts(struct audit *a, char out[AUDIT_TS_LEN])
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != a->ts_sec || !a->ts_prefix[0]) {
		struct tm tm;
		gmtime_r(&ts.tv_sec, &tm);
		if (strftime(a->ts_prefix, sizeof(a->ts_prefix), "%Y-%m-%dT%H:%M:%S", &tm) != 19)
			memcpy(a->ts_prefix, "0000-00-00T00:00:00", 20);
		a->ts_sec = ts.tv_sec;
	}
	memcpy(out, a->ts_prefix, 19);
	out[19] = '.';
	long us = (long)(ts.tv_nsec / 1000) % 1000000;
	for (int i = 25; i >= 20; i--, us /= 10)
		out[i] = (char)('0' + us % 10);
	out[26] = 'Z';
}

/* Cut the spool file back to its last whole record after a short write.
 * When that fails the file ends in a torn record of ours: appending after
 * it would bury it mid-file, so nothing more is written until a restart
 * (whose recovery leaves the torn bytes behind and starts a new file). */
static void
cut_back(struct audit *a)
{
	if (ftruncate(a->fd, (off_t)a->file_bytes) == 0)
		return;
	log_err("audit: cannot cut a partial record from the spool file: %s; no more "
	        "records are written until a restart", strerror(errno));
	a->spool_broken = true;
}

/* The batch could not be written: its records are lost (counted), and the
 * chain goes back to the last written record so the next one links to it. */
static void
batch_lost(struct audit *a)
{
	a->lost += a->w_records;
	a->lost_unreported += a->w_records;
	a->records -= a->w_records;
	a->epoch_records -= a->w_records;
	a->spool_bytes -= a->wlen;
	a->seq = a->w_seq;
	memcpy(a->prev_mac, a->w_mac, AUDIT_MAC_LEN);
	explicit_bzero(a->wbuf, a->wlen);
	a->wlen = 0;
	a->w_records = 0;
}

static void
write_failed(struct audit *a, int e)
{
	if (!a->write_failing)
		log_err("audit: spool write: %s: %s", strerror(e),
		        a->p.fail_closed ? "records wait in memory, frames are not forwarded"
		                         : "records are being lost (counted)");
	a->write_failing = true;
	a->write_errno = e;
}

/* Write the batch with one write(2). 0: written; 1: not written but kept
 * (fail-closed: it is written by a later flush, in order); -1: lost
 * (counted; count-loss policy, or a spool that can no longer be written). */
static int
flush_batch(struct audit *a)
{
	if (a->wlen == 0)
		return 0;
	if (a->spool_broken) {
		batch_lost(a);
		return -1;
	}
	ssize_t w;
	do
		w = write(a->fd, a->wbuf, a->wlen);
	while (w < 0 && errno == EINTR);
	if (w != (ssize_t)a->wlen) {
		write_failed(a, w < 0 ? errno : ENOSPC);
		/* Never leave a torn record of ours behind a live writer. */
		if (w > 0)
			cut_back(a);
		if (a->p.fail_closed && !a->spool_broken)
			return 1;
		batch_lost(a);
		return -1;
	}
	if (a->write_failing)
		log_info("audit: spool writable again (%llu records lost meanwhile)",
		         (unsigned long long)a->lost_unreported);
	a->write_failing = false;
	a->file_bytes += a->wlen;
	a->wlen = 0;
	a->w_records = 0;
	a->w_seq = a->seq;
	memcpy(a->w_mac, a->prev_mac, AUDIT_MAC_LEN);
	return 0;
}

static int open_spool_file(struct audit *a, uint64_t first_seq);

/* Start the next spool file at seq + 1 after a failed fdatasync. A file
 * without a committed record has that very name: it was cut to nothing,
 * so it is removed and made anew (a new file, not the one that failed). */
static void
reopen_after_sync_error(struct audit *a)
{
	char name[40];
	if (a->file_first == a->seq + 1 && a->file_bytes == 0) {
		snprintf(name, sizeof(name), AUDIT_FILE_FMT, (unsigned long long)a->file_first);
		if (unlinkat(a->dir_fd, name, 0) != 0)
			log_err("audit: %s/%s: %s", a->spool_dir, name, strerror(errno));
	}
	if (open_spool_file(a, a->seq + 1) != 0)
		log_err("audit: continuing in the current spool file (cut back to its "
		        "last committed record)");
}

/* fdatasync failed. Linux may have dropped the pages it could not write and
 * marked them clean, so a later fdatasync can succeed without them
 * ("fsyncgate"): nothing written since the last good fdatasync may ever be
 * reported committed. Those records are counted as lost (and reported in
 * the chain like every loss), the file is cut back to its last committed
 * record, seq and chain go back to that record, and writing goes on in a
 * new file. A file that cannot be cut back may still hold them, and new
 * records with their seqs would contradict it: the spool is then given up
 * until a restart (every record counted as lost; fail-closed refuses new
 * tunnels), which then continues after whatever the file holds. */
static void
sync_failed(struct audit *a, int e)
{
	uint64_t n = a->seq - a->durable_seq;
	log_err("audit: fdatasync of the spool: %s: the %llu records written since the "
	        "last commit are counted as lost; continuing in a new spool file",
	        strerror(e), (unsigned long long)n);
	a->dirty = false;
	a->lost += n;
	a->lost_unreported += n;
	a->records -= n;
	a->epoch_records = a->epoch_records > n ? a->epoch_records - n : 0;
	a->seq = a->w_seq = a->durable_seq;
	memcpy(a->prev_mac, a->d_mac, AUDIT_MAC_LEN);
	explicit_bzero(a->wbuf, a->wlen);   /* a kept batch goes with them */
	a->spool_bytes -= a->wlen;
	a->wlen = 0;
	a->w_records = 0;
	memcpy(a->w_mac, a->d_mac, AUDIT_MAC_LEN);
	if (ftruncate(a->fd, (off_t)a->synced_bytes) != 0) {
		log_err("audit: cannot cut the spool file back to its last committed record: "
		        "%s; no more records are written until a restart", strerror(errno));
		a->spool_broken = true;
		return;
	}
	a->spool_bytes -= a->file_bytes - a->synced_bytes;
	a->file_bytes = a->synced_bytes;
	/* The mirror may have read the cut records (never sent: not committed). */
	if (a->mirror)
		audit_mirror_rewind(a->mirror);
	reopen_after_sync_error(a);
}

/* Write the batch and make it durable: everything up to seq is committed. */
static int
sync_spool(struct audit *a)
{
	/* A lost batch is rolled back; what was written before it still
	 * gets its fdatasync, but the caller learns of the loss. */
	int rc = flush_batch(a);
	if (!a->dirty)
		return rc;
	if (a->w_seq == a->durable_seq) {
		/* Nothing new in the file (a kept batch waits): try again after
		 * another commit interval, not at once. */
		a->dirty = a->wlen > 0;
		a->last_sync_ms = audit_now_ms();
		return rc;
	}
	if (fdatasync(a->fd) != 0) {
		sync_failed(a, errno);
		return -1;
	}
	a->syncs++;
	/* A batch kept in memory (fail-closed) is not in the file: the
	 * commit covers what was written, and the rest stays dirty. */
	a->dirty = a->wlen > 0;
	a->durable_seq = a->w_seq;
	a->synced_bytes = a->file_bytes;
	memcpy(a->d_mac, a->w_mac, AUDIT_MAC_LEN);
	a->last_sync_ms = audit_now_ms();
	if (a->mirror)
		audit_mirror_notify(a->mirror, a->durable_seq);
	return rc;
}

static int
open_spool_file(struct audit *a, uint64_t first_seq)
{
	char name[40];
	snprintf(name, sizeof(name), AUDIT_FILE_FMT, (unsigned long long)first_seq);
	int fd = openat(a->dir_fd, name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW,
	                0640);
	if (fd < 0) {
		log_err("audit: %s/%s: %s", a->spool_dir, name, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || fsync(a->dir_fd) != 0) {
		log_err("audit: %s/%s: %s", a->spool_dir, name, strerror(errno));
		close(fd);
		return -1;
	}
	if (a->fd >= 0)
		close(a->fd);
	a->fd = fd;
	a->file_first = first_seq;
	/* What the file holds at open was there before this run: committed. */
	a->file_bytes = a->synced_bytes = (uint64_t)st.st_size;
	return 0;
}

static void
rotate_if_due(struct audit *a)
{
	if (a->file_bytes + a->wlen < a->p.rotate_bytes)
		return;
	/* The old file is complete and durable before the next one starts. */
	if (sync_spool(a) != 0)
		return;
	if (open_spool_file(a, a->seq + 1) != 0)
		log_err("audit: rotation failed; still appending to the current file");
}

static void disk_check(struct audit *a, int64_t now_ms);

static void
lose(struct audit *a)
{
	a->lost++;
	a->lost_unreported++;
}

/* Append a literal or a string we made ourselves (no escaping needed). */
static char *
cat(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}
#define CAT_LIT(p, lit) cat((p), (lit), sizeof(lit) - 1)

/* mac(n) = HMAC-SHA256(k, mac(n-1) || body || "}"): body is the line up to
 * `,"mac":"`, so body || "}" is the line without its mac member. The
 * context is keyed once per key (hmac_rekey when the key moves on); every
 * record only resets it, which saves the key schedule and the digest
 * lookup per record. */
static void
record_mac(struct audit *a, const char *body, size_t len, uint8_t out[AUDIT_MAC_LEN])
{
	size_t n = 0;
	if (!a->hmac_ctx) {
		audit_chain_mac(a->key, a->prev_mac, body, len, out);
		return;
	}
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	bool ok = a->hmac_ready ? EVP_MAC_init(a->hmac_ctx, NULL, 0, NULL)
	                        : EVP_MAC_init(a->hmac_ctx, a->key, AUDIT_KEY_LEN, params);
	a->hmac_ready = ok;
	if (!ok || !EVP_MAC_update(a->hmac_ctx, a->prev_mac, AUDIT_MAC_LEN) ||
	    !EVP_MAC_update(a->hmac_ctx, (const unsigned char *)body, len) ||
	    !EVP_MAC_update(a->hmac_ctx, (const unsigned char *)"}", 1) ||
	    !EVP_MAC_final(a->hmac_ctx, out, &n, AUDIT_MAC_LEN) || n != AUDIT_MAC_LEN) {
		a->hmac_ready = false;
		audit_chain_mac(a->key, a->prev_mac, body, len, out);
	}
}

/* The key moved on (epoch change). The context holds the old key (a copy
 * and its HMAC pads) until it is keyed again: free it now, which clears
 * them, and key a new one with the new key, so no state of an old key
 * outlives the epoch change even when no record follows for an hour. */
static void
hmac_rekey(struct audit *a)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC_CTX_free(a->hmac_ctx);
	a->hmac_ctx = a->hmac ? EVP_MAC_CTX_new(a->hmac) : NULL;
	a->hmac_ready = a->hmac_ctx &&
	                EVP_MAC_init(a->hmac_ctx, a->key, AUDIT_KEY_LEN, params) == 1;
}

/* The fixed members that start every line: ts, seq, gw, event, epoch. */
static size_t
format_header(struct audit *a, const char *event, char *line)
{
	char *p = line;
	p = CAT_LIT(p, "{\"ts\":\"");
	format_ts(a, p);
	p += AUDIT_TS_LEN;
	p = CAT_LIT(p, "\",\"seq\":");
	p += fmt_u64(p, a->seq + 1);
	p = CAT_LIT(p, ",\"gw\":\"");
	p = cat(p, a->gw, strlen(a->gw));            /* is_word checked at open */
	p = CAT_LIT(p, "\",\"event\":\"");
	p = cat(p, event, strlen(event));            /* is_word checked at begin */
	p = CAT_LIT(p, "\",\"epoch\":");
	p += fmt_u64(p, a->epoch);
	return (size_t)(p - line);
}

/* May this record wait in the batch? Only while the disk has room below
 * the alarm level for everything written since the last disk check, and
 * writing works: near a full disk each record is written on its own, so a
 * record that cannot be written is the one whose commit says so. */
static bool
may_batch(const struct audit *a, size_t len)
{
	return !a->write_failing && !a->disk_alarm && !a->disk_full &&
	       a->unchecked_bytes + len <= a->batch_room;
}

/* Append one line: header, fields, mac. 0 (written, or kept in the batch)
 * or -1 (lost, counted). The line is built in place at the end of the
 * batch. */
static int
append(struct audit *a, const char *event, const char *fields, size_t fields_len)
{
	uint8_t mac[AUDIT_MAC_LEN];

	if (a->spool_broken) {
		lose(a);
		return -1;
	}
	/* Leaving batch mode: write what waits first, so this record (and
	 * only it) is at stake in its own write. */
	if (a->wlen > 0 && !may_batch(a, AUDIT_LINE_MAX))
		flush_batch(a);
	if (a->wlen + AUDIT_LINE_MAX + 2 > WBUF_CAP) {
		lose(a);   /* a kept batch is full: this record cannot wait */
		return -1;
	}
	char *line = a->wbuf + a->wlen;
	size_t len = format_header(a, event, line);
	if (len + fields_len + AUDIT_MAC_TAIL + 1 > AUDIT_LINE_MAX + 2) {
		lose(a);   /* cannot happen with FIELDS_MAX; kept as a guard */
		return -1;
	}
	memcpy(line + len, fields, fields_len);
	len += fields_len;
	record_mac(a, line, len, mac);
	memcpy(line + len, AUDIT_MAC_TAG, sizeof(AUDIT_MAC_TAG) - 1);
	len += sizeof(AUDIT_MAC_TAG) - 1;
	audit_hex(mac, AUDIT_MAC_LEN, line + len);
	len += 2 * AUDIT_MAC_LEN;
	memcpy(line + len, "\"}\n", 3);
	len += 3;

	bool batch = may_batch(a, len);
	a->wlen += len;
	a->w_records++;
	a->seq++;
	memcpy(a->prev_mac, mac, AUDIT_MAC_LEN);
	a->spool_bytes += len;
	a->records++;
	a->epoch_records++;
	a->dirty = true;
	a->unchecked_bytes += len;
	if ((!batch || a->wlen >= FLUSH_BYTES) && flush_batch(a) < 0)
		return -1;   /* write-through: this record was the batch */
	int64_t now = audit_now_ms();
	if (now - a->last_sync_ms >= (int64_t)a->p.commit_ms)
		sync_spool(a);
	rotate_if_due(a);
	/* A burst fills a small disk faster than the timer looks at it. */
	if (a->unchecked_bytes >= DISK_CHECK_BYTES)
		disk_check(a, now);
	return 0;
}

/* A record of the audit module itself (seal, loss and disk notices). */
static int
append_internal(struct audit *a, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
append_internal(struct audit *a, const char *event, const char *fmt, ...)
{
	char fields[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(fields, sizeof(fields), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(fields))
		return -1;
	a->in_internal = true;
	int rc = append(a, event, fields, (size_t)n);
	a->in_internal = false;
	return rc;
}

static int
report_loss(struct audit *a)
{
	uint64_t lost = a->lost_unreported;
	if (append_internal(a, "stats", ",\"source\":\"audit\",\"lost\":%llu,\"lost_total\":%llu",
	                    (unsigned long long)lost, (unsigned long long)a->lost) != 0)
		return -1;
	a->lost_unreported -= lost;
	return 0;
}

int
audit_rec_commit(struct audit_rec *rec)
{
	if (!rec || !rec->busy || !rec->owner || rec->owner->magic != AUDIT_MAGIC)
		return -1;
	struct audit *a = rec->owner;
	rec->busy = false;
	if (a->spool_broken || (a->disk_full && !a->p.fail_closed)) {
		lose(a);   /* count-loss policy: dropped, counted, reported later */
		return -1;
	}
	if (a->lost_unreported > 0 && report_loss(a) != 0) {
		lose(a);
		return -1;
	}
	if (rec->truncated) {
		memcpy(rec->fields + rec->len, TRUNC_MARK, sizeof(TRUNC_MARK) - 1);
		rec->len += sizeof(TRUNC_MARK) - 1;
	}
	return append(a, rec->event, rec->fields, rec->len);
}

/* ---------- epochs ---------- */

/* The key moved on: the old key's bytes are overwritten, the HMAC context
 * is keyed with the new key at once. */
static void
take_key(struct audit *a, uint8_t next[AUDIT_KEY_LEN])
{
	OPENSSL_cleanse(a->key, sizeof(a->key));
	memcpy(a->key, next, sizeof(a->key));
	OPENSSL_cleanse(next, AUDIT_KEY_LEN);
	hmac_rekey(a);
	a->epoch++;
}

/* An epoch change failed: keep the key (records stay verifiable), say so
 * once, and try again in KEY_RETRY_MS, not at every tick. */
static void
epoch_failed(struct audit *a, int64_t now_ms, const char *why)
{
	if (!a->key_alarm)
		log_err("audit: key epoch change failed: %s; the key of epoch %u stays in use "
		        "(retried every %d s)", why, a->epoch, KEY_RETRY_MS / 1000);
	a->key_alarm = true;
	a->key_retry_ms = now_ms + KEY_RETRY_MS;
}

/* Seal the current epoch and move the key on. The seal is durable before the
 * key file changes, and the key file changes before the next record. When
 * the key file cannot be stored, the seal already written still ends the
 * epoch as long as it is the last record: a retry writes no new seal then
 * (an idle writer with an unwritable key directory adds nothing to the
 * spool), and a shutdown always writes its own. */
static int
epoch_change(struct audit *a, const char *reason, int64_t now_ms)
{
	char err[512];
	uint8_t next[AUDIT_KEY_LEN];

	if (a->spool_broken)
		return -1;   /* no seal can be written: the epoch must not move on */
	bool sealed = a->pending_seal_seq != 0 && a->pending_seal_seq == a->seq &&
	              strcmp(reason, "shutdown") != 0;
	if (!sealed) {
		if (append_internal(a, "seal", ",\"reason\":\"%s\",\"epoch_records\":%llu,"
		                    "\"lost_total\":%llu,\"next_epoch\":%u", reason,
		                    (unsigned long long)a->epoch_records + 1,
		                    (unsigned long long)a->lost, a->epoch + 1) != 0) {
			snprintf(err, sizeof(err), "cannot seal epoch %u (%s)", a->epoch, reason);
			epoch_failed(a, now_ms, err);
			return -1;
		}
		a->pending_seal_seq = a->seq;
	}
	/* A seal kept in memory (full disk, fail-closed) is not durable yet:
	 * the key stays until it is. */
	if (sync_spool(a) != 0 || a->durable_seq < a->pending_seal_seq) {
		snprintf(err, sizeof(err), "cannot make the seal of epoch %u durable (%s)",
		         a->epoch, reason);
		epoch_failed(a, now_ms, err);
		return -1;
	}
	memcpy(next, a->key, sizeof(next));
	audit_key_evolve(next);
	int rc = audit_key_store(a->key_file, a->epoch + 1, next, err, sizeof(err));
	if (rc < 0) {
		OPENSSL_cleanse(next, sizeof(next));
		epoch_failed(a, now_ms, err);
		return -1;
	}
	if (rc > 0)
		log_warn("audit: %s", err);
	take_key(a, next);
	if (a->key_alarm)
		log_info("audit: key epoch change done (now epoch %u)", a->epoch);
	a->key_alarm = false;
	a->pending_seal_seq = 0;
	a->key_retry_ms = 0;
	a->epoch_records = 0;
	a->epoch_start_ms = now_ms;
	return 0;
}

static int
start_epoch(struct audit *a, char *err, size_t errlen)
{
	uint8_t next[AUDIT_KEY_LEN];
	memcpy(next, a->key, sizeof(next));
	audit_key_evolve(next);
	int rc = audit_key_store(a->key_file, a->epoch + 1, next, err, errlen);
	if (rc < 0) {
		OPENSSL_cleanse(next, sizeof(next));
		return -1;
	}
	if (rc > 0)
		log_warn("audit: %s", err);
	take_key(a, next);
	return 0;
}

/* ---------- disk ---------- */

static void
disk_check(struct audit *a, int64_t now_ms)
{
	struct statvfs vfs;
	a->last_disk_ms = now_ms;
	a->unchecked_bytes = 0;
	if (statvfs(a->spool_dir, &vfs) != 0 || vfs.f_blocks == 0)
		return;
	unsigned pct = (unsigned)((vfs.f_blocks - vfs.f_bavail) * 100 / vfs.f_blocks);
	/* Room below the alarm level, minus what waits in the batch; half of
	 * it may be batched (the rest is margin for other writers). */
	uint64_t reserve = (uint64_t)vfs.f_blocks * (100 - a->p.disk_alarm_pct) / 100;
	uint64_t room = vfs.f_bavail > reserve ? (vfs.f_bavail - reserve) * vfs.f_frsize : 0;
	a->batch_room = room > a->wlen ? (room - a->wlen) / 2 : 0;
	bool alarm = pct >= a->p.disk_alarm_pct, full = pct >= a->p.disk_limit_pct;
	if (alarm != a->disk_alarm) {
		a->disk_alarm = alarm;
		if (alarm)
			log_warn("audit: spool disk %u%% used (alarm at %u%%)", pct,
			         a->p.disk_alarm_pct);
		else
			log_info("audit: spool disk %u%% used, alarm cleared", pct);
		append_internal(a, "stats", ",\"source\":\"audit\",\"disk_alarm\":%s,"
		                "\"disk_pct\":%u", alarm ? "true" : "false", pct);
	}
	if (full != a->disk_full) {
		if (full)
			log_err("audit: spool disk at its limit (%u%%): %s", pct,
			        a->p.fail_closed ? "refusing new tunnels" : "records are lost (counted)");
		else
			log_info("audit: spool disk below its limit again (%u%%)", pct);
		a->disk_full = full;
	}
}

void
audit_tick(struct audit *audit, int64_t now_ms)
{
	if (!audit || audit->magic != AUDIT_MAGIC)
		return;
	/* Commit and disk timers run on our monotonic clock, so a caller's
	 * wall clock stepping back can never delay a group commit. The epoch
	 * timer also honours the caller's clock moving ahead. */
	int64_t mono = audit_now_ms();
	if (!audit->tick_base_set) {
		audit->tick_base = now_ms - mono;
		audit->tick_base_set = true;
	}
	int64_t caller = now_ms - audit->tick_base;
	int64_t epoch_now = caller > mono ? caller : mono;
	/* Every tick writes the batch (records reach the spool within a tick
	 * even when no fdatasync is due); the commit timer adds the sync. */
	if (audit->dirty && mono - audit->last_sync_ms >= (int64_t)audit->p.commit_ms)
		sync_spool(audit);
	else
		flush_batch(audit);
	if (mono - audit->last_disk_ms >= DISK_CHECK_MS)
		disk_check(audit, mono);
	if (audit->lost_unreported > 0 && !audit->disk_full && !audit->spool_broken)
		report_loss(audit);
	if (audit->p.epoch_s > 0 &&
	    epoch_now - audit->epoch_start_ms >= (int64_t)audit->p.epoch_s * 1000 &&
	    epoch_now >= audit->key_retry_ms)
		epoch_change(audit, "epoch", epoch_now);
}

void
audit_flush(struct audit *audit)
{
	if (audit && audit->magic == AUDIT_MAGIC)
		flush_batch(audit);
}

uint32_t
audit_next_ms(const struct audit *audit)
{
	int64_t now = audit_now_ms(), next = DISK_CHECK_MS;
	if (audit->dirty)
		next = audit->last_sync_ms + audit->p.commit_ms - now;
	int64_t disk = audit->last_disk_ms + DISK_CHECK_MS - now;
	int64_t due = audit->epoch_start_ms + (int64_t)audit->p.epoch_s * 1000;
	if (audit->key_retry_ms > due)
		due = audit->key_retry_ms;   /* a failed change waits for its retry */
	int64_t ep = due - now;
	if (disk < next)
		next = disk;
	if (audit->p.epoch_s > 0 && ep < next)
		next = ep;
	return next < 0 ? 0 : (uint32_t)next;
}

const char *
audit_refusal(const struct audit *audit)
{
	if (!audit || audit->magic != AUDIT_MAGIC)
		return "audit-unavailable";
	if (!audit->p.fail_closed)
		return NULL;
	if (audit->spool_broken)
		return "audit-spool-broken";
	if (audit->disk_full || (audit->write_failing &&
	                         (audit->write_errno == ENOSPC || audit->write_errno == EDQUOT)))
		return "audit-disk-full";
	if (audit->write_failing)
		return "audit-write-failed";
	return NULL;
}

bool
audit_admit(const struct audit *audit)
{
	return audit_refusal(audit) == NULL;
}

bool
audit_writeahead(struct audit *audit)
{
	if (!audit || audit->magic != AUDIT_MAGIC)
		return true;
	int rc = flush_batch(audit);
	return !audit->p.fail_closed || (rc == 0 && !audit->spool_broken);
}

void
audit_get_stats(const struct audit *audit, struct audit_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->records = audit->records;
	out->lost = audit->lost;
	out->last_seq = audit->durable_seq;
	out->spool_bytes = audit->spool_bytes;
	out->epoch = audit->epoch;
	out->disk_alarm = audit->disk_alarm;
	out->disk_full = audit->disk_full;
	out->fdatasyncs = audit->syncs;
	out->key_alarm = audit->key_alarm;
	out->spool_broken = audit->spool_broken;
	out->write_failing = audit->write_failing;
	out->held = audit->seq - audit->w_seq;
	if (audit->mirror) {
		out->mirrored_seq = audit_mirror_acked(audit->mirror);
		out->collector_up = audit_mirror_up(audit->mirror);
	}
}

/* ---------- open / recover / close ---------- */

struct tail {
	bool found;
	struct audit_line last;
	char last_text[AUDIT_LINE_MAX + 1];
	bool have_prev;
	uint8_t prev_mac[AUDIT_MAC_LEN];
	uint64_t torn_bytes;
	bool append_ok;       /* the newest file ends cleanly: keep appending */
	uint64_t newest_first;
	bool have_newest;
};

/* Last complete record of one file; *end is where it ends (bytes). */
static bool
file_last_record(const char *buf, size_t len, struct tail *t, size_t *end)
{
	const char *p = buf, *stop = buf + len;
	bool found = false;
	struct audit_line cur;
	*end = 0;
	while (p < stop) {
		const char *nl = memchr(p, '\n', (size_t)(stop - p));
		if (!nl)
			break;
		if (audit_line_parse(p, (size_t)(nl - p), &cur) == 0) {
			t->have_prev = found;
			if (found)
				memcpy(t->prev_mac, t->last.mac, AUDIT_MAC_LEN);
			t->last = cur;
			found = true;
			*end = (size_t)(nl + 1 - buf);
		}
		p = nl + 1;
	}
	if (found) {
		memcpy(t->last_text, t->last.text, t->last.len);
		t->last.text = t->last_text;
	}
	return found;
}

static int
recover(struct audit *a, struct tail *t, char *err, size_t errlen)
{
	char **names = NULL, path[4096];
	uint64_t *firsts = NULL;
	size_t n = 0;

	memset(t, 0, sizeof(*t));
	if (audit_spool_list(a->spool_dir, &names, &firsts, &n) != 0) {
		snprintf(err, errlen, "%s: %s", a->spool_dir, strerror(errno));
		return -1;
	}
	for (size_t i = n; i-- > 0 && !t->found;) {
		char *buf;
		size_t len, end;
		snprintf(path, sizeof(path), "%s/%s", a->spool_dir, names[i]);
		if (audit_slurp(path, &buf, &len) != 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			audit_spool_list_free(names, firsts, n);
			return -1;
		}
		bool found = file_last_record(buf, len, t, &end);
		free(buf);
		t->found = found;
		if (i == n - 1) {
			t->have_newest = true;
			t->newest_first = firsts[i];
			t->torn_bytes = len - end;
			t->append_ok = found && end == len;
		}
		if (!found && len > 0) {
			/* No complete record at all: set it aside (never deleted). */
			char aside[4200];
			snprintf(aside, sizeof(aside), "%s.torn-%lld", path, (long long)time(NULL));
			log_warn("audit: %s holds no complete record (%zu bytes); kept as %s",
			         path, len, aside);
			if (rename(path, aside) != 0) {
				snprintf(err, errlen, "%s: %s", path, strerror(errno));
				audit_spool_list_free(names, firsts, n);
				return -1;
			}
			t->have_newest = false;
		} else if (!found) {
			unlink(path);   /* empty file of a run that wrote nothing */
			t->have_newest = false;
		}
	}
	audit_spool_list_free(names, firsts, n);
	return 0;
}

static int
check_tail(struct audit *a, struct tail *t, char *err, size_t errlen)
{
	if (!t->found)
		return 0;
	if (strcmp(t->last.gw, a->gw) != 0) {
		snprintf(err, errlen, "%s: spool belongs to gateway %s, not %s",
		         a->spool_dir, t->last.gw, a->gw);
		return -1;
	}
	if (t->last.epoch > a->epoch) {
		snprintf(err, errlen, "%s: key file is at epoch %u but the spool reached "
		         "epoch %u (an old key file restored?)", a->key_file, a->epoch,
		         t->last.epoch);
		return -1;
	}
	if (t->last.epoch == a->epoch && (t->have_prev || t->last.seq == 1)) {
		uint8_t prev[AUDIT_MAC_LEN] = { 0 }, mac[AUDIT_MAC_LEN];
		if (t->have_prev)
			memcpy(prev, t->prev_mac, sizeof(prev));
		audit_chain_mac(a->key, prev, t->last.text, t->last.body_len, mac);
		if (CRYPTO_memcmp(mac, t->last.mac, sizeof(mac)) != 0) {
			snprintf(err, errlen, "%s: the last record (seq %llu) does not verify "
			         "with the key file (spool or key replaced)", a->spool_dir,
			         (unsigned long long)t->last.seq);
			return -1;
		}
	}
	return 0;
}

static char *
dup_opt(const char *s, bool *ok)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		*ok = false;
	return d;
}

static void
free_audit(struct audit *a)
{
	if (a->fd >= 0)
		close(a->fd);
	if (a->dir_fd >= 0)
		close(a->dir_fd);
	if (a->wbuf) {
		explicit_bzero(a->wbuf, WBUF_CAP);   /* habit: records are metadata */
		free(a->wbuf);
	}
	EVP_MAC_CTX_free(a->hmac_ctx);
	EVP_MAC_free(a->hmac);
	free(a->gw); free(a->spool_dir); free(a->key_file);
	free(a->c_host); free(a->c_ca); free(a->c_cert); free(a->c_key);
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
}

static int
params_copy(struct audit *a, const struct audit_params *p, char *err, size_t errlen)
{
	bool ok = true;
	if (!is_word(p->gw, 16, true) || !p->spool_dir || !p->key_file) {
		snprintf(err, errlen, "audit: gateway code, spool_dir and key_file are required "
		         "(gateway code: letters, digits, '-', '_')");
		return -1;
	}
	a->p = *p;
	a->gw = dup_opt(p->gw, &ok);
	a->spool_dir = dup_opt(p->spool_dir, &ok);
	a->key_file = dup_opt(p->key_file, &ok);
	a->c_host = dup_opt(p->collector_host, &ok);
	a->c_ca = dup_opt(p->collector_ca, &ok);
	a->c_cert = dup_opt(p->collector_cert, &ok);
	a->c_key = dup_opt(p->collector_key, &ok);
	if (!ok) {
		snprintf(err, errlen, "audit: out of memory");
		return -1;
	}
	a->p.gw = a->gw; a->p.spool_dir = a->spool_dir; a->p.key_file = a->key_file;
	a->p.collector_host = a->c_host; a->p.collector_ca = a->c_ca;
	a->p.collector_cert = a->c_cert; a->p.collector_key = a->c_key;
	if (a->p.commit_ms == 0 || a->p.commit_ms > 100)
		a->p.commit_ms = 100;
	if (a->p.epoch_s == 0)
		a->p.epoch_s = 3600;
	if (a->p.rotate_bytes == 0)
		a->p.rotate_bytes = DEFAULT_ROTATE;
	if (a->p.rotate_bytes < AUDIT_LINE_MAX)
		a->p.rotate_bytes = AUDIT_LINE_MAX;
	if (a->p.disk_limit_pct == 0 || a->p.disk_limit_pct > 100)
		a->p.disk_limit_pct = 95;
	if (a->p.disk_alarm_pct == 0 || a->p.disk_alarm_pct > a->p.disk_limit_pct)
		a->p.disk_alarm_pct = a->p.disk_limit_pct < 80 ? a->p.disk_limit_pct : 80;
	return 0;
}

struct audit *
audit_open(const struct audit_params *params, char *err, size_t errlen)
{
	struct audit *a = calloc(1, sizeof(*a));
	struct tail t;
	if (!a) {
		snprintf(err, errlen, "audit: out of memory");
		return NULL;
	}
	a->magic = AUDIT_MAGIC;
	a->fd = a->dir_fd = -1;
	if (params_copy(a, params, err, errlen) != 0)
		goto fail;
	a->wbuf = malloc(WBUF_CAP);
	if (!a->wbuf) {
		snprintf(err, errlen, "audit: out of memory");
		goto fail;
	}
	/* Without a reusable context every record takes the one-shot path. */
	a->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	a->hmac_ctx = a->hmac ? EVP_MAC_CTX_new(a->hmac) : NULL;
	if (mkdir(a->spool_dir, 0750) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", a->spool_dir, strerror(errno));
		goto fail;
	}
	a->dir_fd = open(a->spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (a->dir_fd < 0) {
		snprintf(err, errlen, "%s: %s", a->spool_dir, strerror(errno));
		goto fail;
	}
	if (audit_key_load(a->key_file, &a->epoch, a->key, err, errlen) != 0)
		goto fail;
	if (recover(a, &t, err, errlen) != 0 || check_tail(a, &t, err, errlen) != 0)
		goto fail;
	if (t.found) {
		a->seq = a->durable_seq = t.last.seq;
		memcpy(a->prev_mac, t.last.mac, AUDIT_MAC_LEN);
		memcpy(a->d_mac, t.last.mac, AUDIT_MAC_LEN);
	}
	a->w_seq = a->seq;
	memcpy(a->w_mac, a->prev_mac, AUDIT_MAC_LEN);
	if (open_spool_file(a, t.have_newest && t.append_ok ? t.newest_first : a->seq + 1) != 0) {
		snprintf(err, errlen, "%s: cannot open a spool file", a->spool_dir);
		goto fail;
	}
	a->last_sync_ms = a->epoch_start_ms = audit_now_ms();
	if (t.torn_bytes > 0)
		log_warn("audit: torn record after seq %llu (%llu bytes, crash during a "
		         "write); left in place, continuing in a new spool file",
		         (unsigned long long)a->seq, (unsigned long long)t.torn_bytes);
	/* The previous run ended without a seal: close its epoch now. */
	if (t.found && strcmp(t.last.event, "seal") != 0 && t.last.epoch == a->epoch) {
		log_warn("audit: previous run ended without a seal (crash); sealing epoch %u",
		         a->epoch);
		if (append_internal(a, "seal", ",\"reason\":\"recovery\",\"torn_bytes\":%llu,"
		                    "\"next_epoch\":%u", (unsigned long long)t.torn_bytes,
		                    a->epoch + 1) != 0 || sync_spool(a) != 0) {
			snprintf(err, errlen, "%s: cannot write the recovery seal", a->spool_dir);
			goto fail;
		}
		t.last.epoch = a->epoch;
	}
	/* Every run writes in a fresh epoch: k0 (epoch 0) is never used. */
	if (a->epoch == 0 || (t.found && t.last.epoch >= a->epoch)) {
		if (start_epoch(a, err, errlen) != 0)
			goto fail;
	}
	a->epoch_records = 0;
	disk_check(a, audit_now_ms());
	if (a->c_host) {
		a->mirror = audit_mirror_start(&a->p, err, errlen);
		if (!a->mirror)
			goto fail;
		audit_mirror_notify(a->mirror, a->durable_seq);
	}
	return a;
fail:
	free_audit(a);
	return NULL;
}

void
audit_close(struct audit *audit)
{
	if (!audit || audit->magic != AUDIT_MAGIC)
		return;
	audit->rec.busy = false;
	if (audit->lost_unreported > 0 && !audit->spool_broken)
		report_loss(audit);
	epoch_change(audit, "shutdown", audit_now_ms());
	sync_spool(audit);
	if (audit->mirror)
		audit_mirror_stop(audit->mirror, 2000);
	free_audit(audit);
}
