/*
 * retain.c — retention without loss, and the forecast (docs/audit.md,
 * Retention and capacity).
 *
 * A sealed spool file (every one but the one being written) is removed only
 * once every record in it is acknowledged by the collector (the mirror's
 * acked seq) and, with require_archive, copied out by jgwctl audit archive
 * (AUDIT_ARCHIVE_FILE); then only when it is outside the local window: its
 * last write is older than retain_s, the spool is larger than retain_bytes,
 * or the disk is at the prune level (disk_alarm_pct - 10), oldest first and
 * never past a file that may not go, so the spool stays one run of seqs.
 * Without a collector nothing is removed. Every removal is first written
 * into the chain (a `prune` record, made durable) and only then done.
 *
 * The forecast: at every check the number of records that cannot be pruned
 * yet (seq - shed seq) is sampled; its growth over the last ten minutes,
 * times the bytes per record, says when the disk reaches its limit, with
 * what pruning can still free counted as room. Below forecast_alarm_s the
 * forecast alarm is raised (log, a `stats` record), long before the limit.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "filters/base/log.h"
#include "gateway/audit/mirror.h"
#include "gateway/audit/spool.h"
#include "gateway/audit/writer.h"

uint64_t aw_shed_seq(const struct audit *a)
{
	if (!a->mirror)
		return 0;
	uint64_t shed = audit_mirror_acked(a->mirror);
	if (a->p.require_archive && a->archived_seq < shed)
		shed = a->archived_seq;
	return shed < a->durable_seq ? shed : a->durable_seq;
}

static unsigned prune_pct(const struct audit *a)
{
	if (a->p.prune_pct)
		return a->p.prune_pct;
	return a->p.disk_alarm_pct > 10 ? a->p.disk_alarm_pct - 10u : 1u;
}

bool aw_prune_level(const struct audit *a)
{
	return a->mirror && a->disk_pct >= prune_pct(a);
}

/* One spool file as retention sees it. */
struct sfile {
	uint64_t first, bytes;
	time_t mtime;
};

/* Record the removal in the chain and make it durable, then remove. */
static uint64_t prune(struct audit *a, const struct sfile *f, size_t n, uint64_t last_seq,
                      const char *reason)
{
	uint64_t bytes = 0;
	char name[40];
	for (size_t i = 0; i < n; i++)
		bytes += f[i].bytes;
	if (aw_append_internal(a, "prune", ",\"reason\":\"%s\",\"first_seq\":%llu,\"last_seq\":%llu,"
	                       "\"files\":%zu,\"bytes\":%llu,\"acked_seq\":%llu%s%llu", reason,
	                       (unsigned long long)f[0].first, (unsigned long long)last_seq, n,
	                       (unsigned long long)bytes,
	                       (unsigned long long)(a->mirror ? audit_mirror_acked(a->mirror) : 0),
	                       a->p.require_archive ? ",\"archived_seq\":" : "",
	                       (unsigned long long)a->archived_seq) != 0 ||
	    aw_sync_spool(a) != 0 || a->durable_seq != a->seq)
		return 0;   /* not in the chain for sure: removed at a later scan */
	size_t done = 0;
	for (; done < n; done++) {
		snprintf(name, sizeof(name), AUDIT_FILE_FMT, (unsigned long long)f[done].first);
		if (unlinkat(a->dir_fd, name, 0) != 0) {
			log_err("audit: retention: %s/%s: %s", a->spool_dir, name, strerror(errno));
			break;
		}
	}
	if (fsync(a->dir_fd) != 0)
		log_warn("audit: retention: fsync of %s: %s", a->spool_dir, strerror(errno));
	log_info("audit: retention (%s): removed %zu spool files, seq %llu..%llu (%llu bytes), "
	         "acknowledged by the collector%s", reason, done,
	         (unsigned long long)f[0].first, (unsigned long long)last_seq,
	         (unsigned long long)bytes, a->p.require_archive ? " and archived" : "");
	a->pruned_files += done;
	return done;
}

