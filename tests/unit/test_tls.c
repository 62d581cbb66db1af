/*
 * test_tls.c — tunnels/tls.c against real handshakes over socketpairs, with
 * the PKI made by conf/mkpki.sh (directory in JGW_TEST_PKI, default
 * build/tests/pki). Both ends run in this one thread, driven in turn.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tunnels/tls.h"

static char pki[512];

static const char *pki_path(const char *rel)
{
	static char bufs[8][640];
	static int next;
	char *b = bufs[next++ % 8];

	snprintf(b, sizeof(bufs[0]), "%s/%s", pki, rel);
	return b;
}

/* ---- peer policy (stands in for the peer directory and site rule) ------ */

struct policy {
	const char *allowed[8];    /* NULL-terminated; empty: every valid node */
	int calls;
};

static bool policy_ok(void *arg, const char *node, const char **why)
{
	struct policy *p = arg;

	p->calls++;
	if (p->allowed[0] == NULL)
		return true;
	for (int i = 0; p->allowed[i] != NULL; i++)
		if (strcmp(p->allowed[i], node) == 0)
			return true;
	*why = strncmp(node, "13", 2) != 0 && strcmp(node, "000000") != 0 ?
	       "wrong-prefecture" : "unknown-peer";
	return false;
}

struct side {
	const char *cert, *key;     /* relative to the PKI */
	const char *crl;            /* relative; NULL: none */
	bool allow_tls12;
	enum tls_crl_policy crl_policy;
	uint64_t generation;
	struct policy *policy;
	const char *ca;             /* relative; NULL: ca.crt */
};

static struct tls_ctx *make_ctx(const struct side *s)
{
	const char *crl = s->crl != NULL ? pki_path(s->crl) : NULL;
	struct tls_params p = {
		.cert_file = pki_path(s->cert),
		.key_file = pki_path(s->key),
		.ca_file = pki_path(s->ca != NULL ? s->ca : "ca.crt"),
		.crl_files = crl != NULL ? &crl : NULL,
		.n_crl = crl != NULL ? 1 : 0,
		.allow_tls12 = s->allow_tls12,
		.crl_policy = s->crl_policy,
		.crl_alarm_s = 7 * 86400,
		.generation = s->generation,
		.peer_ok = s->policy != NULL ? policy_ok : NULL,
		.peer_ok_arg = s->policy,
	};
	char err[256];
	struct tls_ctx *ctx = tls_ctx_new(&p, err, sizeof(err));

	if (ctx == NULL)
		print_error("tls_ctx_new: %s\n", err);
	assert_non_null(ctx);
	return ctx;
}

/* ---- driving both ends -------------------------------------------------- */

enum { ST_WANT, ST_OK, ST_ERR };

struct end {
	int fd;
	struct tls_conn *conn;   /* ours, or ... */
	SSL *raw;                /* ... a plain OpenSSL peer */
	int state;
};

static int end_step(struct end *e)
{
	if (e->conn != NULL) {
		int r = tls_conn_handshake(e->conn);
		return r == TLS_OK ? ST_OK : r == TLS_WANT_READ || r == TLS_WANT_WRITE ? ST_WANT : ST_ERR;
	}
	ERR_clear_error();
	int r = SSL_do_handshake(e->raw);
	if (r == 1)
		return ST_OK;
	int err = SSL_get_error(e->raw, r);
	ERR_clear_error();
	return err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE ? ST_WANT : ST_ERR;
}

static void nonblock(int fd)
{
	assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
}

