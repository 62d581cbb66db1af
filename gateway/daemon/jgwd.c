/*
 * jgwd.c — the gateway daemon: configuration generations, firewall, audit,
 * control socket, signals, privilege drop; the tunnels are gateway/relay.c.
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
#include "jgw_version.h"

#define DEFAULT_CONFIG "/etc/jgw/jgw.conf"
#define JGWD_VERSION JGW_VERSION

struct jgwd {
	struct ev_loop *loop;
	const char *conf_path;
	struct relay *relay;
	struct audit *audit;
	struct control_server *control;
	struct mon *mon;             /* metrics: HTTP, textfile, `jgwctl metrics` */
	struct nft_log *nflog;
	struct quar *quar;
	struct quar_params quar_params;
	struct quar_expiry *qexp;    /* what we put in the kernel set, until when */
	uint64_t generation;
	/* Firewall state as applied (it may outlive a configuration). */
	bool fw_on;
	char fw_table[64];
	uint16_t fw_group;
	bool keep_on_stop;
	uint32_t q_timeout_s;

	ev_signal sig_hup, sig_term, sig_int;
	ev_io nflog_io;
	ev_timer audit_timer, stats_timer, drop_timer, wd_timer, stop_timer;
	ev_timer quar_timer;         /* at the next quarantine expiry */
	ev_prepare audit_prep;       /* writes the audit batch before the loop waits */
	ev_tstamp started, last_stats;
	uint64_t reloads, reload_rejects, quarantined;
	/* A reload on trial (reload --confirm): the generation it replaced,
	 * put back when no confirm comes before the timer. */
	struct {
		struct gen *prev;         /* a reference; NULL: nothing on trial */
		uint64_t generation;      /* the one on trial */
		char sha[65];
		struct operator op;       /* who asked for it */
		ev_timer timer;
	} trial;
	char history_dir[4096];      /* the configuration history (history.h) */
	bool stopping;
	char last_error[512];
};

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

static void first_error(void *arg, const char *msg)
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

/* A `config` record and its line in the configuration history; op is
 * NULL for what nobody asked on the control socket (start, SIGHUP, the
 * revert of an unconfirmed reload). cfg, when given, is kept. */
static void audit_config(struct jgwd *d, const char *action, const char *sha256,
			 uint64_t generation, const struct operator *op,
			 const struct jgw_config *cfg, const char *error)
{
	struct history_entry h = { .generation = generation, .time_s = (int64_t)time(NULL) };
	struct audit_rec *rec;
	char err[512];

	if (d->audit && (rec = audit_rec_begin(d->audit, "config")) != NULL) {
		audit_rec_str(rec, "action", action);
		if (sha256 && *sha256)
			audit_rec_str(rec, "sha256", sha256);
		if (generation)
			audit_rec_u64(rec, "generation", generation);
		operator_fields(rec, op);
		if (error)
			audit_rec_str(rec, "error", error);
		audit_rec_commit(rec);
	}
	if (!d->history_dir[0] || !sha256 || !*sha256)
		return;
	snprintf(h.sha, sizeof(h.sha), "%s", sha256);
	snprintf(h.operator, sizeof(h.operator), "%s", op ? op->name : "-");
	snprintf(h.action, sizeof(h.action), "%s", action);
	snprintf(h.outcome, sizeof(h.outcome), "%s", error ? "rejected" : "ok");
	if ((cfg && history_keep(d->history_dir, cfg, err, sizeof(err)) != 0) ||
	    history_note(d->history_dir, &h, err, sizeof(err)) != 0)
		log_warn("%s", err);
}

static void audit_quarantine(struct jgwd *d, const struct addr_prefix *addr, const char *peer,
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

#define QEXP_MAX 65536           /* addresses whose end is audited */
#define QEXP_RECHECK_MS 100      /* still in the kernel set when due: look again */

/* Deadlines on the monotonic clock, as the kernel's element timeouts and
 * ev_timer run: a stepped wall clock must not move an expiry. */
static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void quar_timer_arm(struct jgwd *d)
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
static void quar_book(struct jgwd *d, const struct addr_prefix *addr, const char *peer,
		      uint32_t timeout_s)
{
	char a[64];

	if (!quar_expiry_set(d->qexp, addr, peer, timeout_s, mono_ms() + (int64_t)timeout_s * 1000))
		log_warn("quarantine %s: its expiry will not be audited (%zu addresses booked)",
			 addr_prefix_str(addr, a, sizeof(a)), quar_expiry_count(d->qexp));
	quar_timer_arm(d);
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
static void on_quar_timer(struct ev_loop *loop, ev_timer *w, int revents)
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
		audit_quarantine(d, &e.addr, e.peer[0] ? e.peer : NULL, "expire", e.timeout_s, "timeout", NULL);
	}
	quar_timer_arm(d);
}

/* The table went, and its quarantine set with it: every booked address is
 * released now, not at its deadline. */
