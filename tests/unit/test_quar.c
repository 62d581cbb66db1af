/*
 * test_quar.c — gateway/quar.c: N failures within T seconds, quarantine for
 * D, bounded table with eviction of the quietest address; the expiry
 * bookkeeping (what is due when, removed by hand, re-added, still held).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "filters/firewall/quar.h"

static struct addr_prefix addr(const char *s)
{
	struct addr_prefix p;
	assert_true(addr_prefix_parse(s, &p));
	return p;
}

static struct quar *make(uint32_t n, uint32_t t, uint32_t d, size_t cap)
{
	struct quar_params p = { .failures = n, .window_s = t, .timeout_s = d, .capacity = cap };
	char err[128];
	struct quar *q = quar_new(&p, err, sizeof err);
	assert_non_null(q);
	return q;
}

static void test_params(void **state)
{
	struct quar_params p = { .failures = 0, .window_s = 10, .timeout_s = 10, .capacity = 8 };
	char err[128] = "";
	(void)state;
	assert_null(quar_new(&p, err, sizeof err));
	assert_non_null(strstr(err, "failures"));
	p.failures = QUAR_MAX_FAILURES + 1;
	assert_null(quar_new(&p, err, sizeof err));
	p.failures = 3;
	p.window_s = 0;
	assert_null(quar_new(&p, err, sizeof err));
	p.window_s = 10;
	p.capacity = 0;
	assert_null(quar_new(&p, err, sizeof err));
	p.capacity = 5;                   /* rounded up to a whole bucket */
	struct quar *q = quar_new(&p, err, sizeof err);
	assert_non_null(q);
	struct quar_stats st;
	quar_get_stats(q, &st);
	assert_int_equal(st.capacity, QUAR_WAYS);
	assert_int_equal(quar_timeout_s(q), 10);
	quar_free(q);
}

static void test_nth_failure_in_window(void **state)
{
	struct quar *q = make(3, 10, 60, 64);
	struct addr_prefix a = addr("10.77.0.13");
	(void)state;
	assert_false(quar_failure(q, &a, 1000));
	assert_false(quar_failure(q, &a, 2000));
	assert_true(quar_failure(q, &a, 3000));
	assert_true(quar_is_quarantined(q, &a, 3001));
	/* no second add while it lasts */
	assert_false(quar_failure(q, &a, 4000));
	assert_false(quar_failure(q, &a, 5000));
	assert_false(quar_failure(q, &a, 6000));
	assert_true(quar_is_quarantined(q, &a, 62999));
	assert_false(quar_is_quarantined(q, &a, 63000));
	/* afterwards counting starts again from zero */
	assert_false(quar_failure(q, &a, 63000));
	assert_false(quar_failure(q, &a, 63001));
	assert_true(quar_failure(q, &a, 63002));
	struct quar_stats st;
	quar_get_stats(q, &st);
	assert_int_equal(st.quarantined, 2);
	assert_int_equal(st.failures, 9);
	quar_free(q);
}

static void test_spread_out_failures(void **state)
{
	struct quar *q = make(3, 10, 60, 64);
	struct addr_prefix a = addr("fd00:77::13");
	(void)state;
	/* 3 failures, but never 3 within 10 s */
	assert_false(quar_failure(q, &a, 0));
	assert_false(quar_failure(q, &a, 6000));
	assert_false(quar_failure(q, &a, 12000));   /* 0 .. 12 s: too wide */
	assert_false(quar_failure(q, &a, 18001));   /* 6 .. 18.001 s: too wide */
	/* 12 .. 21 s: three within 10 s */
	assert_true(quar_failure(q, &a, 21000));
	quar_free(q);
}

static void test_boundary_inclusive(void **state)
{
	struct quar *q = make(2, 5, 60, 64);
	struct addr_prefix a = addr("192.0.2.1");
	(void)state;
	assert_false(quar_failure(q, &a, 100));
	assert_true(quar_failure(q, &a, 5100));     /* exactly T apart */
	struct addr_prefix b = addr("192.0.2.2");
	assert_false(quar_failure(q, &b, 100));
	assert_false(quar_failure(q, &b, 5101));    /* 1 ms too late */
	quar_free(q);
}