static void make_pair(int fds[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	nonblock(fds[0]);
	nonblock(fds[1]);
}

/* Run both handshakes to their end. A side that fails stops sending, as a
 * real caller closing its socket would, so the other side learns of it. */
static void drive(struct end *a, struct end *b)
{
	a->state = b->state = ST_WANT;
	for (int i = 0; i < 400 && (a->state == ST_WANT || b->state == ST_WANT); i++) {
		if (a->state == ST_WANT && (a->state = end_step(a)) == ST_ERR)
			shutdown(a->fd, SHUT_WR);
		if (b->state == ST_WANT && (b->state = end_step(b)) == ST_ERR)
			shutdown(b->fd, SHUT_WR);
	}
	assert_int_not_equal(a->state, ST_WANT);
	assert_int_not_equal(b->state, ST_WANT);
}

/* Read from a conn, driving the other end's writes as needed. */
static ssize_t read_some(struct tls_conn *c, void *buf, size_t len)
{
	ssize_t n = TLS_WANT_READ;

	for (int i = 0; i < 100 && (n == TLS_WANT_READ || n == TLS_WANT_WRITE); i++)
		n = tls_conn_read(c, buf, len);
	return n;
}

/* Send a message each way; true when both arrive intact. */
static bool exchange(struct tls_conn *client, struct tls_conn *server)
{
	char buf[64];

	if (tls_conn_write(client, "ping", 4) != 4)
		return false;
	if (read_some(server, buf, sizeof(buf)) != 4 || memcmp(buf, "ping", 4) != 0)
		return false;
	if (tls_conn_write(server, "pong", 4) != 4)
		return false;
	return read_some(client, buf, sizeof(buf)) == 4 && memcmp(buf, "pong", 4) == 0;
}

struct run {
	int fds[2];
	struct end c, s;
};

/* One dial: client ctx to server ctx, expecting node `expected`. */
static void dial(struct run *r, struct tls_ctx *cctx, struct tls_ctx *sctx, const char *expected)
{
	memset(r, 0, sizeof(*r));
	make_pair(r->fds);
	r->c.fd = r->fds[0];
	r->s.fd = r->fds[1];
	r->c.conn = tls_conn_connect(cctx, r->c.fd, expected);
	r->s.conn = tls_conn_accept(sctx, r->s.fd);
	assert_non_null(r->c.conn);
	assert_non_null(r->s.conn);
	drive(&r->c, &r->s);
}

static void run_free(struct run *r)
{
	tls_conn_free(r->c.conn);
	tls_conn_free(r->s.conn);
	if (r->c.raw != NULL)
		SSL_free(r->c.raw);
	close(r->fds[0]);
	close(r->fds[1]);
}

/* The server refuses a client certificate: check its reason, and that a
 * TLS 1.3 client learns of the refusal when it first reads. */
static void expect_server_refuses(const char *client_cert, const char *client_key,
				  const struct side *server, const char *reason)
{
	struct side cs = { client_cert, client_key, "crl.pem", .generation = 1 };
	struct tls_ctx *cctx = make_ctx(&cs), *sctx = make_ctx(server);
	struct run r;
	char buf[16];

	dial(&r, cctx, sctx, "000000");
	assert_int_equal(r.s.state, ST_ERR);
	assert_string_equal(tls_conn_reason(r.s.conn), reason);
	assert_null(tls_conn_peer_node(r.s.conn));
	if (r.c.state == ST_OK) {
		assert_int_equal(read_some(r.c.conn, buf, sizeof(buf)), TLS_ERROR);
		assert_string_equal(tls_conn_reason(r.c.conn), "refused-by-peer");
	}
	run_free(&r);
	tls_ctx_free(cctx);
	tls_ctx_free(sctx);
}

static const struct side jlis_server = { "000000.crt", "000000.key", "crl.pem", .generation = 1 };

/* ---- tests -------------------------------------------------------------- */

static void check_success(const char *ccert, const char *ckey, const char *scert,
			  const char *skey, const char *snode, const char *cnode)
{
	struct policy pol = { .calls = 0 };
	struct side cs = { ccert, ckey, "crl.pem", .generation = 1, .policy = &pol };
	struct side ss = { scert, skey, "crl.pem", .generation = 1, .policy = &pol };
	struct tls_ctx *cctx = make_ctx(&cs), *sctx = make_ctx(&ss);
	char serial[64], sha[65];
	struct run r;

	dial(&r, cctx, sctx, snode);
	assert_int_equal(r.c.state, ST_OK);
	assert_int_equal(r.s.state, ST_OK);
	assert_null(tls_conn_reason(r.s.conn));
	assert_string_equal(tls_conn_peer_node(r.s.conn), cnode);
	assert_string_equal(tls_conn_peer_node(r.c.conn), snode);
	assert_string_equal(tls_conn_version(r.s.conn), "TLSv1.3");
	assert_non_null(tls_conn_cipher(r.s.conn));
	assert_false(tls_conn_resumed(r.s.conn));
	assert_int_equal(pol.calls >= 2, 1);   /* both sides asked the policy */

	assert_true(tls_cert_file_info(pki_path(ccert), serial, sizeof(serial), sha, sizeof(sha)));
	assert_string_equal(tls_conn_cert_serial(r.s.conn), serial);
	assert_string_equal(tls_conn_cert_sha256(r.s.conn), sha);
	assert_int_equal(strlen(sha), 64);
	assert_true(tls_cert_file_info(pki_path(scert), serial, sizeof(serial), sha, sizeof(sha)));
	assert_string_equal(tls_conn_cert_serial(r.c.conn), serial);
	assert_string_equal(tls_conn_cert_sha256(r.c.conn), sha);

	assert_true(exchange(r.c.conn, r.s.conn));
	assert_int_equal(tls_conn_shutdown(r.c.conn), TLS_OK);
	char buf[8];
	assert_int_equal(read_some(r.s.conn, buf, sizeof(buf)), TLS_CLOSED);
	run_free(&r);
	tls_ctx_free(cctx);
	tls_ctx_free(sctx);
}

static void test_ok_ecdsa(void **state)
{
	(void)state;
	check_success("131016.crt", "131016.key", "000000.crt", "000000.key", "000000", "131016");
}

static void test_ok_ed25519(void **state)
{
	(void)state;
	check_success("ed25519/131016.crt", "ed25519/131016.key", "130001.crt", "130001.key",
		      "130001", "131016");
	check_success("130001.crt", "130001.key", "ed25519/131016.crt", "ed25519/131016.key",
		      "131016", "130001");
}

static void test_ok_rsa(void **state)
{
	(void)state;
	check_success("131016.crt", "131016.key", "rsa/131024.crt", "rsa/131024.key",
		      "131024", "131016");
}

static void test_expired(void **state)
{
	(void)state;
	expect_server_refuses("bad/expired.crt", "bad/expired.key", &jlis_server, "cert-expired");
}

static void test_not_yet_valid(void **state)
{
	(void)state;
	expect_server_refuses("bad/not-yet-valid.crt", "bad/not-yet-valid.key", &jlis_server,
			      "cert-not-yet-valid");
}

static void test_unknown_ca(void **state)
{
	(void)state;
	expect_server_refuses("bad/unknown-ca.crt", "bad/unknown-ca.key", &jlis_server, "unknown-ca");
}

/* The client refuses a server from a foreign CA; the server hears an alert. */
static void test_unknown_ca_server(void **state)
{
	struct side cs = { "131016.crt", "131016.key", "crl.pem", .generation = 1 };
	struct side ss = { "bad/unknown-ca.crt", "bad/unknown-ca.key", NULL, .generation = 1 };
	struct tls_ctx *cctx = make_ctx(&cs), *sctx = make_ctx(&ss);
	struct run r;

	(void)state;
	dial(&r, cctx, sctx, "131016");
	assert_int_equal(r.c.state, ST_ERR);
	assert_string_equal(tls_conn_reason(r.c.conn), "unknown-ca");
	assert_int_equal(r.s.state, ST_ERR);
	assert_string_equal(tls_conn_reason(r.s.conn), "refused-by-peer");
	run_free(&r);
	tls_ctx_free(cctx);
	tls_ctx_free(sctx);
}

static void test_revoked(void **state)
{
	(void)state;
	expect_server_refuses("bad/revoked.crt", "bad/revoked.key", &jlis_server, "cert-revoked");

	/* Control: the same certificate passes where no CRL is configured, so
	 * the refusal above is the CRL's doing. */
	struct side cs = { "bad/revoked.crt", "bad/revoked.key", NULL, .generation = 1 };
	struct side ss = { "000000.crt", "000000.key", NULL, .generation = 1 };
	struct tls_ctx *cctx = make_ctx(&cs), *sctx = make_ctx(&ss);
	struct run r;
	dial(&r, cctx, sctx, "000000");
	assert_int_equal(r.s.state, ST_OK);
	assert_string_equal(tls_conn_peer_node(r.s.conn), "131016");
	run_free(&r);
	tls_ctx_free(cctx);
	tls_ctx_free(sctx);
}

static void test_crl_stale_fail_closed(void **state)
{
	struct side ss = { "000000.crt", "000000.key", "bad/crl-stale.pem", .generation = 1 };

	(void)state;
	expect_server_refuses("131016.crt", "131016.key", &ss, "crl-stale");
}

static void test_crl_stale_fail_open(void **state)
{
	struct side ss = { "000000.crt", "000000.key", "bad/crl-stale.pem",
			   .crl_policy = TLS_CRL_FAIL_OPEN, .generation = 1 };
	struct side cs = { "131016.crt", "131016.key", "crl.pem", .generation = 1 };
	struct tls_ctx *cctx = make_ctx(&cs), *sctx = make_ctx(&ss);
	struct run r;

	(void)state;
	dial(&r, cctx, sctx, "000000");
	assert_int_equal(r.s.state, ST_OK);
	assert_string_equal(tls_conn_peer_node(r.s.conn), "131016");
	assert_true(exchange(r.c.conn, r.s.conn));
	run_free(&r);
	tls_ctx_free(cctx);
	tls_ctx_free(sctx);
	/* What the stale CRL lists is still refused. */
	expect_server_refuses("bad/revoked.crt", "bad/revoked.key", &ss, "cert-revoked");
}

static void test_crl_remaining(void **state)
{
	struct side fresh = { "000000.crt", "000000.key", "crl.pem", .generation = 1 };
	struct side stale = { "000000.crt", "000000.key", "bad/crl-stale.pem", .generation = 1 };
	struct side none = { "000000.crt", "000000.key", NULL, .generation = 1 };
	struct tls_ctx *f = make_ctx(&fresh), *s = make_ctx(&stale), *n = make_ctx(&none);
	int64_t now = (int64_t)time(NULL);

	(void)state;
	/* mkpki.sh issues crl.pem for 30 days; the stale one ended 2020-02-01. */
	int64_t left = tls_ctx_crl_remaining(f, now);
	assert_true(left > 0 && left <= 30 * 86400);
	assert_int_equal(tls_ctx_crl_remaining(s, now), 1580515200 - now);
	assert_true(tls_ctx_crl_remaining(n, now) == INT64_MAX);
	/* mkpki.sh's CRLs are plain: checked against as verified at load. */
	assert_true(tls_ctx_crl_at_load(f));
	assert_true(tls_ctx_crl_at_load(s));
	assert_false(tls_ctx_crl_at_load(n));
	assert_true(tls_ctx_crl_alarm(s, now));
	assert_false(tls_ctx_crl_alarm(n, now));
	/* The alarm window is 7 days: quiet now, ringing 24 days on. */
	assert_int_equal(tls_ctx_crl_alarm(f, now), left < 7 * 86400);
	assert_true(tls_ctx_crl_alarm(f, now + left - 3600));
	tls_ctx_free(f);
	tls_ctx_free(s);
	tls_ctx_free(n);
}

static void test_peer_not_accepted(void **state)
{
	struct policy pol = { .allowed = { "000000", "130001", "131016", NULL } };
	struct side ss = { "000000.crt", "000000.key", "crl.pem", .generation = 1, .policy = &pol };

	(void)state;
	expect_server_refuses("131024.crt", "131024.key", &ss, "unknown-peer");
	expect_server_refuses("271004.crt", "271004.key", &ss, "wrong-prefecture");
}

static void test_identity_forms(void **state)
{
	(void)state;
	expect_server_refuses("bad/two-uris.crt", "bad/two-uris.key", &jlis_server, "identity-count");
	expect_server_refuses("bad/no-uri.crt", "bad/no-uri.key", &jlis_server, "no-identity");
	expect_server_refuses("bad/bad-code.crt", "bad/bad-code.key", &jlis_server, "bad-identity");
}

static void test_expected_mismatch(void **state)
{
	struct side cs = { "131016.crt", "131016.key", "crl.pem", .generation = 1 };
	struct tls_ctx *cctx = make_ctx(&cs), *sctx = make_ctx(&jlis_server);
	struct run r;

	(void)state;
	dial(&r, cctx, sctx, "130001");   /* 000000 answers */
	assert_int_equal(r.c.state, ST_ERR);
	assert_string_equal(tls_conn_reason(r.c.conn), "identity-mismatch");
	assert_null(tls_conn_peer_node(r.c.conn));
	assert_int_equal(r.s.state, ST_ERR);
	run_free(&r);
	/* An invalid expected node is refused before any byte is sent. */
	int fds[2];
	make_pair(fds);
	assert_null(tls_conn_connect(cctx, fds[0], "131017"));
	assert_null(tls_conn_connect(cctx, fds[0], NULL));
	close(fds[0]);
	close(fds[1]);
	tls_ctx_free(cctx);
	tls_ctx_free(sctx);
}

/* A plain OpenSSL client, for what our own API will not do. */
static SSL *raw_client(int fd, int max_version, const char *cert, const char *key)
{
	SSL_CTX *c = SSL_CTX_new(TLS_client_method());
	SSL *ssl;

	assert_non_null(c);
	assert_int_equal(SSL_CTX_set_max_proto_version(c, max_version), 1);
	assert_int_equal(SSL_CTX_load_verify_file(c, pki_path("ca.crt")), 1);
	if (cert != NULL) {
		assert_int_equal(SSL_CTX_use_certificate_chain_file(c, pki_path(cert)), 1);
		assert_int_equal(SSL_CTX_use_PrivateKey_file(c, pki_path(key), SSL_FILETYPE_PEM), 1);
	}
	SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
	ssl = SSL_new(c);
	SSL_CTX_free(c);   /* the SSL holds its own reference */
	assert_non_null(ssl);
	SSL_set_fd(ssl, fd);
	SSL_set_connect_state(ssl);
	return ssl;
}

static void raw_dial(struct run *r, struct tls_ctx *sctx, int max_version, const char *cert,
		     const char *key)
{
	memset(r, 0, sizeof(*r));
	make_pair(r->fds);
	r->c.fd = r->fds[0];
	r->s.fd = r->fds[1];
	r->c.raw = raw_client(r->c.fd, max_version, cert, key);
	r->s.conn = tls_conn_accept(sctx, r->s.fd);
	assert_non_null(r->s.conn);
	drive(&r->c, &r->s);
}

static void test_no_client_cert(void **state)
{
	struct tls_ctx *sctx = make_ctx(&jlis_server);
	struct run r;

	(void)state;
	raw_dial(&r, sctx, TLS1_3_VERSION, NULL, NULL);
	assert_int_equal(r.s.state, ST_ERR);
	assert_string_equal(tls_conn_reason(r.s.conn), "no-client-cert");
	run_free(&r);
	tls_ctx_free(sctx);
}

static void test_tls12(void **state)
{
	struct side open12 = { "000000.crt", "000000.key", "crl.pem", .generation = 1,
			       .allow_tls12 = true };
	struct tls_ctx *strict = make_ctx(&jlis_server), *lax = make_ctx(&open12);
	struct run r;

	(void)state;
	raw_dial(&r, strict, TLS1_2_VERSION, "131016.crt", "131016.key");
	assert_int_equal(r.s.state, ST_ERR);
	assert_int_equal(r.c.state, ST_ERR);
	assert_string_equal(tls_conn_reason(r.s.conn), "protocol-version");
	run_free(&r);

	raw_dial(&r, lax, TLS1_2_VERSION, "131016.crt", "131016.key");
	assert_int_equal(r.s.state, ST_OK);
	assert_string_equal(tls_conn_version(r.s.conn), "TLSv1.2");
	assert_string_equal(tls_conn_peer_node(r.s.conn), "131016");
	run_free(&r);

	/* The identity rules hold in TLS 1.2 too. */
	raw_dial(&r, lax, TLS1_2_VERSION, "bad/no-uri.crt", "bad/no-uri.key");
	assert_int_equal(r.s.state, ST_ERR);
	assert_string_equal(tls_conn_reason(r.s.conn), "no-identity");
	run_free(&r);
	tls_ctx_free(strict);
	tls_ctx_free(lax);
}

/* Dial once fully (with data, so the ticket arrives), then again. */
static void dial_and_talk(struct tls_ctx *cctx, struct tls_ctx *sctx, bool *resumed)
{
	struct run r;

	dial(&r, cctx, sctx, "000000");
	assert_int_equal(r.c.state, ST_OK);
	assert_int_equal(r.s.state, ST_OK);
	assert_true(exchange(r.c.conn, r.s.conn));
	assert_int_equal(tls_conn_resumed(r.c.conn), tls_conn_resumed(r.s.conn));
	*resumed = tls_conn_resumed(r.s.conn);
	assert_string_equal(tls_conn_peer_node(r.s.conn), "131016");
	run_free(&r);
}

static void test_resumption_generation(void **state)
{
	struct side cs = { "131016.crt", "131016.key", "crl.pem", .generation = 1 };
	struct side gen2 = jlis_server;
	struct tls_ctx *cctx = make_ctx(&cs), *s1 = make_ctx(&jlis_server), *s2;
	bool resumed;

	(void)state;
	gen2.generation = 2;
	s2 = make_ctx(&gen2);
	dial_and_talk(cctx, s1, &resumed);
	assert_false(resumed);
	dial_and_talk(cctx, s1, &resumed);
	assert_true(resumed);
	dial_and_talk(cctx, s1, &resumed);
	assert_true(resumed);
	/* A resumed tunnel dropped without close_notify or a new ticket does
	 * not spoil the cached session. */
	struct run r;
	dial(&r, cctx, s1, "000000");
	assert_true(tls_conn_resumed(r.s.conn));
	run_free(&r);
	dial_and_talk(cctx, s1, &resumed);
	assert_true(resumed);
	/* The server reloaded: the old ticket must not resume. */
	dial_and_talk(cctx, s2, &resumed);
	assert_false(resumed);
	dial_and_talk(cctx, s2, &resumed);
	assert_true(resumed);
	/* ... and back: generation 1's context never saw generation 2's ticket. */
	dial_and_talk(cctx, s1, &resumed);
	assert_false(resumed);
	tls_ctx_free(cctx);
	tls_ctx_free(s1);
	tls_ctx_free(s2);
}

/* The identity check runs on a resumed session: a peer that the policy no
 * longer accepts is refused though its session resumes. */
static void test_resumed_identity_checked(void **state)
{
	struct policy spol = { .calls = 0 }, cpol = { .calls = 0 };
	struct side cs = { "131016.crt", "131016.key", "crl.pem", .generation = 1, .policy = &cpol };
	struct side ss = { "000000.crt", "000000.key", "crl.pem", .generation = 1, .policy = &spol };
	struct tls_ctx *cctx = make_ctx(&cs), *sctx = make_ctx(&ss);
	bool resumed;
	struct run r;

	(void)state;
	dial_and_talk(cctx, sctx, &resumed);
	assert_false(resumed);

	spol.allowed[0] = "130001";   /* 131016 is no longer welcome */
	spol.calls = 0;
	dial(&r, cctx, sctx, "000000");
	assert_int_equal(r.c.state, ST_OK);
	assert_true(tls_conn_resumed(r.c.conn));   /* it was a resumption ... */
	assert_int_equal(r.s.state, ST_ERR);       /* ... and still refused */
	assert_string_equal(tls_conn_reason(r.s.conn), "unknown-peer");
	assert_int_equal(spol.calls, 1);
	run_free(&r);

	/* The same on the client side: the server's node is now refused. */
	spol.allowed[0] = NULL;
	dial_and_talk(cctx, sctx, &resumed);
	assert_true(resumed);
	cpol.allowed[0] = "130001";
	cpol.calls = 0;
	dial(&r, cctx, sctx, "000000");   /* offers the session just renewed */
	assert_int_equal(r.c.state, ST_ERR);
	assert_string_equal(tls_conn_reason(r.c.conn), "unknown-peer");
	assert_int_equal(cpol.calls, 1);  /* asked once, after the resumed handshake */
	run_free(&r);
	tls_ctx_free(cctx);
	tls_ctx_free(sctx);
}

static void test_bulk_transfer(void **state)
{
	struct side cs = { "131016.crt", "131016.key", "crl.pem", .generation = 1 };
	struct tls_ctx *cctx = make_ctx(&cs), *sctx = make_ctx(&jlis_server);
	enum { TOTAL = 1 << 20 };
	unsigned char *out = malloc(TOTAL), *in = malloc(TOTAL);
	size_t sent = 0, got = 0;
	struct run r;

	(void)state;
	assert_non_null(out);
	assert_non_null(in);
	for (size_t i = 0; i < TOTAL; i++)
		out[i] = (unsigned char)(i * 7 + (i >> 11));
	dial(&r, cctx, sctx, "000000");
	assert_int_equal(r.s.state, ST_OK);
	for (int i = 0; i < 100000 && got < TOTAL; i++) {
		if (sent < TOTAL) {
			ssize_t n = tls_conn_write(r.c.conn, out + sent, TOTAL - sent);
			assert_true(n > 0 || n == TLS_WANT_WRITE || n == TLS_WANT_READ);
			if (n > 0)
				sent += (size_t)n;
		}
		ssize_t n = tls_conn_read(r.s.conn, in + got, TOTAL - got);
		assert_true(n > 0 || n == TLS_WANT_READ);
		if (n > 0)
			got += (size_t)n;
	}
	assert_int_equal(got, TOTAL);
	assert_false(tls_conn_has_pending(r.s.conn));   /* all read: OpenSSL holds nothing */
	assert_memory_equal(in, out, TOTAL);
	run_free(&r);
	free(out);
	free(in);
	tls_ctx_free(cctx);
	tls_ctx_free(sctx);
}

static void test_bad_params(void **state)
{
	struct tls_params p = {
		.cert_file = pki_path("131016.crt"),
		.key_file = pki_path("131024.key"),
		.ca_file = pki_path("ca.crt"),
	};
	char err[256], serial[64], sha[65];
	const char *missing_crl = "/nonexistent/crl.pem";

	(void)state;
	assert_null(tls_ctx_new(&p, err, sizeof(err)));
	assert_non_null(strstr(err, "131024.key"));
	p.key_file = pki_path("131016.key");
	p.ca_file = "/nonexistent/ca.crt";
	assert_null(tls_ctx_new(&p, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/ca.crt"));
	p.ca_file = pki_path("ca.crt");
	p.crl_files = &missing_crl;
	p.n_crl = 1;
	assert_null(tls_ctx_new(&p, err, sizeof(err)));
	assert_non_null(strstr(err, missing_crl));
	const char *not_a_crl = pki_path("ca.crt");
	p.crl_files = &not_a_crl;
	assert_null(tls_ctx_new(&p, err, sizeof(err)));
	assert_non_null(strstr(err, "no valid CRL"));
	const char *foreign = pki_path("bad/crl-foreign.pem");
	p.crl_files = &foreign;
	assert_null(tls_ctx_new(&p, err, sizeof(err)));
	assert_non_null(strstr(err, "not signed by a trusted CA"));
	assert_null(tls_ctx_new(NULL, err, sizeof(err)));
	assert_false(tls_cert_file_info("/nonexistent.crt", serial, sizeof(serial), sha, sizeof(sha)));
	assert_false(tls_cert_file_info(pki_path("131016.crt"), serial, 4, sha, sizeof(sha)));
	assert_false(tls_cert_file_info(pki_path("131016.key"), serial, sizeof(serial), sha, sizeof(sha)));
	assert_null(tls_conn_accept(NULL, 0));
}

/* A failure names the file it is about, for the configuration's location
 * of the statement that named it. */
static void test_fault_file(void **state)
{
	const char *crls[2] = { pki_path("crl.pem"), pki_path("bad/crl-foreign.pem") };
	struct tls_params p = {
		.cert_file = "/nonexistent/131016.crt",
		.key_file = pki_path("131016.key"),
		.ca_file = pki_path("ca.crt"),
	};
	struct tls_fault f = { .file = TLS_FAULT_CA, .crl = 9 };
	struct tls_ctx *ctx;
	char err[256];

	(void)state;
	assert_null(tls_ctx_new_at(&p, err, sizeof(err), &f));
	assert_int_equal(f.file, TLS_FAULT_CERT);
	p.cert_file = pki_path("131016.crt");
	p.key_file = pki_path("131024.key");                 /* another certificate's */
	assert_null(tls_ctx_new_at(&p, err, sizeof(err), &f));
	assert_int_equal(f.file, TLS_FAULT_KEY);
	p.key_file = pki_path("131016.key");
	p.ca_file = "/nonexistent/ca.crt";
	assert_null(tls_ctx_new_at(&p, err, sizeof(err), &f));
	assert_int_equal(f.file, TLS_FAULT_CA);
	p.ca_file = pki_path("ca.crt");
	p.crl_files = crls;
	p.n_crl = 2;                                         /* the second is foreign */
	assert_null(tls_ctx_new_at(&p, err, sizeof(err), &f));
	assert_int_equal(f.file, TLS_FAULT_CRL);
	assert_int_equal(f.crl, 1);
	assert_non_null(strstr(err, "crl-foreign.pem"));
	p.n_crl = 1;
	ctx = tls_ctx_new_at(&p, err, sizeof(err), &f);
	assert_non_null(ctx);
	assert_int_equal(f.file, TLS_FAULT_NONE);
	tls_ctx_free(ctx);
	assert_null(tls_ctx_new_at(NULL, err, sizeof(err), NULL));   /* fault optional */
}

static void test_own_node(void **state)
{
	struct side a = { "130001.crt", "130001.key", NULL, .generation = 1 };
	struct side b = { "bad/no-uri.crt", "bad/no-uri.key", NULL, .generation = 1 };
	struct side c = { "bad/two-uris.crt", "bad/two-uris.key", NULL, .generation = 1 };
	struct tls_ctx *ca = make_ctx(&a), *cb = make_ctx(&b), *cc = make_ctx(&c);

	(void)state;
	assert_string_equal(tls_ctx_node(ca), "130001");
	assert_null(tls_ctx_node(cb));
	assert_null(tls_ctx_node(cc));
	tls_ctx_free(ca);
	tls_ctx_free(cb);
	tls_ctx_free(cc);
}

static int count_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	return n;
}

/* Reload after reload (a new context per generation, sessions in flight):
 * no descriptor is left behind (leaks show under make check SAN=1). */
static void test_reload_loop(void **state)
{
	struct side cs = { "131016.crt", "131016.key", "crl.pem", .generation = 1 };
	struct side ss = jlis_server;
	int before = count_fds();
	bool resumed;

	(void)state;
	for (int gen = 1; gen <= 20; gen++) {
		cs.generation = ss.generation = (uint64_t)gen;
		struct tls_ctx *cctx = make_ctx(&cs), *sctx = make_ctx(&ss);
		dial_and_talk(cctx, sctx, &resumed);
		assert_false(resumed);
		dial_and_talk(cctx, sctx, &resumed);
		assert_true(resumed);
		tls_ctx_free(cctx);
		tls_ctx_free(sctx);
	}
	assert_int_equal(count_fds(), before);
}

/* A reload re-checks live tunnels against the new context. */
static void test_recheck(void **state)
{
	struct policy pol = { .calls = 0 };
	struct side cs = { "bad/revoked.crt", "bad/revoked.key", NULL, .generation = 1 };
	struct side old = { "000000.crt", "000000.key", NULL, .generation = 1 };
	struct side same = old, crl = old, stale = old, strict = old, other_ca = old, open = old;
	struct tls_ctx *cctx = make_ctx(&cs), *sctx = make_ctx(&old);
	struct run r;

	(void)state;
	same.generation = crl.generation = stale.generation = strict.generation = 2;
	other_ca.generation = open.generation = 2;
	crl.crl = "crl.pem";
	stale.crl = "bad/crl-stale.pem";
	strict.policy = &pol;
	pol.allowed[0] = "130001";
	other_ca.ca = "bad/unknown-ca-ca.crt";   /* the CA file now names another CA */
	open.crl = "bad/crl-stale.pem";
	open.crl_policy = TLS_CRL_FAIL_OPEN;
	struct tls_ctx *n_same = make_ctx(&same), *n_crl = make_ctx(&crl),
		       *n_stale = make_ctx(&stale), *n_strict = make_ctx(&strict),
		       *n_other_ca = make_ctx(&other_ca), *n_open = make_ctx(&open);

	dial(&r, cctx, sctx, "000000");
	assert_int_equal(r.s.state, ST_OK);
	assert_null(tls_conn_recheck(r.s.conn, n_same));
	assert_null(tls_conn_recheck(r.c.conn, n_same));   /* the server side of it */
	assert_string_equal(tls_conn_recheck(r.s.conn, n_crl), "cert-revoked");
	assert_string_equal(tls_conn_recheck(r.s.conn, n_stale), "crl-stale");
	assert_string_equal(tls_conn_recheck(r.s.conn, n_strict), "unknown-peer");
	assert_string_equal(tls_conn_recheck(r.s.conn, n_other_ca), "unknown-ca");
	assert_string_equal(tls_conn_recheck(r.c.conn, n_other_ca), "unknown-ca");
	/* fail-open: the stale CRL is still used for what it lists */
	assert_string_equal(tls_conn_recheck(r.s.conn, n_open), "cert-revoked");
	assert_string_equal(tls_conn_recheck(NULL, n_same), "handshake-failed");
	run_free(&r);

	/* A peer that no CRL lists passes a fail-open stale CRL, and not a
	 * fail-closed one. */
	struct side good = { "131016.crt", "131016.key", NULL, .generation = 1 };
	struct tls_ctx *gctx = make_ctx(&good);
	dial(&r, gctx, sctx, "000000");
	assert_int_equal(r.s.state, ST_OK);
	assert_null(tls_conn_recheck(r.s.conn, n_open));
	assert_string_equal(tls_conn_recheck(r.s.conn, n_stale), "crl-stale");
	run_free(&r);
	tls_ctx_free(gctx);
	tls_ctx_free(n_same);
	tls_ctx_free(n_crl);
	tls_ctx_free(n_stale);
	tls_ctx_free(n_strict);
	tls_ctx_free(n_other_ca);
	tls_ctx_free(n_open);
	tls_ctx_free(cctx);
	tls_ctx_free(sctx);
}

static int group_setup(void **state)
{
	const char *dir = getenv("JGW_TEST_PKI");
	struct stat st;

	(void)state;
	snprintf(pki, sizeof(pki), "%s", dir != NULL ? dir : "build/tests/pki");
	if (stat(pki_path(".complete"), &st) != 0) {
		fprintf(stderr, "test PKI missing in %s: run conf/mkpki.sh %s\n", pki, pki);
		return -1;
	}
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok_ecdsa),
		cmocka_unit_test(test_ok_ed25519),
		cmocka_unit_test(test_ok_rsa),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_not_yet_valid),
		cmocka_unit_test(test_unknown_ca),
		cmocka_unit_test(test_unknown_ca_server),
		cmocka_unit_test(test_revoked),
		cmocka_unit_test(test_crl_stale_fail_closed),
		cmocka_unit_test(test_crl_stale_fail_open),
		cmocka_unit_test(test_crl_remaining),
		cmocka_unit_test(test_peer_not_accepted),
		cmocka_unit_test(test_identity_forms),
		cmocka_unit_test(test_expected_mismatch),
		cmocka_unit_test(test_no_client_cert),
		cmocka_unit_test(test_tls12),
		cmocka_unit_test(test_resumption_generation),
		cmocka_unit_test(test_resumed_identity_checked),
		cmocka_unit_test(test_bulk_transfer),
		cmocka_unit_test(test_bad_params),
		cmocka_unit_test(test_fault_file),
		cmocka_unit_test(test_own_node),
		cmocka_unit_test(test_reload_loop),
		cmocka_unit_test(test_recheck),
	};

	return cmocka_run_group_tests_name("tls", tests, group_setup, NULL);
}
