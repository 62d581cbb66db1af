/*
 * test_values.c — every value kind of docs/protocol.md §4, valid and invalid, with
 * the public check-digit examples, and the streaming UTF-8 validator against
 * the whole-value one at every split.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "filters/engine/jmsg.h"
#include "filters/engine/values.h"
#include "tests/lib/jframe.h"

#define U8(s) ((const uint8_t *)(s))
#define OK(fn, s) assert_true(fn(U8(s), strlen(s)))
#define BAD(fn, s) assert_false(fn(U8(s), strlen(s)))

static void test_digits(void **state)
{
	(void)state;
	OK(val_digits, "0123456789");
	OK(val_digits, "");
	BAD(val_digits, "12a4");
	BAD(val_digits, "12 4");
	BAD(val_digits, "/");
	BAD(val_digits, ":");
	BAD(val_digits, "\xef\xbc\x91");     /* full-width 1 */
}

static void test_resident_code(void **state)
{
	(void)state;
	OK(val_resident_code, "24727059608");              /* docs/protocol.md's example */
	assert_int_equal(val_resident_check(U8("2472705960")), '8');
	/* every other check digit is wrong */
	for (char d = '0'; d <= '9'; d++) {
		char s[12] = "2472705960X";
		s[10] = d;
		if (d == '8')
			assert_true(val_resident_code(U8(s), 11));
		else
			assert_false(val_resident_code(U8(s), 11));
	}
	BAD(val_resident_code, "2472705960");               /* too short */
	BAD(val_resident_code, "247270596080");             /* too long */
	BAD(val_resident_code, "2472705960a");
	BAD(val_resident_code, "24727O59608");              /* letter O */
	/* r <= 1 gives check digit 0: 0000000000 → sum 0 → 0; 1000000000 →
	 * weight 5 → r 5 → 6. */
	OK(val_resident_code, "00000000000");
	OK(val_resident_code, "10000000006");
	BAD(val_resident_code, "10000000005");
}

static void test_individual_number(void **state)
{
	(void)state;
	OK(val_individual_number, "983205673214");         /* docs/protocol.md's example */
	assert_int_equal(val_individual_check(U8("98320567321")), '4');
	for (char d = '0'; d <= '9'; d++) {
		char s[13] = "98320567321X";
		s[11] = d;
		if (d == '4')
			assert_true(val_individual_number(U8(s), 12));
		else
			assert_false(val_individual_number(U8(s), 12));
	}
	BAD(val_individual_number, "98320567321");
	BAD(val_individual_number, "9832056732140");
	BAD(val_individual_number, "98320567321-");
	/* a resident code is not an individual number */
	BAD(val_individual_number, "24727059608");
}

/* The test builder computes check digits on its own: both must agree. */
static void test_synthetic_values_agree(void **state)
{
	(void)state;
	for (uint64_t i = 0; i < 20000; i++) {
		char rc[12], in[13];
		jf_resident_code(i, rc);
		jf_individual_number(i, in);
		assert_true(val_resident_code(U8(rc), 11));
		assert_true(val_individual_number(U8(in), 12));
		/* a changed check digit is caught */
		rc[10] = (char)('0' + (rc[10] - '0' + 1) % 10);
		in[11] = (char)('0' + (in[11] - '0' + 1) % 10);
		assert_false(val_resident_code(U8(rc), 11));
		assert_false(val_individual_number(U8(in), 12));
	}
}

static void test_node_codes(void **state)
{
	static const char *const valid[] = {
		"010006", "130001", "131016", "131024", "271004", "352063", "400009", "401307",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		assert_true(val_nodecode(U8(valid[i]), 6));
		assert_true(val_lgcode(U8(valid[i]), 6));
		/* every other check digit is wrong */
		for (char d = '0'; d <= '9'; d++) {
			char s[7];
			memcpy(s, valid[i], 7);
			if (d == s[5])
				continue;
			s[5] = d;
			assert_false(val_nodecode(U8(s), 6));
			assert_false(val_lgcode(U8(s), 6));
		}
	}
	OK(val_nodecode, "000000");           /* 機構 is a node ... */
	BAD(val_lgcode, "000000");            /* ... but not a local government */
	BAD(val_nodecode, "480001");          /* prefecture 48 does not exist */
	BAD(val_nodecode, "000001");
	BAD(val_nodecode, "13101");
	BAD(val_nodecode, "1310166");
	BAD(val_nodecode, "13101a");
	BAD(val_nodecode, "      ");
}

