/*
 * jgwd.c — the gateway daemon: start-up (self-test, audit, firewall,
 * relay, control socket, privilege drop), signals, timers, stop; its other
 * parts are in jgwd_config.c, jgwd_firewall.c and jgwd_control.c (jgwd.h),
 * the tunnels in relay.c.
 *
 *   jgwd [-c FILE] [-d] [-s]     run (foreground; systemd Type=notify)
 *   jgwd -n [-c FILE]            check the configuration and exit
 */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cap-ng.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <systemd/sd-daemon.h>

#include "filters/firewall/nft.h"
#include "gateway/audit/audit.h"
#include "filters/policy/config.h"
#include "gateway/control/control.h"
#include "filters/base/log.h"
#include "filters/firewall/quar.h"
#include "gateway/daemon/history.h"
#include "gateway/daemon/monitor.h"
#include "gateway/daemon/operator.h"
#include "gateway/daemon/relay.h"
#include "gateway/daemon/selftest.h"
#include "tunnels/tls.h"
#include "gateway/daemon/jgwd.h"
#include "gateway/daemon/gen.h"
#include "gateway/daemon/ha.h"

#define DEFAULT_CONFIG "/etc/jgw/jgw.conf"

/* ---- helpers ---- */

static void no_core_dumps(void)
{
	struct rlimit rl = { 0, 0 };

	/* Buffers hold frames with personal data: never let them reach a core. */
	setrlimit(RLIMIT_CORE, &rl);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

/* Two descriptors per tunnel: take what the hard limit allows (systemd's
 * LimitNOFILE), since the soft default of 1024 is far below a 機構 site. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("cannot raise the descriptor limit: %s", strerror(errno));
	}
}

void jgwd_first_error(void *arg, const char *msg)
{
	struct jgwd *d = arg;

	if (cfg_msg_is_warning(msg)) {
		log_warn("%s", msg);
		return;
	}
	log_err("%s", msg);
	if (!d->last_error[0])
		snprintf(d->last_error, sizeof(d->last_error), "%s", msg);
}

unsigned jgwd_workers(const struct jgw_config *cfg)
{
	return cfg->workers ? cfg->workers : relay_default_workers();
}

/* ---- relay hooks ---- */

static bool on_admit(void *arg, const char **why)
{
	struct jgwd *d = arg;

	if (d->audit && (*why = audit_refusal(d->audit)))
		return false;
	return true;
}

static void on_stopped(void *arg)
{
	struct jgwd *d = arg;

	ev_break(d->loop, EVBREAK_ALL);
}

/* ---- timers and signals ---- */

static void on_audit_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct jgwd *d = w->data;
	uint32_t next;

	(void)revents;
	audit_tick(d->audit, (int64_t)(ev_time() * 1000.0));
	next = audit_next_ms(d->audit);
	w->repeat = (next ? next : 100) / 1000.0;
	ev_timer_again(loop, w);
}

/* Before the loop waits: the audit records of everything this iteration
 * did go to the spool in one write (the relay path writes no record on
 * its own, so a busy loop makes one write per iteration, not per frame). */
static void on_audit_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct jgwd *d = w->data;

	(void)loop;
	(void)revents;
	audit_flush(d->audit);
}

