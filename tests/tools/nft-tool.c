/*
 * nft-tool — drives filters/nft.h without jgwd, for the firewall scenario
 * tests and the benchmark. Run it inside a test namespace.
 *
 *   nft-tool print|apply POLICY...     ruleset of a policy: print or apply
 *   nft-tool delete [-t TABLE]
 *   nft-tool qadd ADDR [TIMEOUT_S] | qdel ADDR | qlist       quarantine
 *   nft-tool counters                                         named counters
 *   nft-tool log GROUP SECONDS         NFLOG drop summaries of one interval, one
 *                                      per line (at most NFT_LOG_TOP + 1)
 *   nft-tool quar N T D ADDR@MS...     quarantine decisions (gateway/quar.c)
 *   nft-tool bench PEERS RUNS          apply time vs nft -f, quarantine time
 *   nft-tool serve SECONDS PORT...     accept (and close) on [::]:PORT
 *   nft-tool echo SECONDS PORT...      accept on [::]:PORT, echo what comes in
 *   nft-tool connect ADDR PORT MS      exit 0 connected, 1 refused, 3 timed out
 *   nft-tool hold ADDR PORT MS         one connection; each stdin line must
 *                                      come back (echo) within MS
 *
 * POLICY: --config FILE (cfg_load + cfg_nft_policy, as jgwd does), or
 *   -t TABLE --wan-if IF --lan-if IF --wan-port P --lan-port P --lan-addr ADDR
 *   --ssh P --peer PFX --peers-file FILE --server PFX --mgmt PFX
 *   --out tcp|udp,ADDR,PORT --rate R/B --conns N --qtimeout S --group G
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "filters/firewall/nft.h"
#include "filters/policy/config.h"
#include "filters/firewall/quar.h"

struct plist {
	struct addr_prefix *v;
	size_t n, cap;
};

struct dlist {
	struct nft_dest *v;
	size_t n, cap;
};

static const char *table = "jgw";

static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 16;
	p = realloc(p, *cap * size);
	if (!p) {
		fprintf(stderr, "nft-tool: out of memory\n");
		exit(1);
	}
	return p;
}

static void plist_add(struct plist *l, const char *s)
{
	l->v = grow(l->v, &l->cap, l->n, sizeof *l->v);
	if (!addr_prefix_parse(s, &l->v[l->n])) {
		fprintf(stderr, "nft-tool: not an address or prefix: `%s'\n", s);
		exit(2);
	}
	l->n++;
}

static void plist_file(struct plist *l, const char *path)
{
	char line[128];
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "nft-tool: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, " \t\r\n#")] = '\0';
		if (line[0])
			plist_add(l, line);
	}
	fclose(f);
}

static void dlist_add(struct dlist *l, const char *s)
{
	char buf[128], *proto, *addr, *port, *end;
	struct nft_dest d = { 0 };
	long p;

	snprintf(buf, sizeof buf, "%s", s);
	proto = strtok(buf, ",");
	addr = strtok(NULL, ",");
	port = strtok(NULL, ",");
	if (!proto || !addr || !port)
		goto bad;
	d.proto = strcmp(proto, "tcp") == 0 ? IPPROTO_TCP :
		  strcmp(proto, "udp") == 0 ? IPPROTO_UDP : 0;
	p = strtol(port, &end, 10);
	if (!d.proto || *end || p < 1 || p > 65535 || !addr_prefix_parse(addr, &d.prefix))
		goto bad;
	d.port = (uint16_t)p;
	l->v = grow(l->v, &l->cap, l->n, sizeof *l->v);
	l->v[l->n++] = d;
	return;
bad:
	fprintf(stderr, "nft-tool: --out wants tcp|udp,ADDR,PORT, not `%s'\n", s);
	exit(2);
}

static uint32_t num(const char *s, uint32_t max, const char *what)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (*s == '\0' || *end || v > max) {
		fprintf(stderr, "nft-tool: %s: `%s' is not a number up to %u\n", what, s, max);
		exit(2);
	}
	return (uint32_t)v;
}

static struct plist peers, servers, mgmt;
static struct jgw_config *loaded_cfg;   /* --config: the policy points into it */
static struct dlist outs;

