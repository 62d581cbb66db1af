/*
 * audit_chain.c — the forward-secure chain: HMAC over the previous mac and
 * the line without its mac member, key evolution, and the key files
 * (current key, k0).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "gateway/audit/audit.h"
#include "gateway/audit/chain.h"

#define EVOLVE_LABEL "jgw-audit-evolve"
#define KEY_MAGIC    "jgw-audit-key"

/* The mac covers prev || body || "}": body ends where `,"mac":"` starts, so
 * body || "}" is the line with its mac member removed (docs/audit.md: "line(n)
 * without its mac field"), the bytes a verifier gets by deleting that member
 * from the JSON text. */
void audit_chain_mac(const uint8_t key[AUDIT_KEY_LEN], const uint8_t prev[AUDIT_MAC_LEN],
                const char *body, size_t body_len, uint8_t out[AUDIT_MAC_LEN])
{
	/* One-shot HMAC over prev || body || "}" without copying the line. */
	uint8_t scratch[AUDIT_MAC_LEN + AUDIT_LINE_MAX + 1];
	unsigned int outlen = AUDIT_MAC_LEN;

	if (body_len <= AUDIT_LINE_MAX) {
		memcpy(scratch, prev, AUDIT_MAC_LEN);
		memcpy(scratch + AUDIT_MAC_LEN, body, body_len);
		scratch[AUDIT_MAC_LEN + body_len] = '}';
		HMAC(EVP_sha256(), key, AUDIT_KEY_LEN, scratch, AUDIT_MAC_LEN + body_len + 1,
		     out, &outlen);
		return;
	}
	/* Lines longer than we write can still be checked (a verifier's input). */
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	size_t n = 0;
	if (!ctx || !EVP_MAC_init(ctx, key, AUDIT_KEY_LEN, params) ||
	    !EVP_MAC_update(ctx, prev, AUDIT_MAC_LEN) ||
	    !EVP_MAC_update(ctx, (const unsigned char *)body, body_len) ||
	    !EVP_MAC_update(ctx, (const unsigned char *)"}", 1) ||
	    !EVP_MAC_final(ctx, out, &n, AUDIT_MAC_LEN))
		memset(out, 0, AUDIT_MAC_LEN);   /* never matches a real mac by chance */
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
}

void audit_key_evolve(uint8_t key[AUDIT_KEY_LEN])
{
	uint8_t buf[sizeof(EVOLVE_LABEL) - 1 + AUDIT_KEY_LEN];
	memcpy(buf, EVOLVE_LABEL, sizeof(EVOLVE_LABEL) - 1);
	memcpy(buf + sizeof(EVOLVE_LABEL) - 1, key, AUDIT_KEY_LEN);
	OPENSSL_cleanse(key, AUDIT_KEY_LEN);
	SHA256(buf, sizeof(buf), key);
	OPENSSL_cleanse(buf, sizeof(buf));
}

