/*
 * audit_time.c — the clock the records' ts come from (docs/audit.md, Time).
 *
 * The kernel knows whether an NTP daemon (chrony on the appliance) keeps
 * the clock synchronised: adjtimex(2) with no mode set only reads that
 * state, needs no privilege and no daemon of ours. A step is seen as the
 * wall clock moving against the monotonic one by more than a slew can
 * (TIME_STEP_US plus 500 ppm of the time between two looks). A loss or a
 * regain of sync and every step are a `time` record and a log line; the
 * state is in audit_get_stats (jgwctl status).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>

#include "filters/base/log.h"
#include "gateway/audit/writer.h"

int audit_clock_read(struct audit_clock *out)
{
	struct timex tx;
	memset(&tx, 0, sizeof(tx));   /* modes 0: read only */
	int state = adjtimex(&tx);
	memset(out, 0, sizeof(*out));
	if (state < 0)
		return -1;
	out->synced = state != TIME_ERROR && !(tx.status & STA_UNSYNC);
	out->offset_us = (tx.status & STA_NANO) ? (int64_t)tx.offset / 1000 : (int64_t)tx.offset;
	out->maxerror_us = tx.maxerror > 0 ? (uint64_t)tx.maxerror : 0;
	return 0;
}

static int64_t clock_us(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void aw_time_check(struct audit *a, int64_t now_ms, bool at_open)
{
	struct audit_clock c;
	int64_t mono = clock_us(CLOCK_MONOTONIC), base = clock_us(CLOCK_REALTIME) - mono;
	a->last_time_ms = now_ms;
	if (a->time_known && !at_open) {
		int64_t step = base - a->time_base_us, mag = step < 0 ? -step : step;
		if (mag > TIME_STEP_US + (mono - a->time_mono_us) / 2000) {
			a->time_steps++;
			log_warn("audit: the clock stepped by %+lld us (the records' ts jump with it)",
			         (long long)step);
			aw_append_internal(a, "time", ",\"state\":\"step\",\"step_us\":%lld,"
			                   "\"synced\":%s", (long long)step,
			                   a->time_synced ? "true" : "false");
		}
	}
	a->time_base_us = base;
	a->time_mono_us = mono;
	if (audit_clock_read(&c) != 0) {
		/* A sandbox that forbids adjtimex (systemd's ProtectClock= or a
		 * filter without @clock) hides the state: say so, once. */
		if (!a->time_unreadable)
			log_err("audit: cannot read the clock's synchronisation state (adjtimex: %s); "
			        "time_sync stays no", strerror(errno));
		a->time_unreadable = true;
		return;
	}
	a->time_offset_us = c.offset_us;
	a->time_maxerror_us = c.maxerror_us;
	if (at_open || !a->time_known) {
		if (c.synced)
			log_info("audit: clock synchronised (offset %lld us, maximum error %llu us)",
			         (long long)c.offset_us, (unsigned long long)c.maxerror_us);
		else
			log_warn("audit: the clock is not synchronised (no NTP source): the "
			         "records' ts are as good as the clock");
	} else if (c.synced != a->time_synced) {
		if (c.synced)
			log_info("audit: clock synchronised again (offset %lld us)",
			         (long long)c.offset_us);
		else
			log_warn("audit: the clock lost its synchronisation (maximum error %llu us)",
			         (unsigned long long)c.maxerror_us);
		aw_append_internal(a, "time", ",\"state\":\"%s\",\"offset_us\":%lld,"
		                   "\"maxerror_us\":%llu", c.synced ? "synced" : "unsynced",
		                   (long long)c.offset_us, (unsigned long long)c.maxerror_us);
	}
	a->time_synced = c.synced;
	a->time_known = true;
}