static void parse_policy(int argc, char **argv, struct nft_policy *pol)
{
	static const struct option opts[] = {
		{ "wan-if", 1, 0, 'W' }, { "lan-if", 1, 0, 'L' },
		{ "wan-port", 1, 0, 'w' }, { "lan-port", 1, 0, 'l' }, { "lan-addr", 1, 0, 'a' },
		{ "ssh", 1, 0, 's' }, { "peer", 1, 0, 'p' }, { "peers-file", 1, 0, 'P' },
		{ "server", 1, 0, 'S' }, { "mgmt", 1, 0, 'm' }, { "out", 1, 0, 'o' },
		{ "rate", 1, 0, 'r' }, { "conns", 1, 0, 'c' }, { "qtimeout", 1, 0, 'q' },
		{ "group", 1, 0, 'g' }, { "table", 1, 0, 't' }, { "config", 1, 0, 'C' },
		{ 0, 0, 0, 0 },
	};
	const char *config = NULL;
	int c;

	memset(pol, 0, sizeof *pol);
	pol->wan_port = 7443;
	pol->lan_port = 7000;
	pol->quarantine_timeout_s = 600;
	pol->nflog_group = 7;
	optind = 1;
	while ((c = getopt_long(argc, argv, "t:", opts, NULL)) != -1) {
		switch (c) {
		case 't': table = optarg; break;
		case 'W': pol->wan_if = optarg; break;
		case 'L': pol->lan_if = optarg; break;
		case 'w': pol->wan_port = (uint16_t)num(optarg, 65535, "--wan-port"); break;
		case 'l': pol->lan_port = (uint16_t)num(optarg, 65535, "--lan-port"); break;
		case 'a':
			if (!addr_prefix_parse(optarg, &pol->lan_addr)) {
				fprintf(stderr, "nft-tool: --lan-addr: bad address `%s'\n", optarg);
				exit(2);
			}
			break;
		case 's': pol->ssh_port = (uint16_t)num(optarg, 65535, "--ssh"); break;
		case 'p': plist_add(&peers, optarg); break;
		case 'P': plist_file(&peers, optarg); break;
		case 'S': plist_add(&servers, optarg); break;
		case 'm': plist_add(&mgmt, optarg); break;
		case 'o': dlist_add(&outs, optarg); break;
		case 'r': {
			char *slash = strchr(optarg, '/');
			if (slash)
				*slash++ = '\0';
			pol->rate_per_s = num(optarg, 1000000, "--rate");
			pol->rate_burst = slash ? num(slash, 1000000, "--rate burst") : 0;
			break;
		}
		case 'c': pol->conn_limit = num(optarg, 1000000, "--conns"); break;
		case 'q': pol->quarantine_timeout_s = num(optarg, 86400 * 365, "--qtimeout"); break;
		case 'g': pol->nflog_group = (uint16_t)num(optarg, 65535, "--group"); break;
		case 'C': config = optarg; break;
		default: exit(2);
		}
	}
	if (config) {
		loaded_cfg = cfg_load(config, NULL, NULL);
		if (!loaded_cfg || !cfg_nft_policy(loaded_cfg, pol)) {
			fprintf(stderr, "nft-tool: %s: no firewall policy\n", config);
			exit(1);
		}
		table = pol->table;
		return;
	}
	pol->table = table;
	pol->peers = peers.v;
	pol->n_peers = peers.n;
	pol->servers = servers.v;
	pol->n_servers = servers.n;
	pol->mgmt = mgmt.v;
	pol->n_mgmt = mgmt.n;
	pol->out = outs.v;
	pol->n_out = outs.n;
}

static void print_q(void *arg, const struct addr_prefix *addr, uint64_t expires_ms)
{
	char b[64];
	(void)arg;
	printf("%s %llu\n", addr_prefix_str(addr, b, sizeof b), (unsigned long long)expires_ms);
}

static void print_ctr(void *arg, const char *name, uint64_t packets, uint64_t bytes)
{
	(void)arg;
	printf("%s %llu %llu\n", name, (unsigned long long)packets, (unsigned long long)bytes);
}