static void test_date(void **state)
{
	(void)state;
	OK(val_date, "20240229");    /* leap year */
	OK(val_date, "20000229");    /* divisible by 400 */
	BAD(val_date, "19000229");   /* divisible by 100 only */
	BAD(val_date, "20230229");
	OK(val_date, "20231231");
	OK(val_date, "18680101");    /* bounds */
	OK(val_date, "22001231");
	BAD(val_date, "18671231");
	BAD(val_date, "22010101");
	BAD(val_date, "20241301");
	BAD(val_date, "20240001");
	BAD(val_date, "20240100");
	BAD(val_date, "20240431");
	BAD(val_date, "20240631");
	BAD(val_date, "20240932");
	BAD(val_date, "2024-1-1");
	BAD(val_date, "2024011");
	BAD(val_date, "202401011");
	BAD(val_date, "R6010101");
}

static bool text(const char *s, size_t max)
{
	return val_text(U8(s), strlen(s), max);
}

static void test_text(void **state)
{
	(void)state;
	assert_true(text("千代田区千代田一丁目", 256));
	assert_true(text("チヨダ　タロウ", 256));
	assert_true(text("abc XYZ 123 ~!", 16));
	assert_true(text("\xc2\x80\xc2\x9f", 8));          /* C1 is not forbidden */
	assert_true(text("\xf0\x9f\x98\x80", 4));          /* 4-byte, U+1F600 */
	assert_true(text("\xf4\x8f\xbf\xbf", 4));          /* U+10FFFF */
	assert_true(text("\xed\x9f\xbf", 4));              /* U+D7FF */
	assert_true(text("\xee\x80\x80", 4));              /* U+E000 */
	assert_false(text("", 256));                       /* 1..N bytes */
	assert_false(text("12345", 4));
	assert_true(text("1234", 4));
	assert_false(text("千代田", 8));                   /* 9 bytes > 8 */
	assert_false(text("a\tb", 8));                     /* C0 */
	assert_false(text("a\nb", 8));
	assert_false(text("\x1f", 8));
	assert_false(text("a\x7f", 8));                    /* DEL */
	assert_false(val_text(U8("a\0b"), 3, 8));          /* NUL */
	assert_false(text("\xc0\x80", 8));                 /* overlong NUL */
	assert_false(text("\xc1\xbf", 8));                 /* overlong */
	assert_false(text("\xe0\x80\x80", 8));             /* overlong 3-byte */
	assert_false(text("\xe0\x9f\xbf", 8));
	assert_false(text("\xf0\x80\x80\x80", 8));         /* overlong 4-byte */
	assert_false(text("\xf0\x8f\xbf\xbf", 8));
	assert_false(text("\xed\xa0\x80", 8));             /* surrogate U+D800 */
	assert_false(text("\xed\xbf\xbf", 8));             /* surrogate U+DFFF */
	assert_false(text("\xf4\x90\x80\x80", 8));         /* U+110000 */
	assert_false(text("\xf5\x80\x80\x80", 8));
	assert_false(text("\xff", 8));
	assert_false(text("\x80", 8));                     /* lone continuation */
	assert_false(text("\xe5\x8d", 8));                 /* cut character */
	assert_false(text("\xe5\x8d" "a", 8));
	assert_false(text("\xe5" "ab", 8));
}

/* The 8-bytes-at-a-time ASCII path must see a bad byte wherever it is. */
static void test_text_ascii_blocks(void **state)
{
	(void)state;
	for (size_t len = 1; len <= 40; len++) {
		for (size_t pos = 0; pos < len; pos++) {
			static const uint8_t bad[] = { 0x00, 0x01, 0x09, 0x1f, 0x7f, 0x80, 0xff };
			for (size_t b = 0; b < sizeof(bad); b++) {
				uint8_t s[40];
				memset(s, 'a', len);
				s[pos] = bad[b];
				assert_false(val_text(s, len, 64));
			}
			uint8_t ok[40];
			memset(ok, 0x20 + (int)(pos % 0x5e), len);
			assert_true(val_text(ok, len, 64));
		}
	}
}

/* Streaming: the verdict of every split equals the whole-value verdict. */
static void test_utf8_streaming(void **state)
{
	static const char *const samples[] = {
		"住民票コード 24727059608 の氏名", "\xf0\x9f\x98\x80x\xc3\xa9", "abcdefghijklmnopqrstuvwxyz",
		"\xe5\x8d\x83\xed\xa0\x80", "ab\x7f" "cd", "\xe0\xa0\x80\xe0\x9f\x80", "\xf4\x90\x80\x80",
		"東京都\x01", "\xe6\x9d\xb1",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		const uint8_t *s = U8(samples[i]);
		size_t n = strlen(samples[i]);
		bool whole = val_text(s, n, 256);
		for (size_t a = 0; a <= n; a++) {
			for (size_t b = a; b <= n; b++) {
				struct utf8_state u;
				utf8_text_init(&u);
				bool ok = utf8_text_feed(&u, s, a) && utf8_text_feed(&u, s + a, b - a) &&
					  utf8_text_feed(&u, s + b, n - b) && utf8_text_complete(&u);
				assert_int_equal(ok, whole);
			}
		}
	}
}

