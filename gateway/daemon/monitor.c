/*
 * monitor.c — jgwd's metrics (monitor.h): the snapshot filled from the
 * relay, the audit writer, the firewall table and the TLS context at each
 * scrape, and the three ways out: HTTP, the textfile, the control verb.
 */
#include "gateway/daemon/monitor.h"

#include <errno.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "filters/base/log.h"
#include "filters/firewall/nft.h"
#include "filters/policy/config.h"
#include "gateway/audit/audit.h"
#include "gateway/control/control.h"
#include "gateway/daemon/relay.h"
#include "gateway/metrics/metrics.h"
#include "tunnels/tls.h"

struct mon {
	struct ev_loop *loop;
	struct mon_sources src;
	struct metrics_http *http;
	struct cfg_endpoint bound;       /* where http listens (len 0: nowhere) */
	bool configured;
	char *textfile;                  /* NULL: none */
	ev_timer timer;                  /* rewrites the textfile */
	bool textfile_failing;           /* logged once per failing streak */
};

/* ---- the snapshot ---- */

static void fill_relay(const struct mon *m, struct metrics_snapshot *s)
{
	struct relay_stats rs;

	relay_get_stats(m->src.relay, &rs);
	s->generation = rs.generation;
	s->egress_open = rs.egress_open;
	s->ingress_open = rs.ingress_open;
	s->tunnels_opened = rs.tunnels_total;
	s->tunnels_rejected = rs.tunnels_rejected;
	s->frames_allowed = rs.frames_allowed;
	s->frames_denied = rs.frames_denied;
	s->bytes_allowed = rs.bytes_allowed;
	s->bytes_denied = rs.bytes_denied;
	s->bytes_in = rs.bytes_in;
	s->bytes_out = rs.bytes_out;
	s->buffered_bytes = rs.buffered_bytes;
}

static bool fill_tallies(const struct mon *m, struct metrics_snapshot *s)
{
	/* Summed over the workers: about 7 kB on the stack. */
	struct relay_tallies all;
	const struct relay_tally *rej = &all.rejects, *den = &all.denies;
	const struct relay_type_tally *ty = &all.types;
	bool ok = true;

	relay_tallies(m->src.relay, &all);

	for (size_t i = 0; i < rej->used; i++)
		ok &= metrics_add_reject(s, rej->slot[i].name, rej->slot[i].n);
	for (size_t i = 0; i < den->used; i++)
		ok &= metrics_add_deny(s, den->slot[i].name, den->slot[i].n);
	for (size_t i = 0; i < ty->used; i++)
		ok &= metrics_add_type(s, ty->slot[i].type, ty->slot[i].allowed, ty->slot[i].denied);
	if (ty->other_allowed || ty->other_denied)
		ok &= metrics_add_type(s, METRICS_TYPE_OTHER, ty->other_allowed, ty->other_denied);
	return ok;
}

static bool fill_peers(const struct mon *m, const struct jgw_config *cfg,
		       struct metrics_snapshot *s)
{
	bool ok = true;

	for (size_t i = 0; i < cfg->n_peers; i++)
		ok &= metrics_add_peer(s, cfg->peers[i].node,
				       relay_peer_tunnels(m->src.relay, cfg->peers[i].node));
	return ok;
}

static void fill_audit(const struct mon *m, const struct jgw_config *cfg,
		       struct metrics_snapshot *s)
{
	struct audit_stats as = { 0 };

	if (m->src.audit)
		audit_get_stats(m->src.audit, &as);
	s->audit_records = as.records;
	s->audit_lost = as.lost;
	s->audit_held = as.held;
	s->audit_last_seq = as.last_seq;
	s->audit_mirrored_seq = as.mirrored_seq;
	s->audit_spool_bytes = as.spool_bytes;
	s->audit_has_collector = cfg->audit.has_collector;
	s->audit_collector_up = as.collector_up;
	s->audit_disk_alarm = as.disk_alarm;
	s->audit_disk_full = as.disk_full;
	s->audit_write_failing = as.write_failing;
	s->audit_key_alarm = as.key_alarm;
	s->audit_spool_broken = as.spool_broken;
	/* The kernel's clock discipline as the audit reads it (adjtimex): an
	 * offset only while an NTP daemon keeps the clock synchronised; else
	 * unknown, and the metric is left out. */
	s->has_clock_offset = as.time_synced;
	s->clock_offset_s = (double)as.time_offset_us / 1e6;
}

struct nft_fill {
	struct metrics_snapshot *s;
	bool ok;
};

static void on_counter(void *arg, const char *name, uint64_t packets, uint64_t bytes)
{
	struct nft_fill *f = arg;

	f->ok &= metrics_add_nft(f->s, name, packets, bytes);
}

static void on_quarantined(void *arg, const struct addr_prefix *addr, uint64_t expires_ms)
{
	(void)addr;
	(void)expires_ms;
	((struct metrics_snapshot *)arg)->quarantine_size++;
}

/* Two netlink dumps of the table; a failure leaves those metrics out
 * (unknown), it does not fail the scrape. */