/* One stats record: the relay's counters since the last one. */
static void write_stats(struct jgwd *d)
{
	struct relay_stats rs;
	struct audit_rec *rec;

	relay_take_interval(d->relay, &rs);
	if (d->audit && (rec = audit_rec_begin(d->audit, "stats"))) {
		audit_rec_u64(rec, "interval_s", (uint64_t)(ev_now(d->loop) - d->last_stats + 0.5));
		audit_rec_u64(rec, "tunnels_open", rs.tunnels_open);
		audit_rec_u64(rec, "tunnels_opened", rs.tunnels_total);
		audit_rec_u64(rec, "tunnels_rejected", rs.tunnels_rejected);
		audit_rec_u64(rec, "frames_allowed", rs.frames_allowed);
		audit_rec_u64(rec, "frames_denied", rs.frames_denied);
		audit_rec_u64(rec, "bytes_allowed", rs.bytes_allowed);
		audit_rec_u64(rec, "bytes_denied", rs.bytes_denied);
		audit_rec_u64(rec, "bytes_in", rs.bytes_in);
		audit_rec_u64(rec, "bytes_out", rs.bytes_out);
		audit_rec_u64(rec, "generation", rs.generation);
		if (d->nflog)
			audit_rec_u64(rec, "nflog_overruns", nft_log_overruns(d->nflog));
		audit_rec_commit(rec);
	}
	d->last_stats = ev_now(d->loop);
}

static void on_stats_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct jgwd *d = w->data;
	const struct gen *gen = relay_current(d->relay);

	(void)loop;
	(void)revents;
	write_stats(d);
	if (tls_ctx_crl_alarm(gen->tls, (int64_t)time(NULL)))
		log_warn("CRL goes stale in %lld s: install a fresh CRL and reload",
			 (long long)tls_ctx_crl_remaining(gen->tls, (int64_t)time(NULL)));
	/* A CRL that went stale since the last reload ends live tunnels too
	 * (fail-closed), not only the handshakes from now on. */
	relay_check_crl(d->relay, (int64_t)time(NULL));
}

static void on_watchdog(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	sd_notify(0, "WATCHDOG=1");
}

static void on_stop_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	log_warn("shutdown took too long; leaving now");
	ev_break(loop, EVBREAK_ALL);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct jgwd *d = w->data;
	char why[512];

	(void)revents;
	if (w->signum == SIGHUP) {
		struct reload_req rq = { .action = "reload" };

		if (!d->stopping)
			(void)jgwd_reload(d, &rq, why, sizeof(why));
		return;
	}
	if (d->stopping)
		return;
	d->stopping = true;
	log_info("signal %d: stopping", w->signum);
	sd_notify(0, "STOPPING=1");
	ev_timer_init(&d->stop_timer, on_stop_timeout,
		      relay_current(d->relay)->cfg->timeouts.shutdown_ms / 1000.0 + 1.0, 0.0);
	d->stop_timer.data = d;
	ev_timer_start(loop, &d->stop_timer);
	relay_stop(d->relay);
}

/* ---- privileges ---- */

/* Errors go through first_error: they are the configuration's reject. */
static int lookup_ids(struct jgwd *d, const struct jgw_config *cfg, uid_t *uid, gid_t *gid)
{
	char msg[300];

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (cfg->user) {
		struct passwd *pw = getpwnam(cfg->user);

		if (!pw) {
			snprintf(msg, sizeof(msg), "user %s: no such user", cfg->user);
			jgwd_first_error(d, msg);
			return -1;
		}
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
	}
	if (cfg->group) {
		struct group *gr = getgrnam(cfg->group);

		if (!gr) {
			snprintf(msg, sizeof(msg), "group %s: no such group", cfg->group);
			jgwd_first_error(d, msg);
			return -1;
		}
		*gid = gr->gr_gid;
	}
	return 0;
}

/* After binding: become the configured user. CAP_NET_ADMIN stays only when
 * the firewall is on (quarantine updates, table replace on reload). */