static void quar_release_all(struct jgwd *d, const char *cause)
{
	struct quar_expired e;

	while (quar_expiry_take(d->qexp, INT64_MAX, &e))
		audit_quarantine(d, &e.addr, e.peer[0] ? e.peer : NULL, "remove", 0, cause, NULL);
	quar_timer_arm(d);
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
	quar_timer_arm(d);
}

/* ---- firewall ---- */

static int firewall_apply(const struct jgw_config *cfg, char *err, size_t errlen)
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
static void firewall_commit(struct jgwd *d, const struct jgw_config *cfg)
{
	char err[256];
	bool new_table = cfg->firewall.enabled &&
			 (!d->fw_on || strcmp(d->fw_table, cfg->firewall.table) != 0);

	if (d->fw_on && (!cfg->firewall.enabled || strcmp(d->fw_table, cfg->firewall.table) != 0)) {
		/* The new table carried over only a quarantine of its own name. */
		if (nft_table_delete(d->fw_table, err, sizeof(err)) < 0)
			log_warn("removing the previous table %s: %s", d->fw_table, err);
		else
			quar_release_all(d, "table-removed");
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

static void on_drop(void *arg, const struct nft_drop *drop)
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

static void on_drop_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct jgwd *d = w->data;

	(void)loop;
	(void)revents;
	if (d->nflog)
		nft_log_flush(d->nflog, on_drop, d);
}

/* ---- relay hooks ---- */

static void on_failure(void *arg, const struct sockaddr *src, bool lan, const char *peer,
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
	audit_quarantine(d, &addr, peer, "add", d->q_timeout_s, cause, NULL);
	quar_book(d, &addr, peer, d->q_timeout_s);
}

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

/* ---- configuration ---- */

#define QUAR_CAPACITY 4096

/* A new failure table only when its parameters change: a reload does not
 * forgive the failures counted so far. */
static void quar_update(struct jgwd *d, const struct jgw_config *cfg)
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

#define CONF_HASH_MAX ((off_t)64 << 20)    /* cfg_load reads no more */

/* sha256 (hex) of a file's bytes as they are now, for the record of a file
 * that did not parse: cfg_load gives no digest then. "" when it cannot be
 * read, or is not a regular file of at most 64 MiB. */
static void file_sha256(const char *path, char out[65])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char buf[16384], dig[32];
	struct stat st;
	off_t total = 0;
	ssize_t n = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);   /* a FIFO must not hang us */

	out[0] = '\0';
	if (fd < 0 || !md || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto out;
	while ((n = read(fd, buf, sizeof(buf))) > 0 && (total += n) <= CONF_HASH_MAX)
		EVP_DigestUpdate(md, buf, (size_t)n);
	if (n == 0 && EVP_DigestFinal_ex(md, dig, NULL) == 1)
		for (int i = 0; i < 32; i++)
			snprintf(out + 2 * i, 3, "%02x", dig[i]);
out:
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(md);
}

/* gen_load's two steps, apart, so that the sha256 of a rejected file
 * is known: the configuration's own (top file and includes) once it
 * parsed, else the top file's bytes. */
static struct gen *load_checked(struct jgwd *d, uint64_t generation, char sha[65])
{
	struct jgw_config *cfg = cfg_load(d->conf_path, first_error, d);
	struct gen *gen;

	if (!cfg) {
		file_sha256(d->conf_path, sha);
		return NULL;
	}
	snprintf(sha, 65, "%s", cfg->sha256);
	gen = gen_new(cfg, generation, first_error, d);
	if (!gen)
		cfg_free(cfg);
	return gen;
}

/* What asked for a reload, and how. */
struct reload_req {
	const char *action;            /* "reload" or "rollback" */
	const struct operator *op;     /* NULL: SIGHUP */
	const char *expect_sha;        /* rollback: the configuration it must be */
	uint32_t confirm_s;            /* > 0: on trial until `confirm` */
	bool force;                    /* even if it shuts out the caller's SSH */
};

/* Would the new management rules refuse the SSH client the caller came
 * from, that the rules in force admit? Only a firewall that filters SSH
 * can shut anyone out; a `via` that is not an address decides nothing. */
static bool admits_ssh(const struct jgw_config *cfg, const struct addr_prefix *host)
{
	if (!cfg->firewall.enabled || !cfg->ssh_port)
		return true;
	for (size_t i = 0; i < cfg->n_mgmt; i++)
		if (addr_contains(&cfg->mgmt[i], host))
			return true;
	return false;
}

static bool shuts_out(const struct jgw_config *old, const struct jgw_config *cfg, const char *via)
{
	struct addr_prefix self;

	if (!via || !*via || !addr_prefix_parse(via, &self))
		return false;
	return admits_ssh(old, &self) && !admits_ssh(cfg, &self);
}

/* Make gen current: its firewall table is in the kernel already. */
static void gen_activate(struct jgwd *d, struct gen *gen)
{
	char err[256];

	firewall_commit(d, gen->cfg);
	quar_update(d, gen->cfg);
	if (mon_configure(d->mon, gen->cfg, err, sizeof(err)) < 0)
		log_warn("metrics: %s", err);
	relay_set_gen(d->relay, gen);
}

