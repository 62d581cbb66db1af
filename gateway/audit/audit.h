/*
 * audit.h — audit records (docs/audit.md): the forward-secure HMAC chain, the
 * local spool (source of truth) and the RELP/TLS mirror to the collector.
 *
 * Records hold metadata only. Callers build one record at a time with the
 * audit_rec_* calls (no allocation; JSON escaping is done here), then commit
 * it: it gets its seq and mac and is appended to the spool in batches, made
 * durable by group commit (fdatasync at least every commit_ms). The mirror runs in its
 * own thread and only reads the spool, so a collector that is away never
 * blocks the relay and never loses a record.
 *
 * Thread-safe: the daemon's loop and the relay's workers call it from their
 * own threads. A record is built in a buffer of the calling thread (one open
 * per thread) and takes the audit's lock only to be committed.
 * Line format, chain, key handling and verify messages: docs/audit.md.
 */
#ifndef JGW_AUDIT_H
#define JGW_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct audit_params {
	const char *gw;               /* this gateway's node code */
	const char *spool_dir;
	const char *key_file;         /* current k_epoch ("jgw-audit-key EPOCH HEX64");
	                               * rewritten atomically at each epoch */
	uint64_t rotate_bytes;        /* rotate a spool file at this size; 0: 16 MiB.
	                               * A file also ends at every UTC day boundary */
	uint32_t commit_ms;           /* group-commit interval, <= 100; 0: 100 */
	uint32_t epoch_s;             /* key epoch length; 0: 3600 */
	uint8_t disk_alarm_pct, disk_limit_pct;   /* of the spool's file system; 0: 80, 95 */
	bool fail_closed;             /* at the limit: refuse new tunnels (default) */
	/* Retention (docs/audit.md, Retention): a sealed spool file is removed
	 * only once every record in it is acknowledged by the collector (and
	 * archived, with require_archive), and then only when it is older than
	 * retain_s, the spool is larger than retain_bytes, or the disk is at
	 * the prune level (disk_alarm_pct - 10). Without a collector nothing
	 * is removed. 0: 90 days; no size bound. */
	uint32_t retain_s;
	uint64_t retain_bytes;
	uint8_t prune_pct;            /* the prune level; 0: disk_alarm_pct - 10;
	                               * above 100: never for the disk (tests) */
	bool require_archive;         /* jgwctl audit archive must have copied it */
	/* The forecast alarm: the disk reaches disk_limit_pct in less than this
	 * at the recent rate of records that cannot be pruned. 0: 7 days. */
	uint32_t forecast_alarm_s;
	/* Mirror; collector_host NULL: no mirror. */
	const char *collector_host;
	uint16_t collector_port;
	const char *collector_ca, *collector_cert, *collector_key;
	/* The name the collector's certificate must carry (its CN or a
	 * subjectAltName; librelp auth mode "name"): a certificate of the same
	 * CA under any other name (another gateway's) is refused. NULL: the
	 * collector_host when that is a DNS name; with an address as host and
	 * no name the mirror does not start (audit_open fails). */
	const char *collector_name;
};

struct audit;
struct audit_rec;

struct audit *audit_open(const struct audit_params *params, char *err, size_t errlen);
/* Writes a seal record, flushes, stops the mirror. */
void audit_close(struct audit *audit);

/* Build and commit one record. Values are escaped here (invalid UTF-8
 * becomes U+FFFD); keys are literals of [a-z0-9_]. One record is open at a
 * time in a thread: beginning another drops the open one (counted as lost).
 * Fields that do not fit a 4 KiB line, or have an invalid name, are left
 * out and the record carries "truncated":true. NULL from begin: no audit
 * (the other calls accept NULL and do nothing; commit returns -1). */
struct audit_rec *audit_rec_begin(struct audit *audit, const char *event);
void audit_rec_str(struct audit_rec *rec, const char *key, const char *value);
void audit_rec_u64(struct audit_rec *rec, const char *key, uint64_t value);
void audit_rec_i64(struct audit_rec *rec, const char *key, int64_t value);
void audit_rec_bool(struct audit_rec *rec, const char *key, bool value);
/* 0 when appended; -1 when lost (disk full under count-loss; counted).
 * Appended records wait in a batch in memory and reach the spool with one
 * write per batch: at audit_flush(), at every audit_tick(), when the batch
 * is large, and before every fdatasync, rotation and seal. Committed (in
 * audit_get_stats' last_seq, sent by the mirror) only after the fdatasync
 * that follows. */
int audit_rec_commit(struct audit_rec *rec);
/* Write the waiting batch to the spool file now (no fdatasync: its records
 * are not committed yet). The daemon calls it each time its loop is about
 * to wait and before it closes a tunnel, so the spool file shows a record
 * before the connection it describes is seen to end. */
void audit_flush(struct audit *audit);

/* Timers: group commit, key epoch, disk check. Call at least every
 * audit_next_ms() milliseconds. now_ms: the caller's millisecond clock;
 * only its advance matters (the commit and disk timers run on the audit's
 * own monotonic clock; a clock moving ahead can bring an epoch change
 * forward, never delay one). */
void audit_tick(struct audit *audit, int64_t now_ms);
uint32_t audit_next_ms(const struct audit *audit);
/* Seal the epoch and move the key on now (an operator who fears the key
 * was read: what was written under it stays verifiable, what follows is
 * under a key that could not be derived from it). 0, or -1 as the timer's
 * change fails (key_alarm in the stats, a log line). */
int audit_epoch_now(struct audit *audit);

/* False under fail-closed when the disk limit is reached, the spool cannot
 * be written, or it is broken (audit_stats): refuse new tunnels. */
