/*
 * test_relay.c — the pure parts of the daemon: the bounded relay buffer,
 * the backpressure rule, the live tunnel counts per peer, the workers'
 * counts summed (tallies, per-address last success and error), and the control
 * protocol (parse, format, and one real round trip over a unix socket
 * between control_server and control_call).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ev.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gateway/control/control.h"
#include "gateway/daemon/relay.h"
#include "tunnels/tls.h"

/* ---- relay_buf ---- */

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static void test_buf_append_consume(void **state)
{
	struct relay_buf b;
	uint8_t want[5000];
	size_t got;
	uint8_t *p;

	(void)state;
	relay_buf_init(&b, 1 << 20);
	assert_int_equal(relay_buf_len(&b), 0);
	p = relay_buf_space(&b, sizeof(want), &got);
	assert_non_null(p);
	assert_int_equal(got, sizeof(want));
	fill(p, got, 3);
	relay_buf_commit(&b, got);
	fill(want, sizeof(want), 3);
	assert_int_equal(relay_buf_len(&b), sizeof(want));
	assert_memory_equal(relay_buf_data(&b), want, sizeof(want));
	relay_buf_consume(&b, 1000);
	assert_int_equal(relay_buf_len(&b), 4000);
	assert_memory_equal(relay_buf_data(&b), want + 1000, 4000);
	relay_buf_consume(&b, 99999);   /* more than held: empties, no underflow */
	assert_int_equal(relay_buf_len(&b), 0);
	relay_buf_free(&b);
	assert_null(relay_buf_data(&b));
}

static void test_buf_limit(void **state)
{
	struct relay_buf b;
	size_t got, total = 0;
	uint8_t *p;

	(void)state;
	relay_buf_init(&b, 100000);
	while ((p = relay_buf_space(&b, 30000, &got)) != NULL) {
		assert_true(got > 0 && got <= 30000);
		memset(p, 0xAB, got);
		relay_buf_commit(&b, got);
		total += got;
		assert_true(total <= 100000);
	}
	assert_int_equal(total, 100000);
	assert_int_equal(got, 0);
	assert_true(b.cap <= 100000);
	relay_buf_free(&b);
}

static void test_buf_compacts_in_place(void **state)
{
	struct relay_buf b;
	size_t got;
	uint8_t *p, pattern[40000];
	size_t cap;

	(void)state;
	relay_buf_init(&b, 1 << 20);
	p = relay_buf_space(&b, 60000, &got);
	assert_int_equal(got, 60000);
	memset(p, 1, got);
	relay_buf_commit(&b, got);
	cap = b.cap;
	relay_buf_consume(&b, 50000);            /* 10000 left at offset 50000 */
	p = relay_buf_space(&b, cap - 10000, &got);
	assert_non_null(p);
	assert_int_equal(got, cap - 10000);
	assert_int_equal(b.cap, cap);            /* moved down, not grown */
	assert_int_equal(b.off, 0);
	fill(pattern, sizeof(pattern), 9);
	memcpy(p, pattern, sizeof(pattern));
	relay_buf_commit(&b, sizeof(pattern));
	assert_int_equal(relay_buf_len(&b), 50000);
	assert_memory_equal(relay_buf_data(&b) + 10000, pattern, sizeof(pattern));
	relay_buf_free(&b);
}

static void test_buf_grow_keeps_data(void **state)
{
	struct relay_buf b;
	uint8_t first[20000], *p;
	size_t got;

	(void)state;
	relay_buf_init(&b, RELAY_MAX_FRAME + 65536);
	fill(first, sizeof(first), 42);
	p = relay_buf_space(&b, sizeof(first), &got);
	memcpy(p, first, got);
	relay_buf_commit(&b, got);
	relay_buf_consume(&b, 123);
	/* A whole max-size frame must fit behind what is held. */
	p = relay_buf_space(&b, RELAY_MAX_FRAME, &got);
	assert_non_null(p);
	assert_int_equal(got, RELAY_MAX_FRAME);
	assert_memory_equal(relay_buf_data(&b), first + 123, sizeof(first) - 123);
	relay_buf_free(&b);
}