static void print_drop(void *arg, const struct nft_drop *d)
{
	char b[64];
	(void)arg;
	printf("drop rule=%s src=%s proto=%u dport=%u dport_max=%u ports=%u sources=%u keys=%u "
	       "packets=%llu bytes=%llu capped=%d\n", d->rule,
	       d->src.family ? addr_prefix_str(&d->src, b, sizeof b) : "-", d->proto,
	       d->dst_port, d->dst_port_max, d->ports, d->sources, d->keys,
	       (unsigned long long)d->packets, (unsigned long long)d->bytes, d->capped);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static volatile sig_atomic_t stop_log, report_log;

static void on_stop(int sig)
{
	(void)sig;
	stop_log = 1;
}

static void on_report(int sig)
{
	(void)sig;
	report_log = 1;
}

/* Summaries are printed at the end: after SECONDS, or on SIGTERM/SIGINT.
 * SIGUSR1 prints "read N": the drops read so far (tests poll on it). */
static int cmd_log(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_stop }, su = { .sa_handler = on_report };
	char err[256];
	struct nft_log *log;
	int64_t end;

	if (argc != 3) {
		fprintf(stderr, "usage: nft-tool log GROUP SECONDS\n");
		return 2;
	}
	log = nft_log_open((uint16_t)num(argv[1], 65535, "group"), err, sizeof err);
	if (!log) {
		fprintf(stderr, "nft-tool: %s\n", err);
		return 1;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &su, NULL);
	/* Tell the caller we are listening (and take signals): scenario
	 * scripts wait for it. */
	printf("listening\n");
	fflush(stdout);
	end = now_ns() + (int64_t)num(argv[2], 3600, "seconds") * 1000000000;
	while (now_ns() < end && !stop_log) {
		if (report_log) {
			report_log = 0;
			printf("read %llu\n", (unsigned long long)nft_log_packets(log));
			fflush(stdout);
		}
		struct pollfd p = { .fd = nft_log_fd(log), .events = POLLIN };
		int ms = (int)((end - now_ns()) / 1000000);
		if (poll(&p, 1, ms > 0 ? ms : 0) >= 0 && nft_log_read(log) < 0) {
			fprintf(stderr, "nft-tool: NFLOG read: %s\n", strerror(errno));
			nft_log_close(log);
			return 1;
		}
	}
	while (nft_log_read(log) > 0)    /* what is queued at the end */
		;
	nft_log_flush(log, print_drop, NULL);
	printf("overruns %llu\n", (unsigned long long)nft_log_overruns(log));
	nft_log_close(log);
	return 0;
}

/* quar N T D ADDR@MS...: prints "quarantine ADDR at MS" for each decision. */
static int cmd_quar(int argc, char **argv)
{
	struct quar_params p;
	struct quar *q;
	char err[128];

	if (argc < 5) {
		fprintf(stderr, "usage: nft-tool quar N T D ADDR@MS...\n");
		return 2;
	}
	p.failures = num(argv[1], 1000, "N");
	p.window_s = num(argv[2], 86400, "T");
	p.timeout_s = num(argv[3], 86400, "D");
	p.capacity = 1024;
	q = quar_new(&p, err, sizeof err);
	if (!q) {
		fprintf(stderr, "nft-tool: %s\n", err);
		return 1;
	}
	for (int i = 4; i < argc; i++) {
		char *at = strchr(argv[i], '@');
		struct addr_prefix a;
		if (!at) {
			fprintf(stderr, "nft-tool: want ADDR@MS, not `%s'\n", argv[i]);
			quar_free(q);
			return 2;
		}
		*at = '\0';
		if (!addr_prefix_parse(argv[i], &a)) {
			fprintf(stderr, "nft-tool: bad address `%s'\n", argv[i]);
			quar_free(q);
			return 2;
		}
		if (quar_failure(q, &a, (int64_t)num(at + 1, 4000000000u, "ms")))
			printf("quarantine %s at %s\n", argv[i], at + 1);
	}
	quar_free(q);
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static double median_ms(int64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_i64);
	return (n % 2 ? (double)v[n / 2] : (double)(v[n / 2 - 1] + v[n / 2]) / 2) / 1e6;
}

/* A 機構-sized directory: every peer with one IPv4 and one IPv6 address,
 * spaced so that no two merge into one range. */
