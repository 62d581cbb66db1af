/*
 * test_metrics.c — the exposition (gateway/metrics): label escaping, every
 * family with its HELP and TYPE, what is left out when unknown, the values
 * read back by the exposition reader (which jgw-snmp uses), the reader's
 * refusals, the textfile's atomic replace; and the relay's allocation-free
 * tallies (gateway/daemon/relay_tally.c), their "other" buckets.
 *
 * The reader is checked against hand-written lines as well as against the
 * renderer, so the two cannot agree on a mistake unnoticed; the scenarios
 * (tests/metrics/[0-9]*.sh) run promtool, an independent parser, on what jgwd
 * serves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway/daemon/relay.h"
#include "gateway/metrics/metrics.h"

/* ---- escaping ---- */

static void test_escape(void **state)
{
	char out[64];

	(void)state;
	metrics_escape_label("cert-expired", out, sizeof(out));
	assert_string_equal(out, "cert-expired");
	metrics_escape_label("a\\b\"c\nd", out, sizeof(out));
	assert_string_equal(out, "a\\\\b\\\"c\\nd");
	/* Cut to fit, never in the middle of an escape. */
	metrics_escape_label("ab\"", out, 4);
	assert_string_equal(out, "ab");
	metrics_escape_label("abc", out, 1);
	assert_string_equal(out, "");
}

/* ---- rendering ---- */

static void sample_snapshot(struct metrics_snapshot *s)
{
	metrics_init(s);
	snprintf(s->site, sizeof(s->site), "131016");
	snprintf(s->version, sizeof(s->version), "1.0");
	s->generation = 3;
	s->uptime_s = 42;
	s->egress_open = 2;
	s->ingress_open = 1;
	s->tunnels_opened = 10;
	s->tunnels_rejected = 4;
	s->frames_allowed = UINT64_MAX;          /* a Counter64 at its end */
	s->frames_denied = 1;
	s->bytes_allowed = 1234;
	s->audit_last_seq = 100;
	s->audit_mirrored_seq = 97;
	s->audit_has_collector = true;
	s->has_cert = true;
	s->cert_remaining_s = -5;                /* expired 5 s ago */
	assert_true(metrics_add_reject(s, "cert-expired", 3));
	assert_true(metrics_add_reject(s, "odd\"reason\\x", 1));
	assert_true(metrics_add_deny(s, "bad-value", 1));
	assert_true(metrics_add_type(s, 0x0101, 7, 1));
	assert_true(metrics_add_type(s, METRICS_TYPE_OTHER, 0, 2));
	assert_true(metrics_add_peer(s, "130001", 2));
	assert_true(metrics_add_peer(s, "000000", 0));
}

static char *render(const struct metrics_snapshot *s)
{
	size_t len = 0;
	char *text = metrics_render_text(s, &len);

	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	return text;
}

static void test_render_lines(void **state)
{
	struct metrics_snapshot s;
	char *text;

	(void)state;
	sample_snapshot(&s);
	text = render(&s);
	assert_non_null(strstr(text, "\njgw_info{site=\"131016\",version=\"1.0\"} 1\n"));
	assert_non_null(strstr(text, "\njgw_frames_total{verdict=\"allow\"} 18446744073709551615\n"));
	assert_non_null(strstr(text, "\njgw_tunnels_rejected_by_reason_total{reason=\"odd\\\"reason\\\\x\"} 1\n"));
	assert_non_null(strstr(text, "\njgw_frames_by_type_total{type=\"0x0101\",verdict=\"deny\"} 1\n"));
	assert_non_null(strstr(text, "\njgw_frames_by_type_total{type=\"other\",verdict=\"deny\"} 2\n"));
	assert_non_null(strstr(text, "\njgw_peer_tunnels{peer=\"000000\"} 0\n"));
	assert_non_null(strstr(text, "\njgw_audit_mirror_lag_records 3\n"));
	assert_non_null(strstr(text, "\njgw_certificate_expiry_seconds -5\n"));
	assert_non_null(strstr(text, "# TYPE jgw_frames_total counter\n"));
	assert_non_null(strstr(text, "# TYPE jgw_peer_tunnels gauge\n"));
	/* Unknown is left out, not written as 0. */
	assert_null(strstr(text, "jgw_crl_expiry_seconds"));
	assert_null(strstr(text, "jgw_clock_offset_seconds"));
	assert_null(strstr(text, "jgw_quarantine_addresses"));
	assert_null(strstr(text, "jgw_nft_packets_total"));
	free(text);
	metrics_free(&s);
}