static void test_buf_trim(void **state)
{
	struct relay_buf b;
	size_t got;
	uint8_t *p;

	(void)state;
	relay_buf_init(&b, 1 << 20);
	p = relay_buf_space(&b, 100, &got);
	relay_buf_commit(&b, got);
	(void)p;
	relay_buf_trim(&b);                      /* data held: keeps it */
	assert_non_null(b.data);
	assert_int_equal(relay_buf_len(&b), 100);
	relay_buf_consume(&b, 100);
	relay_buf_trim(&b);                      /* idle: memory given back */
	assert_null(b.data);
	assert_int_equal(b.cap, 0);
	p = relay_buf_space(&b, 10, &got);       /* and usable again */
	assert_non_null(p);
	assert_int_equal(got, 10);
	relay_buf_free(&b);
}

/* The high-water mark bounds the bytes that ever held frame data (they are
 * wiped on trim and free): it covers every committed byte through moves
 * and growth, never passes the block, and is reset with it. */
static void assert_hw(const struct relay_buf *b)
{
	assert_true(b->off + b->len <= b->hw);
	assert_true(b->hw <= b->cap);
}

static void test_buf_high_water(void **state)
{
	struct relay_buf b;
	size_t got;
	uint8_t *p;

	(void)state;
	relay_buf_init(&b, 1 << 20);
	p = relay_buf_space(&b, 100, &got);
	memset(p, 0xa5, got);
	relay_buf_commit(&b, got);
	assert_int_equal(b.hw, 100);
	relay_buf_consume(&b, 60);
	assert_hw(&b);
	/* Filling the block moves the 40 held bytes to the front. */
	p = relay_buf_space(&b, b.cap - 40, &got);
	assert_non_null(p);
	memset(p, 0x5a, got);
	relay_buf_commit(&b, got);
	assert_int_equal(b.off, 0);
	assert_hw(&b);
	assert_int_equal(b.hw, b.cap);
	/* Growth: the new block has held only the bytes copied into it. */
	size_t held = relay_buf_len(&b);
	p = relay_buf_space(&b, 4 * b.cap, &got);
	assert_non_null(p);
	assert_int_equal(b.hw, held);
	relay_buf_commit(&b, 10);
	assert_int_equal(b.hw, held + 10);
	assert_hw(&b);
	relay_buf_consume(&b, relay_buf_len(&b));
	relay_buf_trim(&b);
	assert_int_equal(b.hw, 0);
	p = relay_buf_space(&b, 10, &got);
	relay_buf_commit(&b, got);
	assert_int_equal(b.hw, 10);
	relay_buf_free(&b);
	assert_int_equal(b.hw, 0);
}

/* A block given back (idle direction) is kept for reuse, wiped: the next
 * buffer of that size gets it without any byte of the old frames. */
static void test_buf_reuse_wiped(void **state)
{
	struct relay_buf b;
	size_t got;
	uint8_t *p, *first;
	static const uint8_t zero[100];

	(void)state;
	relay_buf_init(&b, 1 << 20);
	first = p = relay_buf_space(&b, 100, &got);
	memset(p, 0xa5, got);
	relay_buf_commit(&b, got);
	relay_buf_consume(&b, got);
	relay_buf_trim(&b);
	assert_null(b.data);
	p = relay_buf_space(&b, 100, &got);
	assert_ptr_equal(p, first);              /* the same block, reused */
	assert_memory_equal(p, zero, sizeof(zero));
	relay_buf_free(&b);
}