static void bench_policy(struct nft_policy *pol, int n_peers)
{
	static char fb[64];
	memset(pol, 0, sizeof *pol);
	pol->table = table;
	pol->wan_if = "wan0";
	pol->lan_if = "lan0";
	pol->wan_port = 7443;
	pol->lan_port = 7000;
	addr_prefix_parse("10.100.0.1", &pol->lan_addr);
	pol->ssh_port = 22;
	pol->rate_per_s = 20;
	pol->rate_burst = 40;
	pol->conn_limit = 64;
	pol->quarantine_timeout_s = 600;
	pol->nflog_group = 7;
	for (int i = 0; i < n_peers; i++) {
		uint32_t v4 = htonl(0x0a000000u + (uint32_t)i * 4 + 1);
		char a[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET, &v4, a, sizeof a);
		plist_add(&peers, a);
		snprintf(fb, sizeof fb, "tcp,%s,7443", a);
		dlist_add(&outs, fb);
		snprintf(a, sizeof a, "fd00:77::%x:%x", (unsigned)(i * 4 + 1) >> 16,
			 (unsigned)(i * 4 + 1) & 0xffff);
		plist_add(&peers, a);
		snprintf(fb, sizeof fb, "tcp,%s,7443", a);
		dlist_add(&outs, fb);
	}
	plist_add(&servers, "10.100.0.10");
	plist_add(&mgmt, "10.99.0.0/24");
	pol->peers = peers.v;
	pol->n_peers = peers.n;
	pol->servers = servers.v;
	pol->n_servers = servers.n;
	pol->mgmt = mgmt.v;
	pol->n_mgmt = mgmt.n;
	pol->out = outs.v;
	pol->n_out = outs.n;
}

static int run_nft_file(const char *path)
{
	pid_t pid = fork();
	int st;
	if (pid == 0) {
		execlp("nft", "nft", "-f", path, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int cmd_bench(int argc, char **argv)
{
	struct nft_policy pol;
	char err[512], path[] = "/tmp/jn-bench-XXXXXX";
	int n_peers, runs, fd;
	int64_t *t_apply, *t_nft, *t_q;
	FILE *f;

	if (argc != 3) {
		fprintf(stderr, "usage: nft-tool bench PEERS RUNS\n");
		return 2;
	}
	n_peers = (int)num(argv[1], 100000, "peers");
	runs = (int)num(argv[2], 1000, "runs");
	if (runs < 1)
		runs = 1;
	bench_policy(&pol, n_peers);
	fd = mkstemp(path);
	if (fd < 0 || !(f = fdopen(fd, "w")) || nft_print(&pol, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "nft-tool: cannot write %s\n", path);
		return 1;
	}
	t_apply = calloc((size_t)runs, sizeof *t_apply);
	t_nft = calloc((size_t)runs, sizeof *t_nft);
	t_q = calloc((size_t)runs, sizeof *t_q);
	if (!t_apply || !t_nft || !t_q)
		return 1;
	for (int i = 0; i < runs; i++) {
		struct addr_prefix a;
		char ab[32];
		int64_t t0 = now_ns();
		if (nft_apply(&pol, err, sizeof err) < 0) {
			fprintf(stderr, "nft-tool: apply: %s\n", err);
			return 1;
		}
		t_apply[i] = now_ns() - t0;
		snprintf(ab, sizeof ab, "192.0.2.%d", i % 250 + 1);
		addr_prefix_parse(ab, &a);
		t0 = now_ns();
		if (nft_quarantine_add(table, &a, 0, err, sizeof err) < 0) {
			fprintf(stderr, "nft-tool: quarantine: %s\n", err);
			return 1;
		}
		t_q[i] = now_ns() - t0;
		t0 = now_ns();
		if (run_nft_file(path) < 0) {
			fprintf(stderr, "nft-tool: nft -f %s failed\n", path);
			return 1;
		}
		t_nft[i] = now_ns() - t0;
	}
	unlink(path);
	double a = median_ms(t_apply, runs), n = median_ms(t_nft, runs), q = median_ms(t_q, runs);
	printf("bench-nft: %d peers (%zu addresses, %zu output destinations), %d runs\n",
	       n_peers, pol.n_peers, pol.n_out, runs);
	printf("  nft_apply (one netlink batch)  median %8.2f ms\n", a);
	printf("  nft -f (same ruleset)          median %8.2f ms\n", n);
	printf("  nft -f / nft_apply             ratio  %8.2f\n", n / a);
	printf("  quarantine one address         median %8.3f ms\n", q);
	free(t_apply);
	free(t_nft);
	free(t_q);
	return 0;
}

/* Dual-stack listeners on [::]:PORT into p[0..n-1]; -1 on an error. */
static int listen_ports(char **ports, int n, struct pollfd *p)
{
	int zero = 0, one = 1;

	for (int i = 0; i < n; i++) {
		struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT,
					   .sin6_port = htons((uint16_t)num(ports[i], 65535, "port")) };
		int fd = socket(AF_INET6, SOCK_STREAM, 0);
		if (fd < 0 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) < 0 ||
		    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
		    bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 128) < 0) {
			fprintf(stderr, "nft-tool: listen on %s: %s\n", ports[i], strerror(errno));
			return -1;
		}
		p[i].fd = fd;
		p[i].events = POLLIN;
	}
	return 0;
}