/* The spool files (sizes, last writes); *n of them, sorted by first seq. */
static struct sfile *scan(struct audit *a, size_t *n_out)
{
	char **names;
	uint64_t *firsts;
	size_t n;
	*n_out = 0;
	if (audit_spool_list(a->spool_dir, &names, &firsts, &n) != 0)
		return NULL;
	struct sfile *f = calloc(n ? n : 1, sizeof(*f));
	size_t k = 0;
	for (size_t i = 0; f && i < n; i++) {
		struct stat st;
		if (fstatat(a->dir_fd, names[i], &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		f[k].first = firsts[i];
		f[k].bytes = (uint64_t)st.st_size;
		f[k].mtime = st.st_mtime;
		k++;
	}
	audit_spool_list_free(names, firsts, n);
	*n_out = k;
	return f;
}

static void retain_scan(struct audit *a, bool pressure)
{
	size_t n;
	struct sfile *f = scan(a, &n);
	if (!f)
		return;
	if (a->p.require_archive)
		a->archived_seq = audit_seq_file_read(a->spool_dir, AUDIT_ARCHIVE_FILE);
	uint64_t shed = aw_shed_seq(a), total = 0, reclaim = 0;
	for (size_t i = 0; i < n; i++)
		total += f[i].bytes;
	/* Sealed and prunable: not the open file, every seq acknowledged. */
	size_t sealed = 0;
	while (sealed + 1 < n && f[sealed].first < a->file_first &&
	       f[sealed + 1].first - 1 <= shed)
		reclaim += f[sealed++].bytes;
	uint64_t level = a->fs_bytes / 100 * prune_pct(a);
	uint64_t need = pressure && a->fs_used_bytes > level ? a->fs_used_bytes - level : 0;
	time_t wall = time(NULL);
	uint64_t left = total, freed = 0;
	size_t cut = 0;
	const char *reason = NULL;
	for (; cut < sealed; cut++) {
		bool old = a->p.retain_s > 0 && f[cut].mtime + (time_t)a->p.retain_s <= wall;
		bool big = a->p.retain_bytes > 0 && left > a->p.retain_bytes;
		bool disk = freed < need;
		if (!old && !big && !disk)
			break;
		reason = disk ? "disk" : big ? "size" : "age";
		left -= f[cut].bytes;
		freed += f[cut].bytes;
	}
	size_t removed = cut > 0 ? prune(a, f, cut, f[cut].first - 1, reason) : 0;
	for (size_t i = 0; i < removed; i++) {
		total -= f[i].bytes;
		reclaim -= f[i].bytes;
	}
	a->spool_files = n - removed;
	a->spool_disk_bytes = total;
	a->reclaimable_bytes = reclaim;
	a->oldest_seq = removed < n ? f[removed].first : a->file_first;
	free(f);
}

/* A duration for people: "3.2 days", "5.0 hours", "40 minutes". */
static void human_s(int64_t s, char *buf, size_t len)
{
	if (s >= 2 * 86400)
		snprintf(buf, len, "%.1f days", (double)s / 86400);
	else if (s >= 2 * 3600)
		snprintf(buf, len, "%.1f hours", (double)s / 3600);
	else
		snprintf(buf, len, "%lld minutes", (long long)(s / 60));
}

static void forecast(struct audit *a, int64_t now_ms)
{
	uint64_t shed = aw_shed_seq(a), lag = a->seq > shed ? a->seq - shed : 0;
	unsigned newest = (a->fc_head + a->fc_n + FORECAST_SAMPLES - 1) % FORECAST_SAMPLES;
	if (a->fc_n > 0 && now_ms - a->fc[newest].ms < DISK_CHECK_MS)
		return;   /* one sample a second, however often retention looks */
	/* Records in flight are not growth: a collector that keeps up is a
	 * window (AUDIT_MIRROR_INFLIGHT records) and a commit interval behind. What two
	 * seconds of writing, the window and a margin hold is left out of the lag. */
	uint64_t recent = a->fc_n > 0 && a->seq > a->fc[newest].seq ? a->seq - a->fc[newest].seq : 0;
	uint64_t in_flight = AUDIT_MIRROR_INFLIGHT + 48 + 2 * recent;
	lag = lag > in_flight ? lag - in_flight : 0;
	unsigned at = (a->fc_head + a->fc_n) % FORECAST_SAMPLES;
	if (a->fc_n == FORECAST_SAMPLES)
		a->fc_head = (a->fc_head + 1) % FORECAST_SAMPLES;
	else
		a->fc_n++;
	a->fc[at].ms = now_ms;
	a->fc[at].lag = lag;
	a->fc[at].seq = a->seq;
	int64_t span = now_ms - a->fc[a->fc_head].ms;
	uint64_t old_lag = a->fc[a->fc_head].lag;
	a->forecast_s = -1;
	if (a->fc_n >= 2 && span >= 1000 && lag > old_lag && a->fs_bytes > 0) {
		double per_rec = a->records > 0 ? (double)a->spool_bytes / (double)a->records : 320.0;
		double rate = (double)(lag - old_lag) * per_rec * 1000.0 / (double)span;   /* B/s */
		uint64_t limit = a->fs_bytes / 100 * a->p.disk_limit_pct;
		uint64_t room = limit > a->fs_used_bytes ? limit - a->fs_used_bytes : 0;
		room += a->reclaimable_bytes;
		a->forecast_s = (int64_t)((double)room / rate);
	}
	bool alarm = a->forecast_s >= 0 && a->forecast_s < (int64_t)a->p.forecast_alarm_s;
	bool clear = a->forecast_s < 0 || a->forecast_s >= 2 * (int64_t)a->p.forecast_alarm_s;
	char when[32];
	if (alarm && !a->forecast_alarm) {
		a->forecast_alarm = true;
		human_s(a->forecast_s, when, sizeof(when));
		log_warn("audit: the spool's disk reaches its limit (%u%%) in about %s at the "
		         "recent rate of records not yet %s (%u%% used now)", a->p.disk_limit_pct,
		         when, !a->mirror ? "prunable: no collector" :
		         a->p.require_archive ? "acknowledged and archived" : "acknowledged",
		         a->disk_pct);
		aw_append_internal(a, "stats", ",\"source\":\"audit\",\"forecast_alarm\":true,"
		                   "\"forecast_s\":%lld,\"disk_pct\":%u", (long long)a->forecast_s,
		                   a->disk_pct);
	} else if (clear && a->forecast_alarm) {
		a->forecast_alarm = false;
		log_info("audit: the spool's disk forecast is clear again");
		aw_append_internal(a, "stats", ",\"source\":\"audit\",\"forecast_alarm\":false,"
		                   "\"disk_pct\":%u", a->disk_pct);
	}
}

void aw_retain_check(struct audit *a, int64_t now_ms)
{
	bool pressure = aw_prune_level(a);
	if (pressure || a->last_scan_ms == 0 || now_ms - a->last_scan_ms >= RETAIN_SCAN_MS) {
		a->last_scan_ms = now_ms ? now_ms : 1;
		if (!a->spool_broken)
			retain_scan(a, pressure);
	}
	forecast(a, now_ms);
}
