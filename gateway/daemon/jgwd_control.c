/* jgwd_control.c — the control socket's commands: who may ask what, the
 * answers (text or JSON), and the admin record of every change (jgwd.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

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
	control_reply_u64(rep, "workers", relay_workers(d->relay));
	control_reply_u64(rep, "tunnels", rs.tunnels_open);
	control_reply_u64(rep, "tunnels_egress", rs.egress_open);
	control_reply_u64(rep, "tunnels_ingress", rs.ingress_open);
	control_reply_u64(rep, "peers_configured", gen->cfg->n_peers);
	control_reply_str(rep, "firewall", d->fw_on ? d->fw_table : "off");
	control_reply_u64(rep, "reloads", d->reloads);
	control_reply_u64(rep, "reload_rejects", d->reload_rejects);
	control_reply_i64(rep, "crl_remaining_s", tls_ctx_crl_remaining(gen->tls,
									(int64_t)time(NULL)));
	control_reply_u64(rep, "audit_last_seq", as.last_seq);
	control_reply_u64(rep, "audit_mirrored_seq", as.mirrored_seq);
	control_reply_str(rep, "audit_collector", !gen->cfg->audit.has_collector ? "none" :
			  as.collector_up ? "up" : "down");
	control_reply_str(rep, "audit_disk",
			  as.disk_full ? "full" : as.disk_alarm ? "alarm" : "ok");
	/* Retention, forecast and clock (docs/audit.md: Retention, Time). */
	control_reply_u64(rep, "audit_disk_pct", as.disk_pct);
	control_reply_u64(rep, "audit_spool_files", as.spool_files);
	control_reply_u64(rep, "audit_spool_disk_bytes", as.spool_disk_bytes);
	control_reply_u64(rep, "audit_oldest_seq", as.oldest_seq);
	control_reply_u64(rep, "audit_mirror_lag",
			  as.last_seq - (as.mirrored_seq < as.last_seq ? as.mirrored_seq : as.last_seq));
	control_reply_i64(rep, "audit_forecast_s", as.forecast_s);
	control_reply_bool(rep, "audit_forecast_alarm", as.forecast_alarm);
	control_reply_bool(rep, "time_sync", as.time_synced);
	control_reply_i64(rep, "time_offset_us", as.time_offset_us);
	control_reply_u64(rep, "time_maxerror_us", as.time_maxerror_us);
	control_reply_u64(rep, "time_steps", as.time_steps);
	ha_status(d->ha, rep);
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
	control_reply_u64(pc->rep, "worker", info->worker);
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
	struct relay_addr_slot slot;
	const struct relay_addr_slot *s = relay_peer_addr(d->relay, node, sa, &slot) ? &slot : NULL;
	char a[80];

	control_reply_begin_line(rep, json);
	control_reply_str(rep, "address", addr_sockaddr_str(sa, a, sizeof(a)));
	control_reply_str(rep, "peer", node);
	control_reply_i64(rep, "last_success", s ? s->ok_s : 0);
	control_reply_str(rep, "last_success_side",
			  s && s->ok_s ? (s->ok_ingress ? "wan" : "lan") : "-");
	control_reply_i64(rep, "last_error", s ? s->err_s : 0);
	control_reply_str(rep, "last_error_side",
			  s && s->err_s ? (s->err_ingress ? "wan" : "lan") : "-");
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
				  addr_sockaddr_str((const struct sockaddr *)&p->addrs[0].ss, a,
						    sizeof(a)) : "-");
		control_reply_u64(rep, "addrs", p->n_addrs);
		control_reply_end(rep);
		for (size_t k = 0; k < p->n_addrs; k++)
			print_address(d, p->node, (const struct sockaddr *)&p->addrs[k].ss, rep,
				      req->json);
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

	control_reply_line(arg, "quarantined %s expires_s %llu", addr_prefix_str(addr, a,
										 sizeof(a)),
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
		jgwd_audit_quarantine(d, &req->addr, NULL, "add", timeout, "manual", op);
		ha_quarantine_local(d->ha, true, &req->addr, timeout, "manual");
		jgwd_quar_book(d, &req->addr, NULL, timeout);
		log_info("quarantine add %s for %u s by %s", addr_prefix_str(&req->addr, a,
									     sizeof(a)),
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
			jgwd_quar_timer_arm(d);
		jgwd_audit_quarantine(d, &req->addr, NULL, "remove", 0, "manual", op);
		ha_quarantine_local(d->ha, false, &req->addr, 0, NULL);
		log_info("quarantine del %s by %s", addr_prefix_str(&req->addr, a, sizeof(a)),
			 op->name);
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
	if (jgwd_reload(d, &rq, why, sizeof(why)) < 0) {
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
	jgwd_trial_end(d);
	jgwd_audit_config(d, "confirm", gen->cfg->sha256, gen->generation, op, NULL, NULL);
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

static void cmd_tunnel_close(struct jgwd *d, const struct control_req *req,
			     const struct operator *op,
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
		control_reply_error(rep,
				    "the audit epoch could not move on (see the log; key_alarm "
				    "in status)");
		return;
	}
	audit_get_stats(d->audit, &as);
	log_info("audit key epoch %u begun by %s", as.epoch, op->name);
	control_reply_line(rep, "epoch %u", as.epoch);
}

/* What the system says for the audit trail: sshd's sessions (through
 * jgw-sessions), accounts made or removed (jgw-operator), update payloads
 * refused, installed, confirmed or rolled back (jgw-update). Root only: an
 * operator must not be able to write the record of their own login. */
static void cmd_note(struct jgwd *d, const struct control_req *req, const struct operator *op,
		     struct control_reply *rep)
{
	struct audit_rec *rec;
	char a[64];
	bool session = req->cmd == CONTROL_SESSION, update = req->cmd == CONTROL_UPDATE;

	if (!op->known || op->uid != 0) {
		operator_record(d->audit, op, control_cmd_name(req->cmd), "refused",
				"only root may send notes for the audit trail");
		control_reply_error(rep, "only root may send %s notes", control_cmd_name(req->cmd));
		return;
	}
	if (!d->audit ||
	    !(rec = audit_rec_begin(d->audit, session ? "session" : update ? "update" : "admin"))) {
		control_reply_error(rep, "no audit record could be written");
		return;
	}
	if (session) {
		audit_rec_str(rec, "action", req->action);
		audit_rec_str(rec, "user", req->name);
		audit_rec_str(rec, "addr", addr_prefix_str(&req->addr, a, sizeof(a)));
		audit_rec_u64(rec, "port", req->port);
		audit_rec_str(rec, "service", "ssh");
	} else if (update) {
		audit_rec_str(rec, "action", req->action);
		if (req->slot[0])
			audit_rec_str(rec, "slot", req->slot);
		operator_fields(rec, op);   /* the reason is the comment */
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
void jgwd_on_control(void *arg, const struct control_req *req, const struct control_caller *caller,
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
	if (req->cmd == CONTROL_HA_STATE) {
		ha_note(d->ha, &op, req->action, rep);
		return;
	}
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
	case CONTROL_ACCOUNT:
	case CONTROL_UPDATE:
	case CONTROL_HA_STATE: break;  /* above */
	}
	if (control_changes_state(req->cmd))
		operator_record(d->audit, &op, control_cmd_name(req->cmd),
				control_reply_failed(rep) ? "error" : "ok",
				control_reply_message(rep));
}
