/*
 * writer.h — private to the audit writer's files (audit.c: the spool, its
 * batches, group commit and disk policy; audit_rec.c: building records;
 * audit_epoch.c: key epochs and seals; audit_recover.c: open, recovery,
 * close). The writer's interface is audit.h.
 */
#ifndef JGW_AUDIT_WRITER_H
#define JGW_AUDIT_WRITER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>

#include "gateway/audit/audit.h"
#include "gateway/audit/chain.h"

#define AUDIT_MAGIC      0x4a415544u   /* "JAUD" */
#define FIELDS_MAX       (AUDIT_LINE_MAX - 256)
#define DISK_CHECK_MS    1000
/* And after this much written: a sixteenth of the room below the alarm
 * level, within these bounds (a small disk is looked at every 64 KiB, a
 * large one not hundreds of times a second under load). */
#define DISK_CHECK_BYTES     (64 * 1024)
#define DISK_CHECK_BYTES_MAX (4 * 1024 * 1024)
#define DEFAULT_ROTATE   (16ull << 20)
#define DEFAULT_RETAIN_S (90u * 86400)
#define DEFAULT_FORECAST_ALARM_S (7u * 86400)
/* Retention scans the spool at most this often, and at every disk check
 * while the disk is at the prune level. */
#define RETAIN_SCAN_MS   60000
#define PRUNE_SCAN_MS    100           /* at the prune level */
/* The forecast's rate: records not yet prunable, sampled at every disk
 * check, over the last FORECAST_SAMPLES of them (about 10 minutes). */
#define FORECAST_SAMPLES 600
/* A wall clock that moves against the monotonic one by more than this
 * (plus 500 ppm of the interval, the most a kernel slew does) stepped. */
#define TIME_STEP_US     100000
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
	/* Everything below: the relay's workers write records from threads of
	 * their own. Held while a record is committed (its seq, mac and append:
	 * seq follows the order of commits) and in every other public call; a
	 * record is built outside it, in a buffer of its thread (audit_rec.c).
	 * The mirror thread only reads the spool files. */
	pthread_mutex_t mu;
	struct audit_params p;
	char *gw, *spool_dir, *key_file;
	char *c_host, *c_ca, *c_cert, *c_key;
	int dir_fd, fd;
	uint64_t file_first;             /* first seq of the open spool file */
	uint64_t file_bytes, spool_bytes, unchecked_bytes;
	uint64_t check_bytes;            /* unchecked_bytes that call a disk check */
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
	struct audit_mirror *mirror;
	/* The UTC date ("YYYY-MM-DD") of the last record in the open file: a
	 * file ends at each day boundary, so the collector's day files start
	 * with the checkpoint of a spool file too. */
	char file_date[10];
	bool in_checkpoint;
	/* Retention and the forecast (retain.c). */
	int64_t last_scan_ms;
	uint64_t spool_files, spool_disk_bytes, oldest_seq, reclaimable_bytes;
	uint64_t archived_seq, pruned_files;
	uint64_t fs_bytes, fs_used_bytes;   /* of the spool's file system */
	unsigned disk_pct;
	struct { int64_t ms; uint64_t lag, seq; } fc[FORECAST_SAMPLES];
	unsigned fc_n, fc_head;
	int64_t forecast_s;
	bool forecast_alarm;
	/* The clock (audit_time.c). */
	bool time_known, time_synced;
	bool time_unreadable;        /* adjtimex failed: said once */
	int64_t time_offset_us, time_base_us;   /* base: wall minus monotonic */
	int64_t time_mono_us, last_time_ms;     /* of the last look */
	uint64_t time_maxerror_us, time_steps;
};

/* Shared by the writer's files. */
bool aw_is_word(const char *s, size_t max, bool upper_ok);
size_t aw_fmt_u64(char out[20], uint64_t v);
void aw_lose(struct audit *a);
/* The audit is being closed: this thread's open record, if it is one of
 * its records, is dropped (the relay's threads are gone by then). */
void aw_rec_forget(const struct audit *a);
/* Append one line: 0 (written, or kept in the batch) or -1 (lost). */
int aw_append(struct audit *a, const char *event, const char *fields, size_t fields_len);
/* A record of the writer itself (seal, loss and disk notices). */
int aw_append_internal(struct audit *a, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int aw_report_loss(struct audit *a);
int aw_flush_batch(struct audit *a);
int aw_sync_spool(struct audit *a);
int aw_open_spool_file(struct audit *a, uint64_t first_seq);
void aw_disk_check(struct audit *a, int64_t now_ms);
void aw_hmac_rekey(struct audit *a);
int aw_epoch_change(struct audit *a, const char *reason, int64_t now_ms);
int aw_start_epoch(struct audit *a, char *err, size_t errlen);
/* Records up to this seq may be pruned: acknowledged by the collector, and
 * archived when that is required (0 without a collector). */
uint64_t aw_shed_seq(const struct audit *a);
/* Retention and the forecast, at every disk check. */
void aw_retain_check(struct audit *a, int64_t now_ms);
bool aw_prune_level(const struct audit *a);   /* the disk is at the prune level */
/* The clock: sync state and steps, at every disk check (and at open). */
void aw_time_check(struct audit *a, int64_t now_ms, bool at_open);

#endif
