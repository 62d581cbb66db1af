/*
 * metrics.c — the snapshot's lists, its Prometheus text exposition and the
 * textfile for node-exporter's textfile collector.
 *
 * Every metric family is written with its HELP and TYPE lines, also when it
 * has no sample yet (a reason table before the first reject): a scraper then
 * knows the family from the first scrape on. Counters end in _total, units
 * are in the names (_bytes, _seconds), as the format's conventions ask, so
 * that `promtool check metrics` has nothing to say.
 */
#include "gateway/metrics/metrics.h"
#include "filters/base/fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the snapshot's lists ---- */

void metrics_init(struct metrics_snapshot *s)
{
	memset(s, 0, sizeof(*s));
}

void metrics_free(struct metrics_snapshot *s)
{
	free(s->rejects);
	free(s->denies);
	free(s->types);
	free(s->peers);
	free(s->nft);
	metrics_init(s);
}

/* Room for one more element of size size in *arr (n used, *cap allocated). */
static bool grow(void **arr, size_t n, size_t *cap, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return true;
	ncap = *cap ? *cap * 2 : 16;
	p = reallocarray(*arr, ncap, size);
	if (!p)
		return false;
	*arr = p;
	*cap = ncap;
	return true;
}

static bool add_count(struct metrics_count **arr, size_t *n, size_t *cap, const char *name,
		      uint64_t v)
{
	if (!grow((void **)arr, *n, cap, sizeof(**arr)))
		return false;
	snprintf((*arr)[*n].name, METRICS_NAME_MAX, "%s", name);
	(*arr)[(*n)++].n = v;
	return true;
}

bool metrics_add_reject(struct metrics_snapshot *s, const char *reason, uint64_t n)
{
	return add_count(&s->rejects, &s->n_rejects, &s->cap_rejects, reason, n);
}

bool metrics_add_deny(struct metrics_snapshot *s, const char *reason, uint64_t n)
{
	return add_count(&s->denies, &s->n_denies, &s->cap_denies, reason, n);
}

bool metrics_add_peer(struct metrics_snapshot *s, const char *node, uint64_t tunnels)
{
	return add_count(&s->peers, &s->n_peers, &s->cap_peers, node, tunnels);
}

bool metrics_add_type(struct metrics_snapshot *s, uint32_t type, uint64_t allowed, uint64_t denied)
{
	if (!grow((void **)&s->types, s->n_types, &s->cap_types, sizeof(*s->types)))
		return false;
	s->types[s->n_types++] = (struct metrics_type){ type, allowed, denied };
	return true;
}

bool metrics_add_nft(struct metrics_snapshot *s, const char *name, uint64_t packets, uint64_t bytes)
{
	if (!grow((void **)&s->nft, s->n_nft, &s->cap_nft, sizeof(*s->nft)))
		return false;
	snprintf(s->nft[s->n_nft].name, METRICS_NAME_MAX, "%s", name);
	s->nft[s->n_nft].packets = packets;
	s->nft[s->n_nft++].bytes = bytes;
	return true;
}

/* ---- writing samples ---- */

void metrics_escape_label(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	if (outlen == 0)
		return;
	for (; *in; in++) {
		const char *rep = *in == '\\' ? "\\\\" : *in == '"' ? "\\\"" : *in == '\n' ? "\\n" : NULL;
		size_t need = rep ? 2 : 1;

		if (o + need >= outlen)
			break;
		if (rep) {
			memcpy(out + o, rep, 2);
		} else {
			out[o] = *in;
		}
		o += need;
	}
	out[o] = '\0';
}

static void family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void put_u(FILE *out, const char *name, uint64_t v)
{
	fprintf(out, "%s %llu\n", name, (unsigned long long)v);
}

static void put_i(FILE *out, const char *name, int64_t v)
{
	fprintf(out, "%s %lld\n", name, (long long)v);
}

/* A sample with one or two labels (l2 NULL: one). */
static void put_l(FILE *out, const char *name, const char *l1, const char *v1,
		  const char *l2, const char *v2, uint64_t v)
{
	char e1[2 * METRICS_NAME_MAX + 1], e2[2 * METRICS_NAME_MAX + 1];

	metrics_escape_label(v1, e1, sizeof(e1));
	if (l2) {
		metrics_escape_label(v2, e2, sizeof(e2));
		fprintf(out, "%s{%s=\"%s\",%s=\"%s\"} %llu\n", name, l1, e1, l2, e2,
			(unsigned long long)v);
	} else {
		fprintf(out, "%s{%s=\"%s\"} %llu\n", name, l1, e1, (unsigned long long)v);
	}
}

static void put_counts(FILE *out, const char *name, const char *label,
		       const struct metrics_count *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put_l(out, name, label, c[i].name, NULL, NULL, c[i].n);
}

static void put_gauge(FILE *out, const char *name, const char *help, uint64_t v)
{
	family(out, name, "gauge", help);
	put_u(out, name, v);
}

static void put_counter(FILE *out, const char *name, const char *help, uint64_t v)
{
	family(out, name, "counter", help);
	put_u(out, name, v);
}