void audit_hex(const uint8_t *bin, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[bin[i] >> 4];
		out[2 * i + 1] = digits[bin[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;   /* lower case only: one spelling per mac */
}

int audit_unhex(const char *hex, size_t hexlen, uint8_t *out, size_t n)
{
	if (hexlen != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int fsync_dir_of(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return -1;
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

int audit_write_atomic(const char *path, const void *data, size_t len, int mode,
                   char *err, size_t errlen)
{
	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	const char *p = data;
	size_t left = len;
	while (left > 0) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		p += w;
		left -= (size_t)w;
	}
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto fail;
	if (fsync_dir_of(path) != 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", path, strerror(errno ? errno : EIO));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

/* The replaced key file's blocks still hold the old key after the rename
 * frees them: overwrite them with zeros and make that durable. The file is
 * opened before the rename (afterwards its name is the new key's) and wiped
 * after it, so a crash in between never leaves the key file zeroed; the
 * worst case is the old key left in freed blocks, as without the wipe.
 * Best effort: a copy-on-write file system or an SSD may keep the old
 * blocks anyway. 0 or -1 (err says why). */
static int wipe_old_key(int fd, const char *path, char *err, size_t errlen)
{
	static const char zeros[256];
	struct stat st;
	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: old key not wiped: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: old key not wiped: not a regular file", path);
		return -1;
	}
	for (off_t at = 0; at < st.st_size;) {
		size_t n = st.st_size - at < (off_t)sizeof(zeros) ? (size_t)(st.st_size - at)
		                                                 : sizeof(zeros);
		ssize_t w = pwrite(fd, zeros, n, at);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(err, errlen, "%s: old key not wiped: %s", path,
			         strerror(w < 0 ? errno : EIO));
			return -1;
		}
		at += w;
	}
	if (fdatasync(fd) != 0) {
		snprintf(err, errlen, "%s: old key not wiped: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int audit_key_store(const char *path, uint32_t epoch, const uint8_t key[AUDIT_KEY_LEN],
                char *err, size_t errlen)
{
	char line[128], hex[2 * AUDIT_KEY_LEN + 1];
	/* O_NONBLOCK: a FIFO in its place must not hang the writer. */
	int old = open(path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	int old_errno = errno;
	audit_hex(key, AUDIT_KEY_LEN, hex);
	int n = snprintf(line, sizeof(line), KEY_MAGIC " %u %s\n", epoch, hex);
	int rc = audit_write_atomic(path, line, (size_t)n, 0600, err, errlen);
	OPENSSL_cleanse(hex, sizeof(hex));
	OPENSSL_cleanse(line, sizeof(line));
	if (rc == 0 && old >= 0 && wipe_old_key(old, path, err, errlen) != 0)
		rc = 1;
	else if (rc == 0 && old < 0 && old_errno != ENOENT) {
		snprintf(err, errlen, "%s: old key not wiped: %s", path, strerror(old_errno));
		rc = 1;
	}
	if (old >= 0)
		close(old);
	return rc;
}

static int read_small(const char *path, char *buf, size_t cap, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	ssize_t r = read(fd, buf, cap - 1);
	close(fd);
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf[r] = '\0';
	*len = (size_t)r;
	return 0;
}

int audit_key_load(const char *path, uint32_t *epoch, uint8_t key[AUDIT_KEY_LEN],
               char *err, size_t errlen)
{
	char buf[256], hex[2 * AUDIT_KEY_LEN + 2];
	size_t len;
	unsigned long e;
	int consumed = 0, rc = -1;

	if (read_small(path, buf, sizeof(buf), &len, err, errlen) != 0)
		return -1;
	if (sscanf(buf, KEY_MAGIC " %lu %65s%n", &e, hex, &consumed) != 2 ||
	    e > UINT32_MAX || (size_t)consumed + 1 != len || buf[consumed] != '\n' ||
	    audit_unhex(hex, strlen(hex), key, AUDIT_KEY_LEN) != 0) {
		snprintf(err, errlen, "%s: not a jgw audit key file "
		         "(want \"" KEY_MAGIC " EPOCH HEX64\")", path);
		goto out;
	}
	*epoch = (uint32_t)e;
	rc = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	OPENSSL_cleanse(hex, sizeof(hex));
	return rc;
}

int audit_k0_load(const char *path, uint8_t key[AUDIT_KEY_LEN], char *err, size_t errlen)
{
	char buf[256];
	size_t len;
	uint32_t epoch;

	if (read_small(path, buf, sizeof(buf), &len, err, errlen) != 0)
		return -1;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	int rc = audit_unhex(buf, len, key, AUDIT_KEY_LEN);
	OPENSSL_cleanse(buf, sizeof(buf));
	if (rc == 0)
		return 0;
	/* An epoch-0 key file (as installed by init) is accepted too. */
	if (audit_key_load(path, &epoch, key, err, errlen) == 0) {
		if (epoch == 0)
			return 0;
		OPENSSL_cleanse(key, AUDIT_KEY_LEN);
		snprintf(err, errlen, "%s: key of epoch %u, not k0", path, epoch);
		return -1;
	}
	snprintf(err, errlen, "%s: not a k0 file (want 64 lower-case hex digits)", path);
	return -1;
}

int64_t audit_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* jgwctl audit init: k0 handed out once, the epoch-0 key installed. */
int audit_init_key(const char *key_out, const char *key_file, char *err, size_t errlen)
{
	uint8_t k0[AUDIT_KEY_LEN];
	char hex[2 * AUDIT_KEY_LEN + 2];
	struct stat st;
	int rc = -1;

	if (stat(key_file, &st) == 0) {
		snprintf(err, errlen, "%s exists: the chain already has a key "
		         "(a new k0 would start a new chain; remove it deliberately first)", key_file);
		return -1;
	}
	if (RAND_priv_bytes(k0, sizeof(k0)) != 1) {
		snprintf(err, errlen, "no randomness for k0");
		return -1;
	}
	audit_hex(k0, sizeof(k0), hex);
	strcat(hex, "\n");
	if (!key_out || strcmp(key_out, "-") == 0) {
		if (fputs(hex, stdout) == EOF || fflush(stdout) != 0) {
			snprintf(err, errlen, "stdout: %s", strerror(errno));
			goto out;
		}
	} else {
		/* Handed out once: never overwrite an earlier k0. */
		int fd = open(key_out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0400);
		if (fd < 0) {
			snprintf(err, errlen, "%s: %s", key_out, strerror(errno));
			goto out;
		}
		ssize_t w = write(fd, hex, strlen(hex));
		if (w != (ssize_t)strlen(hex) || fsync(fd) != 0) {
			snprintf(err, errlen, "%s: %s", key_out, strerror(errno ? errno : EIO));
			close(fd);
			unlink(key_out);
			goto out;
		}
		close(fd);
	}
	rc = audit_key_store(key_file, 0, k0, err, errlen);
out:
	OPENSSL_cleanse(k0, sizeof(k0));
	OPENSSL_cleanse(hex, sizeof(hex));
	return rc;
}
