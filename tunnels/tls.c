/*
 * tls.c — mutually authenticated TLS 1.3 tunnels on OpenSSL 3.
 *
 * Trust decisions are made in one place, identity_check(), which runs after
 * every handshake, resumed or not. OpenSSL skips chain verification when a
 * session is resumed, so for a resumed session the stored peer certificate
 * is verified again against this generation's store (expiry, revocation,
 * CRL freshness) before the identity rules run. The verify callback applies
 * the same rules during a full handshake so that a refused peer gets an
 * alert and never a session ticket.
 */
#include "tunnels/tls.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define TLS_CTX_MAGIC  0x544c5343u   /* "TLSC" */
#define TLS_CONN_MAGIC 0x544c534eu   /* "TLSN" */

#define NODE_URI_PREFIX "urn:jgw:node:"
#define SERIAL_HEX_MAX  (2 * 20 + 2)  /* RFC 5280: at most 20 octets */
#define SHA256_HEX_LEN  64
#define REASON_MAX      32
/* Intermediate CAs allowed between a peer's certificate and its anchor.
 * Every one of them is looked up in the CRLs too (CRL_CHECK_ALL), so a
 * revoked intermediate refuses its whole branch. */
#define VERIFY_DEPTH    4

/* Client-side sessions, one per expected peer node (open addressing). */
struct sess_slot {
	node_code node;
	SSL_SESSION *sess;
};

struct tls_ctx {
	uint32_t magic;
	SSL_CTX *ssl_ctx;
	bool (*peer_ok)(void *arg, const char *node, const char **why);
	void *peer_ok_arg;
	enum tls_crl_policy crl_policy;
	uint32_t crl_alarm_s;
	uint64_t generation;
	bool have_crl;
	int64_t crl_next_update;     /* earliest nextUpdate, epoch seconds */
	struct tls_crl *crls;        /* as loaded, in file order */
	size_t n_crls;
	bool crl_at_load;            /* crl_check_chain, not OpenSSL's CRL path */
	node_code own_node;          /* from our own certificate; "" if none */
	/* The client session cache: the relay's workers dial on threads of
	 * their own, all with this context. */
	pthread_mutex_t sess_mu;
	struct sess_slot *sessions;
	size_t n_sessions, cap_sessions;
};

/* A CRL as loaded: its signature verified once, with the key of the trust
 * anchor that issued it, and its dates read once. */
struct tls_crl {
	X509_CRL *crl;
	EVP_PKEY *key;               /* the key its signature was verified with */
	int64_t this_s, next_s;      /* thisUpdate; nextUpdate (INT64_MAX: none) */
};

enum conn_state { CONN_HANDSHAKE, CONN_OPEN, CONN_FAILED };

struct tls_conn {
	uint32_t magic;
	struct tls_ctx *ctx;
	SSL *ssl;
	bool server;
	enum conn_state state;
	bool verified;                /* identity_check() passed */
	bool reverifying;             /* inside reverify_resumed() */
	node_code expected;           /* client side */
	node_code peer;
	const char *reason;           /* static string, or reason_buf */
	char reason_buf[REASON_MAX];
	SSL_SESSION *pending_sess;    /* ticket received before the check passed */
	char serial[SERIAL_HEX_MAX + 1];
	char sha256[SHA256_HEX_LEN + 1];
};

static int conn_ex_index = -1;
static int store_ex_index = -1;     /* an X509_STORE's tls_ctx */
static CRYPTO_ONCE conn_ex_once = CRYPTO_ONCE_STATIC_INIT;

static void conn_ex_init(void)
{
	conn_ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	store_ex_index = X509_STORE_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* ---- small helpers ------------------------------------------------------ */

static void set_err(char *err, size_t errlen, const char *fmt, const char *arg)
{
	unsigned long e = ERR_peek_last_error();
	char ossl[160] = "";

	if (err == NULL || errlen == 0)
		return;
	if (e != 0)
		ERR_error_string_n(e, ossl, sizeof(ossl));
	ERR_clear_error();
	int n = snprintf(err, errlen, fmt, arg != NULL ? arg : "");
	if (n >= 0 && (size_t)n < errlen && ossl[0] != '\0')
		snprintf(err + n, errlen - (size_t)n, " (%s)", ossl);
}

static void conn_set_reason(struct tls_conn *conn, const char *reason)
{
	/* The first reason wins: later failures are consequences of it. */
	if (conn->reason == NULL)
		conn->reason = reason;
}

static int64_t asn1_time_epoch(const ASN1_TIME *t, bool *ok)
{
	struct tm tm;

	*ok = t != NULL && ASN1_TIME_to_tm(t, &tm) == 1;
	if (!*ok)
		return 0;
	return (int64_t)timegm(&tm);
}

static void hex_lower(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}

static bool cert_serial_hex(X509 *cert, char *out, size_t len)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
	bool ok = hex != NULL && strlen(hex) < len;

	if (ok) {
		for (size_t i = 0; hex[i] != '\0'; i++)
			out[i] = (char)(hex[i] >= 'A' && hex[i] <= 'F' ? hex[i] - 'A' + 'a' : hex[i]);
		out[strlen(hex)] = '\0';
	}
	OPENSSL_free(hex);
	BN_free(bn);
	return ok;
}

static bool cert_sha256_hex(X509 *cert, char *out, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (len < SHA256_HEX_LEN + 1 || X509_digest(cert, EVP_sha256(), md, &mdlen) != 1 ||
	    mdlen != 32)
		return false;
	hex_lower(md, mdlen, out);
	return true;
}

/* ---- peer identity ------------------------------------------------------ */

/* The node code named by the certificate's only subjectAltName URI, or the
 * reason it has none. */