/* ---- the families ---- */

static void render_daemon(const struct metrics_snapshot *s, FILE *out)
{
	family(out, "jgw_info", "gauge", "This gateway: its node code and jgwd's version (always 1).");
	put_l(out, "jgw_info", "site", s->site, "version", s->version, 1);
	put_gauge(out, "jgw_config_generation", "Configuration generation in force (1 at start, "
		  "+1 per accepted reload).", s->generation);
	put_gauge(out, "jgw_uptime_seconds", "Seconds since jgwd started.",
		  s->uptime_s > 0 ? (uint64_t)s->uptime_s : 0);
	put_counter(out, "jgw_reloads_total", "Reloads accepted.", s->reloads);
	put_counter(out, "jgw_reload_rejects_total", "Reloads rejected (the running "
		    "configuration stayed).", s->reload_rejects);
}

static void render_tunnels(const struct metrics_snapshot *s, FILE *out)
{
	family(out, "jgw_tunnels_open", "gauge", "Tunnels open now, by direction (egress: "
	       "started by a site server; ingress: by a peer gateway).");
	put_l(out, "jgw_tunnels_open", "direction", "egress", NULL, NULL, s->egress_open);
	put_l(out, "jgw_tunnels_open", "direction", "ingress", NULL, NULL, s->ingress_open);
	put_counter(out, "jgw_tunnels_opened_total", "Tunnels opened.", s->tunnels_opened);
	put_counter(out, "jgw_tunnels_rejected_total", "Connections that ended before their "
		    "tunnel opened (handshake failures and refusals).", s->tunnels_rejected);
	family(out, "jgw_tunnels_rejected_by_reason_total", "counter", "jgw_tunnels_rejected_total "
	       "by the reason of the tunnel record (cert-expired, unknown-peer, ...).");
	put_counts(out, "jgw_tunnels_rejected_by_reason_total", "reason", s->rejects, s->n_rejects);
	put_gauge(out, "jgw_peers_configured", "Peers in the directory of the configuration in "
		  "force.", s->n_peers);
	family(out, "jgw_peer_tunnels", "gauge", "Tunnels open now with each configured peer "
	       "(node code).");
	put_counts(out, "jgw_peer_tunnels", "peer", s->peers, s->n_peers);
}

static void render_frames(const struct metrics_snapshot *s, FILE *out)
{
	char type[16];

	family(out, "jgw_frames_total", "counter", "Inspected frames, by verdict.");
	put_l(out, "jgw_frames_total", "verdict", "allow", NULL, NULL, s->frames_allowed);
	put_l(out, "jgw_frames_total", "verdict", "deny", NULL, NULL, s->frames_denied);
	family(out, "jgw_frame_bytes_total", "counter", "Lengths of the inspected frames (header "
	       "included), by verdict.");
	put_l(out, "jgw_frame_bytes_total", "verdict", "allow", NULL, NULL, s->bytes_allowed);
	put_l(out, "jgw_frame_bytes_total", "verdict", "deny", NULL, NULL, s->bytes_denied);
	family(out, "jgw_frames_denied_by_reason_total", "counter", "Denied frames by the "
	       "inspection's reason (docs/protocol.md, section 6).");
	put_counts(out, "jgw_frames_denied_by_reason_total", "reason", s->denies, s->n_denies);
	family(out, "jgw_frames_by_type_total", "counter", "Inspected frames by message type code "
	       "and verdict (type other: a type the catalog does not know).");
	for (size_t i = 0; i < s->n_types; i++) {
		const struct metrics_type *t = &s->types[i];

		if (t->type == METRICS_TYPE_OTHER)
			snprintf(type, sizeof(type), "other");
		else
			snprintf(type, sizeof(type), "0x%04x", (unsigned)t->type);
		put_l(out, "jgw_frames_by_type_total", "type", type, "verdict", "allow", t->allowed);
		put_l(out, "jgw_frames_by_type_total", "type", type, "verdict", "deny", t->denied);
	}
	family(out, "jgw_relayed_bytes_total", "counter", "Bytes relayed: in from the WAN, out to "
	       "it (a tunnel's bytes count as they are forwarded).");
	put_l(out, "jgw_relayed_bytes_total", "direction", "in", NULL, NULL, s->bytes_in);
	put_l(out, "jgw_relayed_bytes_total", "direction", "out", NULL, NULL, s->bytes_out);
	put_gauge(out, "jgw_buffered_bytes", "Relay buffer memory held by live tunnels.",
		  s->buffered_bytes);
}

