/*
 * tls-bench — what a tunnel costs: full and resumed mutual TLS 1.3
 * handshakes per second, bulk throughput, and heap per idle connection.
 * Both ends run in this thread over socketpairs, so every figure is the CPU
 * of BOTH sides together (a gateway pays about half of it), measured as
 * process CPU time so that other load on the machine does not count.
 *
 *   tls-bench PKI_DIR [ROUNDS]
 */
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tunnels/tls.h"

static const char *pki;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);   /* CPU, not wall: the box is shared */
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct tls_ctx *ctx_for(const char *name, uint64_t gen)
{
	char cert[512], key[512], ca[512], crl[512];
	const char *crls[1] = { crl };
	char err[256];

	snprintf(cert, sizeof(cert), "%s/%s.crt", pki, name);
	snprintf(key, sizeof(key), "%s/%s.key", pki, name);
	snprintf(ca, sizeof(ca), "%s/ca.crt", pki);
	snprintf(crl, sizeof(crl), "%s/crl.pem", pki);
	struct tls_params p = {
		.cert_file = cert, .key_file = key, .ca_file = ca,
		.crl_files = crls, .n_crl = 1, .generation = gen,
	};
	struct tls_ctx *ctx = tls_ctx_new(&p, err, sizeof(err));
	if (ctx == NULL) {
		fprintf(stderr, "tls-bench: %s\n", err);
		exit(1);
	}
	return ctx;
}

struct pair {
	int fds[2];
	struct tls_conn *c, *s;
};

static void pair_open(struct pair *p, struct tls_ctx *cctx, struct tls_ctx *sctx,
		      const char *expected)
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p->fds) != 0) {
		perror("socketpair");
		exit(1);
	}
	p->c = tls_conn_connect(cctx, p->fds[0], expected);
	p->s = tls_conn_accept(sctx, p->fds[1]);
	int rc = TLS_WANT_READ, rs = TLS_WANT_READ;
	for (int i = 0; i < 100 && (rc != TLS_OK || rs != TLS_OK); i++) {
		if (rc != TLS_OK)
			rc = tls_conn_handshake(p->c);
		if (rs != TLS_OK)
			rs = tls_conn_handshake(p->s);
		if (rc == TLS_ERROR || rs == TLS_ERROR)
			break;
	}
	if (rc != TLS_OK || rs != TLS_OK) {
		fprintf(stderr, "tls-bench: handshake failed: %s / %s\n",
			tls_conn_reason(p->c), tls_conn_reason(p->s));
		exit(1);
	}
}

/* One byte each way, so that the client takes in its session ticket. */
static void pair_ping(struct pair *p)
{
	char b = 'x';
	ssize_t n = TLS_WANT_READ;

	tls_conn_write(p->s, &b, 1);
	for (int i = 0; i < 100 && n == TLS_WANT_READ; i++)
		n = tls_conn_read(p->c, &b, 1);
}

static void pair_close(struct pair *p)
{
	tls_conn_free(p->c);
	tls_conn_free(p->s);
	close(p->fds[0]);
	close(p->fds[1]);
}

static void bench_handshakes(const char *label, const char *client, const char *server,
			     const char *server_node, int rounds, bool resume)
{
	struct tls_ctx *cctx = ctx_for(client, 1), *sctx = ctx_for(server, 1);
	struct pair p;
	int resumed = 0;

	if (resume) {   /* prime the client's session cache */
		pair_open(&p, cctx, sctx, server_node);
		pair_ping(&p);
		pair_close(&p);
	}
	double t0 = now_s();
	for (int i = 0; i < rounds; i++) {
		pair_open(&p, cctx, sctx, server_node);
		resumed += tls_conn_resumed(p.s);
		if (resume)
			pair_ping(&p);   /* take in the next ticket; a full run never does */
		pair_close(&p);
	}
	double dt = now_s() - t0;
	printf("tls-bench: %-44s %8.0f handshakes/CPU-s  %7.3f ms CPU each  (%d/%d resumed)\n",
	       label, rounds / dt, dt * 1e3 / rounds, resumed, rounds);
	tls_ctx_free(cctx);
	tls_ctx_free(sctx);
}

static void bench_bulk(size_t total)
{
	struct tls_ctx *cctx = ctx_for("131016", 1), *sctx = ctx_for("000000", 1);
	static unsigned char out[16384], in[65536];
	size_t sent = 0, got = 0;
	struct pair p;

	memset(out, 0x5a, sizeof(out));
	pair_open(&p, cctx, sctx, "000000");
	double t0 = now_s();
	while (got < total) {
		if (sent < total) {
			size_t want = total - sent < sizeof(out) ? total - sent : sizeof(out);
			ssize_t n = tls_conn_write(p.c, out, want);
			if (n > 0)
				sent += (size_t)n;
		}
		ssize_t n;
		while ((n = tls_conn_read(p.s, in, sizeof(in))) > 0)
			got += (size_t)n;
		if (n != TLS_WANT_READ) {
			fprintf(stderr, "tls-bench: bulk read failed\n");
			exit(1);
		}
	}
	double dt = now_s() - t0;
	printf("tls-bench: %-44s %8.0f MB/CPU-s (%s, %zu MiB)\n", "bulk client->server",
	       (double)total / dt / 1e6, tls_conn_cipher(p.s), total >> 20);
	pair_close(&p);
	tls_ctx_free(cctx);
	tls_ctx_free(sctx);
}

static void bench_idle_memory(int n)
{
	struct tls_ctx *cctx = ctx_for("131016", 1), *sctx = ctx_for("000000", 1);
	struct pair *pairs = calloc((size_t)n, sizeof(*pairs));
	struct rlimit rl;

	if (pairs == NULL)
		exit(1);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && (rlim_t)(2 * n + 64) > rl.rlim_cur)
		n = (int)((rl.rlim_cur - 64) / 2);
	/* Prime the session cache so that idle tunnels are also resumed ones. */
	pair_open(&pairs[0], cctx, sctx, "000000");
	pair_ping(&pairs[0]);
	pair_close(&pairs[0]);
	malloc_trim(0);
	size_t before = mallinfo2().uordblks;
	for (int i = 0; i < n; i++) {
		pair_open(&pairs[i], cctx, sctx, "000000");
		pair_ping(&pairs[i]);
	}
	size_t after = mallinfo2().uordblks;
	printf("tls-bench: %-44s %8zu bytes per connection end (%d tunnels)\n",
	       "heap per idle established connection", (after - before) / (2 * (size_t)n), n);
	for (int i = 0; i < n; i++)
		pair_close(&pairs[i]);
	free(pairs);
	tls_ctx_free(cctx);
	tls_ctx_free(sctx);
}

int main(int argc, char **argv)
{
	int rounds = argc > 2 ? atoi(argv[2]) : 300;

	if (argc < 2 || rounds <= 0) {
		fprintf(stderr, "usage: tls-bench PKI_DIR [ROUNDS]\n");
		return 2;
	}
	pki = argv[1];
	bench_handshakes("full handshake, ECDSA P-256 both sides", "131016", "000000", "000000",
			 rounds, false);
	bench_handshakes("resumed handshake, ECDSA P-256", "131016", "000000", "000000",
			 rounds, true);
	bench_handshakes("full handshake, Ed25519 client", "ed25519/131016", "000000", "000000",
			 rounds, false);
	bench_handshakes("full handshake, RSA-2048 server", "131016", "rsa/131024", "131024",
			 rounds, false);
	bench_bulk((size_t)256 << 20);
	bench_idle_memory(1000);
	return 0;
}