static void on_trial_timer(struct ev_loop *loop, ev_timer *w, int revents);

/* Load the file, build its generation and apply its firewall; on any
 * failure the running world stays as it is. 0 on success. */
static int reload(struct jgwd *d, const struct reload_req *rq, char *why, size_t whylen)
{
	const struct gen *old = relay_current(d->relay);
	struct jgw_config *cfg;
	struct gen *gen = NULL;
	char err[512], sha[65] = "";

	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
		   (unsigned long long)(ev_time() * 1e6));
	d->last_error[0] = '\0';
	if (d->trial.prev) {
		snprintf(err, sizeof(err), "generation %llu awaits `jgwctl confirm' (or its revert "
			 "in %.0f s): one change on trial at a time",
			 (unsigned long long)d->trial.generation,
			 ev_timer_remaining(d->loop, &d->trial.timer));
		goto reject;
	}
	gen = load_checked(d, d->generation + 1, sha);
	if (!gen) {
		snprintf(err, sizeof(err), "%s", d->last_error[0] ? d->last_error : "configuration invalid");
		goto reject;
	}
	cfg = gen->cfg;
	if (rq->expect_sha && strcmp(rq->expect_sha, cfg->sha256) != 0) {
		snprintf(err, sizeof(err), "%s holds configuration %.12s, not %.12s: the files were "
			 "changed after they were restored", d->conf_path, cfg->sha256, rq->expect_sha);
		goto reject;
	}
	if (!rq->force && rq->op && shuts_out(old->cfg, cfg, rq->op->via)) {
		snprintf(err, sizeof(err), "the new management networks do not admit %s, where "
			 "this session comes from: SSH would be refused (use --force, with "
			 "--confirm so that it comes back by itself)", rq->op->via);
		goto reject;
	}
	if (firewall_apply(cfg, err, sizeof(err)) < 0)
		goto reject;
	if (old && (old->cfg->lan_listen.len != cfg->lan_listen.len ||
		    memcmp(&old->cfg->lan_listen.ss, &cfg->lan_listen.ss, cfg->lan_listen.len) ||
		    memcmp(&old->cfg->wan_listen.ss, &cfg->wan_listen.ss, cfg->wan_listen.len)))
		log_warn("reload: listener addresses changed; they take effect at the next restart");
	d->generation++;
	if (rq->confirm_s) {
		d->trial.prev = gen_hold(old);
		d->trial.generation = d->generation;
		snprintf(d->trial.sha, sizeof(d->trial.sha), "%s", cfg->sha256);
		if (rq->op)
			d->trial.op = *rq->op;
		ev_timer_init(&d->trial.timer, on_trial_timer, rq->confirm_s, 0.0);
		d->trial.timer.data = d;
		ev_timer_start(d->loop, &d->trial.timer);
	}
	gen_activate(d, gen);
	d->reloads++;
	audit_config(d, rq->action, cfg->sha256, d->generation, rq->op, cfg, NULL);
	log_info("configuration %s: generation %llu, sha256 %s%s", rq->action,
		 (unsigned long long)d->generation, cfg->sha256,
		 rq->confirm_s ? " (on trial until confirmed)" : "");
	gen_put(gen);
	sd_notifyf(0, "READY=1\nSTATUS=generation %llu", (unsigned long long)d->generation);
	return 0;
reject:
	if (gen) {
		/* The audit record keeps the configuration that was refused too. */
		audit_config(d, "reject", gen->cfg->sha256, d->generation + 1, rq->op, gen->cfg, err);
		gen_put(gen);
	} else {
		audit_config(d, "reject", sha, d->generation + 1, rq->op, NULL, err);
	}
	d->reload_rejects++;
	log_err("%s rejected, generation %llu stays: %s", rq->action,
		(unsigned long long)relay_current(d->relay)->generation, err);
	snprintf(why, whylen, "%s", err);
	sd_notifyf(0, "READY=1\nSTATUS=%s rejected; generation %llu", rq->action,
		   (unsigned long long)relay_current(d->relay)->generation);
	return -1;
}

/* The reload on trial is kept: nothing to put back any more. */
static void trial_end(struct jgwd *d)
{
	ev_timer_stop(d->loop, &d->trial.timer);
	gen_put(d->trial.prev);
	d->trial.prev = NULL;
}

/* No confirm in time: the previous generation (configuration, TLS
 * contexts, firewall table) is in force again, as it was. */
