/*
 * test_catalog.c — the default catalog encodes docs/catalog.md exactly; grammar
 * and semantic errors are all reported with file:line:col; an extended
 * catalog (a 戸籍 message) loads. Run from the top of the source tree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "filters/engine/catalog.h"

#define DEFAULT_CATALOG "conf/catalog.jcat"
#define DATA "tests/unit/data/"
#define KiB 1024u
#define MiB (1024u * 1024u)

struct errors {
	char msg[64][512];
	size_t n;
};

static void collect(void *arg, const char *msg)
{
	struct errors *e = arg;
	if (e->n < 64)
		snprintf(e->msg[e->n], sizeof(e->msg[0]), "%s", msg);
	e->n++;
}

/* True when one collected error starts with prefix and contains phrase. */
static bool has_error(const struct errors *e, const char *prefix, const char *phrase)
{
	for (size_t i = 0; i < e->n && i < 64; i++)
		if (strncmp(e->msg[i], prefix, strlen(prefix)) == 0 && strstr(e->msg[i], phrase))
			return true;
	print_error("no error \"%s ... %s\" among:\n", prefix, phrase);
	for (size_t i = 0; i < e->n && i < 64; i++)
		print_error("  %s\n", e->msg[i]);
	return false;
}

static char *read_all(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (fp == NULL || fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) != 0 || (buf = malloc((size_t)n + 1)) == NULL ||
	    fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		if (fp)
			fclose(fp);
		free(buf);
		return NULL;
	}
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

static int load_default(void **state)
{
	struct errors e = { .n = 0 };
	*state = cat_load(DEFAULT_CATALOG, collect, &e);
	for (size_t i = 0; i < e.n && i < 64; i++)
		fprintf(stderr, "%s\n", e.msg[i]);
	return *state ? 0 : -1;
}

static int free_catalog(void **state)
{
	cat_free(*state);
	return 0;
}