static int drop_privileges(const struct jgw_config *cfg, uid_t uid, gid_t gid)
{
	if (uid == (uid_t)-1 || getuid() != 0)
		return 0;
	if (gid == (gid_t)-1)
		gid = getgid();
	if (cfg->firewall.enabled) {
		/* Clearing the bounding set needs CAP_SETPCAP, which a sandbox such
		 * as the appliance's unit (CapabilityBoundingSet=) has already
		 * taken away, together with everything it would have cleared. */
		capng_get_caps_process();
		int bounding = capng_have_capability(CAPNG_EFFECTIVE,
						     CAP_SETPCAP) ? CAPNG_CLEAR_BOUNDING : 0;

		capng_clear(CAPNG_SELECT_BOTH);
		capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_NET_ADMIN);
		if (capng_change_id((int)uid, (int)gid, CAPNG_DROP_SUPP_GRP | bounding) != 0) {
			log_err("cannot change to uid %u gid %u keeping CAP_NET_ADMIN", uid, gid);
			return -1;
		}
	} else if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
		log_err("cannot change to uid %u gid %u: %s", uid, gid, strerror(errno));
		return -1;
	}
	if (uid != 0 && setuid(0) == 0) {
		log_err("privilege drop did not stick");
		return -1;
	}
	no_core_dumps();   /* setuid resets the dumpable flag */
	log_info("running as uid %u gid %u%s", uid, gid,
		 cfg->firewall.enabled ? " with CAP_NET_ADMIN" : "");
	return 0;
}