static void test_addresses_independent(void **state)
{
	struct quar *q = make(2, 10, 60, 64);
	struct addr_prefix v4 = addr("10.0.0.1");
	struct addr_prefix v6 = addr("a00:1::");     /* same first bytes as 10.0.0.1 */
	(void)state;
	assert_false(quar_failure(q, &v4, 0));
	assert_false(quar_failure(q, &v6, 1));
	assert_true(quar_failure(q, &v4, 2));
	assert_false(quar_is_quarantined(q, &v6, 3));
	assert_true(quar_failure(q, &v6, 3));
	quar_free(q);
}

static void test_n_equals_one(void **state)
{
	struct quar *q = make(1, 1, 5, 8);
	struct addr_prefix a = addr("10.0.0.9");
	(void)state;
	assert_true(quar_failure(q, &a, 0));
	assert_false(quar_failure(q, &a, 4999));
	assert_true(quar_failure(q, &a, 5000));
	quar_free(q);
}

static void test_forget(void **state)
{
	struct quar *q = make(2, 10, 60, 64);
	struct addr_prefix a = addr("10.0.0.1");
	(void)state;
	assert_false(quar_failure(q, &a, 0));
	assert_true(quar_failure(q, &a, 1));
	quar_forget(q, &a);
	assert_false(quar_is_quarantined(q, &a, 2));
	assert_false(quar_failure(q, &a, 3));        /* fresh start: first failure */
	assert_true(quar_failure(q, &a, 4));
	quar_free(q);
}

/* The caller could not block the address (nft refused): not quarantined,
 * and the next failure within T asks again; one outside T does not. */
static void test_cancel_retries(void **state)
{
	struct quar *q = make(3, 10, 60, 64);
	struct addr_prefix a = addr("10.77.0.13"), b = addr("fd00:77::13");
	struct quar_stats st;
	(void)state;
	assert_false(quar_failure(q, &a, 1000));
	assert_false(quar_failure(q, &a, 2000));
	assert_true(quar_failure(q, &a, 3000));
	quar_cancel(q, &a);
	assert_false(quar_is_quarantined(q, &a, 3001));
	quar_get_stats(q, &st);
	assert_int_equal(st.quarantined, 0);
	/* the last N-1 failures (2000, 3000) still count: 4000 is the Nth */
	assert_true(quar_failure(q, &a, 4000));
	assert_true(quar_is_quarantined(q, &a, 4001));
	quar_get_stats(q, &st);
	assert_int_equal(st.quarantined, 1);
	/* cancelled again, and the next failures come too late: the last
	 * three are 3000, 4000, 15000, then 4000, 15000, 16000 (more than T
	 * apart), then 15000, 16000, 17000 */
	quar_cancel(q, &a);
	assert_false(quar_failure(q, &a, 15000));
	assert_false(quar_is_quarantined(q, &a, 15001));
	assert_false(quar_failure(q, &a, 16000));
	assert_true(quar_failure(q, &a, 17000));
	quar_free(q);

	/* N = 1: every failure after a cancel asks again. */
	q = make(1, 10, 60, 64);
	assert_true(quar_failure(q, &b, 1000));
	quar_cancel(q, &b);
	assert_true(quar_failure(q, &b, 1001));
	assert_false(quar_failure(q, &b, 1002));   /* now it is quarantined */
	/* cancelling an address that is not quarantined changes nothing */
	quar_cancel(q, &a);
	quar_cancel(NULL, &a);
	assert_true(quar_is_quarantined(q, &b, 1003));
	quar_free(q);
}

static void test_clock_backwards(void **state)
{
	struct quar *q = make(2, 1, 60, 64);
	struct addr_prefix a = addr("10.0.0.1");
	(void)state;
	assert_false(quar_failure(q, &a, 100000));
	/* an earlier time is taken as "no time passed": still within 1 s */
	assert_true(quar_failure(q, &a, 50));
	quar_free(q);
}

