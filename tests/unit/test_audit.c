/*
 * test_audit.c — the audit writer, chain and verifier: record format, JSON
 * escaping, timestamps, chain verification, a tampering suite (each kind of
 * tampering must be named), restart and rotation continuity, epochs, disk
 * policy at the limit, key handling (forward security, key file failures),
 * fdatasync failures, tail -f across rotations.
 *
 * fdatasync and ftruncate are wrapped at link time (tests/audit/module.mk):
 * fail_fdatasync / fail_ftruncate make the next calls fail with EIO.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "gateway/audit/audit.h"
#include "gateway/audit/chain.h"
#include "gateway/audit/spool.h"
#include "filters/base/log.h"

struct fx {
	char dir[256], spool[300], key[300], k0[300];
};

/* ---------- a disk that fails on demand ---------- */

static int fail_fdatasync, fail_ftruncate;   /* calls still to fail */
/* write(2) on the spool: fail_write calls fail with ENOSPC; short_write
 * calls write only half of what they are given, then report ENOSPC next. */
static int fail_write, short_write;

int __real_fdatasync(int fd);
int __wrap_fdatasync(int fd);
int __real_ftruncate(int fd, off_t len);
int __wrap_ftruncate(int fd, off_t len);

ssize_t __real_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n);

ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
	if (short_write > 0 && n > 1) {
		short_write--;
		return __real_write(fd, buf, n / 2);
	}
	if (fail_write > 0) {
		fail_write--;
		errno = ENOSPC;
		return -1;
	}
	return __real_write(fd, buf, n);
}

int __wrap_fdatasync(int fd)
{
	if (fail_fdatasync > 0) {
		fail_fdatasync--;
		errno = EIO;
		return -1;
	}
	return __real_fdatasync(fd);
}

/* The clock, for the time tests: fake_wall_us is added to CLOCK_REALTIME
 * (a step, or a day boundary reached at once); fake_adjtimex makes
 * adjtimex answer fake_tx_state and fake_tx (the kernel's sync state). */
static int64_t fake_wall_us;
static bool fake_adjtimex;
static int fake_tx_state;
static struct timex fake_tx;

int __real_clock_gettime(clockid_t id, struct timespec *ts);
int __wrap_clock_gettime(clockid_t id, struct timespec *ts);
int __real_adjtimex(struct timex *tx);
int __wrap_adjtimex(struct timex *tx);

