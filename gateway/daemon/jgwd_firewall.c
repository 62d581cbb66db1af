/* jgwd_firewall.c — jgwd's nftables table (applied, committed, its NFLOG
 * drop summaries) and the quarantine set: automatic quarantine after
 * repeated failures, and the audited end of every entry (jgwd.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "filters/base/log.h"
#include "filters/firewall/nft.h"
#include "gateway/audit/audit.h"
#include "gateway/daemon/gen.h"
#include "gateway/daemon/ha.h"
#include "gateway/daemon/history.h"
#include "gateway/daemon/jgwd.h"
#include "gateway/daemon/monitor.h"
#include "gateway/daemon/relay.h"
#include "tunnels/tls.h"

void jgwd_audit_quarantine(struct jgwd *d, const struct addr_prefix *addr, const char *peer,
			   const char *action, uint32_t timeout_s, const char *cause,
			   const struct operator *op)
{
	struct audit_rec *rec;
	char a[64];

	if (!d->audit || !(rec = audit_rec_begin(d->audit, "quarantine")))
		return;
	audit_rec_str(rec, "addr", addr_prefix_str(addr, a, sizeof(a)));
	if (peer)
		audit_rec_str(rec, "peer", peer);
	audit_rec_str(rec, "action", action);
	if (timeout_s)
		audit_rec_u64(rec, "timeout_s", timeout_s);
	audit_rec_str(rec, "cause", cause);
	operator_fields(rec, op);
	audit_rec_commit(rec);
}

/* ---- quarantine expiry ---- */

#define QEXP_RECHECK_MS 100      /* still in the kernel set when due: look again */

/* Deadlines on the monotonic clock, as the kernel's element timeouts and
 * ev_timer run: a stepped wall clock must not move an expiry. */
static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void jgwd_quar_timer_arm(struct jgwd *d)
{
	int64_t next = quar_expiry_next(d->qexp), now = mono_ms();

	ev_timer_stop(d->loop, &d->quar_timer);
	if (next == INT64_MAX)
		return;
	ev_timer_set(&d->quar_timer, next > now ? (double)(next - now) / 1000.0 : 0.0, 0.0);
	ev_timer_start(d->loop, &d->quar_timer);
}

/* addr is in the kernel set for timeout_s from now: book its end, which
 * the kernel will not tell us about. */
void jgwd_quar_book(struct jgwd *d, const struct addr_prefix *addr, const char *peer,
		    uint32_t timeout_s)
{
	char a[64];

	if (!quar_expiry_set(d->qexp, addr, peer, timeout_s, mono_ms() + (int64_t)timeout_s * 1000))
		log_warn("quarantine %s: its expiry will not be audited (%zu addresses booked)",
			 addr_prefix_str(addr, a, sizeof(a)), quar_expiry_count(d->qexp));
	jgwd_quar_timer_arm(d);
}

struct quar_seen {
	struct jgwd *d;
	int64_t now;
	size_t n;
};

/* expires_ms is the kernel's own time left; a floor keeps an element
 * about to go from making the timer spin. */
static int64_t quar_until(const struct quar_seen *s, uint64_t expires_ms)
{
	if (expires_ms < QEXP_RECHECK_MS)
		expires_ms = QEXP_RECHECK_MS;
	if (expires_ms > (uint64_t)UINT32_MAX * 1000)
		expires_ms = (uint64_t)UINT32_MAX * 1000;
	return s->now + (int64_t)expires_ms;
}

static void quar_still_held(void *arg, const struct addr_prefix *addr, uint64_t expires_ms)
{
	struct quar_seen *s = arg;

	quar_expiry_extend(s->d->qexp, addr, s->now, quar_until(s, expires_ms));
}

/* A booked deadline passed. The kernel decides when an element is gone
 * (its clock and ours differ by milliseconds; an older kernel keeps the
 * running timer of a re-added element): what it still holds is looked at
 * again later, the rest has expired. */
void jgwd_on_quar_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct jgwd *d = w->data;
	struct quar_seen s = { .d = d, .now = mono_ms() };
	struct quar_expired e;
	char err[256], a[64];

	(void)loop;
	(void)revents;
	if (quar_expiry_next(d->qexp) <= s.now && d->fw_on &&
	    nft_quarantine_list(d->fw_table, quar_still_held, &s, err, sizeof(err)) < 0)
		log_warn("quarantine list: %s (expiry taken from jgwd's own clock)", err);
	while (quar_expiry_take(d->qexp, s.now, &e)) {
		log_info("quarantine of %s expired", addr_prefix_str(&e.addr, a, sizeof(a)));
		jgwd_audit_quarantine(d, &e.addr, e.peer[0] ? e.peer : NULL, "expire", e.timeout_s,
				      "timeout", NULL);
	}
	jgwd_quar_timer_arm(d);
}

/* The table went, and its quarantine set with it: every booked address is
 * released now, not at its deadline. */
