/*
 * jgw-snmp — jgwd's metrics over SNMP: an AgentX subagent of snmpd
 * (net-snmp) serving JGW-MIB (gateway/metrics/JGW-MIB.txt).
 *
 *   jgw-snmp [-s SOCKET] [-x AGENTX] [-i SECONDS]
 *
 * Every few seconds it asks jgwd for `metrics` over the control socket,
 * reads the exposition back (metrics_parse: the very text Prometheus gets,
 * so both always agree) and turns each sample it knows into an OID of the
 * MIB, kept sorted. snmpd's requests are answered from that table, never
 * by calling jgwd while snmpd waits. When jgwd cannot be reached the table
 * keeps only jgwDaemonReachable (false) and jgwDataAge: stale counters are
 * never served as if they were current.
 *
 * It needs no privilege: the AgentX socket of snmpd and the control
 * socket of jgwd (the socket's group) are all it opens. No configuration
 * file of net-snmp is read and no persistent state is written.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include "gateway/control/control.h"
#include "gateway/metrics/metrics.h"

#define DEFAULT_SOCKET "/run/jgw/control.sock"
#define STR_MAX 64

/* enterprises.99999: a placeholder private enterprise number (see the MIB
 * and docs/operations.md); jgwMIB = .1, its objects .1.1. */
static const oid jgw_objects[] = { 1, 3, 6, 1, 4, 1, 99999, 1, 1 };
#define ROOT_LEN (sizeof(jgw_objects) / sizeof(jgw_objects[0]))

#define TV_TRUE 1                     /* SNMPv2-TC TruthValue */
#define TV_FALSE 2

struct entry {
	oid name[MAX_OID_LEN];
	size_t len;
	u_char type;                  /* ASN_COUNTER64, ASN_GAUGE, ... */
	uint64_t u;
	int64_t i;
	char str[STR_MAX];
};

struct table {
	struct entry *e;
	size_t n, cap;
	bool oom;
};

static struct {
	const char *control;
	struct table now;
	time_t last_ok;               /* 0: never */
	bool failing;                 /* logged once per failing streak */
	volatile sig_atomic_t stop;
} g = { .control = DEFAULT_SOCKET };

/* ---- building the table ---- */

static struct entry *add(struct table *t, const oid *sub, size_t n_sub, u_char type)
{
	struct entry *e;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 128;
		struct entry *ne = reallocarray(t->e, cap, sizeof(*ne));

		if (!ne) {
			t->oom = true;
			return NULL;
		}
		t->e = ne;
		t->cap = cap;
	}
	if (ROOT_LEN + n_sub > MAX_OID_LEN)
		return NULL;
	e = &t->e[t->n++];
	memset(e, 0, sizeof(*e));
	memcpy(e->name, jgw_objects, sizeof(jgw_objects));
	memcpy(e->name + ROOT_LEN, sub, n_sub * sizeof(oid));
	e->len = ROOT_LEN + n_sub;
	e->type = type;
	return e;
}

/* A string index (SMIv2, not IMPLIED): its length, then one sub-id per byte. */
static size_t string_index(oid *sub, size_t at, const char *s)
{
	size_t n = strlen(s);

	if (n > 31)
		n = 31;
	sub[at++] = n;
	for (size_t i = 0; i < n; i++)
		sub[at++] = (unsigned char)s[i];
	return at;
}