static void on_trial_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct jgwd *d = w->data;
	struct gen *prev = d->trial.prev;
	char err[512];

	(void)loop;
	(void)revents;
	if (firewall_apply(prev->cfg, err, sizeof(err)) < 0) {
		/* The kernel refused the table that was in force minutes ago:
		 * keep trying, it is the way back for whoever is shut out. */
		log_msg(LOG_CRIT, "revert of generation %llu: firewall: %s (again in 5 s)",
			 (unsigned long long)d->trial.generation, err);
		audit_config(d, "revert", prev->cfg->sha256, prev->generation, &d->trial.op, NULL, err);
		ev_timer_set(&d->trial.timer, 5.0, 0.0);
		ev_timer_start(d->loop, &d->trial.timer);
		return;
	}
	gen_activate(d, prev);
	audit_config(d, "revert", prev->cfg->sha256, prev->generation, &d->trial.op, prev->cfg, NULL);
	log_warn("generation %llu was not confirmed in time: generation %llu (sha256 %s) is back "
		 "in force", (unsigned long long)d->trial.generation,
		 (unsigned long long)prev->generation, prev->cfg->sha256);
	trial_end(d);
}

/* ---- control commands ---- */

/* The audit's alarms that need a person: the key file cannot be stored
 * (the epoch does not advance), or the spool writes nothing until a
 * restart. In status and stats alike. */
static void audit_flags(struct control_reply *rep, const struct audit_stats *as)
{
	control_reply_bool(rep, "audit_key_alarm", as->key_alarm);
	control_reply_bool(rep, "audit_spool_broken", as->spool_broken);
	control_reply_bool(rep, "audit_write_failing", as->write_failing);
	control_reply_u64(rep, "audit_held", as->held);
	control_reply_u64(rep, "audit_lost", as->lost);
}

static void cmd_status(struct jgwd *d, const struct control_req *req, struct control_reply *rep)
{
	const struct gen *gen = relay_current(d->relay);
	struct relay_stats rs;
	struct audit_stats as = { 0 };

	relay_get_stats(d->relay, &rs);
	if (d->audit)
		audit_get_stats(d->audit, &as);
	control_reply_begin(rep, req->json);
	control_reply_str(rep, "version", JGWD_VERSION);
	control_reply_i64(rep, "pid", (int64_t)getpid());
	control_reply_str(rep, "site", gen->cfg->site);
	control_reply_str(rep, "config", gen->cfg->path ? gen->cfg->path : d->conf_path);
	control_reply_str(rep, "config_sha256", gen->cfg->sha256);
	control_reply_u64(rep, "generation", gen->generation);
	control_reply_u64(rep, "trial_generation", d->trial.prev ? d->trial.generation : 0);
	control_reply_i64(rep, "trial_remaining_s", d->trial.prev ?
			  (int64_t)(ev_timer_remaining(d->loop, &d->trial.timer) + 0.999) : 0);
	control_reply_i64(rep, "uptime_s", (int64_t)(ev_now(d->loop) - d->started));
	control_reply_u64(rep, "tunnels", rs.tunnels_open);
	control_reply_u64(rep, "tunnels_egress", rs.egress_open);
	control_reply_u64(rep, "tunnels_ingress", rs.ingress_open);
	control_reply_u64(rep, "peers_configured", gen->cfg->n_peers);
	control_reply_str(rep, "firewall", d->fw_on ? d->fw_table : "off");
	control_reply_u64(rep, "reloads", d->reloads);
	control_reply_u64(rep, "reload_rejects", d->reload_rejects);
	control_reply_i64(rep, "crl_remaining_s", tls_ctx_crl_remaining(gen->tls, (int64_t)time(NULL)));
	control_reply_u64(rep, "audit_last_seq", as.last_seq);
	control_reply_u64(rep, "audit_mirrored_seq", as.mirrored_seq);
	control_reply_str(rep, "audit_collector", !gen->cfg->audit.has_collector ? "none" :
			  as.collector_up ? "up" : "down");
	control_reply_str(rep, "audit_disk", as.disk_full ? "full" : as.disk_alarm ? "alarm" : "ok");
	/* Retention, forecast and clock (docs/audit.md: Retention, Time). */
	control_reply_u64(rep, "audit_disk_pct", as.disk_pct);
	control_reply_u64(rep, "audit_spool_files", as.spool_files);
	control_reply_u64(rep, "audit_spool_disk_bytes", as.spool_disk_bytes);
	control_reply_u64(rep, "audit_oldest_seq", as.oldest_seq);
	control_reply_u64(rep, "audit_mirror_lag", as.last_seq - (as.mirrored_seq < as.last_seq ?
								     as.mirrored_seq : as.last_seq));
	control_reply_i64(rep, "audit_forecast_s", as.forecast_s);
	control_reply_str(rep, "audit_forecast_alarm", as.forecast_alarm ? "yes" : "no");
	control_reply_str(rep, "time_sync", as.time_synced ? "yes" : "no");
	control_reply_i64(rep, "time_offset_us", as.time_offset_us);
	control_reply_u64(rep, "time_maxerror_us", as.time_maxerror_us);
	control_reply_u64(rep, "time_steps", as.time_steps);
	audit_flags(rep, &as);
	control_reply_end(rep);
}

static void print_counter(void *arg, const char *name, uint64_t packets, uint64_t bytes)
{
	struct control_reply *rep = arg;
	char key[96];

	snprintf(key, sizeof(key), "nft_%s_packets", name);
	control_reply_u64(rep, key, packets);
	snprintf(key, sizeof(key), "nft_%s_bytes", name);
	control_reply_u64(rep, key, bytes);
}

