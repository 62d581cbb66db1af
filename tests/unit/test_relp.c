/*
 * test_relp.c — the mirror's RELP client (gateway/audit/relp.c, included
 * for its static functions): frames as the collector sends them, whole, cut
 * at every byte and malformed; answers matched to their commands by txnr,
 * out of order too, and the acknowledged tag moving only over an unbroken
 * run; refusals and the server's close; the open handshake's offers;
 * commands as written (txnr wrap, window and byte bounds); the collector's
 * name in a certificate (subjectAltName DNS or CN, not a prefix, not with
 * an embedded NUL) and what a refusal lists. The session against a real
 * rsyslog is tests/audit/t-mirror-*.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "gateway/audit/relp.c"

/* A session without a socket: commands queued with tags 1..n. */
static struct relp *fake(size_t n)
{
	struct relp *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->fd = -1;
	c->out = malloc(OUT_CAP);
	c->in = malloc(IN_CAP);
	assert_non_null(c->out);
	assert_non_null(c->in);
	c->opened = true;
	c->txnr = 2;
	for (size_t i = 0; i < n; i++)
		assert_true(relp_queue(c, "m", 1, i + 1));
	c->off = c->len = 0;   /* as if written */
	return c;
}

/* Feed bytes and handle every whole frame: as take_answers does after a read. */
static long feed(struct relp *c, const char *s)
{
	long used = 0, total = 0;

	memcpy(c->in + c->in_len, s, strlen(s));
	c->in_len += strlen(s);
	while ((used = take_frame(c)) > 0) {
		memmove(c->in, c->in + used, c->in_len - (size_t)used);
		c->in_len -= (size_t)used;
		total += used;
	}
	return used < 0 ? -1 : total;
}

static void test_frames(void **state)
{
	static const char *const whole[] = {
		"2 rsp 6 200 OK\n", "2 rsp 3 200\n", "0 serverclose 0\n",
		"1 rsp 54 200 OK\nrelp_version=0\nrelp_software=x\ncommands=syslog\n\n",
	};
	static const char *const bad[] = {
		"x rsp 6 200 OK\n", "2  rsp 6 200 OK\n", "2 RSP 6 200 OK\n", "2 rsp x 200 OK\n",
		"2 rsp 6 200 OK!", "2 rsp 66200 OK\n", "1234567890 rsp 6 200 OK\n",
		"2 rsp 1234567890 ", "2 rsp 9000 ", "2 rsp 0 \n", "2 rsp 6\n",
		"2 abcdefghijklmnopqrstuvwxyzabcdefg 0\n", "-2 rsp 6 200 OK\n",
	};
	uint64_t txnr, dlen;
	char cmd[CMD_MAX + 1];
	const char *data;

	(void)state;
	for (size_t i = 0; i < sizeof(whole) / sizeof(whole[0]); i++) {
		size_t n = strlen(whole[i]);

		assert_int_equal(frame_at(whole[i], n, &txnr, cmd, &data, &dlen), (long)n);
		/* Cut anywhere: more bytes are needed, never a verdict. */
		for (size_t k = 0; k < n; k++)
			assert_int_equal(frame_at(whole[i], k, &txnr, cmd, &data, &dlen), 0);
	}
	assert_int_equal(frame_at(whole[0], strlen(whole[0]), &txnr, cmd, &data, &dlen), 15);
	assert_int_equal(txnr, 2);
	assert_string_equal(cmd, "rsp");
	assert_int_equal(dlen, 6);
	assert_memory_equal(data, "200 OK", 6);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(frame_at(bad[i], strlen(bad[i]), &txnr, cmd, &data, &dlen), -1);
}

static void test_answers_in_order(void **state)
{
	struct relp *c = fake(4);

	(void)state;
	assert_int_equal(relp_unanswered(c), 4);
	assert_int_equal(relp_acked(c), 0);
	/* Answers split across reads. */
	assert_int_equal(feed(c, "2 rsp 6 200"), 0);
	assert_int_equal(relp_acked(c), 0);
	assert_true(feed(c, " OK\n3 rsp 6 200 OK\n4 r") > 0);
	assert_int_equal(relp_acked(c), 2);
	assert_true(feed(c, "sp 6 200 OK\n") > 0);
	assert_int_equal(relp_acked(c), 3);
	c->in_len = 0;
	assert_true(feed(c, "5 rsp 6 200 OK\n") > 0);
	assert_int_equal(relp_acked(c), 4);
	assert_int_equal(relp_unanswered(c), 0);
	relp_free(c, false);
}