static void test_backpressure(void **state)
{
	const size_t bb = 256 * 1024;

	(void)state;
	assert_false(relay_backpressure(0, 0, bb));
	/* A frame being assembled may grow to the largest frame. */
	assert_false(relay_backpressure(RELAY_MAX_FRAME - 1, 0, bb));
	assert_false(relay_backpressure(RELAY_MAX_FRAME + bb - 1, 0, bb));
	assert_true(relay_backpressure(RELAY_MAX_FRAME + bb, 0, bb));
	/* Allowed bytes the destination has not taken yet: at most bb. */
	assert_false(relay_backpressure(bb - 1, bb - 1, bb));
	assert_true(relay_backpressure(bb, bb, bb));
	assert_true(relay_backpressure(bb + 10, bb, bb));
}

/* ---- live tunnels per peer ---- */

/* Six digits, distinct per i (the table does not check node codes). */
static const char *node_of(unsigned i, char out[7])
{
	snprintf(out, 7, "%06u", i);
	return out;
}

static void test_peercount_basic(void **state)
{
	struct relay_count pc;

	(void)state;
	relay_count_init(&pc);
	assert_int_equal(relay_count_get(&pc, "130001"), 0);
	relay_count_dec(&pc, "130001");                  /* nothing to take away */
	assert_true(relay_count_inc(&pc, "130001"));
	assert_true(relay_count_inc(&pc, "130001"));
	assert_true(relay_count_inc(&pc, "131016"));
	assert_int_equal(relay_count_get(&pc, "130001"), 2);
	assert_int_equal(relay_count_get(&pc, "131016"), 1);
	assert_int_equal(relay_count_get(&pc, "000000"), 0);
	relay_count_dec(&pc, "130001");
	relay_count_dec(&pc, "131016");
	relay_count_dec(&pc, "131016");                  /* never below 0 */
	assert_int_equal(relay_count_get(&pc, "130001"), 1);
	assert_int_equal(relay_count_get(&pc, "131016"), 0);
	assert_true(relay_count_inc(&pc, "131016"));     /* a slot at 0 is reused */
	assert_int_equal(relay_count_get(&pc, "131016"), 1);
	assert_int_equal(pc.used, 2);
	relay_count_free(&pc);
	assert_int_equal(relay_count_get(&pc, "130001"), 0);
}

/* ---- the workers' counts, summed for the daemon ---- */

static uint64_t tally_of(const struct relay_tally *t, const char *name)
{
	for (size_t i = 0; i < t->used; i++)
		if (strcmp(t->slot[i].name, name) == 0)
			return t->slot[i].n;
	return 0;
}

/* Counts under the same name add up; a name the sum has no slot left for
 * counts under "other", as it would have had one worker seen it. */
static void test_tally_merge(void **state)
{
	struct relay_tally a = { 0 }, b = { 0 }, sum = { 0 }, full = { 0 };
	char name[16];

	(void)state;
	relay_tally_add(&a, "tls-error");
	relay_tally_add(&a, "tls-error");
	relay_tally_add(&a, "peer-limit");
	relay_tally_add(&b, "peer-limit");
	relay_tally_add(&b, "fd-limit");
	relay_tally_merge(&sum, &a);
	relay_tally_merge(&sum, &b);
	assert_int_equal(tally_of(&sum, "tls-error"), 2);
	assert_int_equal(tally_of(&sum, "peer-limit"), 2);
	assert_int_equal(tally_of(&sum, "fd-limit"), 1);
	assert_int_equal(sum.used, 3);

	for (int i = 0; i < RELAY_TALLY_SLOTS - 1; i++) {
		snprintf(name, sizeof(name), "reason-%d", i);
		relay_tally_add(&full, name);
	}
	relay_tally_merge(&full, &a);
	assert_int_equal(tally_of(&full, "other"), 3);
	assert_int_equal(full.used, RELAY_TALLY_SLOTS);
}

