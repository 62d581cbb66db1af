/*
 * chain.h — the audit record line and the key chain (docs/audit.md): the
 * fixed members every line starts with, the mac that chains each line to
 * the one before, the key epochs and the key files. Shared by the writer,
 * the verifier, the mirror and jgwctl audit; nothing else needs it.
 */
#ifndef JGW_AUDIT_CHAIN_H
#define JGW_AUDIT_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIT_KEY_LEN   32
#define AUDIT_MAC_LEN   32
/* Every line ends with this member: `,"mac":"` 64 hex `"}`. */
#define AUDIT_MAC_TAG   ",\"mac\":\""
#define AUDIT_MAC_TAIL  (sizeof(AUDIT_MAC_TAG) - 1 + 2 * AUDIT_MAC_LEN + 2)
#define AUDIT_LINE_MAX  4096

/* One parsed line. Points into the caller's buffer. */
struct audit_line {
	const char *text;       /* '{' ... '}' */
	size_t len;             /* without the newline */
	size_t body_len;        /* text[0..body_len) is the line up to `,"mac":"`;
	                         * the mac covers it followed by "}" */
	uint64_t seq;
	uint32_t epoch;
	char event[16];
	char gw[16];
	uint8_t mac[AUDIT_MAC_LEN];
};

/* Parse one record (text up to, not including, '\n'). -1: not a record. */
int audit_line_parse(const char *text, size_t len, struct audit_line *out);
/* Where a record starts in a line that may carry a syslog prefix; NULL if none. */
const char *audit_line_find(const char *text, size_t len);

/* mac = HMAC-SHA256(key, prev || body || "}"): body is the line up to
 * `,"mac":"`, so body || "}" is the line without its mac member. */
void audit_chain_mac(const uint8_t key[AUDIT_KEY_LEN], const uint8_t prev[AUDIT_MAC_LEN],
                     const char *body, size_t body_len, uint8_t out[AUDIT_MAC_LEN]);
/* k_{e+1} = SHA-256("jgw-audit-evolve" || k_e), in place; the old key is wiped. */
void audit_key_evolve(uint8_t key[AUDIT_KEY_LEN]);

void audit_hex(const uint8_t *bin, size_t n, char *out);   /* out: 2n+1 */
int audit_unhex(const char *hex, size_t hexlen, uint8_t *out, size_t n);

/* Key file: one line "jgw-audit-key <epoch> <64 hex>\n". */
int audit_key_load(const char *path, uint32_t *epoch, uint8_t key[AUDIT_KEY_LEN],
                   char *err, size_t errlen);
/* Atomic: temp file, fsync, rename, fsync of the directory; then the old
 * key file's contents are overwritten with zeros and fdatasync'd (best
 * effort). 0: stored; 1: stored, but the old key could not be wiped (err
 * says why); -1: not stored (err says why), the old file is untouched. */
int audit_key_store(const char *path, uint32_t epoch, const uint8_t key[AUDIT_KEY_LEN],
                    char *err, size_t errlen);
/* k0 as handed to the auditors: 64 hex and a newline (or a key file). */
int audit_k0_load(const char *path, uint8_t key[AUDIT_KEY_LEN], char *err, size_t errlen);

int audit_write_atomic(const char *path, const void *data, size_t len, int mode,
                       char *err, size_t errlen);

int64_t audit_now_ms(void);   /* CLOCK_MONOTONIC */

#endif