/* docs/catalog.md "Types", row by row. */
static const struct {
	uint16_t code;
	const char *name, *ja, *basis;
	enum cat_pattern pattern;
	enum cat_dir dir;
	enum node_role from, to;
	const char *body;          /* shape name, NULL: empty */
	uint32_t max_body;
	enum cat_system system;
} expect_types[] = {
	{ 0x0001, "ack", "受領通知", "", CAT_RESPONSE, CAT_DIR_ANSWER, 0, 0, "A", 64 * KiB, 0 },
	{ 0x0002, "nack", "拒否通知", "", CAT_RESPONSE, CAT_DIR_ANSWER, 0, 0, "A", 64 * KiB, 0 },
	{ 0x0003, "keepalive", "生存確認", "", CAT_NOTICE, CAT_DIR_ANY_TUNNEL, 0, 0, NULL, 64 * KiB, 0 },
	{ 0x0101, "honnin-tsuchi", "本人確認情報通知", "住基法30条の6第1項", CAT_NOTICE,
	  CAT_DIR_OWN_PREF, NODE_ROLE_MUNICIPALITY, NODE_ROLE_PREFECTURE, "R-batch", 4 * MiB, CAT_SYS_JUKI },
	{ 0x0102, "honnin-tsuchi-kiko", "本人確認情報通知（機構）", "住基法30条の7第1項", CAT_NOTICE,
	  CAT_DIR_ROLES, NODE_ROLE_PREFECTURE, NODE_ROLE_JLIS, "R-batch", 4 * MiB, CAT_SYS_JUKI },
	{ 0x0103, "tenshutsu-kakutei", "転出確定通知", "住基法施行令13条3項", CAT_NOTICE,
	  CAT_DIR_OWN_PREF, NODE_ROLE_MUNICIPALITY, NODE_ROLE_PREFECTURE, "T", 64 * KiB, CAT_SYS_JUKI },
	{ 0x0110, "tennyu-tsuchi", "転入通知", "住基法9条1項", CAT_NOTICE, CAT_DIR_ROLES,
	  NODE_ROLE_MUNICIPALITY, NODE_ROLE_MUNICIPALITY, "T", 64 * KiB, CAT_SYS_JUKI },
	{ 0x0111, "tenshutsu-shomei", "転出証明書情報（転入届の特例）", "住基法24条の2", CAT_NOTICE,
	  CAT_DIR_ROLES, NODE_ROLE_MUNICIPALITY, NODE_ROLE_MUNICIPALITY, "T", 64 * KiB, CAT_SYS_JUKI },
	{ 0x0112, "koiki-kofu", "住民票の写しの広域交付", "住基法12条の4", CAT_REQUEST, CAT_DIR_ROLES,
	  NODE_ROLE_MUNICIPALITY, NODE_ROLE_MUNICIPALITY, "Q", 64 * KiB, CAT_SYS_JUKI },
	{ 0x0113, "koiki-kofu-kaito", "広域交付回答", "住基法12条の4", CAT_RESPONSE, CAT_DIR_ANSWER,
	  0, 0, "D", 2 * MiB, CAT_SYS_JUKI },
	{ 0x0114, "fuhyo-kisai-tsuchi", "戸籍の附票記載事項通知", "住基法19条1項", CAT_NOTICE,
	  CAT_DIR_ROLES, NODE_ROLE_MUNICIPALITY, NODE_ROLE_MUNICIPALITY, "T", 64 * KiB, CAT_SYS_JUKI },
	{ 0x0120, "bango-seisei", "個人番号とすべき番号の生成要求", "番号利用法8条1項", CAT_REQUEST,
	  CAT_DIR_ROLES, NODE_ROLE_MUNICIPALITY, NODE_ROLE_JLIS, "G", 64 * KiB, CAT_SYS_JUKI },
	{ 0x0121, "bango-tsuchi", "個人番号とすべき番号の通知", "番号利用法施行令9条", CAT_RESPONSE,
	  CAT_DIR_ANSWER, 0, 0, "N", 64 * KiB, CAT_SYS_JUKI },
	{ 0x0201, "fuhyo-honnin-tsuchi", "附票本人確認情報通知", "住基法30条の41第1項", CAT_NOTICE,
	  CAT_DIR_OWN_PREF, NODE_ROLE_MUNICIPALITY, NODE_ROLE_PREFECTURE, "F-batch", 4 * MiB, CAT_SYS_FUHYO },
	{ 0x0202, "fuhyo-honnin-tsuchi-kiko", "附票本人確認情報通知（機構）", "住基法30条の42第1項",
	  CAT_NOTICE, CAT_DIR_ROLES, NODE_ROLE_PREFECTURE, NODE_ROLE_JLIS, "F-batch", 4 * MiB, CAT_SYS_FUHYO },
};
#define N_TYPES (sizeof(expect_types) / sizeof(expect_types[0]))

static void test_default_types(void **state)
{
	const struct cat_catalog *cat = *state;

	assert_int_equal(cat_type_count(cat), N_TYPES);
	for (size_t i = 0; i < N_TYPES; i++) {
		const struct cat_type *t = cat_type_by_code(cat, expect_types[i].code);
		assert_non_null(t);
		assert_ptr_equal(cat_type_by_name(cat, expect_types[i].name), t);
		assert_ptr_equal(cat_type_at(cat, i), t);          /* sorted by code */
		assert_string_equal(t->name, expect_types[i].name);
		assert_string_equal(t->name_ja, expect_types[i].ja);
		assert_string_equal(t->basis, expect_types[i].basis);
		assert_int_equal(t->pattern, expect_types[i].pattern);
		assert_int_equal(t->dir, expect_types[i].dir);
		if (t->dir == CAT_DIR_ROLES || t->dir == CAT_DIR_OWN_PREF) {
			assert_int_equal(t->from, expect_types[i].from);
			assert_int_equal(t->to, expect_types[i].to);
		}
		if (expect_types[i].body == NULL)
			assert_null(t->body);
		else
			assert_string_equal(t->body->name, expect_types[i].body);
		assert_int_equal(t->max_body, expect_types[i].max_body);
		assert_int_equal(t->system, expect_types[i].system);
	}
	assert_null(cat_type_by_code(cat, 0x0000));
	assert_null(cat_type_by_code(cat, 0x0104));
	assert_null(cat_type_by_code(cat, 0xFFFF));
	assert_null(cat_type_by_name(cat, "koseki"));
	assert_null(cat_type_at(cat, N_TYPES));
}