static void cmd_stats(struct jgwd *d, const struct control_req *req, struct control_reply *rep)
{
	struct relay_stats rs;
	struct audit_stats as = { 0 };
	char err[256];

	relay_get_stats(d->relay, &rs);
	if (d->audit)
		audit_get_stats(d->audit, &as);
	control_reply_begin(rep, req->json);
	control_reply_u64(rep, "tunnels_open", rs.tunnels_open);
	control_reply_u64(rep, "tunnels_opened", rs.tunnels_total);
	control_reply_u64(rep, "tunnels_rejected", rs.tunnels_rejected);
	control_reply_u64(rep, "frames_allowed", rs.frames_allowed);
	control_reply_u64(rep, "frames_denied", rs.frames_denied);
	control_reply_u64(rep, "bytes_allowed", rs.bytes_allowed);
	control_reply_u64(rep, "bytes_denied", rs.bytes_denied);
	control_reply_u64(rep, "bytes_in", rs.bytes_in);
	control_reply_u64(rep, "bytes_out", rs.bytes_out);
	control_reply_u64(rep, "buffered_bytes", rs.buffered_bytes);
	control_reply_u64(rep, "quarantined", d->quarantined);
	control_reply_u64(rep, "audit_records", as.records);
	control_reply_u64(rep, "audit_spool_bytes", as.spool_bytes);
	audit_flags(rep, &as);
	if (d->nflog)
		control_reply_u64(rep, "nflog_overruns", nft_log_overruns(d->nflog));
	if (d->fw_on && nft_counters(d->fw_table, print_counter, rep, err, sizeof(err)) < 0)
		control_reply_str(rep, "nft_counters_error", err);
	control_reply_end(rep);
}

struct peers_ctx {
	struct control_reply *rep;
	bool json;
};

static void print_tunnel(void *arg, const struct relay_tunnel_info *info)
{
	struct peers_ctx *pc = arg;

	control_reply_begin_line(pc->rep, pc->json);
	control_reply_u64(pc->rep, "tunnel", info->id);
	control_reply_str(pc->rep, "side", info->side);
	control_reply_str(pc->rep, "state", info->state);
	control_reply_str(pc->rep, "peer", info->peer[0] ? info->peer : "-");
	control_reply_str(pc->rep, "addr", info->peer_addr);
	control_reply_u64(pc->rep, "generation", info->generation);
	control_reply_u64(pc->rep, "bytes_in", info->bytes_in);
	control_reply_u64(pc->rep, "bytes_out", info->bytes_out);
	control_reply_u64(pc->rep, "frames_in", info->frames_in);
	control_reply_u64(pc->rep, "frames_out", info->frames_out);
	control_reply_i64(pc->rep, "age_ms", info->age_ms);
	control_reply_end(pc->rep);
}

/* One line (object) per configured address of a peer: the last tunnel
 * that opened there and the last that failed (0 and "-": none yet). */
static void print_address(struct jgwd *d, const char *node, const struct sockaddr *sa,
			  struct control_reply *rep, bool json)
{
	const struct relay_addr_slot *s = relay_peer_addr(d->relay, node, sa);
	char a[80];

	control_reply_begin_line(rep, json);
	control_reply_str(rep, "address", addr_sockaddr_str(sa, a, sizeof(a)));
	control_reply_str(rep, "peer", node);
	control_reply_i64(rep, "last_success", s ? s->ok_s : 0);
	control_reply_str(rep, "last_success_side", s && s->ok_s ? (s->ok_ingress ? "wan" : "lan") : "-");
	control_reply_i64(rep, "last_error", s ? s->err_s : 0);
	control_reply_str(rep, "last_error_side", s && s->err_s ? (s->err_ingress ? "wan" : "lan") : "-");
	control_reply_str(rep, "last_error_reason", s && s->err_reason ? s->err_reason : "-");
	control_reply_end(rep);
}

/* Peers × tunnels would be millions of steps at a 機構 site: the relay keeps
 * per-peer counts. */
static void cmd_peers(struct jgwd *d, const struct control_req *req, struct control_reply *rep)
{
	const struct jgw_config *cfg = relay_current(d->relay)->cfg;
	struct peers_ctx pc = { rep, req->json };

	for (size_t i = 0; i < cfg->n_peers; i++) {
		const struct cfg_peer *p = &cfg->peers[i];
		char a[80];

		control_reply_begin_line(rep, req->json);
		control_reply_str(rep, "peer", p->node);
		control_reply_str(rep, "role", node_role_name(node_role((const uint8_t *)p->node)));
		control_reply_u64(rep, "tunnels", relay_peer_tunnels(d->relay, p->node));
		control_reply_str(rep, "addr", p->n_addrs ?
				  addr_sockaddr_str((const struct sockaddr *)&p->addrs[0].ss, a, sizeof(a)) : "-");
		control_reply_u64(rep, "addrs", p->n_addrs);
		control_reply_end(rep);
		for (size_t k = 0; k < p->n_addrs; k++)
			print_address(d, p->node, (const struct sockaddr *)&p->addrs[k].ss, rep, req->json);
	}
	relay_foreach(d->relay, print_tunnel, &pc);
}

