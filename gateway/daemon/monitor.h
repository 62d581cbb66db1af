/*
 * monitor.h — jgwd's metrics (docs/operations.md, Monitoring): the snapshot
 * of what the daemon counts (relay, audit, firewall, TLS), served as
 * Prometheus text over HTTP (`metrics { listen }`), written as a textfile
 * for node-exporter (`metrics { textfile; interval }`), and answered to the
 * control verb `metrics`. The exposition itself is gateway/metrics.
 *
 * It reads jgwd's own state through mon_sources, at every scrape: nothing
 * is counted twice, so the three ways and `jgwctl stats` agree.
 */
#ifndef JGW_MONITOR_H
#define JGW_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct relay;
struct audit;
struct nft_log;
struct jgw_config;
struct control_reply;

/* Where jgwd keeps what the metrics report. The pointers are to jgwd's
 * own fields (valid while it runs): a reload may change what they hold. */
struct mon_sources {
	struct relay *relay;
	struct audit *audit;                 /* NULL: none */
	struct nft_log *const *nflog;        /* the NFLOG handle, or NULL in it */
	const bool *fw_on;                   /* the firewall table is jgwd's */
	const char *fw_table;                /* its name */
	const uint64_t *reloads, *reload_rejects, *quarantined;
	double started;                      /* ev_now() at start */
	const char *version;
};

struct mon;

struct mon *mon_new(struct ev_loop *loop, const struct mon_sources *src);
/* Take a configuration's metrics block. The HTTP listener is bound at the
 * first call only (before the privilege drop, like the relay's listeners;
 * a reload that changes it logs a warning); textfile and interval follow
 * every call. -1 with err when the listener cannot be bound. */
int mon_configure(struct mon *m, const struct jgw_config *cfg, char *err, size_t errlen);
/* The exposition now: a malloc'd string, or NULL when out of memory. */
char *mon_render(struct mon *m, size_t *len);
/* The exposition as the answer of the control verb `metrics`. */
void mon_reply(struct mon *m, struct control_reply *rep);
/* Close the listener, stop the textfile and remove it (a file left behind
 * would go on reporting a gateway that no longer runs). */
void mon_free(struct mon *m);

#endif