static void test_answer_gap(void **state)
{
	struct relp *c = fake(3);

	(void)state;
	assert_true(feed(c, "3 rsp 6 200 OK\n4 rsp 6 200 OK\n") > 0);
	assert_int_equal(relp_acked(c), 0);   /* the first is not answered yet */
	assert_int_equal(relp_unanswered(c), 3);
	assert_true(feed(c, "2 rsp 6 200 OK\n") > 0);
	assert_int_equal(relp_acked(c), 3);
	assert_int_equal(relp_unanswered(c), 0);
	relp_free(c, false);
}

static void test_answer_refusals(void **state)
{
	struct relp *c;

	(void)state;
	c = fake(2);
	assert_int_equal(feed(c, "2 rsp 9 500 error\n"), -1);   /* refused */
	assert_int_equal(relp_acked(c), 0);
	relp_free(c, false);
	c = fake(2);
	assert_int_equal(feed(c, "7 rsp 6 200 OK\n"), -1);      /* never sent */
	relp_free(c, false);
	c = fake(2);
	assert_true(feed(c, "2 rsp 6 200 OK\n") > 0);
	assert_int_equal(feed(c, "2 rsp 6 200 OK\n"), -1);      /* answered twice */
	relp_free(c, false);
	c = fake(2);
	assert_int_equal(feed(c, "0 serverclose 0\n"), -1);
	relp_free(c, false);
	c = fake(2);
	assert_int_equal(feed(c, "2 syslog 1 x\n"), -1);        /* not an answer */
	relp_free(c, false);
	c = fake(1);
	assert_int_equal(feed(c, "0 rsp 6 200 OK\n"), -1);     /* txnr 0 is the server's */
	c->in_len = 0;
	assert_int_equal(feed(c, "2 rsp 6 2000OK\n"), -1);     /* not "200" */
	assert_int_equal(relp_unanswered(c), 1);
	relp_free(c, false);
}

static void test_open_answer(void **state)
{
	struct relp *c = fake(0);

	(void)state;
	c->opened = false;
	assert_true(feed(c, "1 rsp 59 200 OK\nrelp_version=0\nrelp_software=x\n"
			 "commands=other,syslog\n") > 0);
	assert_true(c->opened);
	relp_free(c, false);

	c = fake(0);
	c->opened = false;
	assert_int_equal(feed(c, "1 rsp 38 200 OK\nrelp_version=0\ncommands=syslogx\n"), -1);
	assert_false(c->opened);
	assert_string_equal(c->open_why, "it does not offer the syslog command");
	relp_free(c, false);

	c = fake(0);
	c->opened = false;
	assert_int_equal(feed(c, "1 rsp 8 500 nope\n"), -1);
	assert_string_equal(c->open_why, "it did not open a session (answer 500)");
	relp_free(c, false);

	c = fake(0);
	c->opened = false;
	assert_int_equal(feed(c, "2 rsp 6 200 OK\n"), -1);     /* not the open's txnr */
	relp_free(c, false);
}

static void test_commands(void **state)
{
	struct relp *c = fake(0);
	char msg[5000];

	(void)state;
	c->txnr = TXNR_MAX;
	assert_true(relp_queue(c, "<110>1 x", 8, 41));
	assert_true(relp_queue(c, "y", 1, 42));
	assert_int_equal(c->len, strlen("999999999 syslog 8 <110>1 x\n1 syslog 1 y\n"));
	assert_memory_equal(c->out, "999999999 syslog 8 <110>1 x\n1 syslog 1 y\n", c->len);
	assert_int_equal(c->txnr, 2);
	assert_true(feed(c, "999999999 rsp 6 200 OK\n1 rsp 6 200 OK\n") > 0);
	assert_int_equal(relp_acked(c), 42);
	assert_true(put_frame(c, 2, "close", "", 0));
	assert_memory_equal(c->out + c->len - 10, "2 close 0\n", 10);
	relp_free(c, false);

	/* The window, then the bytes, bound what may wait. */
	c = fake(RELP_WINDOW);
	assert_false(relp_room(c));
	assert_false(relp_queue(c, "z", 1, 1));
	relp_free(c, false);
	c = fake(0);
	memset(msg, 'm', sizeof(msg));
	size_t n = 0;
	while (relp_queue(c, msg, sizeof(msg), ++n))
		;
	assert_true(c->len - c->off >= RELP_OUT_MAX);
	assert_true(c->len <= OUT_CAP);
	assert_int_equal(relp_unanswered(c), n - 1);
	relp_free(c, false);
}