/* Scalars: a metric (and one label value) to an OID under jgwObjects. */
static const struct scalar {
	const char *metric, *label, *value;
	oid group, item;
	u_char type;
} scalars[] = {
	{ "jgw_config_generation", NULL, NULL, 1, 3, ASN_UNSIGNED },
	{ "jgw_uptime_seconds", NULL, NULL, 1, 4, ASN_UNSIGNED },
	{ "jgw_reloads_total", NULL, NULL, 1, 5, ASN_COUNTER64 },
	{ "jgw_reload_rejects_total", NULL, NULL, 1, 6, ASN_COUNTER64 },
	{ "jgw_tunnels_open", "direction", "egress", 2, 1, ASN_GAUGE },
	{ "jgw_tunnels_open", "direction", "ingress", 2, 2, ASN_GAUGE },
	{ "jgw_tunnels_opened_total", NULL, NULL, 2, 3, ASN_COUNTER64 },
	{ "jgw_tunnels_rejected_total", NULL, NULL, 2, 4, ASN_COUNTER64 },
	{ "jgw_peers_configured", NULL, NULL, 2, 5, ASN_GAUGE },
	{ "jgw_frames_total", "verdict", "allow", 3, 1, ASN_COUNTER64 },
	{ "jgw_frames_total", "verdict", "deny", 3, 2, ASN_COUNTER64 },
	{ "jgw_frame_bytes_total", "verdict", "allow", 3, 3, ASN_COUNTER64 },
	{ "jgw_frame_bytes_total", "verdict", "deny", 3, 4, ASN_COUNTER64 },
	{ "jgw_relayed_bytes_total", "direction", "in", 3, 5, ASN_COUNTER64 },
	{ "jgw_relayed_bytes_total", "direction", "out", 3, 6, ASN_COUNTER64 },
	{ "jgw_buffered_bytes", NULL, NULL, 3, 7, ASN_GAUGE },
	{ "jgw_audit_records_total", NULL, NULL, 4, 1, ASN_COUNTER64 },
	{ "jgw_audit_lost_records_total", NULL, NULL, 4, 2, ASN_COUNTER64 },
	{ "jgw_audit_held_records", NULL, NULL, 4, 3, ASN_GAUGE },
	{ "jgw_audit_last_seq", NULL, NULL, 4, 4, ASN_COUNTER64 },
	{ "jgw_audit_mirrored_seq", NULL, NULL, 4, 5, ASN_COUNTER64 },
	{ "jgw_audit_mirror_lag_records", NULL, NULL, 4, 6, ASN_GAUGE },
	{ "jgw_audit_spool_bytes", NULL, NULL, 4, 7, ASN_COUNTER64 },
	{ "jgw_audit_collector_up", NULL, NULL, 4, 8, ASN_INTEGER },
	{ "jgw_audit_disk_alarm", NULL, NULL, 4, 9, ASN_INTEGER },
	{ "jgw_audit_disk_full", NULL, NULL, 4, 10, ASN_INTEGER },
	{ "jgw_audit_write_failing", NULL, NULL, 4, 11, ASN_INTEGER },
	{ "jgw_audit_key_alarm", NULL, NULL, 4, 12, ASN_INTEGER },
	{ "jgw_audit_spool_broken", NULL, NULL, 4, 13, ASN_INTEGER },
	{ "jgw_firewall_enabled", NULL, NULL, 5, 1, ASN_INTEGER },
	{ "jgw_quarantined_total", NULL, NULL, 5, 2, ASN_COUNTER64 },
	{ "jgw_quarantine_addresses", NULL, NULL, 5, 3, ASN_GAUGE },
	{ "jgw_nflog_overruns_total", NULL, NULL, 5, 4, ASN_COUNTER64 },
	{ "jgw_crl_expiry_seconds", NULL, NULL, 6, 1, ASN_INTEGER },
	{ "jgw_certificate_expiry_seconds", NULL, NULL, 6, 2, ASN_INTEGER },
};

/* Flags (0/1 in the exposition) are TruthValues in the MIB. */
static bool is_flag(const struct scalar *sc)
{
	return sc->type == ASN_INTEGER && sc->group != 6;
}

static const char *label_of(const struct metrics_sample *s, const char *name)
{
	for (size_t i = 0; i < s->n_labels; i++)
		if (strcmp(s->label[i], name) == 0)
			return s->value[i];
	return NULL;
}

static void set_number(struct entry *e, const struct metrics_sample *s)
{
	if (!e)
		return;
	if (s->negative)
		e->i = s->i;
	else
		e->u = s->u;
	if (e->type == ASN_INTEGER)
		e->i = s->negative ? s->i : (int64_t)(s->u > INT32_MAX ? INT32_MAX : s->u);
}