static void test_check_by_kind(void **state)
{
	static const char *const sexes[] = { "1", "2" };
	struct cat_field f = { .tag = 0x15, .kind = CAT_ENUM, .enums = sexes, .n_enums = 2 };
	(void)state;

	assert_true(val_check(&f, U8("1"), 1));
	assert_true(val_check(&f, U8("2"), 1));
	assert_false(val_check(&f, U8("3"), 1));
	assert_false(val_check(&f, U8("12"), 2));
	assert_false(val_check(&f, U8(""), 0));
	assert_false(val_length_ok(&f, 2));

	f = (struct cat_field){ .kind = CAT_UINT, .n = 2 };
	assert_true(val_check(&f, U8("\x00\x00"), 2));
	assert_true(val_check(&f, U8("\xff\xff"), 2));
	assert_false(val_check(&f, U8("\x00"), 1));
	assert_false(val_check(&f, U8("\x00\x00\x00"), 3));
	f.n = 8;
	assert_true(val_check(&f, U8("\x01\x02\x03\x04\x05\x06\x07\x08"), 8));
	assert_false(val_length_ok(&f, 4));

	f = (struct cat_field){ .kind = CAT_BYTES, .n = 4 };
	assert_true(val_check(&f, U8("\x00\xff\x00\x7f"), 4));
	assert_true(val_check(&f, U8("\x00"), 1));
	assert_false(val_check(&f, U8(""), 0));
	assert_false(val_check(&f, U8("12345"), 5));

	f = (struct cat_field){ .kind = CAT_DIGITS, .n = 2 };
	assert_true(val_check(&f, U8("01"), 2));
	assert_false(val_check(&f, U8("1"), 1));
	assert_false(val_check(&f, U8("1a"), 2));
	assert_false(val_check(&f, U8("123"), 3));

	f = (struct cat_field){ .kind = CAT_TEXT, .n = 6 };
	assert_true(val_check(&f, U8("千代"), 6));
	assert_false(val_check(&f, U8("千代田"), 9));

	f = (struct cat_field){ .kind = CAT_NODECODE };
	assert_true(val_check(&f, U8("000000"), 6));
	f.kind = CAT_LGCODE;
	assert_false(val_check(&f, U8("000000"), 6));
	assert_true(val_check(&f, U8("131016"), 6));
	f.kind = CAT_RESIDENT;
	assert_true(val_check(&f, U8("24727059608"), 11));
	f.kind = CAT_INDIVIDUAL;
	assert_true(val_check(&f, U8("983205673214"), 12));
	f.kind = CAT_DATE;
	assert_true(val_check(&f, U8("19890108"), 8));
	f.kind = CAT_CONTAINER;
	assert_false(val_check(&f, U8("x"), 1));
}

/* The reference for the fast paths: the streaming validator fed one byte at
 * a time takes none of its multi-byte steps. */
static bool text_by_bytes(const uint8_t *s, size_t n)
{
	struct utf8_state u;
	utf8_text_init(&u);
	for (size_t i = 0; i < n; i++)
		if (!utf8_text_feed(&u, s + i, 1))
			return false;
	return n > 0 && utf8_text_complete(&u);
}

/* Every sequence of three bytes, alone (the tail path) and before five
 * ASCII bytes (the eight-byte word path), against the reference. */
static void test_text_exhaustive3(void **state)
{
	uint8_t s[8] = { 0, 0, 0, 'a', 'a', 'a', 'a', 'a' };
	unsigned long accepted = 0;
	(void)state;
	for (uint32_t v = 0; v < 1u << 24; v++) {
		s[0] = (uint8_t)(v >> 16), s[1] = (uint8_t)(v >> 8), s[2] = (uint8_t)v;
		bool want = text_by_bytes(s, 3);
		if (val_text(s, 3, 8) != want || val_text(s, 8, 8) != text_by_bytes(s, 8))
			fail_msg("three-byte sequence %06x", (unsigned)v);
		accepted += want;
	}
	/* 95^3 ASCII; 95 x 1920, twice, an ASCII byte and a two-byte character;
	 * 16 x 4096 three-byte less 2048 overlong (E0) and 2048 surrogates (ED) */
	assert_int_equal(accepted, 95ul * 95 * 95 + 2 * 95 * 1920 + 16 * 4096 - 2 * 2048);
}

/* Random texts built from pieces chosen to meet every branch of the fast
 * paths (plain and edge leads, cut characters, controls), against the
 * reference, whole and at every split through the streaming validator. */