/* Every sample's family has its HELP and TYPE before it, once. */
static void test_every_family_typed(void **state)
{
	struct metrics_snapshot s;
	char *text, *line, *save = NULL, typed[64][64];
	size_t n_typed = 0;

	(void)state;
	sample_snapshot(&s);
	s.firewall_on = true;
	s.has_quarantine_size = true;
	s.has_crl = true;
	assert_true(metrics_add_nft(&s, "accept_wan", 5, 300));
	text = render(&s);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[64];
		bool found = false;

		if (strncmp(line, "# TYPE ", 7) == 0) {
			assert_true(n_typed < 64);
			sscanf(line + 7, "%63s", typed[n_typed]);
			for (size_t i = 0; i < n_typed; i++)
				assert_string_not_equal(typed[i], typed[n_typed]);
			n_typed++;
			continue;
		}
		if (line[0] == '#')
			continue;
		sscanf(line, "%63[^{ ]", name);
		for (size_t i = 0; i < n_typed; i++)
			found |= strcmp(typed[i], name) == 0;
		if (!found)
			fail_msg("sample without TYPE: %s", line);
	}
	assert_true(n_typed > 30);
	free(text);
	metrics_free(&s);
}

/* ---- reading back ---- */

struct seen {
	size_t n;
	char key[128][96];
	struct metrics_sample s[128];
};

static void collect(void *arg, const struct metrics_sample *sample)
{
	struct seen *seen = arg;
	char *k;

	assert_true(seen->n < 128);
	k = seen->key[seen->n];
	snprintf(k, 96, "%s", sample->name);
	for (size_t i = 0; i < sample->n_labels; i++)
		snprintf(k + strlen(k), 96 - strlen(k), "%s%s=%s", i ? "," : "|",
			 sample->label[i], sample->value[i]);
	seen->s[seen->n++] = *sample;
}

static const struct metrics_sample *find(const struct seen *seen, const char *key)
{
	for (size_t i = 0; i < seen->n; i++)
		if (strcmp(seen->key[i], key) == 0)
			return &seen->s[i];
	fail_msg("no sample %s", key);
	return NULL;
}

static void test_parse_hand_written(void **state)
{
	char text[] = "# HELP x y\n# TYPE x counter\n"
		      "x 5\n"
		      "y{a=\"1\",b=\"q\\\"\\\\\\n\"} -7 1700000000000\n"
		      "z{ a = \"v\" , } 2.5\n"
		      "\n";
	struct seen seen = { 0 };
	char err[128];
	const struct metrics_sample *s;

	(void)state;
	assert_int_equal(metrics_parse(text, collect, &seen, err, sizeof(err)), 0);
	assert_int_equal(seen.n, 3);
	s = find(&seen, "x");
	assert_true(s->integer && !s->negative);
	assert_int_equal(s->u, 5);
	s = find(&seen, "y|a=1,b=q\"\\\n");
	assert_true(s->integer && s->negative);
	assert_int_equal(s->i, -7);
	s = find(&seen, "z|a=v");
	assert_false(s->integer);
	assert_true(s->d > 2.49 && s->d < 2.51);
}

static void test_parse_refuses(void **state)
{
	static const char *const bad[] = {
		"x\n", "x{a=\"1\"\n", "x{a=1} 2\n", "x{a=\"1\"} \n", "x{a=\"\\q\"} 1\n",
		"1x 2\n", "x{a=\"1\",b=\"2\",c=\"3\",d=\"4\",e=\"5\"} 1\n", "x abc\n",
	};
	char err[128], buf[128];
	struct seen seen = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "ok 1\n%s", bad[i]);
		err[0] = '\0';
		if (metrics_parse(buf, collect, &seen, err, sizeof(err)) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(strstr(err, "line 2"));
	}
}