static void test_type_tally_merge(void **state)
{
	struct relay_type_tally a = { 0 }, b = { 0 }, sum = { 0 };

	(void)state;
	relay_type_tally_add(&a, 0x0101, true, true);
	relay_type_tally_add(&a, 0x0101, true, true);
	relay_type_tally_add(&a, 0x7777, false, false);   /* unknown type */
	relay_type_tally_add(&b, 0x0101, true, false);
	relay_type_tally_add(&b, 0x0103, true, true);
	relay_type_tally_merge(&sum, &a);
	relay_type_tally_merge(&sum, &b);
	assert_int_equal(sum.used, 2);
	assert_int_equal(sum.slot[0].type, 0x0101);
	assert_int_equal(sum.slot[0].allowed, 2);
	assert_int_equal(sum.slot[0].denied, 1);
	assert_int_equal(sum.slot[1].type, 0x0103);
	assert_int_equal(sum.slot[1].allowed, 1);
	assert_int_equal(sum.other_allowed, 0);
	assert_int_equal(sum.other_denied, 1);
}

/* One address seen by two workers: the later success and the later error,
 * each with its own side and reason. */
static void test_addr_merge(void **state)
{
	struct relay_addr_slot sum = { 0 };
	struct relay_addr_slot w0 = { .used = true, .ok_ingress = true, .ok_s = 100,
				      .err_s = 300, .err_reason = "tls-error" };
	struct relay_addr_slot w1 = { .used = true, .ok_ingress = false, .ok_s = 200,
				      .err_ingress = true, .err_s = 50, .err_reason = "peer-limit" };

	(void)state;
	relay_addr_merge(&sum, &w0);
	relay_addr_merge(&sum, &w1);
	assert_int_equal(sum.ok_s, 200);
	assert_false(sum.ok_ingress);
	assert_int_equal(sum.err_s, 300);
	assert_false(sum.err_ingress);
	assert_string_equal(sum.err_reason, "tls-error");
}

/* A 機構 directory: 1,788 peers, thousands of tunnels. Counts stay exact
 * through growth, and nodes whose tunnels all closed do not make the table
 * grow without end as other nodes come and go. */
static void test_peercount_scale(void **state)
{
	enum { PEERS = 1788 };
	struct relay_count pc;
	char node[7];
	size_t total = 0, cap;

	(void)state;
	relay_count_init(&pc);
	for (unsigned i = 0; i < PEERS; i++)
		for (unsigned k = 0; k <= i % 3; k++, total++)
			assert_true(relay_count_inc(&pc, node_of(i, node)));
	assert_int_equal(total, 3576);
	for (unsigned i = 0; i < PEERS; i++)
		assert_int_equal(relay_count_get(&pc, node_of(i, node)), i % 3 + 1);
	assert_int_equal(relay_count_get(&pc, node_of(PEERS, node)), 0);
	assert_int_equal(pc.used, PEERS);
	assert_true(pc.cap >= 2 * PEERS && pc.cap <= 4 * PEERS);
	cap = pc.cap;

	/* Every tunnel closes, then as many other peers come: the table is
	 * rebuilt with the live ones only, not doubled. */
	for (unsigned i = 0; i < PEERS; i++)
		for (unsigned k = 0; k <= i % 3; k++)
			relay_count_dec(&pc, node_of(i, node));
	for (unsigned i = 0; i < PEERS; i++)
		assert_int_equal(relay_count_get(&pc, node_of(i, node)), 0);
	for (unsigned i = PEERS; i < 2 * PEERS; i++)
		assert_true(relay_count_inc(&pc, node_of(i, node)));
	for (unsigned i = PEERS; i < 2 * PEERS; i++)
		assert_int_equal(relay_count_get(&pc, node_of(i, node)), 1);
	for (unsigned i = 0; i < PEERS; i++)
		assert_int_equal(relay_count_get(&pc, node_of(i, node)), 0);
	assert_int_equal(pc.cap, cap);
	assert_true(pc.used <= 2 * PEERS);
	relay_count_free(&pc);
}

/* ---- control protocol ---- */

