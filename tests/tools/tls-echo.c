/*
 * tls-echo — a TLS echo server on tunnels/tls.h, for interop tests against
 * third-party clients (openssl s_client, stunnel).
 *
 *   tls-echo -c CERT -k KEY -a CA [-r CRL]... [-2] [-o] [-p PORT] [-n COUNT]
 *            [-P NODE,NODE...]
 *
 * Listens on 127.0.0.1:PORT (0: any free port), prints "port N", then one
 * line per connection: "accept peer=... version=... cipher=... resumed=0|1"
 * or "reject reason=...". Echoes what it reads; never prints it. Serves
 * connections one at a time; exits after COUNT of them (default: never).
 * -2 allows TLS 1.2, -o makes a stale CRL fail open, -P restricts peers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "tunnels/tls.h"

#define IO_TIMEOUT_MS 5000
#define MAX_CRL       8

static const char *allowed;   /* comma-separated node codes, or NULL: all */

static bool allow_peer(void *arg, const char *node, const char **why)
{
	(void)arg;
	if (allowed == NULL)
		return true;
	for (const char *p = allowed; *p != '\0';) {
		size_t n = strcspn(p, ",");
		if (n == strlen(node) && strncmp(p, node, n) == 0)
			return true;
		p += n + (p[n] == ',');
	}
	*why = "unknown-peer";
	return false;
}

static int wait_fd(int fd, int io)
{
	struct pollfd pfd = { .fd = fd, .events = io == TLS_WANT_WRITE ? POLLOUT : POLLIN };

	return poll(&pfd, 1, IO_TIMEOUT_MS) == 1 ? 0 : -1;
}

/* Write all of buf, waiting as needed; false on error or timeout. */
static bool write_all(struct tls_conn *conn, int fd, const unsigned char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = tls_conn_write(conn, buf, len);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		} else if ((n != TLS_WANT_READ && n != TLS_WANT_WRITE) || wait_fd(fd, (int)n) != 0) {
			return false;
		}
	}
	return true;
}

static void serve(struct tls_ctx *ctx, int fd)
{
	struct tls_conn *conn = tls_conn_accept(ctx, fd);
	unsigned char buf[16384];
	int r;

	if (conn == NULL) {
		printf("reject reason=handshake-failed\n");
		return;
	}
	while ((r = tls_conn_handshake(conn)) == TLS_WANT_READ || r == TLS_WANT_WRITE) {
		if (wait_fd(fd, r) != 0) {
			printf("reject reason=handshake-timeout\n");
			tls_conn_free(conn);
			return;
		}
	}
	if (r != TLS_OK) {
		printf("reject reason=%s\n", tls_conn_reason(conn));
		tls_conn_free(conn);
		return;
	}
	printf("accept peer=%s version=%s cipher=%s resumed=%d serial=%s\n",
	       tls_conn_peer_node(conn), tls_conn_version(conn), tls_conn_cipher(conn),
	       tls_conn_resumed(conn), tls_conn_cert_serial(conn));
	for (;;) {
		ssize_t n = tls_conn_read(conn, buf, sizeof(buf));
		if (n > 0) {
			bool ok = write_all(conn, fd, buf, (size_t)n);
			OPENSSL_cleanse(buf, (size_t)n);
			if (!ok)
				break;
		} else if (n == TLS_WANT_READ || n == TLS_WANT_WRITE) {
			if (wait_fd(fd, (int)n) != 0)
				break;
		} else {
			break;
		}
	}
	(void)tls_conn_shutdown(conn);
	tls_conn_free(conn);
}

static void usage(void)
{
	fprintf(stderr, "usage: tls-echo -c CERT -k KEY -a CA [-r CRL]... [-2] [-o] "
			"[-p PORT] [-n COUNT] [-P NODE,...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *crls[MAX_CRL];
	struct tls_params p = { .generation = 1, .peer_ok = allow_peer };
	long port = 0, count = -1;
	char err[256];
	int opt;

	while ((opt = getopt(argc, argv, "c:k:a:r:2op:n:P:")) != -1) {
		switch (opt) {
		case 'c': p.cert_file = optarg; break;
		case 'k': p.key_file = optarg; break;
		case 'a': p.ca_file = optarg; break;
		case 'r':
			if (p.n_crl == MAX_CRL)
				usage();
			crls[p.n_crl++] = optarg;
			break;
		case '2': p.allow_tls12 = true; break;
		case 'o': p.crl_policy = TLS_CRL_FAIL_OPEN; break;
		case 'p': port = strtol(optarg, NULL, 10); break;
		case 'n': count = strtol(optarg, NULL, 10); break;
		case 'P': allowed = optarg; break;
		default: usage();
		}
	}
	if (p.cert_file == NULL || p.key_file == NULL || p.ca_file == NULL || port < 0 ||
	    port > 65535 || optind != argc)
		usage();
	p.crl_files = crls;

	struct tls_ctx *ctx = tls_ctx_new(&p, err, sizeof(err));
	if (ctx == NULL) {
		fprintf(stderr, "tls-echo: %s\n", err);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t slen = sizeof(sin);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(lfd, 16) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &slen) != 0) {
		fprintf(stderr, "tls-echo: listen on 127.0.0.1:%ld: %s\n", port, strerror(errno));
		return 1;
	}
	/* Which CRL path the context took (tls_ctx_crl_at_load), for the
	 * scenarios that must know that both refuse alike. */
	printf("crl-path %s\n", p.n_crl == 0 ? "none" : tls_ctx_crl_at_load(ctx) ? "at-load"
									  : "openssl");
	printf("port %u\n", ntohs(sin.sin_port));

	for (long served = 0; count < 0 || served < count; served++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "tls-echo: accept: %s\n", strerror(errno));
			break;
		}
		serve(ctx, fd);
		close(fd);
	}
	close(lfd);
	tls_ctx_free(ctx);
	return 0;
}