static const char *cert_node(X509 *cert, node_code out)
{
	int crit = -1;
	GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
	const char *why = NULL;
	const ASN1_IA5STRING *uri = NULL;
	int n_uri = 0;

	if (names == NULL)
		return crit == -2 ? "identity-count" : "no-identity";
	for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
		if (gn->type == GEN_URI) {
			uri = gn->d.uniformResourceIdentifier;
			n_uri++;
		}
	}
	if (n_uri == 0)
		why = "no-identity";
	else if (n_uri > 1)
		why = "identity-count";
	else {
		const size_t plen = sizeof(NODE_URI_PREFIX) - 1;
		const unsigned char *s = ASN1_STRING_get0_data(uri);
		int slen = ASN1_STRING_length(uri);

		/* Exact length first: an embedded NUL cannot smuggle a suffix. */
		if (slen != (int)(plen + NODE_CODE_LEN) || memcmp(s, NODE_URI_PREFIX, plen) != 0) {
			why = "bad-identity";
		} else {
			memcpy(out, s + plen, NODE_CODE_LEN);
			out[NODE_CODE_LEN] = '\0';
			if (!node_valid(out))
				why = "bad-identity";
		}
	}
	GENERAL_NAMES_free(names);
	if (why != NULL)
		memset(out, 0, sizeof(node_code));
	return why;
}

/* Identity rules for a verified certificate; NULL when the peer is accepted. */
static const char *identity_rules(struct tls_conn *conn, X509 *cert, node_code node)
{
	const char *why = cert_node(cert, node);

	if (why != NULL)
		return why;
	if (!conn->server && strcmp(node, conn->expected) != 0)
		return "identity-mismatch";
	if (conn->ctx->peer_ok != NULL) {
		const char *pwhy = NULL;
		if (!conn->ctx->peer_ok(conn->ctx->peer_ok_arg, node, &pwhy)) {
			if (pwhy == NULL || pwhy[0] == '\0')
				return "unknown-peer";
			snprintf(conn->reason_buf, sizeof(conn->reason_buf), "%s", pwhy);
			return conn->reason_buf;
		}
	}
	return NULL;
}

static const char *verify_error_reason(int err)
{
	switch (err) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return "cert-expired";
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return "cert-not-yet-valid";
	case X509_V_ERR_CERT_REVOKED:
		return "cert-revoked";
	case X509_V_ERR_CRL_HAS_EXPIRED:
		return "crl-stale";
	case X509_V_ERR_UNABLE_TO_GET_CRL:
	case X509_V_ERR_CRL_NOT_YET_VALID:
		return "crl-missing";
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_UNTRUSTED:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
		return "unknown-ca";
	default:
		return "cert-invalid";
	}
}

/* Chain verification callback, for full handshakes and for the re-check of
 * resumed sessions alike. */
static int verify_cb(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tls_conn *conn = ssl != NULL ? SSL_get_ex_data(ssl, conn_ex_index) : NULL;
	int err = X509_STORE_CTX_get_error(xs);

	if (conn == NULL || conn->magic != TLS_CONN_MAGIC)
		return 0;
	if (!ok) {
		if (err == X509_V_ERR_CRL_HAS_EXPIRED &&
		    conn->ctx->crl_policy == TLS_CRL_FAIL_OPEN) {
			/* A stale CRL is still used for what it lists; clear the
			 * error so it does not become the verify result. */
			X509_STORE_CTX_set_error(xs, X509_V_OK);
			return 1;
		}
		conn_set_reason(conn, verify_error_reason(err));
		return 0;
	}
	/* The identity rules run here to refuse a full handshake with an alert;
	 * a resumed session's re-verification leaves them to identity_check(). */
	if (X509_STORE_CTX_get_error_depth(xs) == 0 && !conn->reverifying) {
		node_code node;
		const char *why = identity_rules(conn, X509_STORE_CTX_get_current_cert(xs), node);
		if (why != NULL) {
			conn_set_reason(conn, why);
			X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
			return 0;
		}
	}
	return 1;
}

/* OpenSSL does not verify the chain of a resumed session: do it here, with
 * the store (trust anchors, CRLs, flags) of this generation. */
static bool reverify_resumed(struct tls_conn *conn, X509 *cert)
{
	X509_STORE_CTX *xs = X509_STORE_CTX_new();
	bool ok = false;

	if (xs != NULL &&
	    X509_STORE_CTX_init(xs, SSL_CTX_get_cert_store(conn->ctx->ssl_ctx), cert,
				SSL_get_peer_cert_chain(conn->ssl)) == 1 &&
	    X509_STORE_CTX_set_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx(), conn->ssl) == 1 &&
	    X509_STORE_CTX_set_default(xs, conn->server ? "ssl_client" : "ssl_server") == 1) {
		X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(xs), SSL_get0_param(conn->ssl));
		X509_STORE_CTX_set_verify_cb(xs, verify_cb);
		conn->reverifying = true;
		ok = X509_verify_cert(xs) == 1;
		conn->reverifying = false;
	}
	if (!ok)
		conn_set_reason(conn, "handshake-failed");
	X509_STORE_CTX_free(xs);
	return ok;
}

/* Runs after every completed handshake: the gate of the tunnel. */
static bool identity_check(struct tls_conn *conn)
{
	X509 *cert = SSL_get0_peer_certificate(conn->ssl);
	const char *why;

	if (cert == NULL) {
		conn_set_reason(conn, conn->server ? "no-client-cert" : "handshake-failed");
		return false;
	}
	if (SSL_get_verify_result(conn->ssl) != X509_V_OK) {
		conn_set_reason(conn, verify_error_reason((int)SSL_get_verify_result(conn->ssl)));
		return false;
	}
	if (SSL_session_reused(conn->ssl) && !reverify_resumed(conn, cert))
		return false;
	if (conn->ctx->have_crl && conn->ctx->crl_policy == TLS_CRL_FAIL_CLOSED &&
	    (int64_t)time(NULL) >= conn->ctx->crl_next_update) {
		conn_set_reason(conn, "crl-stale");
		return false;
	}
	why = identity_rules(conn, cert, conn->peer);
	if (why != NULL) {
		conn_set_reason(conn, why);
		return false;
	}
	if (!cert_serial_hex(cert, conn->serial, sizeof(conn->serial)) ||
	    !cert_sha256_hex(cert, conn->sha256, sizeof(conn->sha256))) {
		conn_set_reason(conn, "handshake-failed");
		return false;
	}
	return true;
}

/* ---- re-checking a live tunnel under a new generation -------------------- */

struct recheck {
	const struct tls_ctx *ctx;
	const char *reason;
};