static void test_parse_simple(void **state)
{
	struct control_req req;
	char err[256];

	(void)state;
	assert_true(control_parse("status\n", &req, err, sizeof(err)));
	assert_int_equal(req.cmd, CONTROL_STATUS);
	assert_true(control_parse("stats", &req, err, sizeof(err)));
	assert_int_equal(req.cmd, CONTROL_STATS);
	assert_true(control_parse("reload\r\n", &req, err, sizeof(err)));
	assert_int_equal(req.cmd, CONTROL_RELOAD);
	assert_true(control_parse("  peers  ", &req, err, sizeof(err)));
	assert_int_equal(req.cmd, CONTROL_PEERS);
	assert_true(control_parse("quarantine list", &req, err, sizeof(err)));
	assert_int_equal(req.cmd, CONTROL_QUAR_LIST);
}

static void test_parse_quarantine(void **state)
{
	struct control_req req;
	char err[256];

	(void)state;
	assert_true(control_parse("quarantine add 10.77.0.99", &req, err, sizeof(err)));
	assert_int_equal(req.cmd, CONTROL_QUAR_ADD);
	assert_int_equal(req.addr.family, AF_INET);
	assert_int_equal(req.addr.len, 32);
	assert_int_equal(req.addr.addr[3], 99);
	assert_int_equal(req.timeout_s, 0);
	assert_true(control_parse("quarantine add fd00:77::99 90s", &req, err, sizeof(err)));
	assert_int_equal(req.addr.family, AF_INET6);
	assert_int_equal(req.timeout_s, 90);
	assert_true(control_parse("quarantine add 10.77.0.1 15min", &req, err, sizeof(err)));
	assert_int_equal(req.timeout_s, 900);
	assert_true(control_parse("quarantine add 10.77.0.1 2h", &req, err, sizeof(err)));
	assert_int_equal(req.timeout_s, 7200);
	assert_true(control_parse("quarantine del 10.77.0.99", &req, err, sizeof(err)));
	assert_int_equal(req.cmd, CONTROL_QUAR_DEL);
}

static void expect_error(const char *line, const char *fragment)
{
	struct control_req req;
	char err[256] = "";

	if (control_parse(line, &req, err, sizeof(err)))
		fail_msg("accepted: %s", line);
	if (!strstr(err, fragment))
		fail_msg("`%s': error `%s' lacks `%s'", line, err, fragment);
}