#define ECHO_FDS 64

/* One readable descriptor of the echo server: a listener accepts, a
 * connection sends back what it read (or is closed at its end). */
static void echo_ready(struct pollfd *p, int *n, int i, int n_listen)
{
	char buf[4096];

	if (i < n_listen) {
		int c = accept(p[i].fd, NULL, NULL);
		if (c >= 0 && *n < ECHO_FDS) {
			p[*n].fd = c;
			p[(*n)++].events = POLLIN;
		} else if (c >= 0) {
			close(c);
		}
		return;
	}
	ssize_t r = read(p[i].fd, buf, sizeof buf);
	if (r > 0 && write(p[i].fd, buf, (size_t)r) == r)
		return;
	close(p[i].fd);
	p[i] = p[--(*n)];
}

/* Listeners that keep their connections and echo what they receive: an
 * established connection whose both directions can be watched. */
static int cmd_echo(int argc, char **argv)
{
	struct pollfd p[ECHO_FDS];
	int n, n_listen;
	int64_t end;

	if (argc < 3 || argc > 17) {
		fprintf(stderr, "usage: nft-tool echo SECONDS PORT...\n");
		return 2;
	}
	end = now_ns() + (int64_t)num(argv[1], 86400, "seconds") * 1000000000;
	n = n_listen = argc - 2;
	if (listen_ports(argv + 2, n_listen, p) < 0)
		return 1;
	printf("serving\n");
	fflush(stdout);
	while (now_ns() < end) {
		if (poll(p, (nfds_t)n, 200) <= 0)
			continue;
		for (int i = n - 1; i >= 0; i--)
			if (p[i].revents & (POLLIN | POLLHUP | POLLERR))
				echo_ready(p, &n, i, n_listen);
	}
	return 0;
}

/* A non-blocking TCP connection to ADDR PORT within ms: the descriptor,
 * -1 refused or failed, -3 no answer. */
static int connect_ms(const char *addr, const char *port, int ms)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST },
			*ai;
	int fd, soerr = 0;
	socklen_t len = sizeof soerr;

	if (getaddrinfo(addr, port, &hints, &ai) != 0) {
		fprintf(stderr, "nft-tool: bad address `%s' port `%s'\n", addr, port);
		return -2;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		return -1;
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	if (poll(&p, 1, ms) <= 0) {
		close(fd);
		return -3;
	}
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
	if (soerr != 0) {
		close(fd);
		return soerr == ETIMEDOUT || soerr == EHOSTUNREACH ? -3 : -1;
	}
	return fd;
}

/* Send one line and wait up to ms for all of it to come back. */
static const char *hold_round(int fd, const char *line, size_t len, int ms)
{
	char buf[512];
	size_t got = 0;
	int64_t end = now_ns() + (int64_t)ms * 1000000;

	if (send(fd, line, len, MSG_NOSIGNAL) != (ssize_t)len)
		return "closed";
	while (got < len) {
		int left = (int)((end - now_ns()) / 1000000);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (left <= 0 || poll(&p, 1, left) <= 0)
			return "timeout";
		ssize_t r = recv(fd, buf, sizeof buf, 0);
		if (r <= 0)
			return r == 0 || errno != EAGAIN ? "closed" : "timeout";
		got += (size_t)r;
	}
	return "echo";
}

/* hold ADDR PORT MS: one connection kept open; every line read from stdin
 * is sent and must come back (from an echo server) within MS. Prints
 * "connected", then "echo N", "timeout N" or "closed N" per line. */
static int cmd_hold(int argc, char **argv)
{
	char line[256];
	int fd, ms;
	unsigned seq = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: nft-tool hold ADDR PORT MS\n");
		return 2;
	}
	ms = (int)num(argv[3], 600000, "ms");
	fd = connect_ms(argv[1], argv[2], ms);
	if (fd < 0) {
		printf("%s\n", fd == -3 ? "filtered" : "refused");
		return fd == -3 ? 3 : fd == -2 ? 2 : 1;
	}
	printf("connected\n");
	fflush(stdout);
	while (fgets(line, sizeof line, stdin)) {
		printf("%s %u\n", hold_round(fd, line, strlen(line), ms), ++seq);
		fflush(stdout);
	}
	close(fd);
	return 0;
}