static void render_audit(const struct metrics_snapshot *s, FILE *out)
{
	put_counter(out, "jgw_audit_records_total", "Audit records written.", s->audit_records);
	put_counter(out, "jgw_audit_lost_records_total", "Audit records lost (count-loss, or a "
		    "hold that overflowed); 0 normally.", s->audit_lost);
	put_gauge(out, "jgw_audit_held_records", "Audit records waiting in memory for the disk; "
		  "0 normally.", s->audit_held);
	put_gauge(out, "jgw_audit_last_seq", "Sequence number of the last durable audit record.",
		  s->audit_last_seq);
	put_gauge(out, "jgw_audit_spool_bytes", "Bytes this run has written to the audit spool.",
		  s->audit_spool_bytes);
	if (s->audit_has_collector) {
		put_gauge(out, "jgw_audit_mirrored_seq", "Every audit record up to this one is "
			  "acknowledged by the collector.", s->audit_mirrored_seq);
		put_gauge(out, "jgw_audit_mirror_lag_records", "Durable audit records the collector "
			  "has not acknowledged yet.", s->audit_last_seq > s->audit_mirrored_seq ?
			  s->audit_last_seq - s->audit_mirrored_seq : 0);
		put_gauge(out, "jgw_audit_collector_up", "1 when the RELP session to the collector "
			  "is up.", s->audit_collector_up);
	}
	put_gauge(out, "jgw_audit_disk_alarm", "1 when the spool's file system is above "
		  "disk-alarm.", s->audit_disk_alarm);
	put_gauge(out, "jgw_audit_disk_full", "1 when the spool's file system is above "
		  "disk-limit.", s->audit_disk_full);
	put_gauge(out, "jgw_audit_write_failing", "1 when the last write to the spool failed.",
		  s->audit_write_failing);
	put_gauge(out, "jgw_audit_key_alarm", "1 when the next epoch's key file could not be "
		  "stored.", s->audit_key_alarm);
	put_gauge(out, "jgw_audit_spool_broken", "1 when the spool could not be cut back after a "
		  "failed write: nothing is written until a restart.", s->audit_spool_broken);
}

static void render_firewall(const struct metrics_snapshot *s, FILE *out)
{
	put_gauge(out, "jgw_firewall_enabled", "1 when jgwd programs its nftables table.",
		  s->firewall_on);
	put_counter(out, "jgw_quarantined_total", "Sources quarantined automatically after "
		    "repeated failures.", s->quarantined);
	if (s->has_quarantine_size)
		put_gauge(out, "jgw_quarantine_addresses", "Addresses in the kernel's quarantine "
			  "sets now.", s->quarantine_size);
	if (s->has_nflog)
		put_counter(out, "jgw_nflog_overruns_total", "Times the kernel dropped NFLOG "
			    "messages (ENOBUFS on the log socket).", s->nflog_overruns);
	if (!s->firewall_on)
		return;
	family(out, "jgw_nft_packets_total", "counter", "Packets of the firewall table's named "
	       "counters (docs/firewall.md).");
	for (size_t i = 0; i < s->n_nft; i++)
		put_l(out, "jgw_nft_packets_total", "counter", s->nft[i].name, NULL, NULL,
		      s->nft[i].packets);
	family(out, "jgw_nft_bytes_total", "counter", "Bytes of the firewall table's named "
	       "counters.");
	for (size_t i = 0; i < s->n_nft; i++)
		put_l(out, "jgw_nft_bytes_total", "counter", s->nft[i].name, NULL, NULL,
		      s->nft[i].bytes);
}

static void render_time(const struct metrics_snapshot *s, FILE *out)
{
	if (s->has_crl) {
		family(out, "jgw_crl_expiry_seconds", "gauge", "Seconds until the earliest nextUpdate "
		       "of the configured CRLs (negative: stale).");
		put_i(out, "jgw_crl_expiry_seconds", s->crl_remaining_s);
	}
	if (s->has_cert) {
		family(out, "jgw_certificate_expiry_seconds", "gauge", "Seconds until the gateway's "
		       "own certificate expires (negative: expired).");
		put_i(out, "jgw_certificate_expiry_seconds", s->cert_remaining_s);
	}
	if (s->has_clock_offset) {
		family(out, "jgw_clock_offset_seconds", "gauge", "Offset of the system clock from "
		       "its NTP servers.");
		fprintf(out, "jgw_clock_offset_seconds %.6f\n", s->clock_offset_s);
	}
}

int metrics_render(const struct metrics_snapshot *s, FILE *out)
{
	render_daemon(s, out);
	render_tunnels(s, out);
	render_frames(s, out);
	render_audit(s, out);
	render_firewall(s, out);
	render_time(s, out);
	return ferror(out) ? -1 : 0;
}

char *metrics_render_text(const struct metrics_snapshot *s, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&buf, &n);
	int rc;

	if (!m)
		return NULL;
	rc = metrics_render(s, m);
	if (fclose(m) != 0 || rc < 0) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

/* ---- the textfile ---- */

/* node-exporter reads *.prom only, so the temporary name (".tmp" after
 * ".prom") is never read half-written; rename() replaces the old file in
 * one step. No fsync: after a crash the next interval writes it anew. */
int metrics_write_file(const char *path, const char *text, size_t len, char *err, size_t errlen)
{
	char tmp[4096];
	int fd, n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);

	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	/* node-exporter reads it as another account, whatever jgwd's umask
	 * (the unit's is 0077): counts only, nothing to hide. */
	if (fchmod(fd, 0644) < 0 || !fd_write_all(fd, text, len)) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno ? errno : EIO));
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}