static void cmd_version(const struct control_req *req, struct control_reply *rep)
{
	control_reply_begin(rep, req->json);
	control_reply_str(rep, "version", JGWD_VERSION);
	control_reply_str(rep, "openssl", OpenSSL_version(OPENSSL_VERSION));
	control_reply_end(rep);
}

static void print_quarantined(void *arg, const struct addr_prefix *addr, uint64_t expires_ms)
{
	char a[64];

	control_reply_line(arg, "quarantined %s expires_s %llu", addr_prefix_str(addr, a, sizeof(a)),
			   (unsigned long long)((expires_ms + 999) / 1000));
}

static void cmd_quarantine(struct jgwd *d, const struct control_req *req, const struct operator *op,
			   struct control_reply *rep)
{
	char err[256], a[64];
	uint32_t timeout = req->timeout_s ? req->timeout_s : d->q_timeout_s;

	if (!d->fw_on) {
		control_reply_error(rep, "the firewall is not enabled in the configuration");
		return;
	}
	switch (req->cmd) {
	case CONTROL_QUAR_LIST:
		if (nft_quarantine_list(d->fw_table, print_quarantined, rep, err, sizeof(err)) < 0)
			control_reply_error(rep, "%s", err);
		return;
	case CONTROL_QUAR_ADD:
		if (nft_quarantine_add(d->fw_table, &req->addr, timeout, err, sizeof(err)) < 0) {
			control_reply_error(rep, "%s", err);
			return;
		}
		audit_quarantine(d, &req->addr, NULL, "add", timeout, "manual", op);
		quar_book(d, &req->addr, NULL, timeout);
		log_info("quarantine add %s for %u s by %s", addr_prefix_str(&req->addr, a, sizeof(a)),
			 timeout, op->name);
		return;
	default:
		if (nft_quarantine_del(d->fw_table, &req->addr, err, sizeof(err)) < 0) {
			control_reply_error(rep, "%s", err);
			return;
		}
		if (d->quar)
			quar_forget(d->quar, &req->addr);
		/* Its end is this removal, not a later expiry. */
		if (quar_expiry_drop(d->qexp, &req->addr))
			quar_timer_arm(d);
		audit_quarantine(d, &req->addr, NULL, "remove", 0, "manual", op);
		log_info("quarantine del %s by %s", addr_prefix_str(&req->addr, a, sizeof(a)), op->name);
		return;
	}
}

static void cmd_reload(struct jgwd *d, const struct control_req *req, const struct operator *op,
		       struct control_reply *rep)
{
	struct reload_req rq = { .action = "reload", .op = op, .confirm_s = req->confirm_s,
				 .force = req->force };
	char why[512], sha[65];

	if (req->cmd == CONTROL_ROLLBACK) {
		if (history_resolve(d->history_dir, req->ref, sha, why, sizeof(why)) != 0) {
			control_reply_error(rep, "rollback: %s", why);
			return;
		}
		rq.action = "rollback";
		rq.expect_sha = sha;
	}
	if (reload(d, &rq, why, sizeof(why)) < 0) {
		control_reply_error(rep, "%s rejected: %s", rq.action, why);
		return;
	}
	control_reply_begin(rep, req->json);
	control_reply_u64(rep, "generation", d->generation);
	control_reply_str(rep, "config_sha256", relay_current(d->relay)->cfg->sha256);
	if (req->confirm_s)
		control_reply_u64(rep, "reverts_in_s", req->confirm_s);
	control_reply_end(rep);
}

static void cmd_confirm(struct jgwd *d, const struct operator *op, struct control_reply *rep)
{
	const struct gen *gen = relay_current(d->relay);

	if (!d->trial.prev) {
		control_reply_error(rep, "nothing awaits confirmation");
		return;
	}
	trial_end(d);
	audit_config(d, "confirm", gen->cfg->sha256, gen->generation, op, NULL, NULL);
	log_info("generation %llu confirmed by %s", (unsigned long long)gen->generation, op->name);
	control_reply_line(rep, "generation %llu confirmed", (unsigned long long)gen->generation);
}

static void print_history(void *arg, const struct history_entry *e)
{
	const struct control_req *req = ((void **)arg)[0];
	struct control_reply *rep = ((void **)arg)[1];

	control_reply_begin_line(rep, req->json);
	control_reply_u64(rep, "generation", e->generation);
	control_reply_i64(rep, "time", e->time_s);
	control_reply_str(rep, "sha256", e->sha);
	control_reply_str(rep, "operator", e->operator);
	control_reply_str(rep, "action", e->action);
	control_reply_str(rep, "outcome", e->outcome);
	control_reply_end(rep);
}