static void test_parse_errors(void **state)
{
	char longline[CONTROL_LINE_MAX + 8];

	(void)state;
	expect_error("", "empty");
	expect_error("   \n", "empty");
	expect_error("shutdown", "unknown command `shutdown'");
	expect_error("status now", "status takes no operand: `now'");
	expect_error("quarantine", "quarantine needs one of: list, add, del");
	expect_error("quarantine flush", "unknown action `flush' for quarantine");
	expect_error("quarantine add", "quarantine add takes ADDR [DURATION]");
	expect_error("quarantine add 10.77.0.300", "`10.77.0.300'");
	expect_error("quarantine add example.org", "`example.org'");
	expect_error("quarantine add 10.77.0.1 0", "`0'");
	expect_error("quarantine add 10.77.0.1 -5", "`-5'");
	expect_error("quarantine add 10.77.0.1 10x", "`10x'");
	expect_error("quarantine add 10.77.0.1 15m", "`15m'");       /* minutes are min */
	expect_error("quarantine add 10.77.0.1 31d", "`31d'");
	expect_error("quarantine add 10.77.0.1 1500ms", "`1500ms'"); /* whole seconds */
	expect_error("quarantine add 10.77.0.1 99999999999999999999", "duration");
	expect_error("quarantine add 10.77.0.1 10 extra", "`extra'");
	expect_error("quarantine del 10.77.0.1 10", "`10'");
	expect_error("quarantine list all", "no operand");
	expect_error("status\x01", "control");
	expect_error("st\xc3\xa4tus", "non-ASCII");
	expect_error("reload --confirm", "--confirm needs a value");
	expect_error("reload --confirm 2d", "`2d'");
	expect_error("quarantine add 10.0.0.1 --confirm 60", "--confirm is for reload");
	expect_error("reload --now", "unknown option `--now'");
	expect_error("tunnel close x1", "not a tunnel id: `x1'");
	expect_error("config show", "config show takes SHA256|GENERATION");
	expect_error("reload --", "empty comment");
	expect_error("reload -- \x01", "comment must be UTF-8 text");
	memset(longline, 'a', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	expect_error(longline, "longer than");
	expect_error("a b c d e f g h i", "too many");
}

static void test_parse_changes(void **state)
{
	struct control_req req;
	char err[256];

	(void)state;
	assert_true(control_parse("reload --confirm 5min --force --via 192.0.2.7 -- move mgmt to vlan 20",
				  &req, err, sizeof(err)));
	assert_int_equal(req.cmd, CONTROL_RELOAD);
	assert_int_equal(req.confirm_s, 300);
	assert_true(req.force);
	assert_string_equal(req.via, "192.0.2.7");
	assert_string_equal(req.comment, "move mgmt to vlan 20");
	assert_true(control_changes_state(req.cmd));
	assert_true(control_parse("config rollback 3 --confirm 90", &req, err, sizeof(err)));
	assert_int_equal(req.cmd, CONTROL_ROLLBACK);
	assert_string_equal(req.ref, "3");
	assert_int_equal(req.confirm_s, 90);
	assert_true(control_parse("tunnel close 4611686018427387905", &req, err, sizeof(err)));
	assert_int_equal(req.cmd, CONTROL_TUNNEL_CLOSE);
	assert_true(req.id == 4611686018427387905ull);
	assert_true(control_parse("status --json", &req, err, sizeof(err)));
	assert_true(req.json);
	assert_false(control_changes_state(req.cmd));
	/* A comment is text: " -- " inside it is kept, words after it are not verbs. */
	assert_true(control_parse("quarantine add 10.0.0.9 -- scan -- from 10.0.0.9; reload",
				  &req, err, sizeof(err)));
	assert_int_equal(req.cmd, CONTROL_QUAR_ADD);
	assert_string_equal(req.comment, "scan -- from 10.0.0.9; reload");
	/* UTF-8 in a comment (a name in kanji) */
	assert_true(control_parse("confirm -- \xe7\xa2\xba\xe8\xaa\x8d", &req, err, sizeof(err)));
	assert_int_equal(req.cmd, CONTROL_CONFIRM);
	assert_string_equal(control_cmd_name(CONTROL_QUAR_DEL), "quarantine del");
}

static void test_duration_words(void **state)
{
	uint32_t s = 0;

	(void)state;
	assert_true(control_parse_duration("1", CONTROL_TIMEOUT_MAX, &s));
	assert_int_equal(s, 1);
	assert_true(control_parse_duration("30d", CONTROL_TIMEOUT_MAX, &s));
	assert_int_equal(s, 30 * 86400);
	assert_false(control_parse_duration("31d", CONTROL_TIMEOUT_MAX, &s));
	assert_true(control_parse_duration("720h", CONTROL_TIMEOUT_MAX, &s));
	assert_int_equal(s, 720 * 3600);
	assert_true(control_parse_duration("10min", CONTROL_TIMEOUT_MAX, &s));
	assert_int_equal(s, 600);
	assert_true(control_parse_duration("2000ms", CONTROL_TIMEOUT_MAX, &s));
	assert_int_equal(s, 2);
	assert_false(control_parse_duration("0", CONTROL_TIMEOUT_MAX, &s));
	assert_false(control_parse_duration("", CONTROL_TIMEOUT_MAX, &s));
	assert_false(control_parse_duration("s", CONTROL_TIMEOUT_MAX, &s));
	assert_false(control_parse_duration("5ss", CONTROL_TIMEOUT_MAX, &s));
	assert_false(control_parse_duration("5m", CONTROL_TIMEOUT_MAX, &s));
	assert_false(control_parse_duration("25h", CONTROL_CONFIRM_MAX, &s));
}

static void test_format(void **state)
{
	char line[CONTROL_LINE_MAX + 2], err[256];
	char *ok[] = { "quarantine", "add", "10.77.0.5", "60" };
	char *bad[] = { "quarantine", "add", "nowhere" };
	char *one[] = { "status" };

	(void)state;
	assert_true(control_format(4, ok, line, sizeof(line), err, sizeof(err)));
	assert_string_equal(line, "quarantine add 10.77.0.5 60\n");
	assert_true(control_format(1, one, line, sizeof(line), err, sizeof(err)));
	assert_string_equal(line, "status\n");
	assert_false(control_format(3, bad, line, sizeof(line), err, sizeof(err)));
	assert_non_null(strstr(err, "nowhere"));
	assert_false(control_format(0, one, line, sizeof(line), err, sizeof(err)));
	assert_false(control_format(1, one, line, 4, err, sizeof(err)));
}

/* ---- control socket round trip ---- */

static int handled;

static struct control_caller last_caller;

static void handler(void *arg, const struct control_req *req, const struct control_caller *caller,
		    struct control_reply *reply)
{
	(void)arg;
	handled++;
	last_caller = *caller;
	if (req->cmd == CONTROL_STATUS) {
		control_reply_begin(reply, req->json);
		control_reply_str(reply, "site", "131016");
		control_reply_u64(reply, "tunnels", 3);
		control_reply_bool(reply, "audit_key_alarm", false);
		control_reply_str(reply, "note", "a \"quoted\" \\ word");
		control_reply_end(reply);
	} else if (req->cmd == CONTROL_PEERS) {
		for (int i = 0; i < 2; i++) {
			control_reply_begin_line(reply, req->json);
			control_reply_str(reply, "peer", i ? "130001" : "400009");
			control_reply_i64(reply, "last_error", -i);
			control_reply_end(reply);
		}
	} else if (req->cmd == CONTROL_RELOAD) {
		control_reply_error(reply, "reload rejected: x.conf:3:1: bad\nline");
	}
}

static void on_child(struct ev_loop *loop, ev_child *w, int revents)
{
	(void)revents;
	ev_child_stop(loop, w);
	ev_break(loop, EVBREAK_ALL);
}

static void on_guard(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

/* Fork a control_call client; serve it; return its exit status and what
 * it printed on stdout/stderr. */
static int round_trip(const char *path, const char *line, char *out, size_t outlen,
		      char *errout, size_t errlen)
{
	struct ev_loop *loop = ev_default_loop(0);
	int po[2], pe[2], status = -1;
	ev_child cw;
	ev_timer guard;
	pid_t pid;
	ssize_t n;

	assert_int_equal(pipe(po), 0);
	assert_int_equal(pipe(pe), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char err[256];
		int rc;

		close(po[0]);
		close(pe[0]);
		rc = control_call(path, line, po[1], pe[1], err, sizeof(err));
		if (rc < 0)
			dprintf(pe[1], "call: %s\n", err);
		_exit(rc < 0 ? 9 : rc);
	}
	close(po[1]);
	close(pe[1]);
	ev_child_init(&cw, on_child, pid, 0);
	ev_child_start(loop, &cw);
	ev_timer_init(&guard, on_guard, 10.0, 0.0);
	ev_timer_start(loop, &guard);
	ev_run(loop, 0);
	ev_timer_stop(loop, &guard);
	if (cw.rpid == pid)
		status = WIFEXITED(cw.rstatus) ? WEXITSTATUS(cw.rstatus) : 99;
	n = read(po[0], out, outlen - 1);
	out[n > 0 ? n : 0] = '\0';
	n = read(pe[0], errout, errlen - 1);
	errout[n > 0 ? n : 0] = '\0';
	close(po[0]);
	close(pe[0]);
	return status;
}

static void test_control_round_trip(void **state)
{
	struct ev_loop *loop = ev_default_loop(0);
	char dir[] = "/tmp/jgw-ctl-XXXXXX", path[128], out[512], err[512], e[256];
	struct control_server *srv;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/control.sock", dir);
	srv = control_server_new(loop, path, (unsigned)-1, (unsigned)-1, handler, NULL, e, sizeof(e));
	assert_non_null(srv);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	handled = 0;
	assert_int_equal(round_trip(path, "status\n", out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "site 131016\ntunnels 3\naudit_key_alarm no\nnote a \"quoted\" \\ word\n");
	assert_int_equal(handled, 1);
	/* Who asked, as the kernel says. */
	assert_true(last_caller.known);
	assert_int_equal(last_caller.uid, getuid());
	assert_true(last_caller.pid > 0);
	/* The same object as one JSON line, keys in the same order. */
	assert_int_equal(round_trip(path, "status --json\n", out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "{\"site\":\"131016\",\"tunnels\":3,\"audit_key_alarm\":false,"
			    "\"note\":\"a \\\"quoted\\\" \\\\ word\"}\n");
	/* One line per object, in text and in JSON. */
	assert_int_equal(round_trip(path, "peers\n", out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "peer 400009 last_error 0\npeer 130001 last_error -1\n");
	assert_int_equal(round_trip(path, "peers --json\n", out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "{\"peer\":\"400009\",\"last_error\":0}\n"
			    "{\"peer\":\"130001\",\"last_error\":-1}\n");
	handled = 1;

	/* An error answer: exit 1, message on stderr, on one line. */
	assert_int_equal(round_trip(path, "reload\n", out, sizeof(out), err, sizeof(err)), 1);
	assert_string_equal(out, "");
	assert_string_equal(err, "jgwctl: reload rejected: x.conf:3:1: bad line\n");

	/* A request the daemon does not understand never reaches the handler. */
	assert_int_equal(round_trip(path, "format disk\n", out, sizeof(out), err, sizeof(err)), 1);
	assert_non_null(strstr(err, "unknown command `format'"));
	assert_int_equal(handled, 2);

	control_server_free(srv);
	assert_int_not_equal(stat(path, &st), 0);    /* socket removed */
	/* Nobody listening: the client says so and fails. */
	assert_int_equal(round_trip(path, "status\n", out, sizeof(out), err, sizeof(err)), 9);
	assert_non_null(strstr(err, "cannot reach jgwd"));
	rmdir(dir);
}

static void test_control_refuses_other_files(void **state)
{
	struct ev_loop *loop = ev_default_loop(0);
	char dir[] = "/tmp/jgw-ctl-XXXXXX", path[128], e[256];
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/not-a-socket", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_null(control_server_new(loop, path, (unsigned)-1, (unsigned)-1, handler, NULL,
				       e, sizeof(e)));
	assert_non_null(strstr(e, "not a socket"));
	assert_int_equal(access(path, F_OK), 0);      /* left alone */
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_append_consume),
		cmocka_unit_test(test_buf_limit),
		cmocka_unit_test(test_buf_compacts_in_place),
		cmocka_unit_test(test_buf_grow_keeps_data),
		cmocka_unit_test(test_buf_trim),
		cmocka_unit_test(test_buf_high_water),
		cmocka_unit_test(test_buf_reuse_wiped),
		cmocka_unit_test(test_backpressure),
		cmocka_unit_test(test_peercount_basic),
		cmocka_unit_test(test_peercount_scale),
		cmocka_unit_test(test_tally_merge),
		cmocka_unit_test(test_type_tally_merge),
		cmocka_unit_test(test_addr_merge),
		cmocka_unit_test(test_parse_simple),
		cmocka_unit_test(test_parse_quarantine),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_duration_words),
		cmocka_unit_test(test_parse_changes),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_control_round_trip),
		cmocka_unit_test(test_control_refuses_other_files),
	};

	return cmocka_run_group_tests_name("relay", tests, NULL, NULL);
}