static int recheck_cb(int ok, X509_STORE_CTX *xs)
{
	struct recheck *rc = X509_STORE_CTX_get_app_data(xs);
	int err = X509_STORE_CTX_get_error(xs);

	if (ok)
		return 1;
	if (err == X509_V_ERR_CRL_HAS_EXPIRED && rc->ctx->crl_policy == TLS_CRL_FAIL_OPEN) {
		X509_STORE_CTX_set_error(xs, X509_V_OK);
		return 1;
	}
	if (rc->reason == NULL)
		rc->reason = verify_error_reason(err);
	return 0;
}

/*
 * The handshake's chain check again, outside a handshake: the context's
 * anchors and CRLs, its depth limit (which lives in the SSL_CTX, not the
 * store) and recheck_cb's reasons. PURPOSE NULL: none set; AT_S < 0: now.
 * NULL when the chain holds, else the reason (FAIL when OpenSSL gives none).
 */
static const char *verify_chain(const struct tls_ctx *ctx, X509 *cert, STACK_OF(X509) *chain,
                                const char *purpose, int64_t at_s, const char *fail)
{
	struct recheck rc = { .ctx = ctx, .reason = NULL };
	X509_STORE_CTX *xs = X509_STORE_CTX_new();
	bool ok = false;

	if (cert != NULL && xs != NULL &&
	    X509_STORE_CTX_init(xs, SSL_CTX_get_cert_store(ctx->ssl_ctx), cert, chain) == 1 &&
	    (purpose == NULL || X509_STORE_CTX_set_default(xs, purpose) == 1)) {
		X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(xs);

		X509_VERIFY_PARAM_set_depth(vp, VERIFY_DEPTH);
		if (at_s >= 0)
			X509_VERIFY_PARAM_set_time(vp, (time_t)at_s);
		X509_STORE_CTX_set_app_data(xs, &rc);
		X509_STORE_CTX_set_verify_cb(xs, recheck_cb);
		ok = X509_verify_cert(xs) == 1;
	}
	X509_STORE_CTX_free(xs);
	ERR_clear_error();
	if (ok)
		return NULL;
	return rc.reason != NULL ? rc.reason : fail;
}

const char *tls_conn_recheck(const struct tls_conn *conn, const struct tls_ctx *ctx)
{
	X509 *cert;
	node_code node;

	if (conn == NULL || conn->magic != TLS_CONN_MAGIC || !conn->verified ||
	    ctx == NULL || ctx->magic != TLS_CTX_MAGIC)
		return "handshake-failed";
	cert = SSL_get0_peer_certificate(conn->ssl);
	const char *bad = verify_chain(ctx, cert, SSL_get_peer_cert_chain(conn->ssl),
	                               conn->server ? "ssl_client" : "ssl_server", -1,
	                               "handshake-failed");
	if (bad != NULL)
		return bad;
	if (ctx->have_crl && ctx->crl_policy == TLS_CRL_FAIL_CLOSED &&
	    (int64_t)time(NULL) >= ctx->crl_next_update)
		return "crl-stale";
	const char *why = cert_node(cert, node);
	if (why != NULL)
		return why;
	if (ctx->peer_ok != NULL) {
		const char *pwhy = NULL;
		if (!ctx->peer_ok(ctx->peer_ok_arg, node, &pwhy))
			return pwhy != NULL && pwhy[0] != '\0' ? pwhy : "unknown-peer";
	}
	return NULL;
}

/* ---- our own certificate ------------------------------------------------ */

const char *tls_ctx_check_own(const struct tls_ctx *ctx, int64_t now_s, int64_t *left_s)
{
	X509 *cert;
	STACK_OF(X509) *chain = NULL;

	if (left_s)
		*left_s = INT64_MAX;
	if (ctx == NULL || ctx->magic != TLS_CTX_MAGIC ||
	    (cert = SSL_CTX_get0_certificate(ctx->ssl_ctx)) == NULL)
		return "cert-invalid";
	if (left_s) {
		int days = 0, secs = 0;
		ASN1_TIME *at = ASN1_TIME_new();

		if (at && ASN1_TIME_set(at, (time_t)now_s) &&
		    ASN1_TIME_diff(&days, &secs, at, X509_get0_notAfter(cert)))
			*left_s = (int64_t)days * 86400 + secs;
		ASN1_TIME_free(at);
	}
	SSL_CTX_get0_chain_certs(ctx->ssl_ctx, &chain);
	/* As a peer would see it: the same anchors, CRLs and strictness, at
	 * the time given (so a check can say what tomorrow will refuse). */
	return verify_chain(ctx, cert, chain, NULL, now_s < 0 ? 0 : now_s, "cert-invalid");
}

/* ---- client session cache ----------------------------------------------- */

static size_t node_hash(const char *node, size_t cap)
{
	size_t h = 5381;

	for (size_t i = 0; i < NODE_CODE_LEN; i++)
		h = h * 33 + (unsigned char)node[i];
	return h & (cap - 1);
}

static struct sess_slot *sess_find(struct tls_ctx *ctx, const char *node, bool insert)
{
	if (ctx->cap_sessions == 0 ||
	    (insert && 2 * (ctx->n_sessions + 1) > ctx->cap_sessions)) {
		if (!insert)
			return NULL;
		size_t ncap = ctx->cap_sessions != 0 ? 2 * ctx->cap_sessions : 16;
		struct sess_slot *ns = calloc(ncap, sizeof(*ns));
		if (ns == NULL)
			return NULL;
		for (size_t i = 0; i < ctx->cap_sessions; i++) {
			struct sess_slot *old = &ctx->sessions[i];
			if (old->node[0] == '\0')
				continue;
			size_t j = node_hash(old->node, ncap);
			while (ns[j].node[0] != '\0')
				j = (j + 1) & (ncap - 1);
			ns[j] = *old;
		}
		free(ctx->sessions);
		ctx->sessions = ns;
		ctx->cap_sessions = ncap;
	}
	size_t i = node_hash(node, ctx->cap_sessions);
	/* A slot keeps its node when its session is dropped, so probing ends
	 * at a slot that never held a node. */
	while (ctx->sessions[i].node[0] != '\0') {
		if (strcmp(ctx->sessions[i].node, node) == 0)
			return &ctx->sessions[i];
		i = (i + 1) & (ctx->cap_sessions - 1);
	}
	if (!insert)
		return NULL;
	memcpy(ctx->sessions[i].node, node, sizeof(node_code));
	ctx->n_sessions++;
	return &ctx->sessions[i];
}

