/*
 * archive.c — jgwctl audit archive: sealed spool files copied out for the
 * auditors (docs/audit.md, Archive).
 *
 * Every spool file after the first starts with a checkpoint record, so each
 * copied file is a segment that `jgwctl audit verify --key k0` checks on its
 * own, years later, with k0 alone. The copy is made durable (temp file,
 * fsync, rename, fsync of the directory) before its manifest line is
 * appended, and the spool learns the last seq archived (AUDIT_ARCHIVE_FILE)
 * only after every file up to it is in place: retention with
 * require_archive never removes a file whose copy could still be lost.
 * Only sealed files are copied (every one but the newest, which the writer
 * appends to).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "gateway/audit/audit.h"
#include "gateway/audit/chain.h"
#include "gateway/audit/spool.h"

#define COPY_CHUNK (256 * 1024)

/* Copy src to dir/name through dir/name.tmp; the SHA-256 of the bytes as
 * hex in sha. 0 or -1 (err). */
static int copy_durable(const char *src, const char *dir, const char *name, char *buf,
                        char sha[65], uint64_t *bytes, char *err, size_t errlen)
{
	char tmp[4200], dst[4200];
	int in = -1, out = -1, rc = -1;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;

	snprintf(dst, sizeof(dst), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, name);
	*bytes = 0;
	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		snprintf(err, errlen, "SHA-256 unavailable");
		goto out;
	}
	if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s", src, strerror(errno));
		goto out;
	}
	if ((out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0440)) < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t r = read(in, buf, COPY_CHUNK);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s: %s", src, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		EVP_DigestUpdate(md, buf, (size_t)r);
		for (ssize_t done = 0; done < r;) {
			ssize_t w = write(out, buf + done, (size_t)(r - done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				snprintf(err, errlen, "%s: %s", tmp, strerror(w < 0 ? errno : EIO));
				goto out;
			}
			done += w;
		}
		*bytes += (uint64_t)r;
	}
	if (fsync(out) != 0 || close(out) != 0) {
		out = -1;
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	out = -1;
	if (rename(tmp, dst) != 0) {
		snprintf(err, errlen, "%s: %s", dst, strerror(errno));
		goto out;
	}
	EVP_DigestFinal_ex(md, digest, &dlen);
	audit_hex(digest, 32, sha);
	rc = 0;
out:
	if (in >= 0)
		close(in);
	if (out >= 0) {
		close(out);
		unlink(tmp);
	}
	EVP_MD_CTX_free(md);
	return rc;
}

static int sync_dir(const char *dir, char *err, size_t errlen)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* One manifest line per copied file, appended and made durable. */
static int manifest_add(const char *dir, const char *name, uint64_t first, uint64_t last,
                        uint64_t bytes, const char *sha, char *err, size_t errlen)
{
	char path[4200], line[256];
	snprintf(path, sizeof(path), "%s/MANIFEST", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
	int n = snprintf(line, sizeof(line), "%s seq %llu..%llu bytes %llu sha256 %s\n", name,
	                 (unsigned long long)first, (unsigned long long)last,
	                 (unsigned long long)bytes, sha);
	if (fd < 0 || write(fd, line, (size_t)n) != n || fsync(fd) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno ? errno : EIO));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int audit_archive(const char *spool_dir, const char *out_dir, FILE *log, char *err, size_t errlen)
{
	char **names = NULL, src[4200], dst[4200], sha[65];
	uint64_t *firsts = NULL, done = audit_seq_file_read(spool_dir, AUDIT_ARCHIVE_FILE);
	uint64_t archived = done, bytes;
	size_t n = 0, copied = 0;
	int rc = -1;
	char *buf = malloc(COPY_CHUNK);
	struct stat st, dir_st;

	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (stat(spool_dir, &dir_st) != 0 || audit_spool_list(spool_dir, &names, &firsts, &n) != 0) {
		snprintf(err, errlen, "%s: %s", spool_dir, strerror(errno));
		goto out;
	}
	if (mkdir(out_dir, 0750) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", out_dir, strerror(errno));
		goto out;
	}
	/* Sealed files only: the newest is the one being written. */
	for (size_t i = 0; i + 1 < n; i++) {
		uint64_t last = firsts[i + 1] - 1;
		if (last <= done)
			continue;   /* archived before (to this medium or another) */
		snprintf(src, sizeof(src), "%s/%s", spool_dir, names[i]);
		snprintf(dst, sizeof(dst), "%s/%s", out_dir, names[i]);
		if (stat(dst, &st) == 0) {
			struct stat s2;
			if (stat(src, &s2) != 0 || s2.st_size != st.st_size) {
				snprintf(err, errlen, "%s exists and differs from %s: not overwritten",
				         dst, src);
				goto out;
			}
		} else {
			if (copy_durable(src, out_dir, names[i], buf, sha, &bytes, err, errlen) != 0 ||
			    sync_dir(out_dir, err, errlen) != 0 ||
			    manifest_add(out_dir, names[i], firsts[i], last, bytes, sha, err,
			                 errlen) != 0)
				goto out;
			copied++;
			if (log)
				fprintf(log, "%s: seq %llu..%llu, %llu bytes, sha256 %s\n", dst,
				        (unsigned long long)firsts[i], (unsigned long long)last,
				        (unsigned long long)bytes, sha);
		}
		archived = last;
	}
	if (archived > done) {
		char path[4200], line[32];
		snprintf(path, sizeof(path), "%s/" AUDIT_ARCHIVE_FILE, spool_dir);
		int len = snprintf(line, sizeof(line), "%llu\n", (unsigned long long)archived);
		if (audit_write_atomic(path, line, (size_t)len, 0640, err, errlen) != 0)
			goto out;
		/* The writer (the spool's owner) reads it. */
		if (chown(path, dir_st.st_uid, dir_st.st_gid) != 0 && errno != EPERM) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
	}
	if (log)
		fprintf(log, "archive: %zu files copied to %s; archived up to seq %llu\n", copied,
		        out_dir, (unsigned long long)archived);
	rc = 0;
out:
	audit_spool_list_free(names, firsts, n);
	free(buf);
	return rc;
}