/* A certificate (unsigned: only its names are read) with a CN and DNS
 * subjectAltNames (raw bytes, a NUL allowed). */
static X509 *cert_with(const char *cn, const char *const *dns, const size_t *dns_len, size_t n)
{
	X509 *x = X509_new();
	X509_NAME *subj = X509_NAME_new();
	GENERAL_NAMES *alt = sk_GENERAL_NAME_new_null();

	assert_non_null(x);
	if (cn)
		assert_true(X509_NAME_add_entry_by_NID(subj, NID_commonName, MBSTRING_ASC,
						       (const unsigned char *)cn, -1, -1, 0));
	assert_true(X509_set_subject_name(x, subj));
	for (size_t i = 0; i < n; i++) {
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_IA5STRING *s = ASN1_IA5STRING_new();

		assert_true(ASN1_STRING_set(s, dns[i], (int)dns_len[i]));
		GENERAL_NAME_set0_value(g, GEN_DNS, s);
		sk_GENERAL_NAME_push(alt, g);
	}
	if (n)
		assert_true(X509_add1_ext_i2d(x, NID_subject_alt_name, alt, 0, 0));
	GENERAL_NAMES_free(alt);
	X509_NAME_free(subj);
	return x;
}

static void test_collector_name(void **state)
{
	static const char *const two[] = { "other.example", "Collector.Example" };
	static const size_t two_len[] = { 13, 17 };
	static const char *const nul[] = { "collector.example\0.evil" };
	static const size_t nul_len[] = { 23 };
	static const char *const longer[] = { "collector.example.evil", "collector.exampl" };
	static const size_t longer_len[] = { 22, 16 };
	static const char *const odd[] = { "a;b\nc" };
	static const size_t odd_len[] = { 5 };
	char why[512];
	X509 *x;

	(void)state;
	x = cert_with("jgw audit collector", two, two_len, 2);
	assert_true(collector_named(x, "collector.example", why, sizeof(why)));   /* any case */
	X509_free(x);
	x = cert_with("collector.example", two, two_len, 1);
	assert_true(collector_named(x, "collector.example", why, sizeof(why)));   /* the CN */
	X509_free(x);
	x = cert_with("131024", longer, longer_len, 2);
	assert_false(collector_named(x, "collector.example", why, sizeof(why)));
	assert_string_equal(why, "its certificate does not name \"collector.example\" (it names "
			    "DNSname: collector.example.evil; DNSname: collector.exampl; CN: 131024)");
	X509_free(x);
	x = cert_with(NULL, nul, nul_len, 1);
	assert_false(collector_named(x, "collector.example", why, sizeof(why)));
	assert_non_null(strstr(why, "DNSname: collector.example?.evil"));
	X509_free(x);
	x = cert_with(NULL, odd, odd_len, 1);
	assert_false(collector_named(x, "collector.example", why, sizeof(why)));
	assert_non_null(strstr(why, "(it names DNSname: a?b?c)"));
	X509_free(x);
	x = cert_with(NULL, NULL, NULL, 0);
	assert_false(collector_named(x, "collector.example", why, sizeof(why)));
	assert_non_null(strstr(why, "(it names nothing)"));
	X509_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frames),
		cmocka_unit_test(test_answers_in_order),
		cmocka_unit_test(test_answer_gap),
		cmocka_unit_test(test_answer_refusals),
		cmocka_unit_test(test_open_answer),
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_collector_name),
	};

	log_init("test_relp", 0, LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