/* Put sess (NULL: none) in node's slot, under the lock; the session it
 * replaced is freed outside it (a slot that cannot be made: sess itself). */
static void sess_put(struct tls_ctx *ctx, const char *node, SSL_SESSION *sess)
{
	SSL_SESSION *old = sess;

	pthread_mutex_lock(&ctx->sess_mu);
	struct sess_slot *slot = sess_find(ctx, node, sess != NULL);
	if (slot != NULL) {
		old = slot->sess;
		slot->sess = sess;
	}
	pthread_mutex_unlock(&ctx->sess_mu);
	SSL_SESSION_free(old);
}

static void sess_store(struct tls_ctx *ctx, const char *node, SSL_SESSION *sess)
{
	sess_put(ctx, node, sess);
}

static void sess_drop(struct tls_ctx *ctx, const char *node)
{
	sess_put(ctx, node, NULL);
}

/* A copy of the session cached for node, or NULL. */
static SSL_SESSION *sess_copy(struct tls_ctx *ctx, const char *node)
{
	SSL_SESSION *copy = NULL;

	pthread_mutex_lock(&ctx->sess_mu);
	struct sess_slot *slot = sess_find(ctx, node, false);
	if (slot != NULL && slot->sess != NULL)
		copy = SSL_SESSION_dup(slot->sess);
	pthread_mutex_unlock(&ctx->sess_mu);
	return copy;
}

/* A new ticket (client side): keep it for the next dial to this node, but
 * only once this connection's peer has passed identity_check(). The cache
 * holds a copy: OpenSSL marks a connection's own session unresumable when
 * the connection is freed without close_notify, which is routine here. */
static int new_session_cb(SSL *ssl, SSL_SESSION *ticket)
{
	struct tls_conn *conn = SSL_get_ex_data(ssl, conn_ex_index);
	SSL_SESSION *sess;

	if (conn == NULL || conn->magic != TLS_CONN_MAGIC || conn->server ||
	    conn->state == CONN_FAILED || !SSL_SESSION_is_resumable(ticket))
		return 0;
	sess = SSL_SESSION_dup(ticket);
	if (sess == NULL)
		return 0;
	if (conn->state == CONN_OPEN) {
		sess_store(conn->ctx, conn->expected, sess);
	} else {
		SSL_SESSION_free(conn->pending_sess);
		conn->pending_sess = sess;
	}
	return 0;   /* OpenSSL keeps (and frees) the original */
}

/* ---- revocation, against the CRLs as loaded ---------------------------- */

/* The time the chain is checked at: the verify parameters' when set
 * (tls_ctx_check_own asks about a given day), else now. */
static int64_t verify_time(X509_STORE_CTX *xs)
{
	const X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(xs);

	if (X509_VERIFY_PARAM_get_flags(vp) & X509_V_FLAG_USE_CHECK_TIME)
		return (int64_t)X509_VERIFY_PARAM_get_time(vp);
	return (int64_t)time(NULL);
}

/* The CRL for cert, issued under issuer's key: of those with cert's issuer
 * name whose signature that same key verified at load, one in force at now
 * if any, the latest thisUpdate first; else the latest already issued (it
 * is stale); else any (not yet valid). NULL: none. */
static const struct tls_crl *crl_find(const struct tls_ctx *ctx, X509 *cert, X509 *issuer,
				      int64_t now)
{
	const X509_NAME *name = X509_get_issuer_name(cert);
	EVP_PKEY *key = X509_get0_pubkey(issuer);
	const struct tls_crl *best = NULL;
	int best_rank = -1;

	if (key == NULL)
		return NULL;
	for (size_t i = 0; i < ctx->n_crls; i++) {
		const struct tls_crl *c = &ctx->crls[i];
		int rank = c->this_s > now ? 0 : c->next_s > now ? 2 : 1;

		if (rank < best_rank || (rank == best_rank && c->this_s <= best->this_s))
			continue;
		if (X509_NAME_cmp(X509_CRL_get_issuer(c->crl), name) != 0 ||
		    (c->key != key && EVP_PKEY_eq(c->key, key) != 1))
			continue;
		best = c;
		best_rank = rank;
	}
	return best;
}

/* An error at depth, put to the verify callback as OpenSSL does: false
 * when the callback refuses the chain. */
static bool crl_report(X509_STORE_CTX *xs, int depth, X509 *cert, int err)
{
	X509_STORE_CTX_verify_cb cb = X509_STORE_CTX_get_verify_cb(xs);

	X509_STORE_CTX_set_error_depth(xs, depth);
	X509_STORE_CTX_set_current_cert(xs, cert);
	X509_STORE_CTX_set_error(xs, err);
	return cb != NULL && cb(0, xs) != 0;
}

/* One certificate of the chain, with the checks OpenSSL makes of a
 * complete CRL (its issuer may sign CRLs, its dates, the entry), but not
 * the CRL's signature again: crl_find took only CRLs verified at load with
 * the key of this very issuer. */
static bool crl_check_cert(X509_STORE_CTX *xs, const struct tls_ctx *ctx, int depth, int64_t now)
{
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(xs);
	X509 *cert = sk_X509_value(chain, depth);
	X509 *issuer = depth + 1 < sk_X509_num(chain) ? sk_X509_value(chain, depth + 1) : cert;
	const struct tls_crl *c;
	X509_REVOKED *rev;

	if (issuer == cert && X509_check_issued(cert, cert) != X509_V_OK)
		return crl_report(xs, depth, cert, X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER);
	if ((c = crl_find(ctx, cert, issuer, now)) == NULL)
		return crl_report(xs, depth, cert, X509_V_ERR_UNABLE_TO_GET_CRL);
	if (!(X509_get_key_usage(issuer) & KU_CRL_SIGN) &&
	    !crl_report(xs, depth, cert, X509_V_ERR_KEYUSAGE_NO_CRL_SIGN))
		return false;
	if (c->this_s > now && !crl_report(xs, depth, cert, X509_V_ERR_CRL_NOT_YET_VALID))
		return false;
	/* Stale: what it lists still counts when the callback lets it pass
	 * (the fail-open policy). */
	if (c->next_s <= now && !crl_report(xs, depth, cert, X509_V_ERR_CRL_HAS_EXPIRED))
		return false;
	if (X509_CRL_get0_by_cert(c->crl, &rev, cert) == 1 &&
	    !crl_report(xs, depth, cert, X509_V_ERR_CERT_REVOKED))
		return false;
	return true;
}