/* Dual-stack listeners that accept and close: something to reach. */
static int cmd_serve(int argc, char **argv)
{
	struct pollfd p[16];
	int n;
	int64_t end;

	if (argc < 3 || argc > 17) {
		fprintf(stderr, "usage: nft-tool serve SECONDS PORT...\n");
		return 2;
	}
	end = now_ns() + (int64_t)num(argv[1], 86400, "seconds") * 1000000000;
	n = argc - 2;
	if (listen_ports(argv + 2, n, p) < 0)
		return 1;
	printf("serving\n");
	fflush(stdout);
	while (now_ns() < end) {
		if (poll(p, (nfds_t)n, 200) <= 0)
			continue;
		for (int i = 0; i < n; i++)
			if (p[i].revents & POLLIN) {
				int c = accept(p[i].fd, NULL, NULL);
				if (c >= 0)
					close(c);
			}
	}
	return 0;
}

static int cmd_connect(int argc, char **argv)
{
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: nft-tool connect ADDR PORT MS\n");
		return 2;
	}
	fd = connect_ms(argv[1], argv[2], (int)num(argv[3], 600000, "ms"));
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return fd == -3 ? 3 : fd == -2 ? 2 : 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: nft-tool print|apply POLICY... | delete | qadd ADDR [S] | "
		"qdel ADDR | qlist | counters | log GROUP SECONDS | quar N T D ADDR@MS... | "
		"bench PEERS RUNS | serve|echo SECONDS PORT... | connect|hold ADDR PORT MS   "
		"(-t TABLE)\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct nft_policy pol;
	struct addr_prefix a;
	char err[512];
	const char *cmd;
	int rc = 0;

	if (argc < 2)
		return usage();
	cmd = argv[1];
	argc--;
	argv++;
	if (strcmp(cmd, "log") == 0)
		return cmd_log(argc, argv);
	if (strcmp(cmd, "quar") == 0)
		return cmd_quar(argc, argv);
	if (strcmp(cmd, "serve") == 0)
		return cmd_serve(argc, argv);
	if (strcmp(cmd, "connect") == 0)
		return cmd_connect(argc, argv);
	if (strcmp(cmd, "echo") == 0)
		return cmd_echo(argc, argv);
	if (strcmp(cmd, "hold") == 0)
		return cmd_hold(argc, argv);
	if (strcmp(cmd, "print") == 0 || strcmp(cmd, "apply") == 0) {
		parse_policy(argc, argv, &pol);
		if (cmd[0] == 'p')
			rc = nft_print(&pol, stdout) < 0 ? 1 : 0;
		else if (nft_apply(&pol, err, sizeof err) < 0) {
			fprintf(stderr, "nft-tool: apply: %s\n", err);
			rc = 1;
		}
		cfg_free(loaded_cfg);
		return rc;
	}
	/* the rest take positional arguments and -t TABLE anywhere */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-t") != 0)
			continue;
		if (i + 1 >= argc)
			return usage();
		table = argv[i + 1];
		memmove(&argv[i], &argv[i + 2], (size_t)(argc - i - 2) * sizeof *argv);
		argc -= 2;
		i--;
	}
	if (strcmp(cmd, "bench") == 0)
		return cmd_bench(argc, argv);
	if (strcmp(cmd, "delete") == 0 && argc == 1)
		rc = nft_table_delete(table, err, sizeof err);
	else if (strcmp(cmd, "qadd") == 0 && (argc == 2 || argc == 3)) {
		if (!addr_prefix_parse(argv[1], &a)) {
			fprintf(stderr, "nft-tool: bad address `%s'\n", argv[1]);
			return 2;
		}
		rc = nft_quarantine_add(table, &a, argc == 3 ? num(argv[2], 86400 * 365, "timeout") : 0,
					err, sizeof err);
	} else if (strcmp(cmd, "qdel") == 0 && argc == 2) {
		if (!addr_prefix_parse(argv[1], &a)) {
			fprintf(stderr, "nft-tool: bad address `%s'\n", argv[1]);
			return 2;
		}
		rc = nft_quarantine_del(table, &a, err, sizeof err);
	} else if (strcmp(cmd, "qlist") == 0 && argc == 1)
		rc = nft_quarantine_list(table, print_q, NULL, err, sizeof err);
	else if (strcmp(cmd, "counters") == 0 && argc == 1)
		rc = nft_counters(table, print_ctr, NULL, err, sizeof err);
	else
		return usage();
	if (rc < 0) {
		fprintf(stderr, "nft-tool: %s: %s\n", cmd, err);
		return 1;
	}
	return 0;
}