static void test_default_answers(void **state)
{
	const struct cat_catalog *cat = *state;
	const struct cat_type *ack = cat_type_by_name(cat, "ack");
	const struct cat_type *nack = cat_type_by_name(cat, "nack");
	const struct cat_type *kaito = cat_type_by_name(cat, "koiki-kofu-kaito");
	const struct cat_type *tsuchi = cat_type_by_name(cat, "bango-tsuchi");

	for (size_t i = 0; i < cat_type_count(cat); i++) {
		const struct cat_type *req = cat_type_at(cat, i);
		bool answerable = req->pattern != CAT_RESPONSE;
		assert_int_equal(cat_answers(ack, req), answerable);
		assert_int_equal(cat_answers(nack, req), answerable);
		assert_int_equal(cat_answers(kaito, req), req->code == 0x0112);
		assert_int_equal(cat_answers(tsuchi, req), req->code == 0x0120);
		/* only responses answer */
		assert_false(cat_answers(req, ack) && req->pattern != CAT_RESPONSE);
	}
}

static const struct {
	uint16_t tag;
	const char *name;
	enum cat_kind kind;
	uint32_t n;
} expect_fields[] = {
	{ 0x0010, "resident-code", CAT_RESIDENT, 0 },
	{ 0x0011, "individual-number", CAT_INDIVIDUAL, 0 },
	{ 0x0012, "name", CAT_TEXT, 256 },
	{ 0x0013, "name-kana", CAT_TEXT, 256 },
	{ 0x0014, "birth-date", CAT_DATE, 0 },
	{ 0x0015, "sex", CAT_ENUM, 0 },
	{ 0x0016, "address", CAT_TEXT, 512 },
	{ 0x0017, "change-reason", CAT_DIGITS, 2 },
	{ 0x0018, "change-date", CAT_DATE, 0 },
	{ 0x0019, "municipality", CAT_LGCODE, 0 },
	{ 0x001A, "previous-address", CAT_TEXT, 512 },
	{ 0x001B, "move-date", CAT_DATE, 0 },
	{ 0x001C, "honseki", CAT_TEXT, 512 },
	{ 0x0030, "result", CAT_UINT, 2 },
	{ 0x0031, "detail", CAT_TEXT, 256 },
	{ 0x0032, "document", CAT_BYTES, 1048576 },
	{ 0x8001, "record", CAT_CONTAINER, 0 },
};

static void test_default_fields(void **state)
{
	const struct cat_catalog *cat = *state;

	for (size_t i = 0; i < sizeof(expect_fields) / sizeof(expect_fields[0]); i++) {
		const struct cat_field *f = cat_field_by_tag(cat, expect_fields[i].tag);
		assert_non_null(f);
		assert_string_equal(f->name, expect_fields[i].name);
		assert_int_equal(f->kind, expect_fields[i].kind);
		if (f->kind != CAT_ENUM && f->kind != CAT_CONTAINER && expect_fields[i].n)
			assert_int_equal(f->n, expect_fields[i].n);
	}
	const struct cat_field *sex = cat_field_by_tag(cat, 0x0015);
	assert_int_equal(sex->n_enums, 2);
	assert_string_equal(sex->enums[0], "1");
	assert_string_equal(sex->enums[1], "2");
	assert_null(cat_field_by_tag(cat, 0x0020));
}

/* The items of a shape: tag, min, max (0 ends the list). */
static void expect_shape(const struct cat_shape *sh, const uint32_t (*want)[3])
{
	size_t n = 0;
	for (; want[n][0] != 0; n++) {
		assert_true(n < sh->n_items);
		assert_int_equal(sh->items[n].field->tag, want[n][0]);
		assert_int_equal(sh->items[n].min, want[n][1]);
		assert_int_equal(sh->items[n].max, want[n][2]);
	}
	assert_int_equal(sh->n_items, n);
}