void jgwd_quar_release_all(struct jgwd *d, const char *cause)
{
	struct quar_expired e;

	while (quar_expiry_take(d->qexp, INT64_MAX, &e))
		jgwd_audit_quarantine(d, &e.addr, e.peer[0] ? e.peer : NULL, "remove", 0, cause,
				      NULL);
	jgwd_quar_timer_arm(d);
}

static void quar_adopt_one(void *arg, const struct addr_prefix *addr, uint64_t expires_ms)
{
	struct quar_seen *s = arg;

	if (quar_expiry_set(s->d->qexp, addr, NULL, 0, quar_until(s, expires_ms)))
		s->n++;
}

/* A table that was already there when jgwd applied its own (kept at the
 * last stop, keep-on-stop) carries its quarantine into it: book those
 * addresses too, so that their end is audited. (One that expired while
 * jgwd was not running is not.) */
static void quar_adopt(struct jgwd *d)
{
	struct quar_seen s = { .d = d, .now = mono_ms() };
	char err[256];

	if (!d->fw_on)
		return;
	if (nft_quarantine_list(d->fw_table, quar_adopt_one, &s, err, sizeof(err)) < 0)
		log_warn("quarantine carried over: %s (their expiry is not audited)", err);
	else if (s.n)
		log_info("%zu quarantined addresses carried over from the table in force", s.n);
	jgwd_quar_timer_arm(d);
}

/* ---- firewall ---- */

int jgwd_fw_apply(const struct jgw_config *cfg, char *err, size_t errlen)
{
	struct nft_policy pol;

	if (!cfg->firewall.enabled)
		return 0;
	if (!cfg_nft_policy(cfg, &pol)) {
		snprintf(err, errlen, "cannot build the firewall policy");
		return -1;
	}
	return nft_apply(&pol, err, errlen) < 0 ? -1 : 0;
}

static void on_nflog(struct ev_loop *loop, ev_io *w, int revents);

static void firewall_log_open(struct jgwd *d, uint16_t group)
{
	char err[256];

	if (d->nflog && d->fw_group == group)
		return;
	if (d->nflog) {
		ev_io_stop(d->loop, &d->nflog_io);
		nft_log_close(d->nflog);
		d->nflog = NULL;
	}
	d->nflog = nft_log_open(group, err, sizeof(err));
	if (!d->nflog) {
		log_warn("NFLOG group %u: %s (drop summaries disabled)", group, err);
		return;
	}
	d->fw_group = group;
	ev_io_init(&d->nflog_io, on_nflog, nft_log_fd(d->nflog), EV_READ);
	d->nflog_io.data = d;
	ev_io_start(d->loop, &d->nflog_io);
}

/* Remember what is in the kernel now; the previous table goes when renamed
 * or when the new configuration turns the firewall off. */
void jgwd_fw_commit(struct jgwd *d, const struct jgw_config *cfg)
{
	char err[256];
	bool new_table = cfg->firewall.enabled &&
			 (!d->fw_on || strcmp(d->fw_table, cfg->firewall.table) != 0);

	if (d->fw_on && (!cfg->firewall.enabled || strcmp(d->fw_table, cfg->firewall.table) != 0)) {
		/* The new table carried over only a quarantine of its own name. */
		if (nft_table_delete(d->fw_table, err, sizeof(err)) < 0)
			log_warn("removing the previous table %s: %s", d->fw_table, err);
		else
			jgwd_quar_release_all(d, "table-removed");
	}
	d->fw_on = cfg->firewall.enabled;
	d->keep_on_stop = cfg->firewall.keep_on_stop;
	d->q_timeout_s = cfg->firewall.q_timeout_s;
	if (d->fw_on) {
		snprintf(d->fw_table, sizeof(d->fw_table), "%s", cfg->firewall.table);
		firewall_log_open(d, cfg->firewall.nflog_group);
		if (new_table)
			quar_adopt(d);
	} else if (d->nflog) {
		ev_io_stop(d->loop, &d->nflog_io);
		nft_log_close(d->nflog);
		d->nflog = NULL;
	}
}

void jgwd_on_drop(void *arg, const struct nft_drop *drop)
{
	struct jgwd *d = arg;
	struct audit_rec *rec;
	const struct jgw_config *cfg = relay_current(d->relay)->cfg;
	char a[64];

	if (!d->audit || !(rec = audit_rec_begin(d->audit, "drop")))
		return;
	audit_rec_u64(rec, "interval_s", cfg->firewall.drop_interval_s);
	if (drop->src.family)
		audit_rec_str(rec, "src", addr_prefix_str(&drop->src, a, sizeof(a)));
	audit_rec_u64(rec, "dst_port", drop->dst_port);
	if (drop->dst_port_max != drop->dst_port)
		audit_rec_u64(rec, "dst_port_max", drop->dst_port_max);
	if (drop->proto)
		audit_rec_str(rec, "proto", drop->proto == 6 ? "tcp" : drop->proto == 17 ? "udp" :
			      drop->proto == 1 ? "icmp" : drop->proto == 58 ? "icmpv6" : "other");
	audit_rec_u64(rec, "packets", drop->packets);
	audit_rec_u64(rec, "bytes", drop->bytes);
	audit_rec_u64(rec, "ports", drop->ports);
	audit_rec_u64(rec, "sources", drop->sources);
	if (drop->keys > 1)
		audit_rec_u64(rec, "keys", drop->keys);
	if (drop->capped)
		audit_rec_bool(rec, "capped", true);
	audit_rec_str(rec, "rule", drop->rule);
	audit_rec_commit(rec);
}