/* The store's revocation check (X509_STORE_set_check_revocation): every
 * certificate of the chain, the anchor too, as CRL_CHECK_ALL asks of
 * OpenSSL. OpenSSL would verify each CRL's signature again at every
 * handshake, two ECDSA verifications per side for a chain of two: a fifth
 * of a full handshake's CPU (docs/testing.md). Returns 1 when it holds. */
static int crl_check_chain(X509_STORE_CTX *xs)
{
	X509_STORE *store = X509_STORE_CTX_get0_store(xs);
	const struct tls_ctx *ctx = store != NULL ? X509_STORE_get_ex_data(store, store_ex_index)
						  : NULL;
	int n = sk_X509_num(X509_STORE_CTX_get0_chain(xs));
	int64_t now = verify_time(xs);

	if (ctx == NULL || ctx->magic != TLS_CTX_MAGIC || n <= 0) {
		X509_STORE_CTX_set_error(xs, X509_V_ERR_UNSPECIFIED);
		return 0;
	}
	for (int depth = 0; depth < n; depth++)
		if (!crl_check_cert(xs, ctx, depth, now))
			return 0;
	return 1;
}

/* ---- context ------------------------------------------------------------ */

/* A CRL that no trust anchor signed would never be consulted, and every
 * peer would then fail with crl-missing: refuse it when loading instead.
 * The key that verified it (a reference), or NULL. */
static EVP_PKEY *crl_anchor_key(X509_STORE *store, X509_CRL *crl)
{
	X509_STORE_CTX *xs = X509_STORE_CTX_new();
	X509_OBJECT *obj = NULL;
	EVP_PKEY *key = NULL;

	if (xs != NULL && X509_STORE_CTX_init(xs, store, NULL, NULL) == 1)
		obj = X509_STORE_CTX_get_obj_by_subject(xs, X509_LU_X509, X509_CRL_get_issuer(crl));
	if (obj != NULL) {
		X509 *issuer = X509_OBJECT_get0_X509(obj);
		EVP_PKEY *k = issuer != NULL ? X509_get0_pubkey(issuer) : NULL;

		if (k != NULL && X509_CRL_verify(crl, k) == 1 && EVP_PKEY_up_ref(k) == 1)
			key = k;
	}
	X509_OBJECT_free(obj);
	X509_STORE_CTX_free(xs);
	return key;
}

static bool exts_plain(const STACK_OF(X509_EXTENSION) *exts, const int *odd, size_t n_odd)
{
	for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		const X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);
		int nid = OBJ_obj2nid(X509_EXTENSION_get_object((X509_EXTENSION *)ext));

		if (X509_EXTENSION_get_critical(ext))
			return false;
		for (size_t j = 0; j < n_odd; j++)
			if (nid == odd[j])
				return false;
	}
	return true;
}

/* May crl_check_chain stand in for OpenSSL's CRL path with this CRL? Only
 * for a complete CRL of its issuer's own certificates: no delta, no issuing
 * distribution point (a partial scope), no freshest-CRL pointer, no
 * indirect entries, no critical extension anywhere. Anything else keeps
 * OpenSSL's whole CRL path for the context. */
static bool crl_plain(X509_CRL *crl)
{
	static const int crl_odd[] = { NID_delta_crl, NID_issuing_distribution_point,
				       NID_freshest_crl };
	static const int entry_odd[] = { NID_certificate_issuer };
	const STACK_OF(X509_REVOKED) *revoked = X509_CRL_get_REVOKED(crl);

	if (!exts_plain(X509_CRL_get0_extensions(crl), crl_odd, 3))
		return false;
	for (int i = 0; i < sk_X509_REVOKED_num(revoked); i++)
		if (!exts_plain(X509_REVOKED_get0_extensions(sk_X509_REVOKED_value(revoked, i)),
				entry_odd, 1))
			return false;
	return true;
}

static void fault_at(struct tls_fault *fault, enum tls_fault_file file, size_t crl)
{
	fault->file = file;
	fault->crl = crl;
}

/* Keep one CRL (its references taken) with its dates; false: out of memory
 * or a date that cannot be read. */
static bool crl_keep(struct tls_ctx *ctx, X509_CRL *crl, EVP_PKEY *key, int64_t next_s)
{
	struct tls_crl *grown = realloc(ctx->crls, (ctx->n_crls + 1) * sizeof(*grown));
	struct tls_crl *c;
	bool ok;

	if (grown == NULL)
		return false;
	ctx->crls = grown;
	c = &ctx->crls[ctx->n_crls];
	c->this_s = asn1_time_epoch(X509_CRL_get0_lastUpdate(crl), &ok);
	if (!ok || X509_CRL_up_ref(crl) != 1)
		return false;
	c->crl = crl;
	c->key = key;
	c->next_s = next_s;
	ctx->n_crls++;
	return true;
}

/* One CRL read from a file: dates, signature, kept. NULL, or why not. */
static const char *crl_load_one(struct tls_ctx *ctx, X509_STORE *store, X509_CRL *crl)
{
	bool ok;
	const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
	int64_t t = next != NULL ? asn1_time_epoch(next, &ok) : INT64_MAX;
	EVP_PKEY *key;

	if (next != NULL && !ok)
		return "bad nextUpdate in CRL %s";
	if ((key = crl_anchor_key(store, crl)) == NULL)
		return "CRL %s is not signed by a trusted CA";
	if (!crl_keep(ctx, crl, key, t)) {
		EVP_PKEY_free(key);
		return "cannot read the dates of CRL %s";
	}
	if (t < ctx->crl_next_update)
		ctx->crl_next_update = t;
	if (X509_STORE_add_crl(store, crl) != 1)
		return "cannot use CRL %s";
	return NULL;
}