static void test_default_shapes(void **state)
{
	const struct cat_catalog *cat = *state;
	static const uint32_t R[][3] = {
		{ 0x10, 1, 1 }, { 0x11, 1, 1 }, { 0x12, 1, 1 }, { 0x13, 0, 1 }, { 0x14, 1, 1 },
		{ 0x15, 1, 1 }, { 0x16, 1, 1 }, { 0x17, 1, 1 }, { 0x18, 1, 1 }, { 0x19, 1, 1 }, { 0 },
	};
	static const uint32_t F[][3] = {
		{ 0x10, 1, 1 }, { 0x12, 1, 1 }, { 0x13, 0, 1 }, { 0x14, 1, 1 }, { 0x15, 1, 1 },
		{ 0x16, 1, 1 }, { 0x17, 1, 1 }, { 0x18, 1, 1 }, { 0x19, 1, 1 }, { 0 },
	};
	static const uint32_t T[][3] = {
		{ 0x10, 1, 1 }, { 0x12, 1, 1 }, { 0x13, 0, 1 }, { 0x14, 1, 1 }, { 0x15, 1, 1 },
		{ 0x16, 1, 1 }, { 0x19, 1, 1 }, { 0x1A, 0, 1 }, { 0x1B, 1, 1 }, { 0x1C, 0, 1 }, { 0 },
	};
	static const uint32_t Q[][3] = { { 0x10, 1, 1 }, { 0x19, 1, 1 }, { 0 } };
	static const uint32_t D[][3] = { { 0x30, 1, 1 }, { 0x32, 0, 1 }, { 0 } };
	static const uint32_t N[][3] = { { 0x10, 1, 1 }, { 0x11, 1, 1 }, { 0 } };
	static const uint32_t A[][3] = { { 0x30, 1, 1 }, { 0x31, 0, 1 }, { 0 } };
	static const uint32_t batch[][3] = { { 0x8001, 1, 1000 }, { 0 } };

	const struct cat_shape *rb = cat_type_by_code(cat, 0x0101)->body;
	expect_shape(rb, batch);
	expect_shape(rb->items[0].inner, R);
	const struct cat_shape *fb = cat_type_by_code(cat, 0x0201)->body;
	expect_shape(fb, batch);
	expect_shape(fb->items[0].inner, F);
	expect_shape(cat_type_by_code(cat, 0x0102)->body->items[0].inner, R);
	expect_shape(cat_type_by_code(cat, 0x0202)->body->items[0].inner, F);
	static const uint16_t t_types[] = { 0x0103, 0x0110, 0x0111, 0x0114 };
	for (size_t i = 0; i < 4; i++)
		expect_shape(cat_type_by_code(cat, t_types[i])->body, T);
	expect_shape(cat_type_by_code(cat, 0x0112)->body, Q);
	expect_shape(cat_type_by_code(cat, 0x0113)->body, D);
	expect_shape(cat_type_by_code(cat, 0x0120)->body, Q);   /* G has Q's fields */
	expect_shape(cat_type_by_code(cat, 0x0121)->body, N);
	expect_shape(cat_type_by_code(cat, 0x0001)->body, A);
	expect_shape(cat_type_by_code(cat, 0x0002)->body, A);
}

static void test_sha256(void **state)
{
	const struct cat_catalog *cat = *state;
	char line[128] = "";
	FILE *p = popen("sha256sum " DEFAULT_CATALOG, "r");

	assert_non_null(p);
	assert_non_null(fgets(line, sizeof(line), p));
	pclose(p);
	assert_int_equal(strlen(cat_sha256(cat)), 64);
	assert_memory_equal(cat_sha256(cat), line, 64);
}