static bool map_scalar(struct table *t, const struct metrics_sample *s)
{
	for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++) {
		const struct scalar *sc = &scalars[i];
		const char *v = sc->label ? label_of(s, sc->label) : NULL;
		oid sub[3] = { sc->group, sc->item, 0 };
		struct entry *e;

		if (strcmp(s->name, sc->metric) != 0 || (sc->label && (!v || strcmp(v, sc->value))))
			continue;
		e = add(t, sub, 3, sc->type);
		set_number(e, s);
		if (e && is_flag(sc))
			e->i = s->u ? TV_TRUE : TV_FALSE;
		return true;
	}
	return false;
}

static void map_info(struct table *t, const struct metrics_sample *s)
{
	static const oid site[] = { 1, 1, 0 }, version[] = { 1, 2, 0 };
	const char *v;
	struct entry *e;

	if ((v = label_of(s, "site")) && (e = add(t, site, 3, ASN_OCTET_STR)))
		snprintf(e->str, sizeof(e->str), "%s", v);
	if ((v = label_of(s, "version")) && (e = add(t, version, 3, ASN_OCTET_STR)))
		snprintf(e->str, sizeof(e->str), "%s", v);
}

/* A row of a table indexed by a string: jgwObjects.group[.sub].1.column.index */
static void map_string_row(struct table *t, const oid *prefix, size_t n_prefix, oid column,
			   const char *index, const struct metrics_sample *s)
{
	oid sub[MAX_OID_LEN];
	size_t n;

	memcpy(sub, prefix, n_prefix * sizeof(oid));
	n = n_prefix;
	sub[n++] = 1;                 /* the entry */
	sub[n++] = column;
	n = string_index(sub, n, index);
	set_number(add(t, sub, n, ASN_COUNTER64), s);
}

static void map_type_row(struct table *t, const struct metrics_sample *s)
{
	const char *type = label_of(s, "type"), *verdict = label_of(s, "verdict");
	oid sub[4] = { 10, 1, 0, 0 };

	if (!type || !verdict)
		return;
	sub[2] = strcmp(verdict, "allow") == 0 ? 2 : 3;
	sub[3] = strcmp(type, "other") == 0 ? METRICS_TYPE_OTHER : strtoul(type, NULL, 16);
	set_number(add(t, sub, 4, ASN_COUNTER64), s);
}

static void on_sample(void *arg, const struct metrics_sample *s)
{
	static const oid rejects[] = { 8 }, denies[] = { 9 }, nft[] = { 5, 10 };
	struct table *t = arg;
	const char *v;

	if (map_scalar(t, s))
		return;
	if (strcmp(s->name, "jgw_info") == 0) {
		map_info(t, s);
	} else if (strcmp(s->name, "jgw_peer_tunnels") == 0 && (v = label_of(s, "peer"))) {
		oid sub[4] = { 7, 1, 2, strtoul(v, NULL, 10) };   /* the node code */

		set_number(add(t, sub, 4, ASN_GAUGE), s);
	} else if (strcmp(s->name, "jgw_tunnels_rejected_by_reason_total") == 0 &&
		   (v = label_of(s, "reason"))) {
		map_string_row(t, rejects, 1, 2, v, s);
	} else if (strcmp(s->name, "jgw_frames_denied_by_reason_total") == 0 &&
		   (v = label_of(s, "reason"))) {
		map_string_row(t, denies, 1, 2, v, s);
	} else if (strcmp(s->name, "jgw_frames_by_type_total") == 0) {
		map_type_row(t, s);
	} else if (strcmp(s->name, "jgw_nft_packets_total") == 0 && (v = label_of(s, "counter"))) {
		map_string_row(t, nft, 2, 2, v, s);
	} else if (strcmp(s->name, "jgw_nft_bytes_total") == 0 && (v = label_of(s, "counter"))) {
		map_string_row(t, nft, 2, 3, v, s);
	}
	/* Anything else is not in the MIB (yet): left out. */
}

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	return snmp_oid_compare(x->name, x->len, y->name, y->len);
}

