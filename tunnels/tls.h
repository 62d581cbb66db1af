/*
 * tls.h — mutually authenticated TLS 1.3 tunnels (OpenSSL 3).
 *
 * A tls_ctx is one configuration generation's view of TLS: own certificate
 * and key, trust anchors, CRLs, protocol floor, and the peer-acceptance
 * callback. Peer identity (exactly one subjectAltName URI urn:jgw:node:CODE)
 * is checked on every connection, resumed sessions included; session tickets
 * and IDs are bound to the generation, so a session from an older
 * configuration is never resumed.
 *
 * Connections are non-blocking: every call that can block returns
 * TLS_WANT_READ/TLS_WANT_WRITE and is retried when the fd is ready.
 *
 * A tls_ctx is shared by the relay's workers, each on its own thread: its
 * client session cache is locked, the rest is read only once built. A
 * connection belongs to the one thread that drives it.
 */
#ifndef JGW_TLS_H
#define JGW_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "filters/base/node.h"

enum tls_crl_policy {
	TLS_CRL_FAIL_CLOSED = 0,   /* a stale CRL refuses every peer (default) */
	TLS_CRL_FAIL_OPEN,         /* a stale CRL is used and alarmed */
};

struct tls_params {
	const char *cert_file;        /* PEM chain, leaf first */
	const char *key_file;         /* PEM key: ECDSA P-256, Ed25519 or RSA */
	const char *ca_file;          /* trust anchors */
	const char *const *crl_files; /* PEM CRLs; n_crl may be 0 */
	size_t n_crl;
	bool allow_tls12;             /* false: TLS 1.3 only (default) */
	enum tls_crl_policy crl_policy;
	uint32_t crl_alarm_s;         /* alarm this long before nextUpdate */
	uint64_t generation;          /* configuration generation: binds sessions */
	/* Is this (valid) node code an acceptable peer for this site? Set why
	 * to a reason name ("unknown-peer", "wrong-prefecture") when not. */
	bool (*peer_ok)(void *arg, const char *node, const char **why);
	void *peer_ok_arg;
};

enum tls_io {
	TLS_OK = 0,
	TLS_WANT_READ = -2,
	TLS_WANT_WRITE = -3,
	TLS_CLOSED = -4,      /* orderly close by the peer */
	TLS_ERROR = -5,       /* see tls_conn_reason() */
};

struct tls_ctx;
struct tls_conn;

/* Build a context; on failure returns NULL with a message in err (a file
 * that cannot be read or parsed, a key that does not match, a CRL that no
 * trust anchor signed). */
struct tls_ctx *tls_ctx_new(const struct tls_params *params, char *err, size_t errlen);

/* Which file of the parameters a failure is about, so that the caller can
 * point at the statement that named it (TLS_FAULT_NONE: no one file). */
enum tls_fault_file { TLS_FAULT_NONE = 0, TLS_FAULT_CERT, TLS_FAULT_KEY, TLS_FAULT_CA, TLS_FAULT_CRL };
struct tls_fault {
	enum tls_fault_file file;
	size_t crl;                   /* index into crl_files, for TLS_FAULT_CRL */
};
/* tls_ctx_new, and on failure *fault (may be NULL) names the file. */
struct tls_ctx *tls_ctx_new_at(const struct tls_params *params, char *err, size_t errlen,
			       struct tls_fault *fault);
void tls_ctx_free(struct tls_ctx *ctx);
/* The node code of our own certificate (its urn:jgw:node: URI), or NULL when
 * it has no valid one: the daemon checks it against the configured node. */
const char *tls_ctx_node(const struct tls_ctx *ctx);

/* Our own certificate as a peer would judge it at time now_s: chained to
 * the configured trust anchors, valid, not revoked by the configured CRLs.
 * NULL when it passes, else the reason a peer would give (cert-expired,
 * cert-not-yet-valid, cert-revoked, unknown-ca, crl-stale, ...). *left_s
 * (may be NULL) gets the seconds until it expires (negative: expired). */
const char *tls_ctx_check_own(const struct tls_ctx *ctx, int64_t now_s, int64_t *left_s);

/* CRL freshness: seconds until the earliest nextUpdate (negative when
 * stale), for alarms; INT64_MAX when no CRL is configured. */
