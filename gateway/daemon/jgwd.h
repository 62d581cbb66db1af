/*
 * jgwd.h — the daemon's own parts, shared by its files (not a library
 * interface): its state, and what each file gives the others.
 *
 *   jgwd.c           start, stop, signals, timers, privileges, main
 *   jgwd_config.c    loading, reloading, the change on trial, the history
 *   jgwd_firewall.c  the nftables table, drop summaries, quarantine
 *   jgwd_control.c   the control socket's commands
 */
#ifndef JGW_JGWD_H
#define JGW_JGWD_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "filters/base/addr.h"
#include "filters/firewall/quar.h"
#include "filters/policy/config.h"
#include "gateway/control/control.h"
#include "gateway/daemon/operator.h"
#include "jgw_version.h"

#define JGWD_VERSION JGW_VERSION
#define JGWD_QEXP_MAX 65536      /* addresses whose end is audited */

struct gen;

struct jgwd {
	struct ev_loop *loop;
	const char *conf_path;
	struct relay *relay;
	struct audit *audit;
	struct control_server *control;
	struct mon *mon;             /* metrics: HTTP, textfile, `jgwctl metrics` */
	struct ha *ha;               /* a member of a pair: keepalived, quarantine sync */
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

/* What asked for a reload, and how. */
struct reload_req {
	const char *action;            /* "reload" or "rollback" */
	const struct operator *op;     /* NULL: SIGHUP */
	const char *expect_sha;        /* rollback: the configuration it must be */
	uint32_t confirm_s;            /* > 0: on trial until `confirm` */
	bool force;                    /* even if it shuts out the caller's SSH */
};

/* jgwd.c */
void jgwd_first_error(void *arg, const char *msg);
/* The relay's workers a configuration asks for (`workers`, else one per
 * online CPU). */
unsigned jgwd_workers(const struct jgw_config *cfg);

/* jgwd_config.c: one path for start, SIGHUP, reload, rollback; on any
 * failure the generation in force stays. */
void jgwd_audit_config(struct jgwd *d, const char *action, const char *sha256,
		       uint64_t generation, const struct operator *op,
		       const struct jgw_config *cfg, const char *error);
int jgwd_reload(struct jgwd *d, const struct reload_req *rq, char *why, size_t whylen);
void jgwd_trial_end(struct jgwd *d);

/* jgwd_firewall.c */
void jgwd_audit_quarantine(struct jgwd *d, const struct addr_prefix *addr, const char *peer,
			   const char *action, uint32_t timeout_s, const char *cause,
			   const struct operator *op);
int jgwd_fw_apply(const struct jgw_config *cfg, char *err, size_t errlen);
void jgwd_fw_commit(struct jgwd *d, const struct jgw_config *cfg);
/* A drop summary from NFLOG: its audit record. */
struct nft_drop;
void jgwd_on_drop(void *arg, const struct nft_drop *drop);
void jgwd_on_drop_timer(struct ev_loop *loop, ev_timer *w, int revents);
void jgwd_on_failure(void *arg, const struct sockaddr *src, bool lan, const char *peer,
		     const char *cause);
void jgwd_on_quar_timer(struct ev_loop *loop, ev_timer *w, int revents);
void jgwd_quar_book(struct jgwd *d, const struct addr_prefix *addr, const char *peer,
		    uint32_t timeout_s);
void jgwd_quar_release_all(struct jgwd *d, const char *cause);
void jgwd_quar_timer_arm(struct jgwd *d);
void jgwd_quar_update(struct jgwd *d, const struct jgw_config *cfg);
/* The partner's quarantine change (ha.h hook): the kernel set and the
 * booking of its end, as for one made here. */
int jgwd_ha_quarantine(void *arg, bool add, const struct addr_prefix *addr, uint32_t timeout_s,
		       char *err, size_t errlen);

/* jgwd_control.c */
void jgwd_on_control(void *arg, const struct control_req *req, const struct control_caller *caller,
		     struct control_reply *rep);

#endif
