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

#include "filters/base/log.h"
#include "gateway/audit/mirror.h"
#include "gateway/audit/spool.h"
#include "gateway/audit/writer.h"

/* ---------- spool ---------- */

/* RFC 3339 UTC with microseconds: always 27 characters (no NUL). The
 * date and time of day change once a second: only then is strftime run. */
static void format_ts(struct audit *a, char out[AUDIT_TS_LEN])
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
static void cut_back(struct audit *a)
{
	if (ftruncate(a->fd, (off_t)a->file_bytes) == 0)
		return;
	log_err("audit: cannot cut a partial record from the spool file: %s; no more "
	        "records are written until a restart", strerror(errno));
	a->spool_broken = true;
}

/* The batch could not be written: its records are lost (counted), and the
 * chain goes back to the last written record so the next one links to it. */
static void batch_lost(struct audit *a)
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

static void write_failed(struct audit *a, int e)
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
int aw_flush_batch(struct audit *a)
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


/* Start the next spool file at seq + 1 after a failed fdatasync. A file
 * without a committed record has that very name: it was cut to nothing,
 * so it is removed and made anew (a new file, not the one that failed). */
static void reopen_after_sync_error(struct audit *a)
{
	char name[40];
	if (a->file_first == a->seq + 1 && a->file_bytes == 0) {
		snprintf(name, sizeof(name), AUDIT_FILE_FMT, (unsigned long long)a->file_first);
		if (unlinkat(a->dir_fd, name, 0) != 0)
			log_err("audit: %s/%s: %s", a->spool_dir, name, strerror(errno));
	}
	if (aw_open_spool_file(a, a->seq + 1) != 0)
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
static void sync_failed(struct audit *a, int e)
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
int aw_sync_spool(struct audit *a)
{
	/* A lost batch is rolled back; what was written before it still
	 * gets its fdatasync, but the caller learns of the loss. */
	int rc = aw_flush_batch(a);
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

int aw_open_spool_file(struct audit *a, uint64_t first_seq)
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
	if (st.st_size == 0)
		a->file_date[0] = '\0';   /* no record in it yet: no day to end */
	return 0;
}

static void rotate_if_due(struct audit *a)
{
	if (a->file_bytes + a->wlen < a->p.rotate_bytes)
		return;
	/* The old file is complete and durable before the next one starts. */
	if (aw_sync_spool(a) != 0)
		return;
	if (aw_open_spool_file(a, a->seq + 1) != 0)
		log_err("audit: rotation failed; still appending to the current file");
}


void aw_lose(struct audit *a)
{
	a->lost++;
	a->lost_unreported++;
}

/* Append a literal or a string we made ourselves (no escaping needed). */
static char *cat(char *p, const char *s, size_t n)
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
static void record_mac(struct audit *a, const char *body, size_t len, uint8_t out[AUDIT_MAC_LEN])
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
void aw_hmac_rekey(struct audit *a)
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
static size_t format_header(struct audit *a, const char *event, const char ts[AUDIT_TS_LEN],
                            char *line)
{
	char *p = line;
	p = CAT_LIT(p, "{\"ts\":\"");
	memcpy(p, ts, AUDIT_TS_LEN);
	p += AUDIT_TS_LEN;
	p = CAT_LIT(p, "\",\"seq\":");
	p += aw_fmt_u64(p, a->seq + 1);
	p = CAT_LIT(p, ",\"gw\":\"");
	p = cat(p, a->gw, strlen(a->gw));            /* is_word checked at open */
	p = CAT_LIT(p, "\",\"event\":\"");
	p = cat(p, event, strlen(event));            /* is_word checked at begin */
	p = CAT_LIT(p, "\",\"epoch\":");
	p += aw_fmt_u64(p, a->epoch);
	return (size_t)(p - line);
}

/* May this record wait in the batch? Only while the disk has room below
 * the alarm level for everything written since the last disk check, and
 * writing works: near a full disk each record is written on its own, so a
 * record that cannot be written is the one whose commit says so. */
static bool may_batch(const struct audit *a, size_t len)
{
	return !a->write_failing && !a->disk_alarm && !a->disk_full &&
	       a->unchecked_bytes + len <= a->batch_room;
}

/* A spool file ends at each UTC day boundary (the date of a record's ts
 * differs from the last one's, either way: a clock stepped back too), so
 * that a day's records start a file of their own, with a checkpoint. */
static void rotate_at_day(struct audit *a, const char ts[AUDIT_TS_LEN])
{
	if (!a->file_date[0] || memcmp(ts, a->file_date, sizeof(a->file_date)) == 0 ||
	    a->file_bytes + a->wlen == 0)
		return;
	if (aw_sync_spool(a) != 0)
		return;   /* the records of the new day go on in this file */
	if (aw_open_spool_file(a, a->seq + 1) != 0)
		log_err("audit: rotation at the day boundary failed; still appending to the "
		        "current file");
}

/* Does the next record start a spool file after seq 1? It must be a
 * checkpoint then: the state of the chain before it (the previous mac;
 * its epoch and seq are in its header) under a mac of its own, so that
 * the file can be verified on its own with k0. */
static bool checkpoint_due(const struct audit *a)
{
	return !a->in_checkpoint && a->seq > 0 && a->file_first == a->seq + 1 &&
	       a->file_bytes == 0 && a->wlen == 0;
}

static int write_checkpoint(struct audit *a)
{
	char prev[2 * AUDIT_MAC_LEN + 1];
	audit_hex(a->prev_mac, AUDIT_MAC_LEN, prev);
	a->in_checkpoint = true;
	int rc = aw_append_internal(a, "checkpoint", ",\"prev_mac\":\"%s\",\"lost_total\":%llu",
	                            prev, (unsigned long long)a->lost);
	a->in_checkpoint = false;
	return rc;
}

/* Append one line: header, fields, mac. 0 (written, or kept in the batch)
 * or -1 (lost, counted). The line is built in place at the end of the
 * batch. */
int aw_append(struct audit *a, const char *event, const char *fields, size_t fields_len)
{
	uint8_t mac[AUDIT_MAC_LEN];
	char ts[AUDIT_TS_LEN];

	if (a->spool_broken) {
		aw_lose(a);
		return -1;
	}
	format_ts(a, ts);
	if (!a->in_checkpoint) {
		rotate_at_day(a, ts);
		if (checkpoint_due(a)) {
			if (write_checkpoint(a) != 0) {
				aw_lose(a);   /* the file must start with its checkpoint */
				return -1;
			}
			format_ts(a, ts);   /* ts never go back from one line to the next */
		}
	}
	/* Leaving batch mode: write what waits first, so this record (and
	 * only it) is at stake in its own write. */
	if (a->wlen > 0 && !may_batch(a, AUDIT_LINE_MAX))
		aw_flush_batch(a);
	if (a->wlen + AUDIT_LINE_MAX + 2 > WBUF_CAP) {
		aw_lose(a);   /* a kept batch is full: this record cannot wait */
		return -1;
	}
	char *line = a->wbuf + a->wlen;
	size_t len = format_header(a, event, ts, line);
	if (len + fields_len + AUDIT_MAC_TAIL + 1 > AUDIT_LINE_MAX + 2) {
		aw_lose(a);   /* cannot happen with FIELDS_MAX; kept as a guard */
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
	memcpy(a->file_date, ts, sizeof(a->file_date));
	if ((!batch || a->wlen >= FLUSH_BYTES) && aw_flush_batch(a) < 0)
		return -1;   /* write-through: this record was the batch */
	int64_t now = audit_now_ms();
	if (now - a->last_sync_ms >= (int64_t)a->p.commit_ms)
		aw_sync_spool(a);
	rotate_if_due(a);
	/* A burst fills a small disk faster than the timer looks at it. Never
	 * right after a seal: the disk notice would follow the seal in the
	 * epoch it closed, and the chain would not verify (the next record,
	 * in the next epoch or at the next tick, looks at the disk). */
	if (a->unchecked_bytes >= a->check_bytes && strcmp(event, "seal") != 0)
		aw_disk_check(a, now);
	return 0;
}

/* A record of the audit module itself (seal, loss and disk notices). */
int aw_append_internal(struct audit *a, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

int aw_append_internal(struct audit *a, const char *event, const char *fmt, ...)
{
	char fields[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(fields, sizeof(fields), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(fields))
		return -1;
	a->in_internal = true;
	int rc = aw_append(a, event, fields, (size_t)n);
	a->in_internal = false;
	return rc;
}

int aw_report_loss(struct audit *a)
{
	uint64_t lost = a->lost_unreported;
	if (aw_append_internal(a, "stats", ",\"source\":\"audit\",\"lost\":%llu,\"lost_total\":%llu",
	                    (unsigned long long)lost, (unsigned long long)a->lost) != 0)
		return -1;
	a->lost_unreported -= lost;
	return 0;
}

/* ---------- disk ---------- */

void aw_disk_check(struct audit *a, int64_t now_ms)
{
	struct statvfs vfs;
	a->last_disk_ms = now_ms;
	a->unchecked_bytes = 0;
	a->check_bytes = DISK_CHECK_BYTES;
	if (statvfs(a->spool_dir, &vfs) != 0 || vfs.f_blocks == 0)
		return;
	unsigned pct = (unsigned)((vfs.f_blocks - vfs.f_bavail) * 100 / vfs.f_blocks);
	a->disk_pct = pct;
	a->fs_bytes = (uint64_t)vfs.f_blocks * vfs.f_frsize;
	a->fs_used_bytes = (uint64_t)(vfs.f_blocks - vfs.f_bavail) * vfs.f_frsize;
	/* Room below the alarm level, minus what waits in the batch; half of
	 * it may be batched (the rest is margin for other writers). */
	uint64_t reserve = (uint64_t)vfs.f_blocks * (100 - a->p.disk_alarm_pct) / 100;
	uint64_t room = vfs.f_bavail > reserve ? (vfs.f_bavail - reserve) * vfs.f_frsize : 0;
	a->batch_room = room > a->wlen ? (room - a->wlen) / 2 : 0;
	a->check_bytes = room / 16 < DISK_CHECK_BYTES ? DISK_CHECK_BYTES :
	                 room / 16 > DISK_CHECK_BYTES_MAX ? DISK_CHECK_BYTES_MAX : room / 16;
	bool alarm = pct >= a->p.disk_alarm_pct, full = pct >= a->p.disk_limit_pct;
	if (alarm != a->disk_alarm) {
		a->disk_alarm = alarm;
		if (alarm)
			log_warn("audit: spool disk %u%% used (alarm at %u%%)", pct,
			         a->p.disk_alarm_pct);
		else
			log_info("audit: spool disk %u%% used, alarm cleared", pct);
		aw_append_internal(a, "stats", ",\"source\":\"audit\",\"disk_alarm\":%s,"
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

/* The lock of the public calls (writer.h); const ones lock too. */
static void lock(const struct audit *a)
{
	pthread_mutex_lock((pthread_mutex_t *)&a->mu);
}

static void unlock(const struct audit *a)
{
	pthread_mutex_unlock((pthread_mutex_t *)&a->mu);
}

static void tick_locked(struct audit *audit, int64_t now_ms)
{
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
		aw_sync_spool(audit);
	else
		aw_flush_batch(audit);
	if (mono - audit->last_disk_ms >= DISK_CHECK_MS)
		aw_disk_check(audit, mono);
	/* Retention, the forecast and the clock: once a second, on a timer of
	 * their own (a burst's disk checks do not put them off). */
	if (mono - audit->last_time_ms >= DISK_CHECK_MS) {
		aw_time_check(audit, mono, false);
		aw_retain_check(audit, mono);
	} else if (aw_prune_level(audit) && mono - audit->last_scan_ms >= PRUNE_SCAN_MS) {
		/* At the prune level a burst's disk checks see the disk fill
		 * between two seconds: retention looks as often as they do. */
		aw_retain_check(audit, mono);
	}
	if (audit->lost_unreported > 0 && !audit->disk_full && !audit->spool_broken)
		aw_report_loss(audit);
	if (audit->p.epoch_s > 0 &&
	    epoch_now - audit->epoch_start_ms >= (int64_t)audit->p.epoch_s * 1000 &&
	    epoch_now >= audit->key_retry_ms)
		aw_epoch_change(audit, "epoch", epoch_now);
}

void audit_tick(struct audit *audit, int64_t now_ms)
{
	if (!audit || audit->magic != AUDIT_MAGIC)
		return;
	lock(audit);
	tick_locked(audit, now_ms);
	unlock(audit);
}

void audit_flush(struct audit *audit)
{
	if (!audit || audit->magic != AUDIT_MAGIC)
		return;
	lock(audit);
	aw_flush_batch(audit);
	unlock(audit);
}

int audit_epoch_now(struct audit *audit)
{
	int64_t mono;
	int rc;

	if (!audit || audit->magic != AUDIT_MAGIC)
		return -1;
	lock(audit);
	mono = audit_now_ms();
	/* The timer runs from this change: the next one is an epoch later. */
	rc = aw_epoch_change(audit, "operator", mono > audit->epoch_start_ms ? mono :
			     audit->epoch_start_ms);
	unlock(audit);
	return rc;
}

static uint32_t next_ms_locked(const struct audit *audit)
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

uint32_t audit_next_ms(const struct audit *audit)
{
	lock(audit);
	uint32_t next = next_ms_locked(audit);
	unlock(audit);
	return next;
}

static const char *refusal_locked(const struct audit *audit)
{
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

const char *audit_refusal(const struct audit *audit)
{
	if (!audit || audit->magic != AUDIT_MAGIC)
		return "audit-unavailable";
	lock(audit);
	const char *why = refusal_locked(audit);
	unlock(audit);
	return why;
}

bool audit_admit(const struct audit *audit)
{
	return audit_refusal(audit) == NULL;
}

bool audit_writeahead(struct audit *audit)
{
	if (!audit || audit->magic != AUDIT_MAGIC)
		return true;
	lock(audit);
	int rc = aw_flush_batch(audit);
	bool ok = !audit->p.fail_closed || (rc == 0 && !audit->spool_broken);
	unlock(audit);
	return ok;
}

void audit_get_stats(const struct audit *audit, struct audit_stats *out)
{
	memset(out, 0, sizeof(*out));
	lock(audit);
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
	out->spool_files = audit->spool_files;
	out->spool_disk_bytes = audit->spool_disk_bytes;
	out->oldest_seq = audit->oldest_seq;
	out->shed_seq = aw_shed_seq(audit);
	out->archived_seq = audit->archived_seq;
	out->pruned_files = audit->pruned_files;
	out->disk_pct = (uint8_t)audit->disk_pct;
	out->forecast_s = audit->forecast_s;
	out->forecast_alarm = audit->forecast_alarm;
	out->time_synced = audit->time_synced;
	out->time_offset_us = audit->time_offset_us;
	out->time_maxerror_us = audit->time_maxerror_us;
	out->time_steps = audit->time_steps;
	unlock(audit);
}