static bool fill_firewall(const struct mon *m, struct metrics_snapshot *s)
{
	struct nft_fill f = { .s = s, .ok = true };
	struct nft_log *nflog = m->src.nflog ? *m->src.nflog : NULL;
	char err[256];

	s->quarantined = *m->src.quarantined;
	s->firewall_on = *m->src.fw_on;
	if (nflog) {
		s->has_nflog = true;
		s->nflog_overruns = nft_log_overruns(nflog);
	}
	if (!s->firewall_on)
		return true;
	if (nft_counters(m->src.fw_table, on_counter, &f, err, sizeof(err)) < 0)
		log_debug("metrics: nft counters: %s", err);
	if (nft_quarantine_list(m->src.fw_table, on_quarantined, s, err, sizeof(err)) < 0)
		log_debug("metrics: quarantine list: %s", err);
	else
		s->has_quarantine_size = true;
	return f.ok;
}

static void fill_tls(const struct gen *gen, struct metrics_snapshot *s)
{
	int64_t now = (int64_t)time(NULL);
	int64_t crl = tls_ctx_crl_remaining(gen->tls, now);
	int64_t cert = tls_ctx_cert_remaining(gen->tls, now);

	s->has_crl = crl != INT64_MAX;
	s->crl_remaining_s = crl;
	s->has_cert = cert != INT64_MAX;
	s->cert_remaining_s = cert;
}

static bool fill(const struct mon *m, struct metrics_snapshot *s)
{
	const struct gen *gen = relay_current(m->src.relay);
	bool ok;

	metrics_init(s);
	snprintf(s->site, sizeof(s->site), "%s", gen->cfg->site);
	snprintf(s->version, sizeof(s->version), "%s", m->src.version);
	s->uptime_s = (int64_t)(ev_now(m->loop) - m->src.started);
	s->reloads = *m->src.reloads;
	s->reload_rejects = *m->src.reload_rejects;
	fill_relay(m, s);
	ok = fill_tallies(m, s);
	ok &= fill_peers(m, gen->cfg, s);
	fill_audit(m, gen->cfg, s);
	ok &= fill_firewall(m, s);
	fill_tls(gen, s);
	return ok;
}

char *mon_render(struct mon *m, size_t *len)
{
	struct metrics_snapshot s;
	char *text = NULL;

	if (fill(m, &s))
		text = metrics_render_text(&s, len);
	metrics_free(&s);
	return text;
}

/* ---- the three ways out ---- */

static char *http_render(void *arg, size_t *len)
{
	return mon_render(arg, len);
}

void mon_reply(struct mon *m, struct control_reply *rep)
{
	size_t len = 0;
	char *text = mon_render(m, &len), *line, *save = NULL;

	if (!text) {
		control_reply_error(rep, "out of memory");
		return;
	}
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		control_reply_line(rep, "%s", line);
	free(text);
}

static void write_textfile(struct mon *m)
{
	size_t len = 0;
	char *text = mon_render(m, &len), err[512];

	if (!text || metrics_write_file(m->textfile, text, len, err, sizeof(err)) < 0) {
		if (!m->textfile_failing)
			log_warn("metrics textfile: %s (retried every interval)",
				 text ? err : "out of memory");
		m->textfile_failing = true;
	} else if (m->textfile_failing) {
		log_info("metrics textfile %s written again", m->textfile);
		m->textfile_failing = false;
	}
	free(text);
}

static void on_textfile_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	write_textfile(w->data);
}

static bool same_endpoint(const struct cfg_endpoint *a, const struct cfg_endpoint *b)
{
	return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

static int configure_http(struct mon *m, const struct jgw_config *cfg, char *err, size_t errlen)
{
	const struct cfg_endpoint none = { .len = 0 };
	const struct cfg_endpoint *want = cfg->metrics.has_listen ? &cfg->metrics.listen : &none;

	if (m->configured) {
		if (!same_endpoint(want, &m->bound))
			log_warn("reload: metrics listen changed; it takes effect at the next restart");
		return 0;
	}
	if (!cfg->metrics.has_listen)
		return 0;
	m->http = metrics_http_start(m->loop, (const struct sockaddr *)&want->ss, want->len,
				     http_render, m, err, errlen);
	if (!m->http)
		return -1;
	m->bound = *want;
	return 0;
}

static void configure_textfile(struct mon *m, const struct jgw_config *cfg)
{
	const char *path = cfg->metrics.textfile;

	ev_timer_stop(m->loop, &m->timer);
	if (m->textfile && (!path || strcmp(path, m->textfile) != 0))
		unlink(m->textfile);     /* no longer ours to keep up to date */
	free(m->textfile);
	m->textfile = path ? strdup(path) : NULL;
	if (path && !m->textfile)
		log_warn("metrics textfile: out of memory (not written)");
	if (!m->textfile)
		return;
	m->textfile_failing = false;
	ev_timer_set(&m->timer, 0.0, cfg->metrics.interval_s);
	ev_timer_start(m->loop, &m->timer);
}

int mon_configure(struct mon *m, const struct jgw_config *cfg, char *err, size_t errlen)
{
	if (configure_http(m, cfg, err, errlen) < 0)
		return -1;
	m->configured = true;
	configure_textfile(m, cfg);
	return 0;
}

struct mon *mon_new(struct ev_loop *loop, const struct mon_sources *src)
{
	struct mon *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->loop = loop;
	m->src = *src;
	ev_init(&m->timer, on_textfile_timer);
	m->timer.data = m;
	return m;
}

void mon_free(struct mon *m)
{
	if (!m)
		return;
	metrics_http_stop(m->http);
	ev_timer_stop(m->loop, &m->timer);
	if (m->textfile && unlink(m->textfile) < 0 && errno != ENOENT)
		log_warn("metrics textfile %s not removed: %s", m->textfile, strerror(errno));
	free(m->textfile);
	free(m);
}