static bool load_crls(struct tls_ctx *ctx, const struct tls_params *p, char *err, size_t errlen,
		      struct tls_fault *fault)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx->ssl_ctx);
	bool plain = true;

	ctx->crl_next_update = INT64_MAX;
	for (size_t i = 0; i < p->n_crl; i++) {
		FILE *f = fopen(p->crl_files[i], "r");
		X509_CRL *crl;
		int n = 0;

		fault_at(fault, TLS_FAULT_CRL, i);
		if (f == NULL) {
			set_err(err, errlen, "cannot open CRL %s", p->crl_files[i]);
			return false;
		}
		while ((crl = PEM_read_X509_CRL(f, NULL, NULL, NULL)) != NULL) {
			const char *why = crl_load_one(ctx, store, crl);

			plain = plain && crl_plain(crl);
			X509_CRL_free(crl);
			if (why != NULL) {
				fclose(f);
				set_err(err, errlen, why, p->crl_files[i]);
				return false;
			}
			n++;
		}
		fclose(f);
		/* End of file is the only acceptable way out of the loop. */
		unsigned long e = ERR_peek_last_error();
		if (n == 0 || (e != 0 && !(ERR_GET_LIB(e) == ERR_LIB_PEM &&
					   ERR_GET_REASON(e) == PEM_R_NO_START_LINE))) {
			set_err(err, errlen, "no valid CRL in %s", p->crl_files[i]);
			return false;
		}
		ERR_clear_error();
	}
	fault_at(fault, TLS_FAULT_NONE, 0);
	ctx->have_crl = p->n_crl > 0;
	if (!ctx->have_crl)
		return true;
	/* Every certificate of the chain, not only the leaf: an intermediate
	 * CA that its issuer revoked must not keep vouching for peers. With
	 * plain CRLs, by crl_check_chain against the CRLs as verified here;
	 * else by OpenSSL, which verifies each CRL's signature again at every
	 * handshake. */
	ctx->crl_at_load = plain;
	if (plain) {
		if (X509_STORE_set_ex_data(store, store_ex_index, ctx) != 1) {
			set_err(err, errlen, "cannot register CRL data%s", NULL);
			return false;
		}
		X509_STORE_set_check_revocation(store, crl_check_chain);
	} else {
		X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
	}
	return true;
}

/* The read buffer of a busy connection (given back when it is empty,
 * SSL_MODE_RELEASE_BUFFERS): four full records. */
#define TLS_READ_BUFFER ((size_t)4 * (16384 + 256))

static bool setup_ssl_ctx(struct tls_ctx *ctx, const struct tls_params *p, char *err, size_t errlen,
			  struct tls_fault *fault)
{
	SSL_CTX *s = ctx->ssl_ctx;
	unsigned char sid_ctx[SSL_MAX_SID_CTX_LENGTH];
	int sid_len;

