/*
 * audit_impl.h — private to the audit module (audit*.c, ctl_audit.c and the
 * audit tests): the line format, the key chain and the spool layout that the
 * writer, the mirror and the verifier share. Not an interface for others.
 */
#ifndef JGW_AUDIT_IMPL_H
#define JGW_AUDIT_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define AUDIT_KEY_LEN   32
#define AUDIT_MAC_LEN   32
/* Every line ends with this member: `,"mac":"` 64 hex `"}`. */
#define AUDIT_MAC_TAG   ",\"mac\":\""
#define AUDIT_MAC_TAIL  (sizeof(AUDIT_MAC_TAG) - 1 + 2 * AUDIT_MAC_LEN + 2)
#define AUDIT_LINE_MAX  4096
#define AUDIT_FILE_FMT  "audit-%020llu.jsonl"
#define AUDIT_ACK_FILE  "mirror.acked"

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

/* Spool files of DIR sorted by first seq; *firsts[i] is file i's first seq. */
int audit_spool_list(const char *dir, char ***names, uint64_t **firsts, size_t *n);
void audit_spool_list_free(char **names, uint64_t *firsts, size_t n);

/* Whole file into memory (NUL-terminated). */
int audit_slurp(const char *path, char **buf, size_t *len);

/* jgwctl audit verify (audit_verify.c) compares a record that appears again
 * (a collector's at-least-once copy) with the first one when it is at most
 * this many records behind the newest: a hash per seq in a ring, 16 bytes
 * each. AUDIT_DUP_WINDOW (2^20: 16 MiB); the tests lower it. */
#define AUDIT_DUP_WINDOW (1u << 20)
extern uint32_t audit_verify_dup_window;

/* Mirror thread (audit_mirror.c). */
struct audit_params;
struct audit_mirror;
struct audit_mirror *audit_mirror_start(const struct audit_params *p, char *err, size_t errlen);
/* New records up to seq are durable: the mirror may send them. */
void audit_mirror_notify(struct audit_mirror *m, uint64_t durable_seq);
/* Waits up to drain_ms for the mirror to catch up, then stops it. */
void audit_mirror_stop(struct audit_mirror *m, int drain_ms);
/* The writer cut uncommitted records back (fdatasync error): what the mirror
 * read past the last committed record is stale; read the spool again. */
void audit_mirror_rewind(struct audit_mirror *m);
uint64_t audit_mirror_acked(const struct audit_mirror *m);
bool audit_mirror_up(const struct audit_mirror *m);

int64_t audit_now_ms(void);   /* CLOCK_MONOTONIC */

/* jgwctl audit tail -f (ctl_audit.c): follows a spool file and, in a spool
 * directory, the files after it. Exposed for the tests, which play the
 * writer in at_end: called each time the end of the file is reached,
 * before the next file is looked for. */
struct audit_follow {
	const char *dir;          /* NULL: a single file, no rotation */
	char path[4096];          /* the file followed */
	int fd;
	uint64_t first;           /* first seq of the file followed */
	size_t have;              /* bytes of an unfinished line in chunk */
	char chunk[AUDIT_LINE_MAX * 4];
	void (*at_end)(void *arg);
	void *at_end_arg;
};
/* Start at byte `at` of path (the spool file whose first seq is `first`);
 * at_end is cleared. */
int audit_follow_open(struct audit_follow *f, const char *dir, const char *path,
                      uint64_t first, off_t at);
/* Print every new whole record; at the end of a file that has a successor,
 * print what the file still holds, then move on. 1: moved to the next
 * file; 0: nothing more for now; -1: error (errno). */
int audit_follow_poll(struct audit_follow *f, FILE *out);
void audit_follow_close(struct audit_follow *f);

#endif