int64_t tls_ctx_crl_remaining(const struct tls_ctx *ctx, int64_t now_s);
/* The own certificate: seconds until its notAfter (negative when past),
 * without a chain check (cheap enough for every metrics scrape);
 * INT64_MAX when there is no certificate or its date cannot be read. */
int64_t tls_ctx_cert_remaining(const struct tls_ctx *ctx, int64_t now_s);
/* How the CRLs are applied: true when each one's signature was verified
 * once, at load, and handshakes only look up the chain in them (every CRL
 * complete and plain: no delta, no distribution point scope, no indirect
 * entries, no critical extension); false when OpenSSL's own CRL path runs
 * (it verifies every CRL's signature again at each handshake), or there
 * are no CRLs. Both refuse the same chains. */
bool tls_ctx_crl_at_load(const struct tls_ctx *ctx);
/* True when a CRL goes stale within params.crl_alarm_s (or already has). */
bool tls_ctx_crl_alarm(const struct tls_ctx *ctx, int64_t now_s);

/* Certificate serial (hex) and SHA-256 fingerprint of a PEM file's first
 * certificate (as tls_conn_cert_serial/_sha256 give them for a peer). */
bool tls_cert_file_info(const char *path, char *serial, size_t serial_len,
			char *sha256_hex, size_t sha_len);

/* Server side of a tunnel on an accepted, non-blocking fd. */
struct tls_conn *tls_conn_accept(struct tls_ctx *ctx, int fd);
/* Client side on a connecting fd; expected: the node the peer must prove. */
struct tls_conn *tls_conn_connect(struct tls_ctx *ctx, int fd, const char *expected);
void tls_conn_free(struct tls_conn *conn);   /* does not close fd */

/* Drive the handshake: TLS_OK once done and the peer identity checked. */
int tls_conn_handshake(struct tls_conn *conn);
/* > 0 bytes, or a negative enum tls_io. */
ssize_t tls_conn_read(struct tls_conn *conn, void *buf, size_t len);
ssize_t tls_conn_write(struct tls_conn *conn, const void *buf, size_t len);
/* Send close_notify; TLS_WANT_* while pending. */
int tls_conn_shutdown(struct tls_conn *conn);
/* Does OpenSSL hold anything read from the socket and not yet returned
 * (decrypted bytes, or records read ahead and not yet opened)? */
bool tls_conn_has_pending(const struct tls_conn *conn);

/* After a successful handshake. */
const char *tls_conn_peer_node(const struct tls_conn *conn);
const char *tls_conn_version(const struct tls_conn *conn);   /* "TLSv1.3" */
const char *tls_conn_cipher(const struct tls_conn *conn);
const char *tls_conn_cert_serial(const struct tls_conn *conn); /* hex */
const char *tls_conn_cert_sha256(const struct tls_conn *conn); /* hex */
bool tls_conn_resumed(const struct tls_conn *conn);

/* On reload: would this established tunnel's peer be accepted by another
 * (the new) context — chain, revocation, CRL policy, identity, peer_ok?
 * NULL when it would; otherwise the reason (cert-revoked, unknown-peer, ...,
 * or the name peer_ok gave), and the daemon closes the tunnel. */
const char *tls_conn_recheck(const struct tls_conn *conn, const struct tls_ctx *ctx);

/* Why a handshake failed, as an audit reason name: cert-expired,
 * cert-not-yet-valid, cert-revoked, unknown-ca, crl-stale, crl-missing (no
 * CRL of the peer's issuer), cert-invalid (any other chain error),
 * no-identity, identity-count, bad-identity, unknown-peer, wrong-prefecture
 * (or another name peer_ok gave), identity-mismatch, no-client-cert,
 * protocol-version, refused-by-peer (the peer sent an alert), and
 * handshake-failed. After a read/write TLS_ERROR: refused-by-peer or
 * tls-error. NULL while nothing failed.
 *
 * In TLS 1.3 the client finishes its handshake before the server has checked
 * the client certificate, so a client that is refused learns it from its
 * first tls_conn_read(): TLS_ERROR with reason refused-by-peer. */
const char *tls_conn_reason(const struct tls_conn *conn);

#endif