static void test_text_random(void **state)
{
	static const char *const pieces[] = {
		"a", "Z~", "abcdefgh", " ", "\x1f", "\x7f", "\x80", "\xc3\xa9", "\xc1\xbf",
		"千", "代田", "チヨダ", "\xe0\xa0\x80", "\xe0\x9f\xbf", "\xed\x9f\xbf",
		"\xed\xa0\x80", "\xee\x80\x80", "\xef\xbf\xbf", "\xe5\x8d", "\xe5", "\xf0\x9f\x98\x80",
		"\xf4\x90\x80\x80", "\xff", "1丁目", "　",
	};
	const size_t n_pieces = sizeof(pieces) / sizeof(pieces[0]);
	uint32_t x = 88172645u;
	uint8_t s[96];
	(void)state;
	for (int round = 0; round < 200000; round++) {
		size_t n = 0;
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		/* mostly good pieces, so that long texts are often valid */
		for (int k = 0; k < (int)(x % 12); k++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			size_t pick = x % 4 == 0 ? x / 4 % n_pieces : (size_t[]){ 0, 1, 2, 3, 7, 9, 10, 11,
										       16, 17, 23, 24 }[x / 4 % 12];
			size_t len = strlen(pieces[pick]);
			if (n + len > sizeof(s))
				break;
			memcpy(s + n, pieces[pick], len);
			n += len;
		}
		bool want = text_by_bytes(s, n);
		if (val_text(s, n, sizeof(s)) != want)
			fail_msg("round %d: whole text differs", round);
		if (round % 64 == 0) {
			for (size_t a = 0; a <= n; a++) {
				struct utf8_state u;
				utf8_text_init(&u);
				bool ok = utf8_text_feed(&u, s, a) && utf8_text_feed(&u, s + a, n - a) &&
					  utf8_text_complete(&u) && n > 0;
				assert_int_equal(ok, want);
			}
		}
	}
}

/* The inlined node-code check against node_role for every six-digit
 * code, and the word-at-a-time digit checks with one bad byte anywhere. */
static void test_codes_exhaustive(void **state)
{
	char code[8];
	(void)state;
	for (unsigned v = 0; v < 1000000; v++) {
		snprintf(code, sizeof(code), "%06u", v);
		enum node_role role = node_role(U8(code));
		if (val_nodecode(U8(code), 6) != (role != NODE_ROLE_INVALID) ||
		    val_lgcode(U8(code), 6) != (role == NODE_ROLE_PREFECTURE ||
						role == NODE_ROLE_MUNICIPALITY))
			fail_msg("node code %u", v);
	}
	static const uint8_t bad[] = { 0x00, '/', ':', '0' + 0x80, 0x3f, 0xb0, 0xff };
	uint8_t d[16];
	for (size_t len = 1; len <= sizeof(d); len++)
		for (size_t pos = 0; pos < len; pos++)
			for (size_t b = 0; b < sizeof(bad); b++) {
				memset(d, '7', len);
				d[pos] = bad[b];
				assert_false(val_digits(d, len));
				if (len == 6) {
					assert_false(val_nodecode(d, 6));
					assert_false(val_lgcode(d, 6));
				}
				if (len == 8)
					assert_false(val_date(d, 8));
				if (len == 11)
					assert_false(val_resident_code(d, 11));
				if (len == 12)
					assert_false(val_individual_number(d, 12));
			}
}

/* Every YYYYMMDD with month 00..13 and day 00..32 around the year bounds
 * and across the leap rules, against the calendar arithmetic of docs/protocol.md. */
static void test_date_exhaustive(void **state)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	char s[40];
	(void)state;
	for (int year = 1860; year <= 2210; year++)
		for (int month = 0; month <= 13; month++)
			for (int day = 0; day <= 32; day++) {
				bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
				bool want = year >= 1868 && year <= 2200 && month >= 1 && month <= 12 &&
					    day >= 1 && day <= mdays[month - (month > 0)] +
					    (month == 2 && leap);
				snprintf(s, sizeof(s), "%04d%02d%02d", year, month, day);
				if (val_date(U8(s), 8) != want)
					fail_msg("date %d-%d-%d", year, month, day);
			}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digits),
		cmocka_unit_test(test_resident_code),
		cmocka_unit_test(test_individual_number),
		cmocka_unit_test(test_synthetic_values_agree),
		cmocka_unit_test(test_node_codes),
		cmocka_unit_test(test_date),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_text_ascii_blocks),
		cmocka_unit_test(test_utf8_streaming),
		cmocka_unit_test(test_check_by_kind),
		cmocka_unit_test(test_text_exhaustive3),
		cmocka_unit_test(test_text_random),
		cmocka_unit_test(test_codes_exhaustive),
		cmocka_unit_test(test_date_exhaustive),
	};
	return cmocka_run_group_tests_name("values", tests, NULL, NULL);
}
