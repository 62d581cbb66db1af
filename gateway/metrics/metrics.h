/*
 * metrics.h — the gateway's counters for monitoring: a snapshot that jgwd
 * fills from what it already counts (relay, audit, firewall, TLS), its
 * Prometheus text exposition (format 0.0.4), a reader of that exposition
 * (jgw-snmp turns it into its MIB), the textfile for node-exporter, and
 * a small HTTP server for GET /metrics on jgwd's libev loop.
 *
 * Only counts, node codes, reason names and type codes ever appear here:
 * never a field value of a frame. Metric names and meanings are listed in
 * docs/operations.md (Monitoring).
 */
#ifndef JGW_METRICS_H
#define JGW_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#define METRICS_NAME_MAX 32          /* a reason, counter name or node code */
#define METRICS_TYPE_OTHER 0x10000u  /* frames of types the catalog does not know */

struct metrics_count {
	char name[METRICS_NAME_MAX];
	uint64_t n;
};

struct metrics_type {
	uint32_t type;               /* 0x0000-0xffff, or METRICS_TYPE_OTHER */
	uint64_t allowed, denied;
};

struct metrics_nft {
	char name[METRICS_NAME_MAX];
	uint64_t packets, bytes;
};

/* What one scrape reports. Scalars are set by the caller; the lists grow
 * through metrics_add_* (owned by the snapshot, freed by metrics_free).
 * A has_* flag false leaves its metric out of the exposition: unknown is
 * not zero. */
struct metrics_snapshot {
	char site[METRICS_NAME_MAX];
	char version[METRICS_NAME_MAX];
	uint64_t generation;
	int64_t uptime_s;
	uint64_t reloads, reload_rejects;

	/* relay: since start, except the open counts and buffered bytes */
	uint64_t egress_open, ingress_open;
	uint64_t tunnels_opened, tunnels_rejected;
	uint64_t frames_allowed, frames_denied, bytes_allowed, bytes_denied;
	uint64_t bytes_in, bytes_out;          /* relayed: in from the WAN, out to it */
	uint64_t buffered_bytes;
	struct metrics_count *rejects;         /* tunnels rejected, by reason */
	size_t n_rejects, cap_rejects;
	struct metrics_count *denies;          /* frames denied, by reason */
	size_t n_denies, cap_denies;
	struct metrics_type *types;            /* frames by type and verdict */
	size_t n_types, cap_types;
	struct metrics_count *peers;           /* configured peers: live tunnels */
	size_t n_peers, cap_peers;

	/* audit */
	uint64_t audit_records, audit_lost, audit_held;
	uint64_t audit_last_seq, audit_mirrored_seq, audit_spool_bytes;
	bool audit_has_collector, audit_collector_up;
	bool audit_disk_alarm, audit_disk_full, audit_write_failing;
	bool audit_key_alarm, audit_spool_broken;

	/* firewall */
	bool firewall_on;
	uint64_t quarantined;                  /* automatic quarantines since start */
	bool has_quarantine_size;
	uint64_t quarantine_size;              /* addresses in the kernel set now */
	bool has_nflog;
	uint64_t nflog_overruns;
	struct metrics_nft *nft;               /* the table's named counters */
	size_t n_nft, cap_nft;

	/* TLS: seconds left (negative: past) */
	bool has_crl;
	int64_t crl_remaining_s;               /* earliest nextUpdate of the CRLs */
	bool has_cert;
	int64_t cert_remaining_s;              /* the own certificate's notAfter */

	/* The system clock's offset from its NTP servers, as the kernel's
	 * clock discipline has it; has_clock_offset false (the metric left
	 * out) while the clock is not synchronised. */
	bool has_clock_offset;
	double clock_offset_s;
};

void metrics_init(struct metrics_snapshot *s);
void metrics_free(struct metrics_snapshot *s);
/* Append to a list; false when out of memory (the scrape then says 500). */
bool metrics_add_reject(struct metrics_snapshot *s, const char *reason, uint64_t n);
bool metrics_add_deny(struct metrics_snapshot *s, const char *reason, uint64_t n);
bool metrics_add_type(struct metrics_snapshot *s, uint32_t type, uint64_t allowed, uint64_t denied);
bool metrics_add_peer(struct metrics_snapshot *s, const char *node, uint64_t tunnels);
bool metrics_add_nft(struct metrics_snapshot *s, const char *name, uint64_t packets, uint64_t bytes);

/* The exposition (text format 0.0.4: HELP, TYPE, samples). 0, or -1 when
 * out failed. */
int metrics_render(const struct metrics_snapshot *s, FILE *out);
/* The same as a malloc'd string; NULL when out of memory. */
char *metrics_render_text(const struct metrics_snapshot *s, size_t *len);
/* A label value as the format wants it: backslash, double quote and
 * newline escaped. The result is cut (never mid-escape) to fit outlen. */
void metrics_escape_label(const char *in, char *out, size_t outlen);

/* Replace the file at path with text, atomically for a reader (a
 * temporary file beside it, renamed over it). 0, or -1 with err. */
int metrics_write_file(const char *path, const char *text, size_t len, char *err, size_t errlen);

/* ---- Reading an exposition back (jgw-snmp) ---- */

#define METRICS_LABELS_MAX 4
struct metrics_sample {
	const char *name;
	size_t n_labels;
	const char *label[METRICS_LABELS_MAX];   /* names */
	const char *value[METRICS_LABELS_MAX];   /* unescaped values */
	bool integer;                 /* the value was written as an integer */
	bool negative;                /* ... below zero (then in i, else in u) */
	uint64_t u;
	int64_t i;
	double d;                     /* always set */
};
typedef void (*metrics_sample_fn)(void *arg, const struct metrics_sample *sample);
/* Parse text (changed in place: strings point into it) and call fn per
 * sample; comment lines are skipped. 0, or -1 with err naming the line. */
int metrics_parse(char *text, metrics_sample_fn fn, void *arg, char *err, size_t errlen);

/* ---- GET /metrics over HTTP (libmicrohttpd driven by a libev loop) ---- */

struct ev_loop;
struct metrics_http;
/* The body of one scrape: a malloc'd exposition (freed by the server), or
 * NULL for a 500. */
typedef char *(*metrics_http_fn)(void *arg, size_t *len);

#define METRICS_HTTP_CONNECTIONS 8    /* at once, all sources */
#define METRICS_HTTP_PER_SOURCE 4     /* at once from one address */
#define METRICS_HTTP_TIMEOUT_S 10     /* an idle or slow connection is closed */

/* Bind and listen at addr (no thread: the loop watches MHD's epoll
 * descriptor and its timeout). NULL with err on failure. */
struct metrics_http *metrics_http_start(struct ev_loop *loop, const struct sockaddr *addr,
					 socklen_t addrlen, metrics_http_fn fn, void *arg,
					 char *err, size_t errlen);
void metrics_http_stop(struct metrics_http *h);

#endif