/* A configuration's files as lines: "file PATH BYTES", then its text, each
 * line after "> " and cut after CHUNK bytes into "+ " continuations (a
 * reply line has a bound); jgwctl puts them back and checks BYTES. */
#define SHOW_CHUNK 900
static void print_file(void *arg, const char *path, const char *data, size_t len)
{
	struct control_reply *rep = arg;
	size_t i = 0;

	control_reply_line(rep, "file %s %zu", path, len);
	while (i < len) {
		size_t eol = i;

		while (eol < len && data[eol] != '\n')
			eol++;
		for (size_t at = i; at == i || at < eol; at += SHOW_CHUNK) {
			size_t n = eol - at < SHOW_CHUNK ? eol - at : SHOW_CHUNK;

			control_reply_line(rep, "%s%.*s", at == i ? "> " : "+ ", (int)n, data + at);
		}
		i = eol + 1;
	}
}

static void cmd_history(struct jgwd *d, const struct control_req *req, struct control_reply *rep)
{
	char err[512], sha[65];
	const void *ctx[2] = { req, rep };

	if (req->cmd == CONTROL_HISTORY) {
		if (history_list(d->history_dir, print_history, (void *)ctx, err, sizeof(err)) != 0)
			control_reply_error(rep, "%s", err);
		return;
	}
	if (history_resolve(d->history_dir, req->ref, sha, err, sizeof(err)) != 0) {
		control_reply_error(rep, "%s", err);
		return;
	}
	control_reply_line(rep, "config %s", sha);
	if (history_files(d->history_dir, sha, print_file, rep, err, sizeof(err)) != 0)
		control_reply_error(rep, "%s", err);
}

static void cmd_tunnel_close(struct jgwd *d, const struct control_req *req, const struct operator *op,
			     struct control_reply *rep)
{
	if (!relay_close(d->relay, req->id, "operator-closed")) {
		control_reply_error(rep, "no tunnel %llu", (unsigned long long)req->id);
		return;
	}
	log_info("tunnel %llu closed by %s", (unsigned long long)req->id, op->name);
}

static void cmd_audit_epoch(struct jgwd *d, const struct operator *op, struct control_reply *rep)
{
	struct audit_stats as;

	if (audit_epoch_now(d->audit) != 0) {
		control_reply_error(rep, "the audit epoch could not move on (see the log; key_alarm "
				    "in status)");
		return;
	}
	audit_get_stats(d->audit, &as);
	log_info("audit key epoch %u begun by %s", as.epoch, op->name);
	control_reply_line(rep, "epoch %u", as.epoch);
}

/* What the system says for the audit trail: sshd's sessions (through
 * jgw-sessions), accounts made or removed (jgw-operator). Root only: an
 * operator must not be able to write the record of their own login. */
static void cmd_note(struct jgwd *d, const struct control_req *req, const struct operator *op,
		     struct control_reply *rep)
{
	struct audit_rec *rec;
	char a[64];
	bool session = req->cmd == CONTROL_SESSION;

	if (!op->known || op->uid != 0) {
		operator_record(d->audit, op, control_cmd_name(req->cmd), "refused",
				"only root may send notes for the audit trail");
		control_reply_error(rep, "only root may send %s notes", control_cmd_name(req->cmd));
		return;
	}
	if (!d->audit || !(rec = audit_rec_begin(d->audit, session ? "session" : "admin"))) {
		control_reply_error(rep, "no audit record could be written");
		return;
	}
	if (session) {
		audit_rec_str(rec, "action", req->action);
		audit_rec_str(rec, "user", req->name);
		audit_rec_str(rec, "addr", addr_prefix_str(&req->addr, a, sizeof(a)));
		audit_rec_u64(rec, "port", req->port);
		audit_rec_str(rec, "service", "ssh");
	} else {
		snprintf(a, sizeof(a), "account %s", req->action);
		audit_rec_str(rec, "action", a);
		audit_rec_str(rec, "account", req->name);
		audit_rec_str(rec, "role", req->role);
		operator_fields(rec, op);
		audit_rec_str(rec, "outcome", "ok");
	}
	audit_rec_commit(rec);
}

/* The verb, with the caller's right to it checked and, when it changes
 * state, its admin record: refused, failed or done. */
static void on_control(void *arg, const struct control_req *req, const struct control_caller *caller,
		       struct control_reply *rep)
{
	struct jgwd *d = arg;
	struct operator op;
	char why[256];