static void test_syntax_errors_all_reported(void **state)
{
	struct errors e = { .n = 0 };
	const char *f = DATA "bad-syntax.jcat";
	(void)state;

	assert_null(cat_load(f, collect, &e));
	assert_true(has_error(&e, DATA "bad-syntax.jcat:3:26: ", "unexpected ';'"));
	assert_true(has_error(&e, DATA "bad-syntax.jcat:5:2: ", "unexpected character '@'"));
	assert_true(has_error(&e, DATA "bad-syntax.jcat:7:70: ", "unexpected body, expecting ';'"));
	assert_true(has_error(&e, DATA "bad-syntax.jcat:8:90: ", "unknown size unit 'GiB'"));
	assert_true(has_error(&e, DATA "bad-syntax.jcat:9:14: ", "unexpected string"));
	/* the semantic pass still runs and reports what it finds */
	assert_true(has_error(&e, DATA "bad-syntax.jcat:5:3: ", "unknown field 'bad'"));
	assert_true(has_error(&e, DATA "bad-syntax.jcat:7:1: ", "needs 'body SHAPE'"));
	assert_int_equal(e.n, 8);
}

static void test_semantic_errors_all_reported(void **state)
{
	struct errors e = { .n = 0 };
	(void)state;
#define AT(pos) DATA "bad-semantic.jcat:" pos ": "
	assert_null(cat_load(DATA "bad-semantic.jcat", collect, &e));
	assert_true(has_error(&e, AT("3:1"), "field tag 0x0010 declared twice"));
	assert_true(has_error(&e, AT("4:25"), "kind 'text' needs a size"));
	assert_true(has_error(&e, AT("5:25"), "uint size must be 1, 2, 4 or 8"));
	assert_true(has_error(&e, AT("6:25"), "unknown kind 'colour'"));
	assert_true(has_error(&e, AT("7:1"), "bit 15"));
	assert_true(has_error(&e, AT("8:1"), "bit 15"));
	assert_true(has_error(&e, AT("10:34"), "enum value \"1\" listed twice"));
	assert_true(has_error(&e, AT("11:17"), "ascending tag order"));
	assert_true(has_error(&e, AT("13:28"), "containers do not nest"));
	assert_true(has_error(&e, AT("14:11"), "unknown field 'zz'"));
	assert_true(has_error(&e, AT("14:15"), "bad repeat bounds 2..1"));
	assert_true(has_error(&e, AT("15:1"), "a response needs 'answers"));
	assert_true(has_error(&e, AT("16:34"), "unknown role 'city'"));
	assert_true(has_error(&e, AT("16:53"), "unknown shape 'Nope'"));
	assert_true(has_error(&e, AT("17:1"), "type code 0x0002 declared twice"));
	assert_true(has_error(&e, AT("17:34"), "'to own-prefecture' needs 'from municipality'"));
	assert_true(has_error(&e, AT("17:69"), "only a response has 'answers'"));
	assert_true(has_error(&e, AT("18:44"), "'r1' is a response"));
	assert_true(has_error(&e, AT("18:60"), "above the protocol limit"));
	assert_true(has_error(&e, AT("19:18"), "unknown pattern 'query'"));
	assert_int_equal(e.n, 20);
#undef AT
}

static void test_unreadable_and_empty(void **state)
{
	struct errors e = { .n = 0 };
	(void)state;

	assert_null(cat_load(DATA "no-such-file.jcat", collect, &e));
	assert_int_equal(e.n, 1);
	assert_true(has_error(&e, DATA "no-such-file.jcat: ", "cannot open"));
	e.n = 0;
	assert_null(cat_load_buffer("empty.jcat", "", 0, collect, &e));
	assert_true(has_error(&e, "empty.jcat: ", "declares no type"));
	e.n = 0;
	static const char nul[] = "field 0x0010 a kind date;\0";
	assert_null(cat_load_buffer("nul.jcat", nul, sizeof(nul), collect, &e));
	assert_true(has_error(&e, "nul.jcat:1:26: ", "unexpected byte 0x00"));
	e.n = 0;
	static const char unterminated[] = "type 0x0001 x { name-ja \"abc\n}";
	assert_null(cat_load_buffer("str.jcat", unterminated, strlen(unterminated), collect, &e));
	assert_true(has_error(&e, "str.jcat:1:25: ", "unterminated string"));
}