	if (!SSL_CTX_set_min_proto_version(s, p->allow_tls12 ? TLS1_2_VERSION : TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(s, TLS1_3_VERSION) ||
	    !SSL_CTX_set1_groups_list(s, "X25519:P-256:P-384") ||
	    (p->allow_tls12 && !SSL_CTX_set_cipher_list(s, "ECDHE+AESGCM:ECDHE+CHACHA20"))) {
		set_err(err, errlen, "cannot set protocol parameters%s", NULL);
		return false;
	}
	/* CLEANSE_PLAINTEXT: frames carry personal data; OpenSSL wipes its
	 * copy of decrypted records once handed over. */
	SSL_CTX_set_options(s, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
			       SSL_OP_NO_COMPRESSION | SSL_OP_CLEANSE_PLAINTEXT);
	SSL_CTX_set_mode(s, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
			    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* Read ahead: one read(2) takes in as many records as the buffer
	 * holds, not a header and then a body for each record. */
	SSL_CTX_set_read_ahead(s, 1);
	SSL_CTX_set_default_read_buffer_len(s, TLS_READ_BUFFER);

	fault_at(fault, TLS_FAULT_CERT, 0);
	if (SSL_CTX_use_certificate_chain_file(s, p->cert_file) != 1) {
		set_err(err, errlen, "cannot load certificate %s", p->cert_file);
		return false;
	}
	fault_at(fault, TLS_FAULT_KEY, 0);
	if (SSL_CTX_use_PrivateKey_file(s, p->key_file, SSL_FILETYPE_PEM) != 1) {
		set_err(err, errlen, "cannot load key %s", p->key_file);
		return false;
	}
	if (SSL_CTX_check_private_key(s) != 1) {
		set_err(err, errlen, "key %s does not match its certificate", p->key_file);
		return false;
	}
	fault_at(fault, TLS_FAULT_CA, 0);
	if (SSL_CTX_load_verify_file(s, p->ca_file) != 1) {
		set_err(err, errlen, "cannot load trust anchors %s", p->ca_file);
		return false;
	}
	if (!load_crls(ctx, p, err, errlen, fault))
		return false;
	X509 *own = SSL_CTX_get0_certificate(s);
	if (own == NULL || cert_node(own, ctx->own_node) != NULL)
		ctx->own_node[0] = '\0';
	X509_STORE_set_flags(SSL_CTX_get_cert_store(s), X509_V_FLAG_X509_STRICT);

	SSL_CTX_set_verify(s, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
	SSL_CTX_set_verify_depth(s, VERIFY_DEPTH);

	/* Sessions of another generation must never resume: the session ID
	 * context names the generation, and this new SSL_CTX has fresh ticket
	 * keys of its own. */
	sid_len = snprintf((char *)sid_ctx, sizeof(sid_ctx), "jgw-gen-%016llx",
			   (unsigned long long)p->generation);
	if (sid_len <= 0 || (size_t)sid_len >= sizeof(sid_ctx) ||
	    SSL_CTX_set_session_id_context(s, sid_ctx, (unsigned int)sid_len) != 1) {
		set_err(err, errlen, "cannot set session context%s", NULL);
		return false;
	}
	SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_BOTH | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(s, new_session_cb);
	SSL_CTX_set_num_tickets(s, 1);
	return true;
}

struct tls_ctx *tls_ctx_new(const struct tls_params *params, char *err, size_t errlen)
{
	return tls_ctx_new_at(params, err, errlen, NULL);
}

struct tls_ctx *tls_ctx_new_at(const struct tls_params *params, char *err, size_t errlen,
			       struct tls_fault *fault)
{
	struct tls_fault ignored;
	struct tls_ctx *ctx;

	if (fault == NULL)
		fault = &ignored;
	fault_at(fault, TLS_FAULT_NONE, 0);
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (params == NULL || params->cert_file == NULL || params->key_file == NULL ||
	    params->ca_file == NULL || (params->n_crl > 0 && params->crl_files == NULL)) {
		set_err(err, errlen, "incomplete TLS parameters%s", NULL);
		return NULL;
	}
	if (!CRYPTO_THREAD_run_once(&conn_ex_once, conn_ex_init) || conn_ex_index < 0 ||
	    store_ex_index < 0) {
		set_err(err, errlen, "cannot register connection data%s", NULL);
		return NULL;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		set_err(err, errlen, "out of memory%s", NULL);
		return NULL;
	}
	ctx->magic = TLS_CTX_MAGIC;
	pthread_mutex_init(&ctx->sess_mu, NULL);
	ctx->peer_ok = params->peer_ok;
	ctx->peer_ok_arg = params->peer_ok_arg;
	ctx->crl_policy = params->crl_policy;
	ctx->crl_alarm_s = params->crl_alarm_s;
	ctx->generation = params->generation;
	ctx->crl_next_update = INT64_MAX;
	ctx->ssl_ctx = SSL_CTX_new(TLS_method());
	if (ctx->ssl_ctx == NULL) {
		set_err(err, errlen, "cannot create TLS context%s", NULL);
		free(ctx);
		return NULL;
	}
	if (!setup_ssl_ctx(ctx, params, err, errlen, fault)) {
		tls_ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

void tls_ctx_free(struct tls_ctx *ctx)
{
	if (ctx == NULL)
		return;
	if (ctx->magic != TLS_CTX_MAGIC)
		abort();   /* broken invariant: freeing something that is no tls_ctx */
	for (size_t i = 0; i < ctx->cap_sessions; i++)
		SSL_SESSION_free(ctx->sessions[i].sess);
	free(ctx->sessions);
	pthread_mutex_destroy(&ctx->sess_mu);
	SSL_CTX_free(ctx->ssl_ctx);
	for (size_t i = 0; i < ctx->n_crls; i++) {
		X509_CRL_free(ctx->crls[i].crl);
		EVP_PKEY_free(ctx->crls[i].key);
	}
	free(ctx->crls);
	ctx->magic = 0;
	free(ctx);
}

const char *tls_ctx_node(const struct tls_ctx *ctx)
{
	return ctx != NULL && ctx->own_node[0] != '\0' ? ctx->own_node : NULL;
}

int64_t tls_ctx_crl_remaining(const struct tls_ctx *ctx, int64_t now_s)
{
	if (ctx == NULL || !ctx->have_crl || ctx->crl_next_update == INT64_MAX)
		return INT64_MAX;
	return ctx->crl_next_update - now_s;
}

int64_t tls_ctx_cert_remaining(const struct tls_ctx *ctx, int64_t now_s)
{
	X509 *cert;
	bool ok = false;
	int64_t not_after;

	if (ctx == NULL || ctx->magic != TLS_CTX_MAGIC ||
	    (cert = SSL_CTX_get0_certificate(ctx->ssl_ctx)) == NULL)
		return INT64_MAX;
	not_after = asn1_time_epoch(X509_get0_notAfter(cert), &ok);
	return ok ? not_after - now_s : INT64_MAX;
}

bool tls_ctx_crl_at_load(const struct tls_ctx *ctx)
{
	return ctx != NULL && ctx->crl_at_load;
}

bool tls_ctx_crl_alarm(const struct tls_ctx *ctx, int64_t now_s)
{
	return ctx != NULL && tls_ctx_crl_remaining(ctx, now_s) < (int64_t)ctx->crl_alarm_s;
}

bool tls_cert_file_info(const char *path, char *serial, size_t serial_len,
			char *sha256_hex, size_t sha_len)
{
	FILE *f = path != NULL ? fopen(path, "r") : NULL;
	X509 *cert = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	bool ok = cert != NULL && serial != NULL && sha256_hex != NULL &&
		  cert_serial_hex(cert, serial, serial_len) &&
		  cert_sha256_hex(cert, sha256_hex, sha_len);

	if (f != NULL)
		fclose(f);
	X509_free(cert);
	ERR_clear_error();
	return ok;
}

/* ---- connections -------------------------------------------------------- */

static struct tls_conn *conn_new(struct tls_ctx *ctx, int fd, bool server)
{
	struct tls_conn *conn;

	if (ctx == NULL || ctx->magic != TLS_CTX_MAGIC || fd < 0)
		return NULL;
	conn = calloc(1, sizeof(*conn));
	if (conn == NULL)
		return NULL;
	conn->magic = TLS_CONN_MAGIC;
	conn->ctx = ctx;
	conn->server = server;
	conn->state = CONN_HANDSHAKE;
	conn->ssl = SSL_new(ctx->ssl_ctx);
	if (conn->ssl == NULL || SSL_set_fd(conn->ssl, fd) != 1 ||
	    SSL_set_ex_data(conn->ssl, conn_ex_index, conn) != 1) {
		SSL_free(conn->ssl);
		free(conn);
		ERR_clear_error();
		return NULL;
	}
	if (server)
		SSL_set_accept_state(conn->ssl);
	else
		SSL_set_connect_state(conn->ssl);
	return conn;
}

struct tls_conn *tls_conn_accept(struct tls_ctx *ctx, int fd)
{
	return conn_new(ctx, fd, true);
}

struct tls_conn *tls_conn_connect(struct tls_ctx *ctx, int fd, const char *expected)
{
	struct tls_conn *conn;

	if (!node_valid(expected))
		return NULL;
	conn = conn_new(ctx, fd, false);
	if (conn == NULL)
		return NULL;
	memcpy(conn->expected, expected, sizeof(node_code));
	/* Offer a copy: the connection's session is marked unresumable if the
	 * connection ends without close_notify, and the cached one must not be. */
	SSL_SESSION *copy = sess_copy(ctx, expected);
	if (copy != NULL) {
		if (SSL_set_session(conn->ssl, copy) != 1)
			ERR_clear_error();   /* a full handshake then */
		SSL_SESSION_free(copy);
	}
	return conn;
}

void tls_conn_free(struct tls_conn *conn)
{
	if (conn == NULL)
		return;
	if (conn->magic != TLS_CONN_MAGIC)
		abort();   /* broken invariant */
	SSL_SESSION_free(conn->pending_sess);
	SSL_free(conn->ssl);
	OPENSSL_cleanse(conn, sizeof(*conn));
	free(conn);
}

static bool is_protocol_error(int reason)
{
	switch (reason) {
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_NO_PROTOCOLS_AVAILABLE:
	case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
	case SSL_R_VERSION_TOO_LOW:
	case SSL_R_WRONG_SSL_VERSION:
	case SSL_R_UNSUPPORTED_SSL_VERSION:
		return true;
	default:
		return false;
	}
}

static bool is_alert_received(int reason)
{
	/* SSL_R_SSLV3_ALERT_* and SSL_R_TLSV1*_ALERT_* are 1000 + alert code. */
	return reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256;
}

/* Reason of a failed OpenSSL call, from the error queue (which it empties). */
static void conn_fail_from_queue(struct tls_conn *conn, const char *fallback)
{
	unsigned long e;
	const char *reason = NULL;

	while ((e = ERR_get_error()) != 0) {
		if (reason != NULL || ERR_GET_LIB(e) != ERR_LIB_SSL)
			continue;
		int r = ERR_GET_REASON(e);
		if (r == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
			reason = "no-client-cert";
		else if (is_protocol_error(r))
			reason = "protocol-version";
		else if (r == SSL_R_CERTIFICATE_VERIFY_FAILED)
			reason = verify_error_reason((int)SSL_get_verify_result(conn->ssl));
		else if (is_alert_received(r))
			reason = "refused-by-peer";
	}
	conn_set_reason(conn, reason != NULL ? reason : fallback);
	conn->state = CONN_FAILED;
}

/* Map SSL_get_error() of a failed call to a tls_io value. */
static int conn_io_error(struct tls_conn *conn, int ret, const char *fallback)
{
	switch (SSL_get_error(conn->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		return TLS_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return TLS_CLOSED;
	default:
		conn_fail_from_queue(conn, fallback);
		/* A peer that refused us may refuse a resumption too: start over. */
		if (!conn->server)
			sess_drop(conn->ctx, conn->expected);
		return TLS_ERROR;
	}
}

int tls_conn_handshake(struct tls_conn *conn)
{
	int ret;

	if (conn == NULL || conn->magic != TLS_CONN_MAGIC)
		return TLS_ERROR;
	if (conn->state == CONN_OPEN)
		return TLS_OK;
	if (conn->state == CONN_FAILED)
		return TLS_ERROR;
	ERR_clear_error();
	ret = SSL_do_handshake(conn->ssl);
	if (ret != 1) {
		ret = conn_io_error(conn, ret, "handshake-failed");
		if (ret == TLS_CLOSED) {
			conn_set_reason(conn, "handshake-failed");
			conn->state = CONN_FAILED;
			ret = TLS_ERROR;
		}
		return ret;
	}
	if (!identity_check(conn)) {
		conn->state = CONN_FAILED;
		if (!conn->server)
			sess_drop(conn->ctx, conn->expected);
		return TLS_ERROR;
	}
	conn->state = CONN_OPEN;
	conn->verified = true;
	if (conn->pending_sess != NULL) {
		sess_store(conn->ctx, conn->expected, conn->pending_sess);
		conn->pending_sess = NULL;
	}
	return TLS_OK;
}

ssize_t tls_conn_read(struct tls_conn *conn, void *buf, size_t len)
{
	size_t got = 0;
	int ret;

	if (conn == NULL || conn->magic != TLS_CONN_MAGIC || conn->state != CONN_OPEN)
		return TLS_ERROR;
	if (len == 0)
		return 0;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	ERR_clear_error();
	ret = SSL_read_ex(conn->ssl, buf, len, &got);
	if (ret == 1)
		return (ssize_t)got;
	return conn_io_error(conn, ret, "tls-error");
}

ssize_t tls_conn_write(struct tls_conn *conn, const void *buf, size_t len)
{
	size_t put = 0;
	int ret;

	if (conn == NULL || conn->magic != TLS_CONN_MAGIC || conn->state != CONN_OPEN)
		return TLS_ERROR;
	if (len == 0)
		return 0;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	ERR_clear_error();
	ret = SSL_write_ex(conn->ssl, buf, len, &put);
	if (ret == 1)
		return (ssize_t)put;
	return conn_io_error(conn, ret, "tls-error");
}

int tls_conn_shutdown(struct tls_conn *conn)
{
	int ret;

	if (conn == NULL || conn->magic != TLS_CONN_MAGIC || conn->state != CONN_OPEN)
		return TLS_ERROR;
	ERR_clear_error();
	ret = SSL_shutdown(conn->ssl);
	if (ret >= 0)
		return TLS_OK;   /* close_notify sent; the peer's is not awaited */
	ret = conn_io_error(conn, ret, "tls-error");
	return ret == TLS_CLOSED ? TLS_OK : ret;
}

bool tls_conn_has_pending(const struct tls_conn *conn)
{
	if (conn == NULL || conn->magic != TLS_CONN_MAGIC || conn->state != CONN_OPEN)
		return false;
	return SSL_has_pending(conn->ssl) == 1;
}

/* Accessors stay valid after a later I/O error, for the close record. */
static bool conn_open(const struct tls_conn *conn)
{
	return conn != NULL && conn->magic == TLS_CONN_MAGIC && conn->verified;
}

const char *tls_conn_peer_node(const struct tls_conn *conn)
{
	return conn_open(conn) ? conn->peer : NULL;
}

const char *tls_conn_version(const struct tls_conn *conn)
{
	return conn_open(conn) ? SSL_get_version(conn->ssl) : NULL;
}

const char *tls_conn_cipher(const struct tls_conn *conn)
{
	return conn_open(conn) ? SSL_get_cipher_name(conn->ssl) : NULL;
}

const char *tls_conn_cert_serial(const struct tls_conn *conn)
{
	return conn_open(conn) ? conn->serial : NULL;
}

const char *tls_conn_cert_sha256(const struct tls_conn *conn)
{
	return conn_open(conn) ? conn->sha256 : NULL;
}

bool tls_conn_resumed(const struct tls_conn *conn)
{
	return conn_open(conn) && SSL_session_reused(conn->ssl) == 1;
}

const char *tls_conn_reason(const struct tls_conn *conn)
{
	if (conn == NULL || conn->magic != TLS_CONN_MAGIC)
		return "handshake-failed";
	return conn->reason;
}