	if (d->stopping) {
		control_reply_error(rep, "stopping");
		return;
	}
	operator_of(caller, req, &op);
	if (control_root_only(req->cmd)) {
		cmd_note(d, req, &op, rep);
		return;
	}
	if (control_changes_state(req->cmd) &&
	    !operator_may_change(&op, relay_current(d->relay)->cfg->control_admin_group,
				 why, sizeof(why))) {
		operator_record(d->audit, &op, control_cmd_name(req->cmd), "refused", why);
		log_warn("%s refused: %s", control_cmd_name(req->cmd), why);
		control_reply_error(rep, "%s", why);
		return;
	}
	switch (req->cmd) {
	case CONTROL_STATUS: cmd_status(d, req, rep); break;
	case CONTROL_STATS: cmd_stats(d, req, rep); break;
	case CONTROL_PEERS: cmd_peers(d, req, rep); break;
	case CONTROL_VERSION: cmd_version(req, rep); break;
	case CONTROL_METRICS: mon_reply(d->mon, rep); break;
	case CONTROL_HISTORY:
	case CONTROL_SHOW: cmd_history(d, req, rep); break;
	case CONTROL_RELOAD:
	case CONTROL_ROLLBACK: cmd_reload(d, req, &op, rep); break;
	case CONTROL_CONFIRM: cmd_confirm(d, &op, rep); break;
	case CONTROL_TUNNEL_CLOSE: cmd_tunnel_close(d, req, &op, rep); break;
	case CONTROL_QUAR_LIST:
	case CONTROL_QUAR_ADD:
	case CONTROL_QUAR_DEL: cmd_quarantine(d, req, &op, rep); break;
	case CONTROL_AUDIT_EPOCH: cmd_audit_epoch(d, &op, rep); break;
	case CONTROL_SESSION:
	case CONTROL_ACCOUNT: break;   /* above */
	}
	if (control_changes_state(req->cmd))
		operator_record(d->audit, &op, control_cmd_name(req->cmd),
				control_reply_failed(rep) ? "error" : "ok", control_reply_message(rep));
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
			(void)reload(d, &rq, why, sizeof(why));
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
			first_error(d, msg);
			return -1;
		}
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
	}
	if (cfg->group) {
		struct group *gr = getgrnam(cfg->group);

		if (!gr) {
			snprintf(msg, sizeof(msg), "group %s: no such group", cfg->group);
			first_error(d, msg);
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
		int bounding = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP) ? CAPNG_CLEAR_BOUNDING : 0;

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
	struct audit_params ap = {
		.gw = cfg->site,
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
	struct audit *a = audit_open(&ap, err, sizeof(err));

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
		.failure = on_failure, .stopped = on_stopped, .admit = on_admit, .arg = d,
	};
	struct jgw_config *cfg;
	struct gen *gen;
	char err[512];
	uid_t uid;
	gid_t gid;
	int wd;
	uint64_t wd_usec = 0;

	d->qexp = quar_expiry_new(QEXP_MAX);
	if (!d->qexp) {
		log_err("out of memory");
		return -1;
	}
	d->last_error[0] = '\0';
	cfg = cfg_load(d->conf_path, first_error, d);
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
		audit_config(d, "reject", cfg->sha256, 1, NULL, cfg, d->last_error);
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
	gen = gen_new(cfg, d->generation, first_error, d);
	if (!gen) {
		audit_config(d, "reject", cfg->sha256, 1, NULL, cfg, d->last_error[0] ? d->last_error : "TLS context");
		log_err("configuration %s invalid; not starting", d->conf_path);
		cfg_free(cfg);
		return -1;
	}
	if (firewall_apply(cfg, err, sizeof(err)) < 0) {
		log_err("firewall: %s", err);
		audit_config(d, "reject", cfg->sha256, 1, NULL, cfg, err);
		gen_put(gen);
		return -1;
	}
	firewall_commit(d, cfg);
	quar_update(d, cfg);
	d->relay = relay_new(d->loop, d->audit, &hooks);
	if (!d->relay || relay_listen(d->relay, cfg, err, sizeof(err)) < 0) {
		log_err("%s", d->relay ? err : "out of memory");
		gen_put(gen);
		return -1;
	}
	d->control = control_server_new(d->loop, cfg->control_path, uid, control_gid(cfg, gid),
					on_control, d, err, sizeof(err));
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
	audit_config(d, "load", cfg->sha256, 1, NULL, cfg, NULL);
	gen_put(gen);
	log_info("jgwd %s started: site %s, %zu peers, generation 1, sha256 %s", JGWD_VERSION,
		 cfg->site, cfg->n_peers, cfg->sha256);

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
	ev_timer_init(&d->drop_timer, on_drop_timer, 0.0,
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

		audit_config(d, "abandon", gen->cfg->sha256, gen->generation, &d->trial.op, NULL, NULL);
		log_warn("stopping with generation %llu unconfirmed: the next start loads the file as it is",
			 (unsigned long long)gen->generation);
		trial_end(d);
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
		nft_log_flush(d->nflog, on_drop, d);
		nft_log_close(d->nflog);
		d->nflog = NULL;
	}
	relay_free(d->relay);
	if (d->fw_on && !d->keep_on_stop) {
		if (nft_table_delete(d->fw_table, err, sizeof(err)) < 0) {
			log_warn("removing table %s: %s", d->fw_table, err);
		} else {
			log_info("firewall table %s removed (keep-on-stop off)", d->fw_table);
			quar_release_all(d, "table-removed");
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
		log_info("crypto self-test passed (sha256, hmac-sha256, aes-gcm, ed25519, ecdsa-p256)");
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
	ev_init(&d.quar_timer, on_quar_timer);
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