/* Numbers are decimal, or hexadecimal after 0x: a leading zero is not octal
 * (strtoull base 0 read `010` as 8 and stopped `09` at the 9). */
static void test_number_bases(void **state)
{
	static const char text[] =
		"field 010 a kind date;\n"
		"field 0x0B b kind date;\n"
		"shape S { a; b optional; }\n"
		"type 0x0109 t { pattern notice; from municipality to prefecture; body S; max-body 0010 KiB; }\n"
		"type 09 u { pattern notice; from any to tunnel-peer; body empty; max-body 09; }\n";
	static const char big[] =
		"type 0x0109 t { pattern notice; from any to any; body empty; max-body 4294967296; }\n";
	struct errors e = { .n = 0 };
	(void)state;

	struct cat_catalog *cat = cat_load_buffer("bases.jcat", text, strlen(text), collect, &e);
	assert_int_equal(e.n, 0);
	assert_non_null(cat);
	assert_non_null(cat_field_by_tag(cat, 10));
	assert_null(cat_field_by_tag(cat, 8));
	assert_non_null(cat_field_by_tag(cat, 0x0B));
	assert_int_equal(cat_type_by_code(cat, 0x0109)->max_body, 10 * KiB);
	assert_non_null(cat_type_by_code(cat, 9));
	assert_int_equal(cat_type_by_code(cat, 9)->max_body, 9);
	cat_free(cat);
	assert_null(cat_load_buffer("big.jcat", big, strlen(big), collect, &e));
	assert_true(has_error(&e, "big.jcat:1:", "number out of range: 4294967296"));
}

/* A catalog with a 2024 戸籍 message appended loads with no C change; the
 * inspection of its frames is in test_inspect. */
static void test_extended_catalog(void **state)
{
	size_t n1 = 0, n2 = 0;
	char *base = read_all(DEFAULT_CATALOG, &n1), *part = read_all(DATA "koseki.jcat.part", &n2);
	struct errors e = { .n = 0 };
	(void)state;

	assert_non_null(base);
	assert_non_null(part);
	char *all = malloc(n1 + n2);
	assert_non_null(all);
	memcpy(all, base, n1);
	memcpy(all + n1, part, n2);
	struct cat_catalog *cat = cat_load_buffer("koseki.jcat", all, n1 + n2, collect, &e);
	assert_int_equal(e.n, 0);
	assert_non_null(cat);
	assert_int_equal(cat_type_count(cat), N_TYPES + 1);
	const struct cat_type *k = cat_type_by_code(cat, 0x0301);
	assert_non_null(k);
	assert_string_equal(k->name, "koseki-kankei-tsuchi");
	assert_string_equal(k->name_ja, "戸籍関係情報通知");
	assert_int_equal(k->system, CAT_SYS_FUHYO);
	assert_int_equal(k->dir, CAT_DIR_ROLES);
	assert_int_equal(k->to, NODE_ROLE_JLIS);
	assert_int_equal(k->body->n_items, 5);
	assert_int_equal(cat_field_by_tag(cat, 0x0040)->kind, CAT_DIGITS);
	assert_true(cat_answers(cat_type_by_name(cat, "ack"), k));
	cat_free(cat);
	free(all);
	free(base);
	free(part);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_default_types, load_default, free_catalog),
		cmocka_unit_test_setup_teardown(test_default_answers, load_default, free_catalog),
		cmocka_unit_test_setup_teardown(test_default_fields, load_default, free_catalog),
		cmocka_unit_test_setup_teardown(test_default_shapes, load_default, free_catalog),
		cmocka_unit_test_setup_teardown(test_sha256, load_default, free_catalog),
		cmocka_unit_test(test_syntax_errors_all_reported),
		cmocka_unit_test(test_semantic_errors_all_reported),
		cmocka_unit_test(test_unreadable_and_empty),
		cmocka_unit_test(test_number_bases),
		cmocka_unit_test(test_extended_catalog),
	};
	return cmocka_run_group_tests_name("catalog", tests, NULL, NULL);
}