/* One bucket (capacity 8): the 9th address evicts the quietest one. */
static void test_eviction(void **state)
{
	struct quar *q = make(2, 100, 60, QUAR_WAYS);
	struct addr_prefix a[QUAR_WAYS + 1];
	char s[32];
	struct quar_stats st;
	(void)state;
	for (int i = 0; i <= QUAR_WAYS; i++) {
		snprintf(s, sizeof s, "10.1.0.%d", i + 1);
		a[i] = addr(s);
	}
	for (int i = 0; i < QUAR_WAYS; i++)
		assert_false(quar_failure(q, &a[i], 1000 + i));
	/* a[0] fails again: now a[1] is the quietest */
	assert_true(quar_failure(q, &a[0], 2000));
	assert_false(quar_failure(q, &a[QUAR_WAYS], 3000));
	quar_get_stats(q, &st);
	assert_int_equal(st.evictions, 1);
	assert_int_equal(st.tracked, QUAR_WAYS);
	/* a[1] lost its history: one more failure is its first again */
	assert_false(quar_failure(q, &a[1], 3001));
	/* ... which evicted a[2]; a[3] kept its history */
	assert_true(quar_failure(q, &a[3], 3002));
	quar_get_stats(q, &st);
	assert_int_equal(st.evictions, 2);
	quar_free(q);
}

/* Many addresses through a small table: memory stays bounded. */
static void test_bounded(void **state)
{
	struct quar *q = make(3, 10, 60, 64);
	struct quar_stats st;
	char s[32];
	(void)state;
	for (int i = 0; i < 10000; i++) {
		struct addr_prefix a;
		snprintf(s, sizeof s, "10.%d.%d.1", i / 256, i % 256);
		a = addr(s);
		assert_false(quar_failure(q, &a, i));
	}
	quar_get_stats(q, &st);
	assert_true(st.tracked <= st.capacity);
	assert_int_equal(st.tracked + st.evictions, 10000);
	quar_free(q);
}

static void test_bad_input(void **state)
{
	struct quar *q = make(1, 1, 1, 8);
	struct addr_prefix bad = { .family = 0 };
	(void)state;
	assert_false(quar_failure(q, &bad, 0));
	assert_false(quar_failure(q, NULL, 0));
	assert_false(quar_failure(NULL, &bad, 0));
	quar_forget(q, NULL);
	quar_free(q);
	quar_free(NULL);
}

/* ---- expiry bookkeeping ---- */

static void test_expiry_due_in_order(void **state)
{
	struct quar_expiry *x = quar_expiry_new(16);
	struct addr_prefix a = addr("10.77.0.1"), b = addr("2001:db8::7");
	struct quar_expired e;
	(void)state;
	assert_non_null(x);
	assert_true(quar_expiry_next(x) == INT64_MAX);
	assert_false(quar_expiry_take(x, INT64_MAX, &e));
	assert_true(quar_expiry_set(x, &a, "130001", 2, 3000));
	assert_true(quar_expiry_set(x, &b, NULL, 5, 6000));
	assert_int_equal(quar_expiry_count(x), 2);
	assert_true(quar_expiry_next(x) == 3000);
	assert_false(quar_expiry_take(x, 2999, &e));
	assert_true(quar_expiry_take(x, 3000, &e));            /* at the deadline */
	assert_true(e.addr.family == a.family && memcmp(e.addr.addr, a.addr, 4) == 0);
	assert_int_equal(e.addr.len, 32);
	assert_string_equal(e.peer, "130001");
	assert_int_equal(e.timeout_s, 2);
	assert_false(quar_expiry_take(x, 5999, &e));           /* once only */
	assert_true(quar_expiry_next(x) == 6000);
	assert_true(quar_expiry_take(x, 7000, &e));
	assert_string_equal(e.peer, "");
	assert_int_equal(e.timeout_s, 5);
	assert_int_equal(e.addr.len, 128);
	assert_int_equal(quar_expiry_count(x), 0);
	quar_expiry_free(x);
}

/* Removed by hand: its end is not an expiry. */
static void test_expiry_drop(void **state)
{
	struct quar_expiry *x = quar_expiry_new(16);
	struct addr_prefix a = addr("10.77.0.1"), b = addr("10.77.0.2");
	struct quar_expired e;
	(void)state;
	assert_true(quar_expiry_set(x, &a, NULL, 2, 3000));
	assert_true(quar_expiry_set(x, &b, NULL, 2, 3000));
	assert_true(quar_expiry_drop(x, &a));
	assert_false(quar_expiry_drop(x, &a));
	assert_true(quar_expiry_take(x, 10000, &e));
	assert_int_equal(e.addr.addr[3], 2);
	assert_false(quar_expiry_take(x, 10000, &e));
	quar_expiry_free(x);
}