static void test_roundtrip(void **state)
{
	struct metrics_snapshot s;
	struct seen seen = { 0 };
	char *text, err[128];

	(void)state;
	sample_snapshot(&s);
	text = render(&s);
	assert_int_equal(metrics_parse(text, collect, &seen, err, sizeof(err)), 0);
	assert_int_equal(find(&seen, "jgw_frames_total|verdict=allow")->u, UINT64_MAX);
	assert_int_equal(find(&seen, "jgw_tunnels_open|direction=ingress")->u, 1);
	assert_int_equal(find(&seen, "jgw_tunnels_rejected_by_reason_total|reason=odd\"reason\\x")->u, 1);
	assert_int_equal(find(&seen, "jgw_certificate_expiry_seconds")->i, -5);
	assert_int_equal(find(&seen, "jgw_peer_tunnels|peer=130001")->u, 2);
	assert_int_equal(find(&seen, "jgw_config_generation")->u, 3);
	free(text);
	metrics_free(&s);
}

/* ---- the textfile ---- */

static void test_write_file(void **state)
{
	char dir[] = "/tmp/jgw-metrics-XXXXXX", path[128], tmp[160], buf[64], err[256];
	FILE *f;
	size_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/jgw.prom", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(metrics_write_file(path, "a 1\n", 4, err, sizeof(err)), 0);
	assert_int_equal(metrics_write_file(path, "b 22\n", 5, err, sizeof(err)), 0);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_int_equal(n, 5);
	assert_memory_equal(buf, "b 22\n", 5);
	assert_int_equal(access(tmp, F_OK), -1);     /* nothing left beside it */
	unlink(path);
	rmdir(dir);
	/* A directory that is not there: an error naming the file, no file. */
	assert_int_equal(metrics_write_file(path, "a 1\n", 4, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "jgw.prom.tmp"));
}

/* ---- the relay's tallies ---- */

static void test_tally_other(void **state)
{
	struct relay_tally *t = calloc(1, sizeof(*t));
	char name[32];
	uint64_t sum = 0, other = 0;

	(void)state;
	assert_non_null(t);
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < RELAY_TALLY_SLOTS + 10; i++) {
			snprintf(name, sizeof(name), "reason-%d", i);
			relay_tally_add(t, name);
		}
	assert_int_equal(t->used, RELAY_TALLY_SLOTS);
	for (size_t i = 0; i < t->used; i++) {
		sum += t->slot[i].n;
		if (strcmp(t->slot[i].name, "other") == 0)
			other = t->slot[i].n;
	}
	/* Every add counted once; the 11 names past the first 47 in "other". */
	assert_int_equal(sum, 2 * (RELAY_TALLY_SLOTS + 10));
	assert_int_equal(other, 2 * 11);
	assert_string_equal(t->slot[0].name, "reason-0");
	assert_int_equal(t->slot[0].n, 2);
	free(t);
}

static void test_type_tally(void **state)
{
	struct relay_type_tally *t = calloc(1, sizeof(*t));

	(void)state;
	assert_non_null(t);
	relay_type_tally_add(t, 0x0101, true, true);
	relay_type_tally_add(t, 0x0101, true, false);
	relay_type_tally_add(t, 0x0101, true, true);
	relay_type_tally_add(t, 0x7777, false, false);   /* not in the catalog */
	assert_int_equal(t->used, 1);
	assert_int_equal(t->slot[0].type, 0x0101);
	assert_int_equal(t->slot[0].allowed, 2);
	assert_int_equal(t->slot[0].denied, 1);
	assert_int_equal(t->other_denied, 1);
	for (unsigned i = 0; i < RELAY_TYPE_SLOTS + 3; i++)
		relay_type_tally_add(t, (uint16_t)(0x0200 + i), true, true);
	assert_int_equal(t->used, RELAY_TYPE_SLOTS);
	assert_int_equal(t->other_allowed, 4);   /* 63 of the 67 found a slot */
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_render_lines),
		cmocka_unit_test(test_every_family_typed),
		cmocka_unit_test(test_parse_hand_written),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_write_file),
		cmocka_unit_test(test_tally_other),
		cmocka_unit_test(test_type_tally),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