static void on_nflog(struct ev_loop *loop, ev_io *w, int revents)
{
	struct jgwd *d = w->data;

	(void)loop;
	(void)revents;
	if (d->nflog && nft_log_read(d->nflog) < 0)
		log_debug("NFLOG read error");
}

void jgwd_on_drop_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct jgwd *d = w->data;

	(void)loop;
	(void)revents;
	if (d->nflog)
		nft_log_flush(d->nflog, jgwd_on_drop, d);
}

void jgwd_on_failure(void *arg, const struct sockaddr *src, bool lan, const char *peer,
		     const char *cause)
{
	struct jgwd *d = arg;
	const struct jgw_config *cfg = relay_current(d->relay)->cfg;
	struct addr_prefix addr;
	char err[256], a[64];

	if (!d->quar || !d->fw_on || !addr_from_sockaddr(src, &addr))
		return;
	/* The site's own servers are not quarantined unless configured: a
	 * server restarting mid-frame must not cut the site off (and the
	 * quarantine would also hold its answers to ingress tunnels). */
	if (lan && !cfg->firewall.quarantine_lan && cfg_server_allowed(cfg, src))
		return;
	if (!quar_failure(d->quar, &addr, (int64_t)(ev_now(d->loop) * 1000.0)))
		return;
	if (nft_quarantine_add(d->fw_table, &addr, d->q_timeout_s, err, sizeof(err)) < 0) {
		/* Not blocked: the bookkeeping must not say otherwise, or the
		 * source would go unblocked and uncounted for the whole duration.
		 * Its next failure tries again. */
		quar_cancel(d->quar, &addr);
		log_err("quarantine %s failed (next failure retries): %s",
			addr_prefix_str(&addr, a, sizeof(a)), err);
		return;
	}
	d->quarantined++;
	log_warn("quarantined %s for %u s after repeated failures (last: %s)",
		 addr_prefix_str(&addr, a, sizeof(a)), d->q_timeout_s, cause);
	jgwd_audit_quarantine(d, &addr, peer, "add", d->q_timeout_s, cause, NULL);
	ha_quarantine_local(d->ha, true, &addr, d->q_timeout_s, cause);
	jgwd_quar_book(d, &addr, peer, d->q_timeout_s);
}

#define QUAR_CAPACITY 4096

/* A new failure table only when its parameters change: a reload does not
 * forgive the failures counted so far. */
void jgwd_quar_update(struct jgwd *d, const struct jgw_config *cfg)
{
	struct quar_params qp = {
		.failures = cfg->firewall.q_failures,
		.window_s = cfg->firewall.q_window_s,
		.timeout_s = cfg->firewall.q_timeout_s,
		.capacity = QUAR_CAPACITY,
	};
	char err[256];

	/* Field by field: memcmp would compare the struct's padding too, and
	 * an initializer does not promise to zero it. */
	if (d->quar && qp.failures == d->quar_params.failures &&
	    qp.window_s == d->quar_params.window_s && qp.timeout_s == d->quar_params.timeout_s &&
	    qp.capacity == d->quar_params.capacity)
		return;
	quar_free(d->quar);
	d->quar = NULL;
	d->quar_params = qp;
	if (!cfg->firewall.enabled || !qp.failures)
		return;
	d->quar = quar_new(&qp, err, sizeof(err));
	if (!d->quar)
		log_warn("automatic quarantine off: %s", err);
}

/* The partner's quarantine change (ha.c writes its record): the kernel set
 * and the booking of its end, as for one made here. */
int jgwd_ha_quarantine(void *arg, bool add, const struct addr_prefix *addr, uint32_t timeout_s,
		       char *err, size_t errlen)
{
	struct jgwd *d = arg;

	if (!d->fw_on) {
		snprintf(err, errlen, "the firewall is not enabled");
		return -1;
	}
	if (add) {
		if (nft_quarantine_add(d->fw_table, addr, timeout_s, err, errlen) < 0)
			return -1;
		jgwd_quar_book(d, addr, NULL, timeout_s);
		return 0;
	}
	if (nft_quarantine_del(d->fw_table, addr, err, errlen) < 0)
		return -1;
	if (d->quar)
		quar_forget(d->quar, addr);
	if (quar_expiry_drop(d->qexp, addr))
		jgwd_quar_timer_arm(d);
	return 0;
}