/* The subagent's own two scalars: whether the last read worked, and how
 * old the data served is. */
static void add_status(struct table *t, bool reachable)
{
	static const oid reach[] = { 1, 7, 0 }, age[] = { 1, 8, 0 };
	struct entry *e;

	if ((e = add(t, reach, 3, ASN_INTEGER)))
		e->i = reachable ? TV_TRUE : TV_FALSE;
	if ((e = add(t, age, 3, ASN_UNSIGNED)))
		e->u = g.last_ok ? (uint64_t)(time(NULL) - g.last_ok) : UINT32_MAX;
}

/* ---- reading jgwd ---- */

/* The answer of `metrics` in memory: control_call writes to a descriptor. */
static char *fetch(size_t *len, char *err, size_t errlen)
{
	int fd = memfd_create("jgw-metrics", MFD_CLOEXEC), rc;
	struct stat st;
	char *buf = NULL;

	if (fd < 0) {
		snprintf(err, errlen, "memfd: %s", strerror(errno));
		return NULL;
	}
	rc = control_call(g.control, "metrics\n", fd, STDERR_FILENO, err, errlen);
	if (rc == 1)
		snprintf(err, errlen, "jgwd refused the metrics request");
	if (rc == 0 && fstat(fd, &st) == 0 && (buf = malloc((size_t)st.st_size + 1)) &&
	    pread(fd, buf, (size_t)st.st_size, 0) == st.st_size) {
		buf[st.st_size] = '\0';
		*len = (size_t)st.st_size;
	} else if (rc == 0) {
		snprintf(err, errlen, "reading the answer back: %s", strerror(errno));
		free(buf);
		buf = NULL;
	}
	close(fd);
	return buf;
}

static void refresh(unsigned int reg, void *arg)
{
	struct table next = { 0 };
	char err[512], *text;
	size_t len = 0;
	bool ok = false;

	(void)reg;
	(void)arg;
	text = fetch(&len, err, sizeof(err));
	if (text && metrics_parse(text, on_sample, &next, err, sizeof(err)) == 0 && !next.oom)
		ok = true;
	if (!ok) {
		if (!g.failing)
			snmp_log(LOG_WARNING, "jgw-snmp: %s (retried every interval)\n", err);
		g.failing = true;
		next.n = 0;           /* nothing stale is served */
	} else {
		if (g.failing)
			snmp_log(LOG_INFO, "jgw-snmp: jgwd answers again\n");
		g.failing = false;
		g.last_ok = time(NULL);
	}
	add_status(&next, ok);
	qsort(next.e, next.n, sizeof(*next.e), entry_cmp);
	free(g.now.e);
	g.now = next;
	free(text);
}

/* ---- answering snmpd ---- */

static const struct entry *find(const oid *name, size_t len, bool next)
{
	/* Binary search for the first entry >= name (> name for GETNEXT). */
	size_t lo = 0, hi = g.now.n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = snmp_oid_compare(g.now.e[mid].name, g.now.e[mid].len, name, len);

		if (c < 0 || (next && c == 0))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == g.now.n)
		return NULL;
	if (!next && snmp_oid_compare(g.now.e[lo].name, g.now.e[lo].len, name, len) != 0)
		return NULL;
	return &g.now.e[lo];
}

static void set_var(netsnmp_variable_list *vb, const struct entry *e)
{
	struct counter64 c64;
	u_long ul;
	long l;

	switch (e->type) {
	case ASN_COUNTER64:
		c64.high = (u_long)(e->u >> 32);
		c64.low = (u_long)(e->u & 0xffffffffu);
		snmp_set_var_typed_value(vb, ASN_COUNTER64, &c64, sizeof(c64));
		break;
	case ASN_GAUGE:               /* also ASN_UNSIGNED: the same tag */
		ul = e->u > UINT32_MAX ? UINT32_MAX : (u_long)e->u;   /* Gauge32 saturates */
		snmp_set_var_typed_value(vb, e->type, &ul, sizeof(ul));
		break;
	case ASN_INTEGER:
		l = e->i > INT32_MAX ? INT32_MAX : e->i < INT32_MIN ? INT32_MIN : (long)e->i;
		snmp_set_var_typed_value(vb, ASN_INTEGER, &l, sizeof(l));
		break;
	default:
		snmp_set_var_typed_value(vb, ASN_OCTET_STR, e->str, strlen(e->str));
		break;
	}
}