int __wrap_clock_gettime(clockid_t id, struct timespec *ts)
{
	int rc = __real_clock_gettime(id, ts);
	if (rc == 0 && id == CLOCK_REALTIME && fake_wall_us != 0) {
		int64_t ns = (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec + fake_wall_us * 1000;
		ts->tv_sec = (time_t)(ns / 1000000000);
		ts->tv_nsec = (long)(ns % 1000000000);
	}
	return rc;
}

int __wrap_adjtimex(struct timex *tx)
{
	if (!fake_adjtimex)
		return __real_adjtimex(tx);
	*tx = fake_tx;
	return fake_tx_state;
}

int __wrap_ftruncate(int fd, off_t len)
{
	if (fail_ftruncate > 0) {
		fail_ftruncate--;
		errno = EIO;
		return -1;
	}
	return __real_ftruncate(fd, len);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[512];
	snprintf(f->dir, sizeof(f->dir), "/tmp/jgw-audit-unit-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->spool, sizeof(f->spool), "%s/spool", f->dir);
	snprintf(f->key, sizeof(f->key), "%s/audit.key", f->dir);
	snprintf(f->k0, sizeof(f->k0), "%s/k0.hex", f->dir);
	assert_int_equal(audit_init_key(f->k0, f->key, err, sizeof(err)), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static struct audit_params params(const struct fx *f)
{
	return (struct audit_params){
		.gw = "131016", .spool_dir = f->spool, .key_file = f->key,
		.commit_ms = 100, .epoch_s = 3600, .disk_alarm_pct = 99, .disk_limit_pct = 100,
		.fail_closed = true,
	};
}

static struct audit *open_ok(const struct audit_params *p)
{
	char err[512] = "";
	struct audit *a = audit_open(p, err, sizeof(err));
	if (!a)
		fail_msg("audit_open: %s", err);
	return a;
}

static void write_msgs(struct audit *a, int n)
{
	for (int i = 0; i < n; i++) {
		struct audit_rec *r = audit_rec_begin(a, "message");
		assert_non_null(r);
		audit_rec_u64(r, "tunnel_id", 7);
		audit_rec_str(r, "dir", i % 2 ? "in" : "out");
		audit_rec_str(r, "type", "0x0101");
		audit_rec_u64(r, "frame_seq", (uint64_t)i);
		audit_rec_str(r, "verdict", "allow");
		assert_int_equal(audit_rec_commit(r), 0);
	}
}

/* Every line of every spool file, in order. */
struct lines {
	char **v;
	size_t n;
};

static struct lines spool_lines(const char *spool)
{
	struct lines L = { 0 };
	char **names, path[600];
	uint64_t *firsts;
	size_t n;
	assert_int_equal(audit_spool_list(spool, &names, &firsts, &n), 0);
	for (size_t i = 0; i < n; i++) {
		char *buf, *save = NULL;
		size_t len;
		snprintf(path, sizeof(path), "%s/%s", spool, names[i]);
		assert_int_equal(audit_slurp(path, &buf, &len), 0);
		for (char *t = strtok_r(buf, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
			L.v = realloc(L.v, (L.n + 1) * sizeof(*L.v));
			L.v[L.n++] = strdup(t);
		}
		free(buf);
	}
	audit_spool_list_free(names, firsts, n);
	return L;
}

static void lines_free(struct lines *L)
{
	for (size_t i = 0; i < L->n; i++)
		free(L->v[i]);
	free(L->v);
}

static void write_file(const char *path, char *const *v, size_t n)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	for (size_t i = 0; i < n; i++)
		fprintf(fp, "%s\n", v[i]);
	fclose(fp);
}

/* Run the verifier; return its status and its output in *out. */
static int verify(const char *k0, const char **paths, size_t n, char **out)
{
	size_t len;
	FILE *mem = open_memstream(out, &len);
	int rc = audit_verify(k0, paths, n, mem);
	fclose(mem);
	return rc;
}

static int verify_one(const struct fx *f, const char *path, char **out)
{
	const char *paths[] = { path };
	return verify(f->k0, paths, 1, out);
}

/* A closed spool of n messages in one file, returned as lines. */
static struct lines make_spool(const struct fx *f, int n)
{
	struct audit_params p = params(f);
	struct audit *a = open_ok(&p);
	write_msgs(a, n);
	audit_close(a);
	return spool_lines(f->spool);
}

/* The caller's clock is learnt from the first tick; later ticks can then
 * move it ahead (to reach an epoch change without waiting an hour). */
static void prime_tick(struct audit *a)
{
	audit_tick(a, audit_now_ms());
}

/* Group commit happens within commit_ms; wait for it without asserting time. */
static void wait_durable(struct audit *a, uint64_t seq)
{
	struct audit_stats st;
	for (;;) {
		audit_tick(a, audit_now_ms());
		audit_get_stats(a, &st);
		if (st.last_seq >= seq)
			return;
		struct timespec pause = { 0, 10 * 1000 * 1000 };
		nanosleep(&pause, NULL);
	}
}

static uint64_t seq_of(const char *line)
{
	struct audit_line l;
	assert_int_equal(audit_line_parse(line, strlen(line), &l), 0);
	return l.seq;
}

/* The chain as docs/audit.md states it: mac(n) = HMAC-SHA256(k, mac(n-1) ||
 * line(n) without its mac field), worked out the way a third-party
 * verifier would: delete the member `,"mac":"<64 hex>"` from the JSON text
 * and MAC what is left. Independent of audit_chain_mac. */
static void contract_mac(const uint8_t key[AUDIT_KEY_LEN], const uint8_t prev[AUDIT_MAC_LEN],
             const char *line, uint8_t out[AUDIT_MAC_LEN])
{
	static const char member[] = ",\"mac\":\"";
	uint8_t buf[AUDIT_MAC_LEN + AUDIT_LINE_MAX + 8];
	const char *at = strstr(line, member);
	assert_non_null(at);
	const char *after = at + strlen(member) + 2 * AUDIT_MAC_LEN + 1;   /* the closing quote */
	size_t head = (size_t)(at - line), rest = strlen(after);
	assert_true(head + rest <= AUDIT_LINE_MAX);
	memcpy(buf, prev, AUDIT_MAC_LEN);
	memcpy(buf + AUDIT_MAC_LEN, line, head);
	memcpy(buf + AUDIT_MAC_LEN + head, after, rest);
	unsigned int n = AUDIT_MAC_LEN;
	assert_non_null(HMAC(EVP_sha256(), key, AUDIT_KEY_LEN, buf, AUDIT_MAC_LEN + head + rest,
	                     out, &n));
}

/* ---------- reference formatter ----------
 * The escaping rules of docs/audit.md in a plain snprintf form, so the
 * writer's fast appenders are checked against them byte for byte. The
 * UTF-8 rule is written from RFC 3629 (§3, §4, §10), not from the writer:
 * decode the code point from the bit patterns, then refuse what the RFC
 * refuses. test_utf8_reference_vectors checks it on hand-picked bytes. */

/* Length of the UTF-8 sequence at s (1..4), 0 when s does not start one: a
 * lead byte 0xxxxxxx, 110xxxxx, 1110xxxx or 11110xxx gives the length, each
 * further byte must be 10xxxxxx (a NUL ends a cut sequence), and the code
 * point must need that many bytes (no overlong form), must not be a
 * surrogate (U+D800..U+DFFF) and must not be above U+10FFFF. */
static size_t ref_utf8_len(const unsigned char *s)
{
	static const unsigned long least[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	unsigned long cp;
	size_t len;

	if ((s[0] & 0x80) == 0x00)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;                       /* 10xxxxxx alone, or 11111xxx */
	}
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < least[len] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* The reference itself, on bytes whose answer is known from the RFC. */
static void test_utf8_reference_vectors(void **state)
{
	static const struct { const char *bytes; size_t len; } v[] = {
		{ "A", 1 }, { "\x7f", 1 },
		{ "\xc2\x80", 2 },                  /* U+0080, the first 2-byte */
		{ "\xdf\xbf", 2 },                  /* U+07FF, the last */
		{ "\xc3\xa9", 2 },                  /* é */
		{ "\xc0\x80", 0 },                  /* NUL, overlong */
		{ "\xc1\xbf", 0 },                  /* U+007F, overlong */
		{ "\xc3\x28", 0 },                  /* not a continuation */
		{ "\xc3", 0 },                       /* cut by the end */
		{ "\xe0\xa0\x80", 3 },              /* U+0800 */
		{ "\xe0\x9f\xbf", 0 },              /* U+07FF, overlong */
		{ "\xe2\x82\xac", 3 },              /* € U+20AC */
		{ "\xe5\x8d\x83", 3 },              /* 千 U+5343 */
		{ "\xed\x9f\xbf", 3 },              /* U+D7FF, before the surrogates */
		{ "\xed\xa0\x80", 0 },              /* U+D800, a surrogate */
		{ "\xed\xbf\xbf", 0 },              /* U+DFFF, a surrogate */
		{ "\xee\x80\x80", 3 },              /* U+E000, after them */
		{ "\xef\xbf\xbf", 3 },              /* U+FFFF */
		{ "\xe5\x8d", 0 },                   /* cut */
		{ "\xf0\x90\x80\x80", 4 },          /* U+10000 */
		{ "\xf0\x8f\xbf\xbf", 0 },          /* U+FFFF, overlong */
		{ "\xf0\x9f\x98\x80", 4 },          /* U+1F600 */
		{ "\xf4\x8f\xbf\xbf", 4 },          /* U+10FFFF, the last */
		{ "\xf4\x90\x80\x80", 0 },          /* U+110000 */
		{ "\xf5\x80\x80\x80", 0 },          /* above U+10FFFF by its lead */
		{ "\xf7\xbf\xbf\xbf", 0 },          /* U+1FFFFF */
		{ "\xf8\x88\x80\x80\x80", 0 },      /* the old 5-byte form */
		{ "\xf0\x9f\x98", 0 },              /* cut */
		{ "\x80", 0 }, { "\xbf", 0 }, { "\xfe", 0 }, { "\xff", 0 },
	};
	(void)state;
	for (size_t k = 0; k < sizeof(v) / sizeof(*v); k++)
		if (ref_utf8_len((const unsigned char *)v[k].bytes) != v[k].len)
			fail_msg("vector %zu: length %zu, want %zu", k,
			         ref_utf8_len((const unsigned char *)v[k].bytes), v[k].len);
}

static void ref_escape(const char *value, char *out, size_t outlen)
{
	const unsigned char *s = (const unsigned char *)value;
	size_t o = 0;
	while (*s) {
		size_t n = ref_utf8_len(s);
		if (n == 0) {
			o += (size_t)snprintf(out + o, outlen - o, "\\ufffd");
			n = 1;
		} else if (*s == '"' || *s == '\\') {
			o += (size_t)snprintf(out + o, outlen - o, "\\%c", *s);
		} else if (*s < 0x20 || *s == 0x7f) {
			const char *named = *s == '\n' ? "\\n" : *s == '\r' ? "\\r" :
			                    *s == '\t' ? "\\t" : NULL;
			if (named)
				o += (size_t)snprintf(out + o, outlen - o, "%s", named);
			else
				o += (size_t)snprintf(out + o, outlen - o, "\\u%04x", *s);
		} else {
			o += (size_t)snprintf(out + o, outlen - o, "%.*s", (int)n, (const char *)s);
		}
		s += n;
	}
}

/* The whole spool (its files in order) verifies: intact and sealed. */
/* Verify the spool: intact and sealed, or, when lost > 0, intact with the
 * gateway's own loss reports adding up to lost (exit 3, named). */
static void verify_spool_lost(const struct fx *f, unsigned long long lost)
{
	char **names, path[600], *out = NULL;
	uint64_t *firsts;
	size_t n;
	assert_int_equal(audit_spool_list(f->spool, &names, &firsts, &n), 0);
	const char **paths = calloc(n, sizeof(*paths));
	for (size_t k = 0; k < n; k++) {
		snprintf(path, sizeof(path), "%s/%s", f->spool, names[k]);
		paths[k] = strdup(path);
	}
	int rc = verify(f->k0, paths, n, &out);
	for (size_t k = 0; k < n; k++)
		free((char *)paths[k]);
	free(paths);
	audit_spool_list_free(names, firsts, n);
	char want[96];
	snprintf(want, sizeof(want), "(%llu records reported lost by the gateway)", lost);
	if (lost == 0 && rc != 0)
		fail_msg("verify: %s", out);
	if (lost > 0 && (rc != 3 || !strstr(out, want)))
		fail_msg("verify (want rc 3 and '%s'): rc %d: %s", want, rc, out);
	free(out);
}

static void verify_spool(const struct fx *f)
{
	verify_spool_lost(f, 0);
}

static void test_appenders_match_reference(void **state)
{
	struct fx *f = *state;
	static const char *const tricky[] = {
		"", "plain ascii", "\"", "\\", "\"\\\"\\", "a\"b\\c",
		"\x01\x02\x1f", "\n\r\t\b\f", "\x7f", "end\x7f",
		"\xe5\x8d\x83\xe4\xbb\xa3\xe7\x94\xb0\xe5\x8c\xba",     /* 千代田区 */
		"\xf0\x9f\x98\x80 4-byte", "\xc3\xa9t\xc3\xa9",
		"\x80 lone continuation", "\xc0\x80 overlong", "\xe0\x80\xaf overlong",
		"\xed\xa0\x80 surrogate", "\xf4\x90\x80\x80 past U+10FFFF", "\xf5\x80\x80\x80",
		"cut \xe5\x8d", "cut \xf0\x9f\x98", "cut at end \xc3", "\xff\xfe",
		"mix \"q\" \\ \x01 \xe5\x8d\x83 \x80 tail",
	};
	static const uint64_t u[] = { 0, 1, 9, 10, 99, 100, 4294967295u, 4294967296u,
	                              10000000000000000000u, UINT64_MAX };
	static const int64_t i[] = { 0, -1, 1, -10, 10, INT64_MAX, INT64_MIN, INT64_MIN + 1 };
	struct audit_params p = params(f);
	struct audit *a = open_ok(&p);
	size_t nt = sizeof(tricky) / sizeof(*tricky);
	for (size_t k = 0; k < nt; k++) {
		struct audit_rec *r = audit_rec_begin(a, "config");
		audit_rec_str(r, "v", tricky[k]);
		assert_int_equal(audit_rec_commit(r), 0);
	}
	struct audit_rec *r = audit_rec_begin(a, "stats");
	char key[16];
	for (size_t k = 0; k < sizeof(u) / sizeof(*u); k++) {
		snprintf(key, sizeof(key), "u%zu", k);
		audit_rec_u64(r, key, u[k]);
	}
	for (size_t k = 0; k < sizeof(i) / sizeof(*i); k++) {
		snprintf(key, sizeof(key), "i%zu", k);
		audit_rec_i64(r, key, i[k]);
	}
	audit_rec_bool(r, "t", true);
	audit_rec_bool(r, "f", false);
	assert_int_equal(audit_rec_commit(r), 0);
	audit_close(a);

	struct lines L = spool_lines(f->spool);
	assert_int_equal(L.n, nt + 2);   /* the strings, the numbers, the seal */
	char want[512], exp[600];
	for (size_t k = 0; k < nt; k++) {
		ref_escape(tricky[k], want, sizeof(want));
		snprintf(exp, sizeof(exp), "\"epoch\":1,\"v\":\"%s\",\"mac\":\"", want);
		if (!strstr(L.v[k], exp))
			fail_msg("string %zu: escaped differently from the reference", k);
	}
	const char *nums = L.v[nt];
	for (size_t k = 0; k < sizeof(u) / sizeof(*u); k++) {
		snprintf(exp, sizeof(exp), ",\"u%zu\":%llu,", k, (unsigned long long)u[k]);
		assert_non_null(strstr(nums, exp));
	}
	for (size_t k = 0; k < sizeof(i) / sizeof(*i); k++) {
		snprintf(exp, sizeof(exp), ",\"i%zu\":%lld,", k, (long long)i[k]);
		assert_non_null(strstr(nums, exp));
	}
	assert_non_null(strstr(nums, ",\"t\":true,\"f\":false,\"mac\":\""));
	assert_false(strstr(nums, "truncated"));
	lines_free(&L);
	verify_spool(f);
}

/* Every lead byte 0x80..0xff, followed by bytes at the edges the UTF-8
 * rules turn on (0x7f 0x80 0x8f 0x90 0x9f 0xa0 0xbf 0xc0, then 0x80 0xbf
 * 0x41, then 0x80), and alone at the end of the value: one record per lead
 * byte, escaped by the writer exactly as by the reference. */
static void test_utf8_sweep(void **state)
{
	struct fx *f = *state;
	static const unsigned char second[] = { 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0 };
	static const unsigned char third[] = { 0x80, 0xbf, 0x41 };
	static char v[128][sizeof(second) * sizeof(third) * 5 + 2];
	struct audit_params p = params(f);
	struct audit *a = open_ok(&p);

	for (size_t k = 0; k < 128; k++) {
		size_t o = 0;
		for (size_t i = 0; i < sizeof(second); i++)
			for (size_t j = 0; j < sizeof(third); j++) {
				v[k][o++] = (char)(0x80 + k);
				v[k][o++] = (char)second[i];
				v[k][o++] = (char)third[j];
				v[k][o++] = (char)0x80;
				v[k][o++] = '|';
			}
		v[k][o++] = (char)(0x80 + k);
		v[k][o] = '\0';
		struct audit_rec *r = audit_rec_begin(a, "config");
		audit_rec_str(r, "v", v[k]);
		assert_int_equal(audit_rec_commit(r), 0);
	}
	audit_close(a);

	struct lines L = spool_lines(f->spool);
	assert_int_equal(L.n, 128 + 1);   /* the values, the seal */
	static char want[AUDIT_LINE_MAX], exp[AUDIT_LINE_MAX + 64];
	for (size_t k = 0; k < 128; k++) {
		ref_escape(v[k], want, sizeof(want));
		snprintf(exp, sizeof(exp), "\"epoch\":1,\"v\":\"%s\",\"mac\":\"", want);
		if (!strstr(L.v[k], exp))
			fail_msg("lead byte 0x%02zx: escaped differently from the reference", 0x80 + k);
	}
	lines_free(&L);
	verify_spool(f);
}

/* Field names: [a-z0-9_]{1,31}; anything else is left out and marked. */
static void test_field_names(void **state)
{
	struct fx *f = *state;
	struct audit_params p = params(f);
	struct audit *a = open_ok(&p);
	const char *long31 = "abcdefghijklmnopqrstuvwxyz01234";     /* 31 */
	const char *long32 = "abcdefghijklmnopqrstuvwxyz012345";    /* 32 */
	struct audit_rec *r = audit_rec_begin(a, "config");
	audit_rec_u64(r, long31, 1);
	audit_rec_u64(r, "ok_2", 2);
	assert_int_equal(audit_rec_commit(r), 0);
	const char *bad[] = { long32, "", "Upper", "sp ace", "q\"uote", "dash-ed" };
	for (size_t k = 0; k < sizeof(bad) / sizeof(*bad); k++) {
		r = audit_rec_begin(a, "config");
		audit_rec_u64(r, "before", 1);
		audit_rec_u64(r, bad[k], 2);
		assert_int_equal(audit_rec_commit(r), 0);
	}
	audit_close(a);
	struct lines L = spool_lines(f->spool);
	assert_int_equal(L.n, 1 + 6 + 1);
	char exp[128];
	snprintf(exp, sizeof(exp), ",\"%s\":1,\"ok_2\":2,\"mac\":\"", long31);
	assert_non_null(strstr(L.v[0], exp));
	for (size_t k = 1; k <= 6; k++)
		assert_non_null(strstr(L.v[k], ",\"before\":1,\"truncated\":true,\"mac\":\""));
	lines_free(&L);
}

static size_t count_lines(const char *spool)
{
	struct lines L = spool_lines(spool);
	size_t n = L.n;
	lines_free(&L);
	return n;
}

/* Records go to the spool in batches: every tick writes what waits, and a
 * record is committed (stats last_seq, mirror) only after the fdatasync
 * that follows the write of its batch. */
static void test_batching(void **state)
{
	struct fx *f = *state;
	struct audit_params p = params(f);
	struct audit_stats st;
	struct audit *a = open_ok(&p);
	prime_tick(a);
	audit_get_stats(a, &st);
	uint64_t syncs0 = st.fdatasyncs;
	write_msgs(a, 50);
	audit_get_stats(a, &st);
	assert_int_equal(st.records, 50);
	/* Committed never runs ahead of what is in the file. */
	assert_true(st.last_seq <= count_lines(f->spool));
	audit_tick(a, audit_now_ms());
	assert_int_equal(count_lines(f->spool), 50);   /* visible after a tick */
	wait_durable(a, 50);
	audit_get_stats(a, &st);
	assert_int_equal(st.last_seq, 50);
	assert_true(st.fdatasyncs > syncs0);
	/* A burst larger than one batch: several writes, nothing lost, all in
	 * order, and the chain verifies. */
	write_msgs(a, 3000);
	wait_durable(a, 3050);
	audit_get_stats(a, &st);
	assert_int_equal(st.lost, 0);
	assert_int_equal(st.records, 3050);
	struct lines L = spool_lines(f->spool);
	assert_int_equal(L.n, 3050);
	for (size_t k = 0; k < L.n; k++)
		assert_int_equal(seq_of(L.v[k]), k + 1);
	lines_free(&L);
	audit_close(a);
	verify_spool(f);
	/* A restart continues seq and chain after batched records. */
	a = open_ok(&p);
	write_msgs(a, 3);
	audit_close(a);
	verify_spool(f);
}

/* ---------- format ---------- */

static void test_record_format(void **state)
{
	struct fx *f = *state;
	struct lines L = make_spool(f, 1);
	assert_int_equal(L.n, 2);   /* the message and the shutdown seal */
	const char *m = L.v[0];
	assert_true(strncmp(m, "{\"ts\":\"", 7) == 0);
	assert_non_null(strstr(m, "\",\"seq\":1,\"gw\":\"131016\",\"event\":\"message\",\"epoch\":1,"
	                          "\"tunnel_id\":7,\"dir\":\"out\",\"type\":\"0x0101\","
	                          "\"frame_seq\":0,\"verdict\":\"allow\",\"mac\":\""));
	assert_int_equal(m[strlen(m) - 1], '}');
	/* The mac is HMAC(k1, 32 zero bytes || the line without its mac
	 * member), k1 evolved from k0: computed here from the text alone. */
	uint8_t k[AUDIT_KEY_LEN], zero[AUDIT_MAC_LEN] = { 0 }, mac[AUDIT_MAC_LEN];
	char err[256], hex[65];
	assert_int_equal(audit_k0_load(f->k0, k, err, sizeof(err)), 0);
	audit_key_evolve(k);
	const char *tag = strstr(m, ",\"mac\":\"");
	contract_mac(k, zero, m, mac);
	audit_hex(mac, sizeof(mac), hex);
	assert_memory_equal(tag + 8, hex, 64);
	assert_string_equal(tag + 8 + 64, "\"}");
	/* The library's chain function is that same definition. */
	audit_chain_mac(k, zero, m, (size_t)(tag - m), mac);
	audit_hex(mac, sizeof(mac), hex);
	assert_memory_equal(tag + 8, hex, 64);
	/* The seal chains to the message. */
	struct audit_line seal, msg;
	assert_int_equal(audit_line_parse(L.v[1], strlen(L.v[1]), &seal), 0);
	assert_int_equal(audit_line_parse(m, strlen(m), &msg), 0);
	assert_string_equal(seal.event, "seal");
	assert_non_null(strstr(L.v[1], "\"reason\":\"shutdown\""));
	contract_mac(k, msg.mac, L.v[1], mac);
	assert_memory_equal(mac, seal.mac, AUDIT_MAC_LEN);
	lines_free(&L);
}

static void test_json_escaping(void **state)
{
	struct fx *f = *state;
	struct audit_params p = params(f);
	struct audit *a = open_ok(&p);
	struct audit_rec *r = audit_rec_begin(a, "config");
	audit_rec_str(r, "error", "q\" b\\ n\n t\t c\x01 d\x7f bad\xff\xfe ok\xe5\x8d\x83 end");
	audit_rec_i64(r, "neg", -42);
	audit_rec_bool(r, "yes", true);
	audit_rec_bool(r, "no", false);
	assert_int_equal(audit_rec_commit(r), 0);
	r = audit_rec_begin(a, "config");
	audit_rec_str(r, "action", "load");
	audit_rec_str(r, "Bad-Key", "dropped");   /* invalid name: left out, and said so */
	assert_int_equal(audit_rec_commit(r), 0);
	/* A record larger than a line: fields that do not fit are dropped and the
	 * record says so; it is still one valid line. */
	static char big[6000];
	memset(big, 'x', sizeof(big) - 1);
	r = audit_rec_begin(a, "config");
	audit_rec_str(r, "action", "load");
	audit_rec_str(r, "error", big);
	assert_int_equal(audit_rec_commit(r), 0);
	/* A record never committed (a caller bug) is counted as lost, not kept
	 * open for ever. */
	struct audit_stats st;
	audit_rec_begin(a, "config");
	r = audit_rec_begin(a, "config");
	assert_non_null(r);
	audit_rec_str(r, "action", "load");
	assert_int_equal(audit_rec_commit(r), 0);
	audit_get_stats(a, &st);
	assert_int_equal(st.lost, 1);
	assert_null(audit_rec_begin(a, "Bad Event"));
	audit_close(a);
	struct lines L = spool_lines(f->spool);
	assert_non_null(strstr(L.v[0], "\"error\":\"q\\\" b\\\\ n\\n t\\t c\\u0001 d\\u007f "
	                               "bad\\ufffd\\ufffd ok\xe5\x8d\x83 end\",\"neg\":-42,"
	                               "\"yes\":true,\"no\":false,\"mac\""));
	assert_non_null(strstr(L.v[1], "\"action\":\"load\",\"truncated\":true,\"mac\""));
	assert_null(strstr(L.v[1], "Bad-Key"));
	assert_non_null(strstr(L.v[2], "\"action\":\"load\",\"truncated\":true,\"mac\""));
	assert_true(strlen(L.v[2]) < AUDIT_LINE_MAX);
	for (size_t i = 0; i < L.n; i++) {
		struct audit_line l;
		assert_int_equal(audit_line_parse(L.v[i], strlen(L.v[i]), &l), 0);
	}
	char *out;
	assert_int_equal(verify_one(f, f->spool, &out), 1);   /* a dir is not a file */
	free(out);
	lines_free(&L);
}

static void test_timestamp(void **state)
{
	struct fx *f = *state;
	time_t before = time(NULL);
	struct lines L = make_spool(f, 1);
	time_t after = time(NULL);
	const char *ts = L.v[0] + 7;
	assert_int_equal(ts[26], 'Z');
	assert_int_equal(ts[19], '.');
	struct tm tm = { 0 };
	char *end = strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm);
	assert_non_null(end);
	assert_int_equal(end - ts, 19);
	time_t t = timegm(&tm);
	assert_true(t >= before && t <= after);
	for (int i = 20; i < 26; i++)
		assert_true(ts[i] >= '0' && ts[i] <= '9');
	lines_free(&L);
}

/* ---------- chain verification and the tampering suite ---------- */

static void test_verify_ok(void **state)
{
	struct fx *f = *state;
	struct lines L = make_spool(f, 50);
	char path[400], *out;
	snprintf(path, sizeof(path), "%s/copy.jsonl", f->dir);
	write_file(path, L.v, L.n);
	assert_int_equal(verify_one(f, path, &out), 0);
	assert_non_null(strstr(out, "51 records, seq 1..51"));
	free(out);
	lines_free(&L);
}

static void expect_bad(const struct fx *f, char **v, size_t n, const char *needle)
{
	char path[400], *out;
	snprintf(path, sizeof(path), "%s/tampered.jsonl", f->dir);
	write_file(path, v, n);
	int rc = verify_one(f, path, &out);
	if (rc != 1 || !strstr(out, needle))
		fail_msg("want status 1 and \"%s\", got %d:\n%s", needle, rc, out);
	free(out);
}

static void test_tamper_change_byte(void **state)
{
	struct fx *f = *state;
	struct lines L = make_spool(f, 20);
	char *v = strstr(L.v[9], "\"verdict\":\"allow\"");
	v[11] = 'A';   /* allow -> Allow */
	expect_bad(f, L.v, L.n, "seq 10: changed: the record was altered");
	v[11] = 'a';
	char *mac = strstr(L.v[4], ",\"mac\":\"") + 8;
	mac[3] = mac[3] == '0' ? '1' : '0';
	expect_bad(f, L.v, L.n, "seq 5: changed: its mac was altered");
	lines_free(&L);
}

static void test_tamper_delete(void **state)
{
	struct fx *f = *state;
	struct lines L = make_spool(f, 20);
	free(L.v[6]);
	memmove(&L.v[6], &L.v[7], (L.n - 7) * sizeof(*L.v));
	L.n--;
	expect_bad(f, L.v, L.n, "seq 8: removed: seq 7..7 missing");
	/* The first records cut away. */
	expect_bad(f, L.v + 2, L.n - 2, "seq 3: removed: the chain starts at seq 1");
	lines_free(&L);
}

static void test_tamper_swap(void **state)
{
	struct fx *f = *state;
	struct lines L = make_spool(f, 20);
	char *t = L.v[11];
	L.v[11] = L.v[12];
	L.v[12] = t;
	expect_bad(f, L.v, L.n, "seq 13: reordered: it comes before seq 12");
	lines_free(&L);
}

static void test_tamper_truncate(void **state)
{
	struct fx *f = *state;
	struct lines L = make_spool(f, 20);
	char path[400], *out;
	snprintf(path, sizeof(path), "%s/cut.jsonl", f->dir);
	write_file(path, L.v, L.n - 3);   /* the seal and two records gone */
	assert_int_equal(verify_one(f, path, &out), 3);
	assert_non_null(strstr(out, "tail not sealed: the last record (seq 18, message)"));
	free(out);
	/* A torn last line (cut inside a record) is named as such. */
	FILE *fp = fopen(path, "a");
	fputs("{\"ts\":\"2026-11-25T04:0", fp);
	fclose(fp);
	assert_int_equal(verify_one(f, path, &out), 3);
	assert_non_null(strstr(out, "torn tail"));
	free(out);
	lines_free(&L);
}

static void test_tamper_splice(void **state)
{
	struct fx *f = *state;
	struct lines A = make_spool(f, 20);
	/* A second installation of the same gateway: its own k0 and spool. */
	struct fx g = *f;
	char err[256];
	snprintf(g.spool, sizeof(g.spool), "%s/spool2", f->dir);
	snprintf(g.key, sizeof(g.key), "%s/audit2.key", f->dir);
	snprintf(g.k0, sizeof(g.k0), "%s/k0-2.hex", f->dir);
	assert_int_equal(audit_init_key(g.k0, g.key, err, sizeof(err)), 0);
	struct lines B = make_spool(&g, 20);
	char p1[400], p2[400], *out;
	snprintf(p1, sizeof(p1), "%s/part1.jsonl", f->dir);
	snprintf(p2, sizeof(p2), "%s/part2.jsonl", f->dir);
	write_file(p1, A.v, 10);
	write_file(p2, B.v + 10, B.n - 10);
	const char *paths[] = { p1, p2 };
	assert_int_equal(verify(f->k0, paths, 2, &out), 1);
	assert_non_null(strstr(out, "part2.jsonl:1: seq 11: spliced: "));
	free(out);
	/* A record of another gateway. */
	char *gw = strstr(A.v[5], "\"gw\":\"131016\"");
	memcpy(gw + 6, "131024", 6);
	expect_bad(f, A.v, A.n, "seq 6: spliced: a record of gateway 131024");
	lines_free(&A);
	lines_free(&B);
}

static void test_tamper_forged(void **state)
{
	struct fx *f = *state;
	struct lines L = make_spool(f, 10);
	char path[400], *out;
	snprintf(path, sizeof(path), "%s/forged.jsonl", f->dir);
	write_file(path, L.v, L.n);
	/* The right records checked with another k0. */
	struct fx g = *f;
	char err[256];
	snprintf(g.key, sizeof(g.key), "%s/other.key", f->dir);
	snprintf(g.k0, sizeof(g.k0), "%s/other-k0.hex", f->dir);
	assert_int_equal(audit_init_key(g.k0, g.key, err, sizeof(err)), 0);
	assert_int_equal(verify_one(&g, path, &out), 1);
	assert_non_null(strstr(out, "seq 1: forged: the mac does not verify with the key of epoch 1"));
	free(out);
	/* A record rewritten in the middle with a mac from a wrong key, and the
	 * rest of the chain recomputed with that wrong key. */
	uint8_t bad[AUDIT_KEY_LEN] = { 1, 2, 3 }, prev[AUDIT_MAC_LEN], mac[AUDIT_MAC_LEN];
	char hex[65];
	struct audit_line l;
	assert_int_equal(audit_line_parse(L.v[3], strlen(L.v[3]), &l), 0);
	memcpy(prev, l.mac, sizeof(prev));
	for (size_t i = 4; i < L.n; i++) {
		assert_int_equal(audit_line_parse(L.v[i], strlen(L.v[i]), &l), 0);
		audit_chain_mac(bad, prev, l.text, l.body_len, mac);
		audit_hex(mac, sizeof(mac), hex);
		memcpy(L.v[i] + l.body_len + 8, hex, 64);
		memcpy(prev, mac, sizeof(prev));
	}
	expect_bad(f, L.v, L.n, "seq 5: forged");
	lines_free(&L);
}

static void test_tamper_replay_old_epoch(void **state)
{
	struct fx *f = *state;
	struct audit_params p = params(f);
	struct audit *a = open_ok(&p);
	prime_tick(a);
	write_msgs(a, 3);
	audit_tick(a, audit_now_ms() + 3601 * 1000LL);   /* epoch 1 -> 2 */
	write_msgs(a, 3);
	audit_close(a);
	struct lines L = spool_lines(f->spool);
	/* Someone holding the epoch-1 key (a backup) appends a record in epoch 1. */
	uint8_t k1[AUDIT_KEY_LEN], mac[AUDIT_MAC_LEN];
	char err[256], line[1024], hex[65];
	assert_int_equal(audit_k0_load(f->k0, k1, err, sizeof(err)), 0);
	audit_key_evolve(k1);
	struct audit_line last;
	assert_int_equal(audit_line_parse(L.v[L.n - 1], strlen(L.v[L.n - 1]), &last), 0);
	int n = snprintf(line, sizeof(line), "{\"ts\":\"2026-11-25T05:00:00.000000Z\",\"seq\":%llu,"
	                 "\"gw\":\"131016\",\"event\":\"seal\",\"epoch\":1,\"reason\":\"shutdown\"",
	                 (unsigned long long)last.seq + 1);
	audit_chain_mac(k1, last.mac, line, (size_t)n, mac);
	audit_hex(mac, sizeof(mac), hex);
	snprintf(line + n, sizeof(line) - (size_t)n, ",\"mac\":\"%s\"}", hex);
	L.v = realloc(L.v, (L.n + 1) * sizeof(*L.v));
	L.v[L.n++] = strdup(line);
	expect_bad(f, L.v, L.n, "replayed: a record of old key epoch 1 after epoch 2");
	/* Epochs must not move on without a seal: drop the epoch seal. */
	lines_free(&L);
	L = spool_lines(f->spool);
	assert_non_null(strstr(L.v[3], "\"reason\":\"epoch\""));
	free(L.v[3]);
	memmove(&L.v[3], &L.v[4], (L.n - 4) * sizeof(*L.v));
	L.n--;
	expect_bad(f, L.v, L.n, "seq 5: removed: seq 4..4 missing");
	lines_free(&L);
}

static void test_duplicates_tolerated(void **state)
{
	struct fx *f = *state;
	struct lines L = make_spool(f, 10);
	/* At-least-once delivery: records 4..7 arrive twice. */
	char *v[32];
	size_t n = 0;
	for (size_t i = 0; i < 7; i++)
		v[n++] = L.v[i];
	for (size_t i = 3; i < L.n; i++)
		v[n++] = L.v[i];
	char path[400], *out;
	snprintf(path, sizeof(path), "%s/dups.jsonl", f->dir);
	write_file(path, v, n);
	assert_int_equal(verify_one(f, path, &out), 0);
	assert_non_null(strstr(out, "4 duplicates skipped"));
	free(out);
	/* A "duplicate" that differs is not tolerated. */
	char *changed = strdup(L.v[4]);
	char *d = strstr(changed, "\"dir\":\"");
	d[7] = d[7] == 'i' ? 'o' : 'i';
	v[8] = changed;
	expect_bad(f, v, n, "seq 5: changed: seq 5 was seen before with other content");
	v[8] = L.v[4];
	free(changed);
	/* A line that is not a record. */
	v[3] = (char *)"hello";
	expect_bad(f, v, n, ":4: malformed");
	lines_free(&L);
}

/* A syslog header before the record (a collector's file) is accepted. */
static void test_collector_prefix(void **state)
{
	struct fx *f = *state;
	struct lines L = make_spool(f, 5);
	for (size_t i = 0; i < L.n; i++) {
		char *pre;
		assert_true(asprintf(&pre, "2026-11-25T04:00:00+00:00 gw1 jgw - message - %s",
		                     L.v[i]) > 0);
		free(L.v[i]);
		L.v[i] = pre;
	}
	char path[400], *out;
	snprintf(path, sizeof(path), "%s/collector.log", f->dir);
	write_file(path, L.v, L.n);
	assert_int_equal(verify_one(f, path, &out), 0);
	free(out);
	lines_free(&L);
}

/* A collector that escapes control characters writes a message's records on
 * one line joined by "#012": each is a record; the line numbers are the
 * collector's lines. A record changed in such a line is still found. */
static void test_collector_escaped_lf(void **state)
{
	struct fx *f = *state;
	struct lines L = make_spool(f, 5);   /* and the seal */
	assert_true(L.n >= 5);
	char *joined[3], path[400], *out, *mid = NULL;
	assert_true(asprintf(&joined[0], "2026-11-25T04:00:00+00:00 gw1 jgw - %s - %s", "message",
	                     L.v[0]) > 0);
	for (size_t i = 1; i + 1 < L.n; i++) {   /* all but the first and the last */
		char *more;
		assert_true(asprintf(&more, "%s%s%s", mid ? mid : "", mid ? "#012" : "", L.v[i]) > 0);
		free(mid);
		mid = more;
	}
	assert_true(asprintf(&joined[1], "2026-11-25T04:00:00+00:00 gw1 jgw - batch - %s", mid) > 0);
	free(mid);
	assert_true(asprintf(&joined[2], "%s", L.v[L.n - 1]) > 0);
	snprintf(path, sizeof(path), "%s/collector.log", f->dir);
	write_file(path, joined, 3);
	assert_int_equal(verify_one(f, path, &out), 0);
	char want[32];
	snprintf(want, sizeof(want), "%zu records", L.n);
	assert_non_null(strstr(out, want));
	free(out);
	/* One digit changed in the third record of the joined line. */
	char *d = strstr(joined[1], "#012") + 4;
	d = strstr(d, "#012") + 4;
	d = strstr(d, "\"seq\":") + 6;
	*d = *d == '9' ? '8' : (char)(*d + 1);
	write_file(path, joined, 3);
	assert_int_not_equal(verify_one(f, path, &out), 0);
	assert_non_null(strstr(out, ":2:"));
	free(out);
	for (int i = 0; i < 3; i++)
		free(joined[i]);
	lines_free(&L);
}

/* ---------- continuity ---------- */

static void test_restart_continues(void **state)
{
	struct fx *f = *state;
	struct audit_params p = params(f);
	struct audit_stats st;
	for (int run = 0; run < 3; run++) {
		struct audit *a = open_ok(&p);
		write_msgs(a, 5);
		wait_durable(a, (uint64_t)run * 6 + 5);
		audit_get_stats(a, &st);
		assert_int_equal(st.last_seq, (uint64_t)run * 6 + 5);
		assert_int_equal(st.epoch, (uint32_t)run + 1);
		audit_close(a);
	}
	struct lines L = spool_lines(f->spool);
	assert_int_equal(L.n, 18);
	for (size_t i = 0; i < L.n; i++)
		assert_int_equal(seq_of(L.v[i]), i + 1);
	char *out;
	const char *paths[] = { f->spool };
	(void)paths;
	char file[400];
	snprintf(file, sizeof(file), "%s/all.jsonl", f->dir);
	write_file(file, L.v, L.n);
	assert_int_equal(verify_one(f, file, &out), 0);
	assert_non_null(strstr(out, "18 records, seq 1..18, epochs 1..3"));
	free(out);
	lines_free(&L);
}

static void test_crash_recovery(void **state)
{
	struct fx *f = *state;
	struct audit_params p = params(f);
	pid_t pid = fork();
	if (pid == 0) {
		struct audit *a = open_ok(&p);
		write_msgs(a, 7);
		wait_durable(a, 7);
		_exit(0);   /* a crash: no close, no seal */
	}
	int status;
	waitpid(pid, &status, 0);
	assert_int_equal(status, 0);
	/* And a torn record, as a power cut during a write leaves it. */
	char path[400];
	snprintf(path, sizeof(path), "%s/audit-00000000000000000001.jsonl", f->spool);
	FILE *fp = fopen(path, "a");
	fputs("{\"ts\":\"2026-11-25T04:00:00.000000Z\",\"seq\":8,\"gw\":\"13", fp);
	fclose(fp);
	struct audit *a = open_ok(&p);
	write_msgs(a, 2);
	audit_close(a);
	struct lines L = spool_lines(f->spool);
	/* 7 messages; in a new file the checkpoint (seq 8), the recovery seal
	 * (seq 9), 2 messages, the shutdown seal; the torn fragment stays
	 * where it was, as evidence. */
	assert_int_equal(L.n, 13);
	assert_non_null(strstr(L.v[7], "\"gw\":\"13"));
	assert_non_null(strstr(L.v[8], "\"seq\":8,"));
	assert_non_null(strstr(L.v[8], "\"event\":\"checkpoint\""));
	assert_non_null(strstr(L.v[9], "\"seq\":9,"));
	assert_non_null(strstr(L.v[9], "\"reason\":\"recovery\",\"torn_bytes\":52"));
	char *out;
	const char *paths[2];
	char **names;
	uint64_t *firsts;
	size_t n;
	char p1[400], p2[400];
	assert_int_equal(audit_spool_list(f->spool, &names, &firsts, &n), 0);
	assert_int_equal(n, 2);
	snprintf(p1, sizeof(p1), "%s/%s", f->spool, names[0]);
	snprintf(p2, sizeof(p2), "%s/%s", f->spool, names[1]);
	paths[0] = p1;
	paths[1] = p2;
	assert_int_equal(verify(f->k0, paths, 2, &out), 3);   /* the torn tail warning */
	assert_non_null(strstr(out, "torn tail"));
	assert_non_null(strstr(out, "chain intact"));
	free(out);
	audit_spool_list_free(names, firsts, n);
	lines_free(&L);
}

static void test_rotation(void **state)
{
	struct fx *f = *state;
	struct audit_params p = params(f);
	p.rotate_bytes = 4096;
	struct audit *a = open_ok(&p);
	write_msgs(a, 100);
	audit_close(a);
	a = open_ok(&p);
	write_msgs(a, 30);
	audit_close(a);
	char **names;
	uint64_t *firsts;
	size_t n;
	assert_int_equal(audit_spool_list(f->spool, &names, &firsts, &n), 0);
	assert_true(n >= 8);
	const char **paths = calloc(n, sizeof(*paths));
	char (*buf)[400] = calloc(n, sizeof(*buf));
	for (size_t i = 0; i < n; i++) {
		snprintf(buf[i], sizeof(buf[i]), "%s/%s", f->spool, names[i]);
		paths[i] = buf[i];
		struct stat st;
		assert_int_equal(stat(paths[i], &st), 0);
		assert_true(st.st_size <= 4096 + AUDIT_LINE_MAX);
		if (i > 0) {   /* each file is named after its first record */
			struct lines one = { 0 };
			char *b;
			size_t len;
			assert_int_equal(audit_slurp(paths[i], &b, &len), 0);
			*strchr(b, '\n') = '\0';
			assert_int_equal(seq_of(b), firsts[i]);
			free(b);
			(void)one;
		}
	}
	char *out, want[64];
	/* 130 messages, a seal per run, a checkpoint starting each file but
	 * the first. */
	struct lines all = spool_lines(f->spool);
	assert_int_equal(all.n, 132 + n - 1);
	lines_free(&all);
	snprintf(want, sizeof(want), "%zu records", 132 + n - 1);
	assert_int_equal(verify(f->k0, paths, n, &out), 0);
	assert_non_null(strstr(out, want));
	free(out);
	/* A whole middle file missing is a gap, named with its seqs; the
	 * files after it are still verified from its checkpoint. */
	snprintf(want, sizeof(want), "removed: seq %llu..%llu missing",
	         (unsigned long long)firsts[2], (unsigned long long)firsts[3] - 1);
	memmove(&paths[2], &paths[3], (n - 3) * sizeof(*paths));
	assert_int_equal(verify(f->k0, paths, n - 1, &out), 1);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "chain intact between 1 gaps"));
	free(out);
	free(paths);
	free(buf);
	audit_spool_list_free(names, firsts, n);
}

static void test_epoch_and_key_file(void **state)
{
	struct fx *f = *state;
	struct audit_params p = params(f);
	uint32_t epoch;
	uint8_t key[AUDIT_KEY_LEN], saved[AUDIT_KEY_LEN], k0[AUDIT_KEY_LEN];
	char err[512];
	struct audit *a = open_ok(&p);
	assert_int_equal(audit_key_load(f->key, &epoch, key, err, sizeof(err)), 0);
	assert_int_equal(epoch, 1);   /* start-up epoch change: k0 is never used */
	assert_int_equal(audit_k0_load(f->k0, k0, err, sizeof(err)), 0);
	audit_key_evolve(k0);
	assert_memory_equal(k0, key, sizeof(key));
	memcpy(saved, key, sizeof(key));
	prime_tick(a);
	write_msgs(a, 2);
	audit_tick(a, audit_now_ms() + 3600 * 1000LL);
	assert_int_equal(audit_key_load(f->key, &epoch, key, err, sizeof(err)), 0);
	assert_int_equal(epoch, 2);
	audit_key_evolve(k0);
	assert_memory_equal(k0, key, sizeof(key));
	write_msgs(a, 2);
	audit_close(a);
	struct lines L = spool_lines(f->spool);
	assert_non_null(strstr(L.v[2], "\"event\":\"seal\",\"epoch\":1,\"reason\":\"epoch\""));
	assert_non_null(strstr(L.v[3], "\"epoch\":2,"));
	lines_free(&L);
	/* After a clean shutdown the key on disk is already past every record. */
	assert_int_equal(audit_key_load(f->key, &epoch, key, err, sizeof(err)), 0);
	assert_int_equal(epoch, 3);
	/* An old key file put back is refused. */
	assert_int_equal(audit_key_store(f->key, 1, saved, err, sizeof(err)), 0);
	assert_null(audit_open(&p, err, sizeof(err)));
	assert_non_null(strstr(err, "an old key file restored"));
	/* init never overwrites a key. */
	char k0b[400];
	snprintf(k0b, sizeof(k0b), "%s/k0-again", f->dir);
	assert_int_equal(audit_init_key(k0b, f->key, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "exists"));
}

static void test_disk_limit_policies(void **state)
{
	struct fx *f = *state;
	struct audit_params p = params(f);
	struct audit_stats st;
	/* A limit of 1 % is reached on any real file system. */
	p.disk_alarm_pct = 1;
	p.disk_limit_pct = 1;
	p.fail_closed = true;
	struct audit *a = open_ok(&p);
	audit_get_stats(a, &st);
	assert_true(st.disk_alarm);
	assert_true(st.disk_full);
	assert_false(audit_admit(a));
	write_msgs(a, 3);   /* live tunnels still write: the reserve is for them */
	audit_get_stats(a, &st);
	assert_int_equal(st.lost, 0);
	audit_close(a);

	p.fail_closed = false;   /* count-loss */
	a = open_ok(&p);
	assert_true(audit_admit(a));
	struct audit_rec *r = audit_rec_begin(a, "message");
	assert_int_equal(audit_rec_commit(r), -1);
	r = audit_rec_begin(a, "message");
	assert_int_equal(audit_rec_commit(r), -1);
	audit_get_stats(a, &st);
	assert_int_equal(st.lost, 2);
	audit_close(a);
	struct lines L = spool_lines(f->spool);
	/* The loss is reported in the chain before the seal. */
	int found = 0;
	for (size_t i = 0; i < L.n; i++) {
		if (strstr(L.v[i], "\"source\":\"audit\",\"lost\":2,\"lost_total\":2"))
			found++;
		if (strstr(L.v[i], "\"reason\":\"shutdown\",\"epoch_records\"") &&
		    strstr(L.v[i], "\"lost_total\":2"))
			found++;
	}
	assert_int_equal(found, 2);
	assert_non_null(strstr(L.v[0], "\"disk_alarm\":true"));
	lines_free(&L);
}

static void test_parse_rejects(void **state)
{
	(void)state;
	struct audit_line l;
	const char *good = "{\"ts\":\"2026-11-25T04:00:00.000000Z\",\"seq\":1,\"gw\":\"131016\","
	                   "\"event\":\"seal\",\"epoch\":1,\"mac\":\"" 
	                   "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}";
	assert_int_equal(audit_line_parse(good, strlen(good), &l), 0);
	assert_int_equal(l.body_len, strlen(good) - AUDIT_MAC_TAIL);
	char bad[512];
	for (size_t cut = 0; cut < strlen(good); cut++)   /* every prefix is rejected */
		assert_int_equal(audit_line_parse(good, cut, &l), -1);
	snprintf(bad, sizeof(bad), "%s", good);
	bad[strlen(bad) - 5] = 'F';   /* upper-case hex: one spelling only */
	assert_int_equal(audit_line_parse(bad, strlen(bad), &l), -1);
	snprintf(bad, sizeof(bad), "%s", good);
	memcpy(strstr(bad, "\"seq\":1") + 6, "0", 1);   /* seq 0 */
	assert_int_equal(audit_line_parse(bad, strlen(bad), &l), -1);
}

/* ---------- key handling ---------- */

/* Does the heap (and every anonymous mapping) hold these bytes? Read
 * through /proc/self/mem, so a sanitizer's poisoned memory can be read
 * too; its huge shadow mappings are skipped. */
static bool heap_holds(const uint8_t *needle, size_t n)
{
	static char buf[1 << 20];
	char line[512];
	bool found = false;
	FILE *maps = fopen("/proc/self/maps", "r");
	int mem = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
	assert_non_null(maps);
	assert_true(mem >= 0);
	while (!found && fgets(line, sizeof(line), maps)) {
		unsigned long lo, hi;
		char perms[8], path[256] = "";
		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %255s", &lo, &hi, perms, path) < 3)
			continue;
		if (strcmp(perms, "rw-p") != 0 || (path[0] && strcmp(path, "[heap]") != 0) ||
		    hi - lo > (1ul << 30))
			continue;
		for (unsigned long at = lo; !found && at < hi; at += sizeof(buf) - n) {
			size_t want = hi - at < sizeof(buf) ? hi - at : sizeof(buf);
			ssize_t r = pread(mem, buf, want, (off_t)at);
			if (r > 0)
				found = memmem(buf, (size_t)r, needle, n) != NULL;
			explicit_bzero(buf, sizeof(buf));   /* no copy of our own left behind */
			if (r <= 0 || (size_t)r < want)
				break;
		}
	}
	fclose(maps);
	close(mem);
	return found;
}

/* Forward security in memory: right after an epoch change no byte of the
 * old key is left in the writer's memory (its HMAC context included), even
 * before the next record is written. */
static void test_epoch_forgets_old_key(void **state)
{
	struct fx *f = *state;
	struct audit_params p = params(f);
	uint8_t k1[AUDIT_KEY_LEN], k2[AUDIT_KEY_LEN];
	char err[256];
	assert_int_equal(audit_k0_load(f->k0, k1, err, sizeof(err)), 0);
	audit_key_evolve(k1);
	memcpy(k2, k1, sizeof(k2));
	audit_key_evolve(k2);
	struct audit *a = open_ok(&p);
	prime_tick(a);
	write_msgs(a, 3);   /* the HMAC context is keyed with k1 */
	assert_true(heap_holds(k1, sizeof(k1)));   /* the scan does see the writer */
	audit_tick(a, audit_now_ms() + 3601 * 1000LL);
	struct audit_stats st;
	audit_get_stats(a, &st);
	assert_int_equal(st.epoch, 2);
	assert_false(heap_holds(k1, sizeof(k1)));
	assert_true(heap_holds(k2, sizeof(k2)));
	audit_close(a);
	OPENSSL_cleanse(k1, sizeof(k1));
	OPENSSL_cleanse(k2, sizeof(k2));
	verify_spool(f);
}

static bool all_zero_fd(int fd, size_t *size)
{
	char buf[256];
	ssize_t r = pread(fd, buf, sizeof(buf), 0);
	assert_true(r >= 0);
	*size = (size_t)r;
	for (ssize_t i = 0; i < r; i++)
		if (buf[i] != 0)
			return false;
	return true;
}

/* The key file is replaced by rename; the old file's blocks are zeroed
 * first-hand (read here through a descriptor kept open on the old file). */
static void test_key_store_wipes_old_key(void **state)
{
	struct fx *f = *state;
	struct audit_params p = params(f);
	uint8_t key[AUDIT_KEY_LEN];
	uint32_t epoch;
	size_t size;
	char err[512];

	int old = open(f->key, O_RDONLY);
	assert_true(old >= 0);
	assert_false(all_zero_fd(old, &size));
	assert_int_equal(audit_key_load(f->key, &epoch, key, err, sizeof(err)), 0);
	audit_key_evolve(key);
	assert_int_equal(audit_key_store(f->key, 1, key, err, sizeof(err)), 0);
	assert_true(all_zero_fd(old, &size));
	assert_int_equal(size, strlen("jgw-audit-key 0 ") + 64 + 1);   /* every byte */
	close(old);
	assert_int_equal(audit_key_load(f->key, &epoch, key, err, sizeof(err)), 0);
	assert_int_equal(epoch, 1);

	/* The writer's epoch changes (start-up, hourly, shutdown) wipe too. */
	struct audit *a = open_ok(&p);   /* epoch 1 -> 2 at start-up */
	old = open(f->key, O_RDONLY);
	assert_true(old >= 0);
	prime_tick(a);
	write_msgs(a, 2);
	audit_tick(a, audit_now_ms() + 3601 * 1000LL);
	assert_true(all_zero_fd(old, &size));
	assert_true(size > 0);
	close(old);
	audit_close(a);
	verify_spool(f);

	/* What cannot be wiped is said, and the new key is stored all the same. */
	char fifo[400];
	snprintf(fifo, sizeof(fifo), "%s/fifo.key", f->dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(audit_key_store(fifo, 7, key, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "old key not wiped"));
	assert_int_equal(audit_key_load(fifo, &epoch, key, err, sizeof(err)), 0);
	assert_int_equal(epoch, 7);
	OPENSSL_cleanse(key, sizeof(key));
}

static size_t count_matching(const char *spool, const char *needle)
{
	struct lines L = spool_lines(spool);
	size_t n = 0;
	for (size_t i = 0; i < L.n; i++)
		n += strstr(L.v[i], needle) != NULL;
	lines_free(&L);
	return n;
}

/* The key file cannot be stored (its directory is gone: a regular file
 * stands in its place, which stops root too): one seal, one alarm, a retry
 * every few seconds, no seal per tick; records go on in the old epoch and
 * the change completes once the key file can be written again. */
static void test_key_store_failure_backs_off(void **state)
{
	struct fx *f = *state;
	struct audit_params p = params(f);
	struct audit_stats st;
	char keys[400], away[400], key[450];
	snprintf(keys, sizeof(keys), "%s/keys", f->dir);
	snprintf(away, sizeof(away), "%s/keys.away", f->dir);
	snprintf(key, sizeof(key), "%s/audit.key", keys);
	assert_int_equal(mkdir(keys, 0700), 0);
	assert_int_equal(rename(f->key, key), 0);
	p.key_file = key;
	struct audit *a = open_ok(&p);
	prime_tick(a);
	int64_t t0 = audit_now_ms() + 3601 * 1000LL;   /* the epoch is due */
	write_msgs(a, 2);

	assert_int_equal(rename(keys, away), 0);
	FILE *fp = fopen(keys, "w");
	assert_non_null(fp);
	fclose(fp);
	audit_tick(a, t0);
	audit_get_stats(a, &st);
	assert_int_equal(st.epoch, 1);
	assert_true(st.key_alarm);
	assert_int_equal(count_matching(f->spool, "\"event\":\"seal\""), 1);
	for (int k = 1; k <= 20; k++)   /* two seconds of ticks */
		audit_tick(a, t0 + k * 100);
	assert_int_equal(count_matching(f->spool, "\"event\":\"seal\""), 1);
	assert_true(audit_next_ms(a) > 0);   /* no busy loop in the daemon */
	/* A retry while the seal is still the last record writes none. */
	audit_tick(a, t0 + 6000);
	assert_int_equal(count_matching(f->spool, "\"event\":\"seal\""), 1);
	write_msgs(a, 2);   /* the old key still signs */
	audit_tick(a, t0 + 7000);   /* the next retry is not due yet */
	assert_int_equal(count_matching(f->spool, "\"event\":\"seal\""), 1);
	audit_get_stats(a, &st);
	assert_int_equal(st.epoch, 1);

	assert_int_equal(unlink(keys), 0);
	assert_int_equal(rename(away, keys), 0);
	audit_tick(a, t0 + 12000);   /* records since the seal: a new seal */
	audit_get_stats(a, &st);
	assert_int_equal(st.epoch, 2);
	assert_false(st.key_alarm);
	assert_int_equal(count_matching(f->spool, "\"event\":\"seal\""), 2);
	write_msgs(a, 1);
	audit_close(a);
	struct lines L = spool_lines(f->spool);
	assert_int_equal(L.n, 2 + 1 + 2 + 1 + 1 + 1);
	assert_non_null(strstr(L.v[5], "\"epoch\":1,\"reason\":\"epoch\""));
	assert_non_null(strstr(L.v[6], "\"epoch\":2,"));
	lines_free(&L);
	verify_spool(f);
}

/* ---------- fdatasync failures ---------- */

/* Let the group-commit timer run out, then tick: one fdatasync. */
static void commit_now(struct audit *a)
{
	struct timespec pause = { 0, 120 * 1000 * 1000 };
	nanosleep(&pause, NULL);
	audit_tick(a, audit_now_ms());
}

static size_t spool_files(const struct fx *f, uint64_t *firsts_out, size_t cap)
{
	char **names;
	uint64_t *firsts;
	size_t n;
	assert_int_equal(audit_spool_list(f->spool, &names, &firsts, &n), 0);
	for (size_t i = 0; i < n && i < cap; i++)
		firsts_out[i] = firsts[i];
	audit_spool_list_free(names, firsts, n);
	return n;
}

/* After a failed fdatasync what was written since the last good one is
 * never reported committed, even when the next fdatasync succeeds: it is
 * counted as lost (in the chain), cut from the file, and the chain goes on
 * from the last committed record in a new file. */
static void test_fdatasync_error_loses_batch(void **state)
{
	struct fx *f = *state;
	struct audit_params p = params(f);
	struct audit_stats st;
	uint64_t firsts[8];
	struct audit *a = open_ok(&p);
	prime_tick(a);

	/* A file without a committed record yet. */
	write_msgs(a, 3);
	audit_flush(a);
	assert_int_equal(count_lines(f->spool), 3);
	fail_fdatasync = 1;
	commit_now(a);
	assert_int_equal(fail_fdatasync, 0);
	/* The same tick reports the loss, as seq 1: the chain starts over. */
	audit_get_stats(a, &st);
	assert_int_equal(st.lost, 3);
	assert_int_equal(st.last_seq, 1);
	assert_int_equal(count_lines(f->spool), 1);
	commit_now(a);   /* a good fdatasync now must not commit them */
	audit_get_stats(a, &st);
	assert_int_equal(st.last_seq, 1);
	assert_int_equal(count_lines(f->spool), 1);

	write_msgs(a, 2);
	wait_durable(a, 3);
	struct lines L = spool_lines(f->spool);
	assert_int_equal(L.n, 3);
	assert_non_null(strstr(L.v[0], "\"seq\":1,"));
	assert_non_null(strstr(L.v[0], "\"source\":\"audit\",\"lost\":3,\"lost_total\":3"));
	lines_free(&L);

	/* A file with committed records: cut back to them, next file. */
	write_msgs(a, 4);   /* seq 4..7 */
	audit_flush(a);
	assert_int_equal(count_lines(f->spool), 7);
	fail_fdatasync = 1;
	commit_now(a);
	commit_now(a);
	audit_get_stats(a, &st);
	assert_int_equal(st.lost, 7);
	/* 1..3, then the new file's checkpoint (4) and the loss record (5). */
	assert_int_equal(st.last_seq, 5);
	assert_int_equal(count_lines(f->spool), 5);
	assert_int_equal(spool_files(f, firsts, 8), 2);
	assert_int_equal(firsts[0], 1);
	assert_int_equal(firsts[1], 4);
	write_msgs(a, 1);
	wait_durable(a, 6);
	audit_close(a);
	L = spool_lines(f->spool);
	assert_int_equal(L.n, 7);   /* 3, the checkpoint, the loss, a message, the seal */
	assert_non_null(strstr(L.v[3], "\"seq\":4,"));
	assert_non_null(strstr(L.v[3], "\"event\":\"checkpoint\""));
	assert_non_null(strstr(L.v[4], "\"seq\":5,"));
	assert_non_null(strstr(L.v[4], "\"lost\":4,\"lost_total\":7"));
	assert_non_null(strstr(L.v[6], "\"reason\":\"shutdown\""));
	assert_non_null(strstr(L.v[6], "\"lost_total\":7"));
	lines_free(&L);
	verify_spool_lost(f, 7);
	/* A restart continues after it. */
	a = open_ok(&p);
	write_msgs(a, 2);
	audit_close(a);
	verify_spool_lost(f, 7);
}

/* A file that cannot even be cut back may still hold the uncommitted
 * records: the writer stops writing (counted loss, admission refused under
 * fail-closed) rather than give their seqs to other records; a restart
 * continues after what the file holds. */
static void test_fdatasync_error_uncut_stops(void **state)
{
	struct fx *f = *state;
	struct audit_params p = params(f);
	struct audit_stats st;
	struct audit *a = open_ok(&p);
	prime_tick(a);
	write_msgs(a, 3);
	wait_durable(a, 3);
	write_msgs(a, 2);
	audit_flush(a);
	fail_fdatasync = 1;
	fail_ftruncate = 1;
	commit_now(a);
	assert_int_equal(fail_ftruncate, 0);
	audit_get_stats(a, &st);
	assert_true(st.spool_broken);
	assert_int_equal(st.lost, 2);
	assert_int_equal(st.last_seq, 3);
	assert_false(audit_admit(a));
	struct audit_rec *r = audit_rec_begin(a, "message");
	assert_int_equal(audit_rec_commit(r), -1);
	commit_now(a);
	audit_tick(a, audit_now_ms() + 3601 * 1000LL);   /* no epoch change either */
	audit_get_stats(a, &st);
	assert_int_equal(st.lost, 3);
	assert_int_equal(st.last_seq, 3);
	assert_int_equal(st.epoch, 1);
	assert_int_equal(count_lines(f->spool), 5);
	audit_close(a);
	assert_int_equal(count_lines(f->spool), 5);
	a = open_ok(&p);   /* recovery seal at seq 6, then on */
	write_msgs(a, 1);
	audit_close(a);
	struct lines L = spool_lines(f->spool);
	assert_int_equal(L.n, 8);
	assert_non_null(strstr(L.v[5], "\"reason\":\"recovery\""));
	lines_free(&L);
	verify_spool(f);
}

/* Fail-closed on a full disk: records the disk refuses wait in memory, in
 * order, and nothing behind them may be forwarded (audit_writeahead false,
 * refusal named); once the disk takes them they are written, nothing is
 * lost, and the chain verifies. */
static void test_fail_closed_holds_batch(void **state)
{
	struct fx *f = *state;
	struct audit_params p = params(f);
	struct audit_stats st;
	struct audit *a = open_ok(&p);
	prime_tick(a);
	write_msgs(a, 3);
	wait_durable(a, 3);
	assert_true(audit_writeahead(a));
	assert_null(audit_refusal(a));

	fail_write = 1000;
	write_msgs(a, 5);              /* committed: held, not lost */
	assert_false(audit_writeahead(a));
	assert_string_equal(audit_refusal(a), "audit-disk-full");
	assert_false(audit_admit(a));
	commit_now(a);
	audit_get_stats(a, &st);
	assert_true(st.write_failing);
	assert_int_equal(st.held, 5);
	assert_int_equal(st.lost, 0);
	assert_int_equal(st.last_seq, 3);
	assert_int_equal(count_lines(f->spool), 3);

	fail_write = 0;                /* space is back */
	assert_true(audit_writeahead(a));
	wait_durable(a, 8);
	audit_get_stats(a, &st);
	assert_false(st.write_failing);
	assert_int_equal(st.held, 0);
	assert_int_equal(st.lost, 0);
	assert_null(audit_refusal(a));
	audit_close(a);
	assert_int_equal(count_lines(f->spool), 9);   /* 8 and the seal */
	verify_spool(f);
}

/* Count-loss: a refused write loses its batch (counted) and relaying goes
 * on: audit_writeahead stays true. */
static void test_count_loss_writeahead(void **state)
{
	struct fx *f = *state;
	struct audit_params p = params(f);
	p.fail_closed = false;
	struct audit_stats st;
	struct audit *a = open_ok(&p);
	prime_tick(a);
	write_msgs(a, 2);
	fail_write = 1;
	assert_true(audit_writeahead(a));
	assert_null(audit_refusal(a));
	audit_get_stats(a, &st);
	assert_int_equal(st.lost, 2);
	assert_int_equal(st.held, 0);
	fail_write = 0;
	write_msgs(a, 1);
	wait_durable(a, 2);            /* the loss record, then the message */
	audit_close(a);
	verify_spool_lost(f, 2);
}

/* A short write whose torn record cannot be cut back: appending after it
 * would bury it mid-file, so the spool stops (broken) and says why. */
static void test_short_write_uncut_stops(void **state)
{
	struct fx *f = *state;
	struct audit_params p = params(f);
	struct audit_stats st;
	struct audit *a = open_ok(&p);
	prime_tick(a);
	write_msgs(a, 2);
	wait_durable(a, 2);
	write_msgs(a, 2);
	short_write = 1;
	fail_ftruncate = 1;
	assert_false(audit_writeahead(a));
	assert_int_equal(short_write, 0);
	assert_int_equal(fail_ftruncate, 0);
	audit_get_stats(a, &st);
	assert_true(st.spool_broken);
	assert_string_equal(audit_refusal(a), "audit-spool-broken");
	struct audit_rec *r = audit_rec_begin(a, "message");
	assert_int_equal(audit_rec_commit(r), -1);
	audit_close(a);
}

/* ---------- jgwctl audit tail -f ---------- */

struct race {
	const char *dir;
	struct lines *L;
	int step;
};

static void append_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "a");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* The writer in the tailer's race window: the end of the file was seen,
 * then the writer's last write to it lands and the next file appears. */
static void race_writer(void *arg)
{
	struct race *r = arg;
	char path[600];
	if (r->step == 0) {
		snprintf(path, sizeof(path), "%s/audit-00000000000000000001.jsonl", r->dir);
		append_file(path, r->L->v[3]);
		append_file(path, "\n");
		snprintf(path, sizeof(path), "%s/audit-00000000000000000005.jsonl", r->dir);
		append_file(path, r->L->v[4]);
		append_file(path, "\n");
	} else if (r->step == 1) {   /* a torn record, then a restart's file */
		snprintf(path, sizeof(path), "%s/audit-00000000000000000005.jsonl", r->dir);
		append_file(path, "{\"ts\":\"2026-11-25T04:0");
		snprintf(path, sizeof(path), "%s/audit-00000000000000000006.jsonl", r->dir);
		append_file(path, r->L->v[5]);
		append_file(path, "\n");
	}
	r->step++;
}

static void test_tail_follow_rotation_race(void **state)
{
	struct fx *f = *state;
	struct lines L = make_spool(f, 5);   /* seq 1..6 */
	char dir[400], path[600], *out = NULL;
	size_t outlen;
	snprintf(dir, sizeof(dir), "%s/tail", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/audit-00000000000000000001.jsonl", dir);
	write_file(path, L.v, 3);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	struct audit_follow *fl = malloc(sizeof(*fl));
	assert_int_equal(audit_follow_open(fl, dir, path, 1, st.st_size), 0);
	struct race r = { dir, &L, 0 };
	fl->at_end = race_writer;
	fl->at_end_arg = &r;
	FILE *mem = open_memstream(&out, &outlen);
	assert_int_equal(audit_follow_poll(fl, mem), 1);   /* #4, then to the next file */
	assert_int_equal(audit_follow_poll(fl, mem), 1);   /* #5, the torn record, next */
	assert_int_equal(audit_follow_poll(fl, mem), 0);   /* #6 */
	audit_follow_close(fl);
	free(fl);
	fclose(mem);
	const char *p4 = strstr(out, " #4 "), *p5 = strstr(out, " #5 "),
	           *torn = strstr(out, "(not a record: 22 bytes)"), *p6 = strstr(out, " #6 ");
	if (!p4 || !p5 || !torn || !p6 || !(p4 < p5 && p5 < torn && torn < p6))
		fail_msg("tail -f output:\n%s", out);
	assert_null(strstr(p4 + 1, " #4 "));
	free(out);
	lines_free(&L);
}

/* ---------- verify: the end of a spool ---------- */

/* Only a shutdown seal ends a spool cleanly: cut right after an hourly
 * seal, the tail is reported as not sealed (a warning, exit 3). */
static void test_verify_cut_after_epoch_seal(void **state)
{
	struct fx *f = *state;
	struct audit_params p = params(f);
	struct audit *a = open_ok(&p);
	prime_tick(a);
	write_msgs(a, 3);
	audit_tick(a, audit_now_ms() + 3601 * 1000LL);
	write_msgs(a, 2);
	audit_close(a);
	struct lines L = spool_lines(f->spool);
	assert_int_equal(L.n, 7);
	assert_non_null(strstr(L.v[3], "\"event\":\"seal\",\"epoch\":1,\"reason\":\"epoch\""));
	char path[400], *out;
	snprintf(path, sizeof(path), "%s/cut.jsonl", f->dir);
	write_file(path, L.v, 4);
	assert_int_equal(verify_one(f, path, &out), 3);
	if (!strstr(out, "cut.jsonl:4: warning: tail not sealed: the last record (seq 4, seal) "
	                 "is an hourly (epoch) seal, not a shutdown seal"))
		fail_msg("%s", out);
	free(out);
	write_file(path, L.v, L.n);
	assert_int_equal(verify_one(f, path, &out), 0);
	free(out);
	lines_free(&L);
}

/* A seq altered in place is "changed", not a gap or a reordering: the
 * record verifies where it stands once its written seq is put back. */
static void test_tamper_seq_changed(void **state)
{
	struct fx *f = *state;
	struct lines L = make_spool(f, 20);
	char *d = strstr(L.v[9], "\"seq\":10,");
	d[7] = '9';   /* 10 -> 19 */
	expect_bad(f, L.v, L.n, "seq 19: changed: its seq was altered (the record was "
	           "written as seq 10)");
	d[7] = '0';
	d = strstr(L.v[10], "\"seq\":11,");
	d[7] = '0';   /* 11 -> 10, a seq already seen */
	expect_bad(f, L.v, L.n, "seq 10: changed: its seq was altered (the record was "
	           "written as seq 11)");
	d[7] = '1';
	d = strstr(L.v[0], "\"seq\":1,");
	d[6] = '7';   /* the first record, in the first epoch */
	expect_bad(f, L.v, L.n, "seq 7: changed: its seq was altered (the record was "
	           "written as seq 1)");
	d[6] = '1';
	/* A real gap stays a gap. */
	free(L.v[9]);
	memmove(&L.v[9], &L.v[10], (L.n - 10) * sizeof(*L.v));
	L.n--;
	expect_bad(f, L.v, L.n, "seq 11: removed: seq 10..10 missing");
	lines_free(&L);
}

/* ---------- verify: streaming, file by file ---------- */

/* The verifier reads the files one after the other and keeps only the
 * chain state: what tells a changed record from a forged one (the next
 * record) and a reordering from a gap (a later record) is found across a
 * file boundary too, and duplicates are recognised across files. */
static void test_verify_across_files(void **state)
{
	struct fx *f = *state;
	struct lines L = make_spool(f, 20);   /* 20 messages and the shutdown seal */
	char p1[400], p2[400], *out;
	const char *paths[] = { p1, p2 };
	snprintf(p1, sizeof(p1), "%s/part1.jsonl", f->dir);
	snprintf(p2, sizeof(p2), "%s/part2.jsonl", f->dir);
	write_file(p1, L.v, 10);
	write_file(p2, L.v + 10, L.n - 10);
	assert_int_equal(verify(f->k0, paths, 2, &out), 0);
	assert_non_null(strstr(out, "21 records, seq 1..21"));
	free(out);

	/* The last record of the first file altered: the next file's first
	 * record still chains to it as written. */
	char *v = strstr(L.v[9], "\"verdict\":\"allow\"");
	v[11] = 'A';
	write_file(p1, L.v, 10);
	assert_int_equal(verify(f->k0, paths, 2, &out), 1);
	if (!strstr(out, "part1.jsonl:10: seq 10: changed: the record was altered"))
		fail_msg("%s", out);
	free(out);
	v[11] = 'a';
	write_file(p1, L.v, 10);

	/* Seq 11 moved behind seq 12, at the start of the second file. */
	char *t = L.v[10];
	L.v[10] = L.v[11];
	L.v[11] = t;
	write_file(p2, L.v + 10, L.n - 10);
	assert_int_equal(verify(f->k0, paths, 2, &out), 1);
	if (!strstr(out, "part2.jsonl:1: seq 12: reordered: it comes before seq 11"))
		fail_msg("%s", out);
	free(out);
	L.v[11] = L.v[10];
	L.v[10] = t;

	/* A collector's copy in two files that overlap: the second begins with
	 * the last four records of the first, identical, then goes on. */
	write_file(p1, L.v, 12);
	write_file(p2, L.v + 8, L.n - 8);
	assert_int_equal(verify(f->k0, paths, 2, &out), 0);
	if (!strstr(out, "21 records, seq 1..21, epochs 1..1, 4 duplicates skipped"))
		fail_msg("%s", out);
	free(out);
	/* ... and one of those copies differs from the record first seen. */
	char *copy[32];
	size_t n = 0;
	for (size_t i = 8; i < L.n; i++)
		copy[n++] = L.v[i];
	char *changed = strdup(L.v[9]);
	v = strstr(changed, "\"verdict\":\"allow\"");
	v[11] = 'A';
	copy[1] = changed;
	write_file(p2, copy, n);
	assert_int_equal(verify(f->k0, paths, 2, &out), 1);
	if (!strstr(out, "part2.jsonl:2: seq 10: changed: seq 10 was seen before with other content"))
		fail_msg("%s", out);
	free(out);
	free(changed);
	lines_free(&L);
}

/* Lines are read a bounded length at a time: a line longer than any record
 * is malformed (its length is counted, not kept), and a long run of NUL
 * bytes at the end of a file (a power cut) is a torn tail. */
static void test_verify_long_lines(void **state)
{
	struct fx *f = *state;
	struct lines L = make_spool(f, 5);
	char path[400], *out;
	snprintf(path, sizeof(path), "%s/long.jsonl", f->dir);
	size_t big = 100000;
	char *junk = malloc(big + 1);
	assert_non_null(junk);
	memset(junk, 'x', big);
	junk[big] = '\0';

	char *v[16];
	size_t n = 0;
	for (size_t i = 0; i < 3; i++)
		v[n++] = L.v[i];
	v[n++] = junk;
	for (size_t i = 3; i < L.n; i++)
		v[n++] = L.v[i];
	write_file(path, v, n);
	assert_int_equal(verify_one(f, path, &out), 1);
	if (!strstr(out, "long.jsonl:4: malformed: not an audit record line (100000 bytes, "
	                 "longer than any record)"))
		fail_msg("%s", out);
	free(out);

	/* The whole spool, then NULs to the end of the file. */
	write_file(path, L.v, L.n);
	FILE *fp = fopen(path, "a");
	assert_non_null(fp);
	for (size_t i = 0; i < big; i++)
		fputc('\0', fp);
	fclose(fp);
	assert_int_equal(verify_one(f, path, &out), 3);
	if (!strstr(out, "long.jsonl:7: warning: torn tail: 100000 bytes of a partial record") ||
	    !strstr(out, "6 records, seq 1..6"))
		fail_msg("%s", out);
	free(out);
	free(junk);
	lines_free(&L);
}

static int teardown_window(void **state)
{
	audit_verify_dup_window = AUDIT_DUP_WINDOW;
	return teardown(state);
}

/* A copy is compared with the first one through a hash kept for the last
 * audit_verify_dup_window records (bounded memory); a seq that comes back
 * after more newer records than that cannot be compared and is refused. */
static void test_verify_dup_window(void **state)
{
	struct fx *f = *state;
	struct lines L = make_spool(f, 20);   /* seq 1..21 */
	char *v[32], *out;
	size_t n = 0;
	audit_verify_dup_window = 8;
	for (size_t i = 0; i < L.n; i++)
		v[n++] = L.v[i];
	v[n++] = L.v[17];                      /* seq 18: 3 newer records */
	char path[400];
	snprintf(path, sizeof(path), "%s/tampered.jsonl", f->dir);
	write_file(path, v, n);
	assert_int_equal(verify_one(f, path, &out), 3);   /* skipped; the tail is a copy */
	if (!strstr(out, "1 duplicates skipped"))
		fail_msg("%s", out);
	free(out);
	v[n - 1] = L.v[13];                    /* seq 14: 7 newer, the oldest compared */
	write_file(path, v, n);
	assert_int_equal(verify_one(f, path, &out), 3);
	free(out);
	v[n - 1] = L.v[12];                    /* seq 13: 8 newer, out of the window */
	expect_bad(f, v, n, "seq 13: reordered: seq 13 reappears after 8 newer records; "
	           "a copy is compared with the first only within the last 8");
	lines_free(&L);
}

/* The mirror checks the collector's certificate by name: with an address
 * as host, a name must be given, or the mirror (and audit_open) refuses to
 * start rather than accept any certificate of the CA. */
static void test_mirror_needs_collector_name(void **state)
{
	struct fx *f = *state;
	struct audit_params p = params(f);
	char err[512] = "";
	p.collector_port = 1;   /* nothing listens there: the mirror only retries */
	p.collector_ca = p.collector_cert = p.collector_key = f->k0;
	static const char *const addrs[] = { "127.0.0.1", "::1" };
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		p.collector_host = addrs[i];
		assert_null(audit_open(&p, err, sizeof(err)));
		if (!strstr(err, "is an address and no name is given"))
			fail_msg("%s", err);
	}
	p.collector_name = "collector.example";
	struct audit *a = open_ok(&p);
	audit_close(a);
}


/* ---------- segments, retention, time ---------- */

/* The first line of a file, and its last. */
static void first_last(const char *path, char **first, char **last)
{
	char *buf;
	size_t len;
	assert_int_equal(audit_slurp(path, &buf, &len), 0);
	assert_true(len > 0 && buf[len - 1] == '\n');
	buf[len - 1] = '\0';
	char *nl = strchr(buf, '\n'), *lnl = strrchr(buf, '\n');
	*last = strdup(lnl ? lnl + 1 : buf);
	if (nl)
		*nl = '\0';
	*first = strdup(buf);
	free(buf);
}

/* k_epoch from k0, as an auditor derives it: SHA-256 e times. */
static void epoch_key(const struct fx *f, uint32_t epoch, uint8_t key[AUDIT_KEY_LEN])
{
	char err[256];
	assert_int_equal(audit_k0_load(f->k0, key, err, sizeof(err)), 0);
	for (uint32_t e = 0; e < epoch; e++)
		audit_key_evolve(key);
}

/* Every file after the first starts with a checkpoint: its seq is the
 * file's, it states the mac of the record before it (the last of the file
 * before), and its own mac is HMAC(k_epoch, prev_mac || the line without
 * its mac member), k_epoch derived from k0. Each file verifies on its own;
 * with a middle one missing, verify names the gap and checks the rest; a
 * checkpoint altered, or made with another key, is refused. */
static void test_checkpoint_segments(void **state)
{
	struct fx *f = *state;
	struct audit_params p = params(f);
	p.rotate_bytes = 4096;
	struct audit *a = open_ok(&p);
	write_msgs(a, 60);
	audit_close(a);
	char **names, *out, want[160];
	uint64_t *firsts;
	size_t n;
	assert_int_equal(audit_spool_list(f->spool, &names, &firsts, &n), 0);
	assert_true(n >= 4);
	char (*path)[400] = calloc(n, sizeof(*path));
	for (size_t i = 0; i < n; i++)
		snprintf(path[i], sizeof(path[i]), "%s/%s", f->spool, names[i]);
	for (size_t i = 1; i < n; i++) {
		char *first, *last, *pfirst, *plast;
		struct audit_line cp, before;
		uint8_t key[AUDIT_KEY_LEN], mac[AUDIT_MAC_LEN];
		first_last(path[i], &first, &last);
		first_last(path[i - 1], &pfirst, &plast);
		assert_int_equal(audit_line_parse(first, strlen(first), &cp), 0);
		assert_int_equal(audit_line_parse(plast, strlen(plast), &before), 0);
		assert_string_equal(cp.event, "checkpoint");
		assert_int_equal(cp.seq, firsts[i]);
		assert_int_equal(before.seq + 1, cp.seq);
		const char *tag = strstr(plast, ",\"mac\":\"") + 8;
		snprintf(want, sizeof(want), ",\"event\":\"checkpoint\",\"epoch\":%u,\"prev_mac\":\"%.64s\"",
		         cp.epoch, tag);
		assert_non_null(strstr(first, want));
		epoch_key(f, cp.epoch, key);
		contract_mac(key, before.mac, first, mac);
		assert_memory_equal(mac, cp.mac, AUDIT_MAC_LEN);
		/* On its own: intact, from the checkpoint on. */
		int rc = verify_one(f, path[i], &out);
		if (rc != (i == n - 1 ? 0 : 3))
			fail_msg("%s: %d: %s", path[i], rc, out);
		snprintf(want, sizeof(want), "starts at the checkpoint of seq %llu",
		         (unsigned long long)firsts[i]);
		assert_non_null(strstr(out, want));
		free(out);
		free(first); free(last); free(pfirst); free(plast);
	}
	/* Three segments, the middle one deleted. */
	const char *three[] = { path[1], path[3] };
	assert_int_equal(verify(f->k0, three, 2, &out), 1);
	snprintf(want, sizeof(want), "%s:1: seq %llu: removed: seq %llu..%llu missing before it",
	         path[3], (unsigned long long)firsts[3], (unsigned long long)firsts[2],
	         (unsigned long long)firsts[3] - 1);
	if (!strstr(out, want) || !strstr(out, "chain intact between 1 gaps"))
		fail_msg("%s", out);
	free(out);
	/* A checkpoint altered: its prev_mac (one digit), or made anew with the
	 * key of another epoch (k0's, which never signs) over other values. */
	struct lines L = { 0 };
	char *buf, *save = NULL, forged[400];
	size_t len;
	assert_int_equal(audit_slurp(path[2], &buf, &len), 0);
	for (char *t = strtok_r(buf, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
		L.v = realloc(L.v, (L.n + 1) * sizeof(*L.v));
		L.v[L.n++] = strdup(t);
	}
	free(buf);
	snprintf(forged, sizeof(forged), "%s/forged.jsonl", f->dir);
	char *pm = strstr(L.v[0], "\"prev_mac\":\"") + 12;
	*pm = *pm == '0' ? '1' : '0';
	write_file(forged, L.v, L.n);
	assert_int_equal(verify_one(f, forged, &out), 1);
	if (!strstr(out, "forged: a checkpoint whose mac does not verify"))
		fail_msg("%s", out);
	free(out);
	uint8_t k[AUDIT_KEY_LEN], prev[AUDIT_MAC_LEN], mac[AUDIT_MAC_LEN];
	char hex[65];
	assert_int_equal(audit_unhex(pm, 64, prev, AUDIT_MAC_LEN), 0);
	epoch_key(f, 0, k);
	contract_mac(k, prev, L.v[0], mac);
	audit_hex(mac, AUDIT_MAC_LEN, hex);
	memcpy(strstr(L.v[0], ",\"mac\":\"") + 8, hex, 64);
	write_file(forged, L.v, L.n);
	assert_int_equal(verify_one(f, forged, &out), 1);
	assert_non_null(strstr(out, "forged: a checkpoint whose mac does not verify"));
	free(out);
	/* In the whole chain, a checkpoint must state the mac really before it,
	 * even with a mac that verifies (made here with the epoch's key). */
	struct audit_line cp;
	assert_int_equal(audit_line_parse(L.v[0], strlen(L.v[0]), &cp), 0);
	epoch_key(f, cp.epoch, k);
	char *pfirst, *plast;
	first_last(path[1], &pfirst, &plast);
	struct audit_line before;
	assert_int_equal(audit_line_parse(plast, strlen(plast), &before), 0);
	contract_mac(k, before.mac, L.v[0], mac);
	audit_hex(mac, AUDIT_MAC_LEN, hex);
	memcpy(strstr(L.v[0], ",\"mac\":\"") + 8, hex, 64);
	write_file(forged, L.v, L.n);
	const char *chain[] = { path[0], path[1], forged };
	assert_int_equal(verify(f->k0, chain, 3, &out), 1);
	assert_non_null(strstr(out, "forged: the checkpoint's prev_mac is not the mac of seq"));
	free(out);
	free(pfirst); free(plast);
	lines_free(&L);
	free(path);
	audit_spool_list_free(names, firsts, n);
}

/* A file ends at each UTC day boundary: the day's records start a file of
 * their own, with its checkpoint (the collector's day file starts with it
 * too). The clock is moved to 0.5 s before midnight, then past it. */
static void test_day_boundary(void **state)
{
	struct fx *f = *state;
	struct audit_params p = params(f);
	struct timespec now;
	__real_clock_gettime(CLOCK_REALTIME, &now);
	int64_t now_us = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
	int64_t midnight_us = ((int64_t)now.tv_sec / 86400 + 1) * 86400 * 1000000;
	fake_wall_us = midnight_us - 500000 - now_us;
	struct audit *a = open_ok(&p);
	write_msgs(a, 3);
	fake_wall_us += 1000000;   /* 0.5 s past midnight */
	write_msgs(a, 3);
	audit_close(a);
	fake_wall_us = 0;
	uint64_t firsts[4];
	assert_int_equal(spool_files(f, firsts, 4), 2);
	assert_int_equal(firsts[1], 4);
	struct lines L = spool_lines(f->spool);
	assert_int_equal(L.n, 8);   /* 3 messages; checkpoint, 3 messages, seal */
	assert_non_null(strstr(L.v[2], "T23:59:59."));
	assert_non_null(strstr(L.v[3], "T00:00:00."));
	assert_non_null(strstr(L.v[3], "\"event\":\"checkpoint\""));
	assert_int_equal(strncmp(L.v[3], L.v[2], 17) == 0, false);   /* another date */
	lines_free(&L);
	verify_spool_lost(f, 0);
}

/* Write a seq into the spool's mirror.acked, as the mirror does. */
static void set_acked(const struct fx *f, uint64_t seq)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/mirror.acked", f->spool);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "%llu\n", (unsigned long long)seq);
	fclose(fp);
}

/* Retention without loss: nothing is pruned without a collector; with one,
 * only files whose every record is acknowledged, oldest first, and only
 * when outside the window (older than retain, or the spool larger than
 * retain-size); the removal is a prune record in the chain, and the spool
 * left verifies from its first checkpoint. The collector here never
 * answers: its acknowledgement is the one persisted in mirror.acked. */
static void test_retention(void **state)
{
	struct fx *f = *state;
	struct audit_params p = params(f);
	struct audit_stats st;
	uint64_t firsts[64];
	p.rotate_bytes = 4096;
	struct audit *a = open_ok(&p);
	write_msgs(a, 200);
	audit_close(a);
	size_t n = spool_files(f, firsts, 64);
	assert_true(n >= 6);
	/* Old files: a year old. Without a collector nothing goes. */
	for (size_t i = 0; i < n; i++) {
		char path[400];
		snprintf(path, sizeof(path), "%s/audit-%020llu.jsonl", f->spool,
		         (unsigned long long)firsts[i]);
		struct timespec old[2] = { { time(NULL) - 365 * 86400, 0 },
		                           { time(NULL) - 365 * 86400, 0 } };
		assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
	}
	set_acked(f, firsts[3] + 1);   /* files 0..2 acknowledged, 3 only in part */
	a = open_ok(&p);
	audit_close(a);
	assert_int_equal(spool_files(f, firsts, 64), n);
	/* With a collector (away: its acknowledgement is mirror.acked). */
	p.collector_host = "localhost";
	p.collector_port = 1;
	p.collector_ca = p.collector_cert = p.collector_key = f->k0;
	p.prune_pct = 101;   /* never for the disk: this machine's may be full */
	a = open_ok(&p);
	audit_get_stats(a, &st);
	assert_int_equal(st.pruned_files, 3);
	assert_int_equal(st.oldest_seq, firsts[3]);
	assert_int_equal(st.shed_seq, firsts[3] + 1);
	audit_close(a);
	uint64_t now_first[64];
	size_t m = spool_files(f, now_first, 64);
	assert_int_equal(now_first[0], firsts[3]);
	struct lines L = spool_lines(f->spool);
	char want[200];
	snprintf(want, sizeof(want), "\"event\":\"prune\",\"epoch\":");
	size_t prunes = 0;
	for (size_t i = 0; i < L.n; i++) {
		if (!strstr(L.v[i], want))
			continue;
		prunes++;
		snprintf(want, sizeof(want), "\"reason\":\"age\",\"first_seq\":1,\"last_seq\":%llu,"
		         "\"files\":3,", (unsigned long long)firsts[3] - 1);
		assert_non_null(strstr(L.v[i], want));
		snprintf(want, sizeof(want), "\"event\":\"prune\",\"epoch\":");
	}
	assert_int_equal(prunes, 1);
	lines_free(&L);
	char **names;
	uint64_t *fs;
	size_t k;
	assert_int_equal(audit_spool_list(f->spool, &names, &fs, &k), 0);
	assert_int_equal(k, m);
	const char **paths = calloc(k, sizeof(*paths));
	char (*buf)[400] = calloc(k, sizeof(*buf));
	for (size_t i = 0; i < k; i++) {
		snprintf(buf[i], sizeof(buf[i]), "%s/%s", f->spool, names[i]);
		paths[i] = buf[i];
	}
	char *out;
	assert_int_equal(verify(f->k0, paths, k, &out), 0);
	snprintf(want, sizeof(want), "starts at the checkpoint of seq %llu",
	         (unsigned long long)firsts[3]);
	assert_non_null(strstr(out, want));
	free(out);
	/* The size bound: everything acknowledged, files within the time
	 * window, the spool over retain-size: oldest first down to the size,
	 * never the file being written. */
	for (size_t i = 0; i < k; i++) {
		struct timespec fresh[2] = { { 0, UTIME_NOW }, { 0, UTIME_NOW } };
		assert_int_equal(utimensat(AT_FDCWD, paths[i], fresh, 0), 0);
	}
	set_acked(f, 1000000);
	p.retain_bytes = 2 * 4096;
	a = open_ok(&p);
	audit_get_stats(a, &st);
	assert_true(st.pruned_files > 0);
	assert_true(st.spool_disk_bytes <= 2 * 4096 + AUDIT_LINE_MAX * 2);
	assert_true(st.spool_files >= 1);
	audit_close(a);
	free(paths);
	free(buf);
	audit_spool_list_free(names, fs, k);
}

/* The clock: adjtimex's sync state as the kernel gives it (compared with
 * the real call), a loss and a regain of sync, and a step of the wall
 * clock: each a `time` record, and in the stats. */
static void test_time(void **state)
{
	struct fx *f = *state;
	struct audit_params p = params(f);
	struct audit_clock c;
	struct audit_stats st;
	struct timex tx;
	memset(&tx, 0, sizeof(tx));
	int kstate = __real_adjtimex(&tx);
	assert_int_equal(audit_clock_read(&c), 0);
	assert_int_equal(c.synced, kstate != TIME_ERROR && !(tx.status & STA_UNSYNC));
	assert_int_equal(c.maxerror_us, (uint64_t)tx.maxerror);

	fake_adjtimex = true;
	memset(&fake_tx, 0, sizeof(fake_tx));
	fake_tx_state = TIME_OK;
	fake_tx.offset = -1500;
	fake_tx.maxerror = 20000;
	struct audit *a = open_ok(&p);
	prime_tick(a);
	audit_get_stats(a, &st);
	assert_true(st.time_synced);
	assert_int_equal(st.time_offset_us, -1500);
	assert_int_equal(st.time_maxerror_us, 20000);
	/* The NTP daemon loses its servers; then finds them again (in ns). */
	fake_tx_state = TIME_ERROR;
	fake_tx.status = STA_UNSYNC;
	fake_tx.maxerror = 16000000;
	commit_now(a);
	struct timespec pause = { 1, 50 * 1000 * 1000 };
	nanosleep(&pause, NULL);
	audit_tick(a, audit_now_ms());
	audit_get_stats(a, &st);
	assert_false(st.time_synced);
	fake_tx_state = TIME_OK;
	fake_tx.status = STA_NANO;
	fake_tx.offset = 250000;   /* ns */
	nanosleep(&pause, NULL);
	audit_tick(a, audit_now_ms());
	audit_get_stats(a, &st);
	assert_true(st.time_synced);
	assert_int_equal(st.time_offset_us, 250);
	/* A step of 5 s forward. */
	fake_wall_us = 5000000;
	nanosleep(&pause, NULL);
	audit_tick(a, audit_now_ms());
	audit_get_stats(a, &st);
	assert_int_equal(st.time_steps, 1);
	audit_close(a);
	fake_wall_us = 0;
	fake_adjtimex = false;
	struct lines L = spool_lines(f->spool);
	int unsynced = 0, synced = 0, steps = 0;
	for (size_t i = 0; i < L.n; i++) {
		if (strstr(L.v[i], "\"event\":\"time\",\"epoch\":1,\"state\":\"unsynced\","
		                   "\"offset_us\":-1500,\"maxerror_us\":16000000,"))
			unsynced++;
		if (strstr(L.v[i], "\"event\":\"time\",\"epoch\":1,\"state\":\"synced\","
		                   "\"offset_us\":250,"))
			synced++;
		const char *s = strstr(L.v[i], "\"state\":\"step\",\"step_us\":");
		if (s) {
			long long us = strtoll(s + 25, NULL, 10);
			assert_true(us > 4900000 && us < 5100000);
			steps++;
		}
	}
	assert_int_equal(unsynced, 1);
	assert_int_equal(synced, 1);
	assert_int_equal(steps, 1);
	lines_free(&L);
	verify_spool_lost(f, 0);
}

int main(void)
{
	log_init("test_audit", 0, LOG_CRIT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_record_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_escaping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timestamp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tamper_change_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tamper_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tamper_swap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tamper_truncate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tamper_splice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tamper_forged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tamper_replay_old_epoch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicates_tolerated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_collector_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_collector_escaped_lf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_continues, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_recovery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_epoch_and_key_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disk_limit_policies, setup, teardown),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_utf8_reference_vectors),
		cmocka_unit_test_setup_teardown(test_appenders_match_reference, setup, teardown),
		cmocka_unit_test_setup_teardown(test_utf8_sweep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_field_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batching, setup, teardown),
		cmocka_unit_test_setup_teardown(test_epoch_forgets_old_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_store_wipes_old_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_store_failure_backs_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fdatasync_error_loses_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fdatasync_error_uncut_stops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fail_closed_holds_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_count_loss_writeahead, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_write_uncut_stops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tail_follow_rotation_race, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_cut_after_epoch_seal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tamper_seq_changed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_across_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_long_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_dup_window, setup, teardown_window),
		cmocka_unit_test_setup_teardown(test_mirror_needs_collector_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_segments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_day_boundary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
		cmocka_unit_test_setup_teardown(test_time, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