/* Re-added with a new timeout: one booking, the new deadline. */
static void test_expiry_readd(void **state)
{
	struct quar_expiry *x = quar_expiry_new(16);
	struct addr_prefix a = addr("10.77.0.1");
	struct quar_expired e;
	(void)state;
	assert_true(quar_expiry_set(x, &a, "130001", 2, 3000));
	assert_true(quar_expiry_set(x, &a, NULL, 10, 11000));
	assert_int_equal(quar_expiry_count(x), 1);
	assert_false(quar_expiry_take(x, 3000, &e));
	assert_true(quar_expiry_take(x, 11000, &e));
	assert_int_equal(e.timeout_s, 10);
	assert_string_equal(e.peer, "");
	quar_expiry_free(x);
}

/* Still in the kernel set when due: later. Not due, or not booked: no change. */
static void test_expiry_extend(void **state)
{
	struct quar_expiry *x = quar_expiry_new(16);
	struct addr_prefix a = addr("10.77.0.1"), b = addr("10.77.0.2");
	struct quar_expired e;
	(void)state;
	assert_true(quar_expiry_set(x, &a, NULL, 2, 3000));
	quar_expiry_extend(x, &a, 2000, 9000);                 /* not due yet */
	assert_true(quar_expiry_next(x) == 3000);
	quar_expiry_extend(x, &a, 3005, 3105);
	assert_true(quar_expiry_next(x) == 3105);
	assert_false(quar_expiry_take(x, 3005, &e));
	quar_expiry_extend(x, &b, 3005, 9000);                 /* not booked */
	assert_int_equal(quar_expiry_count(x), 1);
	assert_true(quar_expiry_take(x, 3105, &e));
	quar_expiry_free(x);
}

/* Bounded: past max a booking is refused (the caller logs it); removing
 * makes room again. Bad input is refused. */
static void test_expiry_bounded(void **state)
{
	struct quar_expiry *x = quar_expiry_new(100);
	struct addr_prefix bad = { .family = 0 }, a;
	struct quar_expired e;
	char s[32];
	int took = 0;
	(void)state;
	for (int i = 0; i < 100; i++) {
		snprintf(s, sizeof s, "10.9.%d.%d", i / 256, i % 256);
		a = addr(s);
		assert_true(quar_expiry_set(x, &a, NULL, 1, 1000 + i));
	}
	a = addr("10.10.0.1");
	assert_false(quar_expiry_set(x, &a, NULL, 1, 1));
	a = addr("10.9.0.5");
	assert_true(quar_expiry_set(x, &a, NULL, 1, 1));       /* a re-add needs no room */
	assert_true(quar_expiry_next(x) == 1);
	while (quar_expiry_take(x, 1050, &e))
		took++;
	assert_int_equal(took, 51);
	assert_int_equal(quar_expiry_count(x), 49);
	a = addr("10.10.0.1");
	assert_true(quar_expiry_set(x, &a, NULL, 1, 1));
	assert_false(quar_expiry_set(x, &bad, NULL, 1, 1));
	assert_false(quar_expiry_set(x, NULL, NULL, 1, 1));
	assert_false(quar_expiry_set(NULL, &a, NULL, 1, 1));
	assert_false(quar_expiry_drop(x, &bad));
	assert_false(quar_expiry_take(NULL, INT64_MAX, &e));
	assert_true(quar_expiry_next(NULL) == INT64_MAX);
	quar_expiry_extend(NULL, &a, 0, 0);
	quar_expiry_free(x);
	quar_expiry_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_nth_failure_in_window),
		cmocka_unit_test(test_spread_out_failures),
		cmocka_unit_test(test_boundary_inclusive),
		cmocka_unit_test(test_addresses_independent),
		cmocka_unit_test(test_n_equals_one),
		cmocka_unit_test(test_forget),
		cmocka_unit_test(test_cancel_retries),
		cmocka_unit_test(test_clock_backwards),
		cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_expiry_due_in_order),
		cmocka_unit_test(test_expiry_drop),
		cmocka_unit_test(test_expiry_readd),
		cmocka_unit_test(test_expiry_extend),
		cmocka_unit_test(test_expiry_bounded),
	};
	return cmocka_run_group_tests_name("quar", tests, NULL, NULL);
}