bool audit_admit(const struct audit *audit);
/* Why audit_admit is false ("audit-disk-full", "audit-write-failed",
 * "audit-spool-broken"); NULL while it is true. The reason a tunnel is
 * refused or ended for. */
const char *audit_refusal(const struct audit *audit);
/* Write-ahead: may frames whose records were committed be forwarded now?
 * Writes the waiting batch; true when every record committed so far is in
 * the spool file, and always under the count-loss policy (a loss there is
 * counted and reported, never hidden). Under fail-closed a batch the disk
 * does not take waits in memory (written in order once it does) and this
 * is false: the relay forwards nothing until its records are written. The
 * relay calls it before every write toward a peer or server; NULL: true. */
bool audit_writeahead(struct audit *audit);

struct audit_stats {
	uint64_t records, lost, last_seq, mirrored_seq, spool_bytes;
	uint64_t fdatasyncs;          /* group commits done */
	/* last_seq: the last durable (committed) record; mirrored_seq: the
	 * collector has acknowledged every record up to it (a bound: at most
	 * AUDIT_MIRROR_INFLIGHT records behind what it has acknowledged). */
	uint32_t epoch;
	bool disk_alarm, disk_full, collector_up;
	bool key_alarm;               /* the last key epoch change failed (the key
	                               * file could not be stored); retried every 5 s */
	bool spool_broken;            /* after a failed fdatasync or short write the
	                               * spool file could not be cut back: nothing is
	                               * written until a restart (audit_admit false
	                               * under fail-closed) */
	bool write_failing;           /* the last write to the spool failed */
	uint64_t held;                /* records waiting in memory for the disk
	                               * (fail-closed; frames behind them wait too) */
	/* The spool on disk (at the last retention scan, at most a minute old):
	 * its files, their bytes, the first seq still held, and the records
	 * that may be pruned (acknowledged, and archived when required). */
	uint64_t spool_files, spool_disk_bytes, oldest_seq, shed_seq, archived_seq;
	uint64_t pruned_files;        /* removed by retention since start */
	uint8_t disk_pct;             /* of the spool's file system */
	/* Seconds until the disk reaches its limit at the recent rate of
	 * records that cannot be pruned (not acknowledged, or not archived);
	 * -1: not growing. forecast_alarm: below forecast_alarm_s. */
	int64_t forecast_s;
	bool forecast_alarm;
	/* The kernel's clock discipline (adjtimex): synchronised by an NTP
	 * daemon (chrony), its estimated offset and maximum error, and the
	 * steps seen (the wall clock jumping against the monotonic one). */
	bool time_synced;
	int64_t time_offset_us;
	uint64_t time_maxerror_us, time_steps;
};
void audit_get_stats(const struct audit *audit, struct audit_stats *out);

/* The kernel's view of the clock (adjtimex(2), read only): synced is false
 * while the kernel says unsynchronised (no NTP daemon, or it lost its
 * servers); offset and maximum error in microseconds. -1: no answer. */
struct audit_clock {
	bool synced;
	int64_t offset_us;
	uint64_t maxerror_us;
};
int audit_clock_read(struct audit_clock *out);

/* jgwctl audit init: make k0 (written to key_out as hex, "-" or NULL for
 * stdout; never over an existing file) and install it as the epoch-0 key
 * in key_file (refused if key_file exists). */
int audit_init_key(const char *key_out, const char *key_file, char *err, size_t errlen);

/* jgwctl audit verify: check spool files or collector copies with k0.
 * Prints a line per problem; the first bad record is named with why
 * (changed, removed, reordered, forged, spliced, replayed, unsealed-epoch,
 * malformed). 0: intact and sealed; 3: intact with warnings (tail not
 * sealed, torn tail); 1: bad. */
int audit_verify(const char *k0_file, const char *const *paths, size_t n_paths, FILE *out);
/* A run of segments need not start at seq 1: a segment starts with a
 * checkpoint record (prev_mac, under the key of its epoch, derived from k0).
 * Missing seqs between segments are named (removed) and the rest is still
 * verified; the result is then 1. */

/* jgwctl audit archive: copy the sealed spool files (every one but the
 * newest) not yet in out_dir there, each made durable, with a manifest
 * line per file; then record the last seq archived in the spool
 * (AUDIT_ARCHIVE_FILE), which retention honours with require_archive.
 * 0, or -1 (err says why). Progress lines go to log (may be NULL). */
int audit_archive(const char *spool_dir, const char *out_dir, FILE *log, char *err, size_t errlen);
/* The mirror's RELP window: messages sent and not yet acknowledged, each of
 * at most AUDIT_MIRROR_BATCH records. librelp tells no ack, only that a send
 * returned once the window had room, so mirrored_seq is the last record of
 * the message a window before the last one sent, and up to
 * AUDIT_MIRROR_INFLIGHT records are sent again after a reconnect. Several
 * records per message: the collector's cost is per message (docs/audit.md,
 * Measurements). */
#define AUDIT_MIRROR_WINDOW   16
#define AUDIT_MIRROR_BATCH    32
#define AUDIT_MIRROR_INFLIGHT (AUDIT_MIRROR_WINDOW * AUDIT_MIRROR_BATCH)

/* verify compares a record that appears again (a collector's at-least-once
 * copy) with the first one when it is at most this many records behind the
 * newest: a hash per seq in a ring, 16 bytes each (2^20: 16 MiB). The tests
 * lower it. */
#define AUDIT_DUP_WINDOW (1u << 20)
extern uint32_t audit_verify_dup_window;

#endif