static int handle(netsnmp_mib_handler *handler, netsnmp_handler_registration *reg,
		  netsnmp_agent_request_info *info, netsnmp_request_info *requests)
{
	(void)handler;
	(void)reg;
	for (netsnmp_request_info *r = requests; r; r = r->next) {
		netsnmp_variable_list *vb = r->requestvb;
		const struct entry *e;

		if (r->processed)
			continue;
		if (info->mode == MODE_GET) {
			if ((e = find(vb->name, vb->name_length, false)))
				set_var(vb, e);
			else
				netsnmp_set_request_error(info, r, SNMP_NOSUCHINSTANCE);
		} else if (info->mode == MODE_GETNEXT) {
			/* Nothing after it here: the value stays unset and the
			 * agent goes on past this subtree. */
			if ((e = find(vb->name, vb->name_length, true))) {
				snmp_set_var_objid(vb, e->name, e->len);
				set_var(vb, e);
			}
		} else {
			netsnmp_set_request_error(info, r, SNMP_ERR_NOTWRITABLE);
		}
	}
	return SNMP_ERR_NOERROR;
}

/* ---- the program ---- */

static void on_stop(int sig)
{
	(void)sig;
	g.stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: jgw-snmp [-s SOCKET] [-x AGENTX] [-i SECONDS]\n"
		   "  -s SOCKET   jgwd's control socket (default $JGW_CONTROL or " DEFAULT_SOCKET ")\n"
		   "  -x AGENTX   snmpd's AgentX socket (default net-snmp's, /var/agentx/master)\n"
		   "  -i SECONDS  how often jgwd is asked, 1-300 (default 5)\n");
}

static void agent_setup(const char *agentx, int interval)
{
	netsnmp_handler_registration *reg;

	netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_ROLE, 1);
	if (agentx)
		netsnmp_ds_set_string(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_X_SOCKET, agentx);
	/* Reconnect by itself when snmpd restarts. */
	netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL, 10);
	/* Sandboxed: no net-snmp configuration read, no state written. */
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
	snmp_enable_stderrlog();
	init_agent("jgw-snmp");
	reg = netsnmp_create_handler_registration("jgw", handle, jgw_objects, ROOT_LEN,
						  HANDLER_CAN_RONLY);
	if (!reg || netsnmp_register_handler(reg) != MIB_REGISTERED_OK)
		snmp_log(LOG_ERR, "jgw-snmp: cannot register the jgw subtree\n");
	init_snmp("jgw-snmp");
	refresh(0, NULL);
	snmp_alarm_register((unsigned)interval, SA_REPEAT, refresh, NULL);
}

int main(int argc, char **argv)
{
	const char *agentx = NULL, *env = getenv("JGW_CONTROL");
	struct sigaction sa = { .sa_handler = on_stop };
	int c, interval = 5;

	if (env && *env)
		g.control = env;
	while ((c = getopt(argc, argv, "s:x:i:h")) != -1) {
		switch (c) {
		case 's': g.control = optarg; break;
		case 'x': agentx = optarg; break;
		case 'i':
			interval = atoi(optarg);
			if (interval < 1 || interval > 300) {
				usage(stderr);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	setenv("MIBS", "", 1);        /* it serves numbers: no MIB files to load */
	agent_setup(agentx, interval);
	/* No SA_RESTART: a signal ends the wait in agent_check_and_process. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	while (!g.stop)
		agent_check_and_process(1);
	snmp_shutdown("jgw-snmp");
	free(g.now.e);
	return 0;
}