static int write_pid_file(const char *path)
{
	char buf[32];
	int fd, n;

	if (!path)
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		log_err("pid file %s: %s", path, strerror(errno));
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (write(fd, buf, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* ---- start and stop ---- */

static struct audit *open_audit(const struct jgw_config *cfg)
{
	/* A member of a pair or farm keeps its own chain: every record says
	 * which member wrote it (gw "131016-a"), the collector files each
	 * member's mirror apart, and a spool is never shared between them. */
	static char gw[16];
	struct audit_params ap = {
		.gw = gw,
		.spool_dir = cfg->audit.spool_dir,
		.key_file = cfg->audit.key_file,
		.rotate_bytes = cfg->audit.rotate_bytes,
		.commit_ms = cfg->audit.commit_ms,
		.epoch_s = 3600,
		.disk_alarm_pct = cfg->audit.disk_alarm_pct,
		.disk_limit_pct = cfg->audit.disk_limit_pct,
		.fail_closed = cfg->audit.disk_policy == CFG_DISK_FAIL_CLOSED,
		.retain_s = cfg->audit.retain_s,
		.retain_bytes = cfg->audit.retain_bytes,
		.require_archive = cfg->audit.require_archive,
		.collector_host = cfg->audit.has_collector ? cfg->audit.collector_host : NULL,
		.collector_port = cfg->audit.collector_port,
		.collector_ca = cfg->audit.collector_ca,
		.collector_cert = cfg->audit.collector_cert,
		.collector_key = cfg->audit.collector_key,
		.collector_name = cfg->audit.collector_name,
	};
	char err[512];
	struct audit *a;

	snprintf(gw, sizeof(gw), "%s%s%s", cfg->site, cfg->ha.member ? "-" : "",
		 cfg->ha.member ? cfg->ha.member : "");
	a = audit_open(&ap, err, sizeof(err));

	if (!a)
		log_err("audit: %s", err);
	return a;
}

/* The metrics read jgwd's counters where jgwd keeps them; the listener is
 * bound here, before the privilege drop, like the relay's. */
static int monitor_start(struct jgwd *d, const struct jgw_config *cfg, char *err, size_t errlen)
{
	struct mon_sources src = {
		.relay = d->relay, .audit = d->audit, .nflog = &d->nflog, .fw_on = &d->fw_on,
		.fw_table = d->fw_table, .reloads = &d->reloads,
		.reload_rejects = &d->reload_rejects, .quarantined = &d->quarantined,
		.started = ev_now(d->loop), .version = JGWD_VERSION,
	};

	if (!(d->mon = mon_new(d->loop, &src))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return mon_configure(d->mon, cfg, err, errlen);
}

/* The control socket's group: `control { group }`, else the daemon's. A
 * group that does not exist is the configuration's error (checked). */
static gid_t control_gid(const struct jgw_config *cfg, gid_t daemon_gid)
{
	struct group *gr;

	if (cfg->control_group && (gr = getgrnam(cfg->control_group)) != NULL)
		return gr->gr_gid;
	return cfg->group ? daemon_gid : (gid_t)-1;
}

static int start(struct jgwd *d)
{
	struct relay_hooks hooks = {
		.failure = jgwd_on_failure, .stopped = on_stopped, .admit = on_admit, .arg = d,
	};
	struct ha_hooks ha_hooks = { .quarantine = jgwd_ha_quarantine, .arg = d };
	struct jgw_config *cfg;
	struct gen *gen;
	char err[512];
	uid_t uid;
	gid_t gid;
	int wd;
	uint64_t wd_usec = 0;

	d->qexp = quar_expiry_new(JGWD_QEXP_MAX);
	if (!d->qexp) {
		log_err("out of memory");
		return -1;
	}
	d->last_error[0] = '\0';
	cfg = cfg_load(d->conf_path, jgwd_first_error, d);
	if (!cfg) {
		/* The audit's spool, key and node code are in this very file:
		 * there is nowhere to record the reject. */
		log_err("configuration %s invalid; not starting (not audited: the audit "
			"settings are in the file)", d->conf_path);
		return -1;
	}
	if (!(d->audit = open_audit(cfg))) {
		cfg_free(cfg);
		return -1;
	}
	/* From here on a reject is recorded before jgwd exits. */
	if (lookup_ids(d, cfg, &uid, &gid) < 0) {
		jgwd_audit_config(d, "reject", cfg->sha256, 1, NULL, cfg, d->last_error);
		log_err("configuration %s invalid; not starting", d->conf_path);
		cfg_free(cfg);
		return -1;
	}
	{
		struct rlimit rl;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
		    rl.rlim_cur < 2 * (rlim_t)cfg->limits.tunnels + 64)
			log_warn("descriptor limit %llu is below what %u tunnels need (%u)",
				 (unsigned long long)rl.rlim_cur, cfg->limits.tunnels,
				 2 * cfg->limits.tunnels + 64);
	}
	history_dir(cfg, d->history_dir, sizeof(d->history_dir));
	if (history_init(d->history_dir, uid, gid, err, sizeof(err)) != 0) {
		log_warn("%s: the configurations loaded are not kept", err);
		d->history_dir[0] = '\0';
	}
	d->generation = 1;
	d->last_error[0] = '\0';
	gen = gen_new(cfg, d->generation, jgwd_first_error, d);
	if (!gen) {
		jgwd_audit_config(d, "reject", cfg->sha256, 1, NULL, cfg,
				  d->last_error[0] ? d->last_error : "TLS context");
		log_err("configuration %s invalid; not starting", d->conf_path);
		cfg_free(cfg);
		return -1;
	}
	if (jgwd_fw_apply(cfg, err, sizeof(err)) < 0) {
		log_err("firewall: %s", err);
		jgwd_audit_config(d, "reject", cfg->sha256, 1, NULL, cfg, err);
		gen_put(gen);
		return -1;
	}
	jgwd_fw_commit(d, cfg);
	jgwd_quar_update(d, cfg);
	d->relay = relay_new(d->loop, d->audit, &hooks, jgwd_workers(cfg));
	if (!d->relay || relay_listen(d->relay, cfg, err, sizeof(err)) < 0) {
		log_err("%s", d->relay ? err : "out of memory");
		gen_put(gen);
		return -1;
	}
	if (!(d->ha = ha_new(d->loop, d->audit, d->relay, &ha_hooks)) ||
	    ha_configure(d->ha, gen, err, sizeof(err)) < 0) {
		log_err("%s", d->ha ? err : "out of memory");
		gen_put(gen);
		return -1;
	}
	d->control = control_server_new(d->loop, cfg->control_path, uid, control_gid(cfg, gid),
					jgwd_on_control, d, err, sizeof(err));
	if (!d->control) {
		log_err("%s", err);
		gen_put(gen);
		return -1;
	}
	if (monitor_start(d, cfg, err, sizeof(err)) < 0) {
		log_err("metrics: %s", err);
		gen_put(gen);
		return -1;
	}
	if (write_pid_file(cfg->pid_file) < 0 || drop_privileges(cfg, uid, gid) < 0) {
		gen_put(gen);
		return -1;
	}
	relay_set_gen(d->relay, gen);
	jgwd_audit_config(d, "load", cfg->sha256, 1, NULL, cfg, NULL);
	gen_put(gen);
	log_info("jgwd %s started: site %s, %zu peers, %u worker%s, generation 1, sha256 %s",
		 JGWD_VERSION, cfg->site, cfg->n_peers, relay_workers(d->relay),
		 relay_workers(d->relay) == 1 ? "" : "s", cfg->sha256);

	ev_timer_init(&d->audit_timer, on_audit_timer, 0.0, 0.1);
	d->audit_timer.data = d;
	ev_timer_again(d->loop, &d->audit_timer);
	ev_prepare_init(&d->audit_prep, on_audit_prepare);
	d->audit_prep.data = d;
	ev_prepare_start(d->loop, &d->audit_prep);
	ev_unref(d->loop);           /* it alone must not keep the loop running */
	ev_timer_init(&d->stats_timer, on_stats_timer, 0.0,
		      cfg->audit.stats_interval_s ? cfg->audit.stats_interval_s : 900);
	d->stats_timer.data = d;
	ev_timer_again(d->loop, &d->stats_timer);
	ev_timer_init(&d->drop_timer, jgwd_on_drop_timer, 0.0,
		      cfg->firewall.drop_interval_s ? cfg->firewall.drop_interval_s : 60);
	d->drop_timer.data = d;
	ev_timer_again(d->loop, &d->drop_timer);
	wd = sd_watchdog_enabled(0, &wd_usec);
	if (wd > 0 && wd_usec > 0) {
		ev_timer_init(&d->wd_timer, on_watchdog, 0.0, (double)wd_usec / 2e6);
		d->wd_timer.data = d;
		ev_timer_again(d->loop, &d->wd_timer);
	}
	d->started = d->last_stats = ev_now(d->loop);
	sd_notifyf(0, "READY=1\nSTATUS=site %s, generation 1", cfg->site);
	return 0;
}

static void finish(struct jgwd *d)
{
	char err[256];
	const char *pid_file = NULL;
	char *pid_copy = NULL;

	if (d->relay && relay_current(d->relay) && relay_current(d->relay)->cfg->pid_file)
		pid_copy = strdup(relay_current(d->relay)->cfg->pid_file);
	pid_file = pid_copy;
	if (d->trial.prev) {
		/* The file on disk is what the next start loads: the trial is
		 * kept by the stop, and the record says so. */
		const struct gen *gen = relay_current(d->relay);

		jgwd_audit_config(d, "abandon", gen->cfg->sha256, gen->generation, &d->trial.op,
				  NULL, NULL);
		log_warn("stopping with generation %llu unconfirmed: the next start loads the "
			 "file as it is",
			 (unsigned long long)gen->generation);
		jgwd_trial_end(d);
	}
	ev_timer_stop(d->loop, &d->audit_timer);
	if (ev_is_active(&d->audit_prep)) {
		ev_ref(d->loop);
		ev_prepare_stop(d->loop, &d->audit_prep);
	}
	ev_timer_stop(d->loop, &d->stats_timer);
	ev_timer_stop(d->loop, &d->drop_timer);
	ev_timer_stop(d->loop, &d->wd_timer);
	ev_timer_stop(d->loop, &d->stop_timer);
	ev_timer_stop(d->loop, &d->quar_timer);
	control_server_free(d->control);
	mon_free(d->mon);
	/* The last interval, up to the stop, so that the stats records add up
	 * to everything the run relayed (before the NFLOG handle it reads goes). */
	if (d->relay && relay_current(d->relay))
		write_stats(d);
	if (d->nflog) {
		ev_io_stop(d->loop, &d->nflog_io);
		nft_log_flush(d->nflog, jgwd_on_drop, d);
		nft_log_close(d->nflog);
		d->nflog = NULL;
	}
	ha_free(d->ha);
	relay_free(d->relay);
	if (d->fw_on && !d->keep_on_stop) {
		if (nft_table_delete(d->fw_table, err, sizeof(err)) < 0) {
			log_warn("removing table %s: %s", d->fw_table, err);
		} else {
			log_info("firewall table %s removed (keep-on-stop off)", d->fw_table);
			jgwd_quar_release_all(d, "table-removed");
		}
	}
	quar_expiry_free(d->qexp);
	quar_free(d->quar);
	if (d->audit)
		audit_close(d->audit);
	if (pid_file)
		unlink(pid_file);
	free(pid_copy);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: jgwd [-c FILE] [-d] [-s]    run the gateway\n"
		   "       jgwd -n [-c FILE]           check the configuration\n"
		   "       jgwd --version\n"
		   "  -c FILE  configuration (default " DEFAULT_CONFIG ")\n"
		   "  -d       debug log lines\n"
		   "  -s       log to syslog instead of stderr\n");
}

/* The checks of a start and a reload (gen_load, as `jgwctl check`):
 * the file, its catalog, and its TLS material with the own-node check. */
static int check_mode(const char *path)
{
	return gen_check_file(path, stdout, stderr);
}

int main(int argc, char **argv)
{
	struct jgwd d = { .conf_path = DEFAULT_CONFIG };
	bool check = false, use_syslog = false;
	int prio = LOG_INFO, c;

	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("jgwd %s\n", JGW_VERSION);
		return 0;
	}
	while ((c = getopt(argc, argv, "c:dnsh")) != -1) {
		switch (c) {
		case 'c': d.conf_path = optarg; break;
		case 'd': prio = LOG_DEBUG; break;
		case 'n': check = true; break;
		case 's': use_syslog = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (check)
		return check_mode(d.conf_path);
	log_init("jgwd", use_syslog, prio);
	{
		char err[256];

		/* Before anything is built on the cryptography: a provider that
		 * gives a wrong answer must not run the gateway. */
		if (selftest_run(err, sizeof(err)) != 0) {
			log_msg(LOG_CRIT, "crypto self-test failed: %s; not starting", err);
			return 1;
		}
		log_info("crypto self-test passed (sha256, hmac-sha256, aes-gcm, ed25519, "
			 "ecdsa-p256)");
	}
	no_core_dumps();
	raise_fd_limit();
	signal(SIGPIPE, SIG_IGN);
	d.loop = ev_default_loop(EVFLAG_AUTO);
	if (!d.loop) {
		log_err("cannot start the event loop");
		return 1;
	}
	ev_signal_init(&d.sig_hup, on_signal, SIGHUP);
	ev_signal_init(&d.sig_term, on_signal, SIGTERM);
	ev_signal_init(&d.sig_int, on_signal, SIGINT);
	d.sig_hup.data = d.sig_term.data = d.sig_int.data = &d;
	ev_signal_start(d.loop, &d.sig_hup);
	ev_signal_start(d.loop, &d.sig_term);
	ev_signal_start(d.loop, &d.sig_int);
	ev_init(&d.wd_timer, on_watchdog);
	ev_init(&d.stop_timer, on_stop_timeout);
	ev_init(&d.quar_timer, jgwd_on_quar_timer);
	d.quar_timer.data = &d;
	if (start(&d) < 0) {
		finish(&d);
		return 1;
	}
	ev_run(d.loop, 0);
	log_info("stopped");
	finish(&d);
	return 0;
}
