/* jgwd_config.c — loading and reloading configurations, the change on
 * trial (reload --confirm) and its revert, and the configuration history
 * (jgwd.h). */
#include <fcntl.h>
#include <sys/stat.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <systemd/sd-daemon.h>

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

/* A `config` record and its line in the configuration history; op is
 * NULL for what nobody asked on the control socket (start, SIGHUP, the
 * revert of an unconfirmed reload). cfg, when given, is kept. */
void jgwd_audit_config(struct jgwd *d, const char *action, const char *sha256,
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
		if (cfg && cfg->ha.enabled && cfg->ha.member)
			audit_rec_str(rec, "member", cfg->ha.member);
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

/* ---- configuration ---- */

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
	struct jgw_config *cfg = cfg_load(d->conf_path, jgwd_first_error, d);
	struct gen *gen;

	if (!cfg) {
		file_sha256(d->conf_path, sha);
		return NULL;
	}
	snprintf(sha, 65, "%s", cfg->sha256);
	gen = gen_new(cfg, generation, jgwd_first_error, d);
	if (!gen)
		cfg_free(cfg);
	return gen;
}

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

	jgwd_fw_commit(d, gen->cfg);
	jgwd_quar_update(d, gen->cfg);
	if (mon_configure(d->mon, gen->cfg, err, sizeof(err)) < 0)
		log_warn("metrics: %s", err);
	if (ha_configure(d->ha, gen, err, sizeof(err)) < 0)
		log_warn("ha: %s", err);
	relay_set_gen(d->relay, gen);
}

static void on_trial_timer(struct ev_loop *loop, ev_timer *w, int revents);

/* Load the file, build its generation and apply its firewall; on any
 * failure the running world stays as it is. 0 on success. */
int jgwd_reload(struct jgwd *d, const struct reload_req *rq, char *why, size_t whylen)
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
		snprintf(err, sizeof(err), "%s",
			 d->last_error[0] ? d->last_error : "configuration invalid");
		goto reject;
	}
	cfg = gen->cfg;
	if (rq->expect_sha && strcmp(rq->expect_sha, cfg->sha256) != 0) {
		snprintf(err, sizeof(err),
			 "%s holds configuration %.12s, not %.12s: the files were "
			 "changed after they were restored", d->conf_path, cfg->sha256,
			 rq->expect_sha);
		goto reject;
	}
	if (!rq->force && rq->op && shuts_out(old->cfg, cfg, rq->op->via)) {
		snprintf(err, sizeof(err), "the new management networks do not admit %s, where "
			 "this session comes from: SSH would be refused (use --force, with "
			 "--confirm so that it comes back by itself)", rq->op->via);
		goto reject;
	}
	if (jgwd_fw_apply(cfg, err, sizeof(err)) < 0)
		goto reject;
	if (old && (old->cfg->lan_listen.len != cfg->lan_listen.len ||
		    memcmp(&old->cfg->lan_listen.ss, &cfg->lan_listen.ss, cfg->lan_listen.len) ||
		    memcmp(&old->cfg->wan_listen.ss, &cfg->wan_listen.ss, cfg->wan_listen.len)))
		log_warn("reload: listener addresses changed; they take effect at the next "
			 "restart");
	if (jgwd_workers(cfg) != relay_workers(d->relay))
		log_warn("reload: workers %u in the file, %u running; the change takes effect at "
			 "the next restart", jgwd_workers(cfg), relay_workers(d->relay));
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
	jgwd_audit_config(d, rq->action, cfg->sha256, d->generation, rq->op, cfg, NULL);
	log_info("configuration %s: generation %llu, sha256 %s%s", rq->action,
		 (unsigned long long)d->generation, cfg->sha256,
		 rq->confirm_s ? " (on trial until confirmed)" : "");
	gen_put(gen);
	sd_notifyf(0, "READY=1\nSTATUS=generation %llu", (unsigned long long)d->generation);
	return 0;
reject:
	if (gen) {
		/* The audit record keeps the configuration that was refused too. */
		jgwd_audit_config(d, "reject", gen->cfg->sha256, d->generation + 1, rq->op,
				  gen->cfg, err);
		gen_put(gen);
	} else {
		jgwd_audit_config(d, "reject", sha, d->generation + 1, rq->op, NULL, err);
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
void jgwd_trial_end(struct jgwd *d)
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
	if (jgwd_fw_apply(prev->cfg, err, sizeof(err)) < 0) {
		/* The kernel refused the table that was in force minutes ago:
		 * keep trying, it is the way back for whoever is shut out. */
		log_msg(LOG_CRIT, "revert of generation %llu: firewall: %s (again in 5 s)",
			 (unsigned long long)d->trial.generation, err);
		jgwd_audit_config(d, "revert", prev->cfg->sha256, prev->generation, &d->trial.op,
				  NULL, err);
		ev_timer_set(&d->trial.timer, 5.0, 0.0);
		ev_timer_start(d->loop, &d->trial.timer);
		return;
	}
	gen_activate(d, prev);
	jgwd_audit_config(d, "revert", prev->cfg->sha256, prev->generation, &d->trial.op, prev->cfg,
			  NULL);
	log_warn("generation %llu was not confirmed in time: generation %llu (sha256 %s) is back "
		 "in force", (unsigned long long)d->trial.generation,
		 (unsigned long long)prev->generation, prev->cfg->sha256);
	jgwd_trial_end(d);
}
