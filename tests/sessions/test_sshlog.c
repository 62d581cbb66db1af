/*
 * test_sshlog.c — gateway/sessions/sshlog.c: sshd's messages (OpenSSH 9.2
 * on Debian 12, as the journal and `sshd -e` carry them) read as session
 * events; the user kept only when it is an account name; the address sshd
 * appended, never one the client wrote into its user name; everything
 * else ignored, and what looks like a session message but does not parse
 * called malformed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/sessions/sshlog.h"

static enum sshlog_result parse(const char *msg, struct sshlog_event *ev)
{
	return sshlog_parse(msg, strlen(msg), ev);
}

/* msg is one event of that kind, user, address and port. */
static void expect(const char *msg, enum sshlog_kind kind, const char *user, const char *addr,
		   unsigned port)
{
	struct sshlog_event ev;

	if (parse(msg, &ev) != SSHLOG_EVENT)
		fail_msg("not an event: %s", msg);
	assert_int_equal(ev.kind, kind);
	assert_string_equal(ev.user, user);
	if (addr) {
		assert_true(ev.have_addr);
		assert_string_equal(ev.addr, addr);
		assert_int_equal(ev.port, port);
	} else {
		assert_false(ev.have_addr);
	}
}

static void expect_result(const char *msg, enum sshlog_result want)
{
	struct sshlog_event ev;
	enum sshlog_result got = parse(msg, &ev);

	if (got != want)
		fail_msg("result %d, want %d: %s", (int)got, (int)want, msg);
}

static void test_open(void **state)
{
	struct sshlog_event ev;
	(void)state;

	expect("Accepted publickey for alice from 192.0.2.5 port 52144 ssh2: ED25519 "
	       "SHA256:5Vd9m3hVh4mFx2mO2c3bq3O0aQ0YbW1x2mO2c3bq3O0",
	       SSHLOG_OPEN, "alice", "192.0.2.5", 52144);
	assert_int_equal(parse("Accepted publickey for alice from 192.0.2.5 port 52144 ssh2: RSA "
			       "SHA256:abc", &ev), SSHLOG_EVENT);
	assert_int_equal(ev.method, SSHLOG_M_PUBLICKEY);
	assert_string_equal(sshlog_method_name(ev.method), "publickey");
	assert_int_equal(parse("Accepted password for ops-1 from 2001:db8::7 port 22 ssh2", &ev),
			 SSHLOG_EVENT);
	assert_int_equal(ev.method, SSHLOG_M_PASSWORD);
	assert_string_equal(ev.addr, "2001:db8::7");
	assert_int_equal(parse("Accepted keyboard-interactive/pam for bob from 10.0.0.1 port 1 ssh2",
			       &ev), SSHLOG_EVENT);
	assert_int_equal(ev.method, SSHLOG_M_KBDINT);
	assert_string_equal(ev.user, "bob");
	/* IPv6 written canonically, whatever sshd wrote */
	expect("Accepted publickey for alice from 2001:DB8:0:0::1 port 5 ssh2: ED25519 SHA256:x",
	       SSHLOG_OPEN, "alice", "2001:db8::1", 5);
	/* the line ends of sshd -e, and the journal's none */
	expect("Accepted publickey for alice from 10.1.2.3 port 40000 ssh2: ED25519 SHA256:x\r\n",
	       SSHLOG_OPEN, "alice", "10.1.2.3", 40000);
	/* a certificate's ID is the client's text after the address: not read */
	expect("Accepted publickey for alice from 10.1.2.3 port 4 ssh2: ED25519-CERT SHA256:x ID "
	       "y from 6.6.6.6 port 1 ssh2: z (serial 1) CA ED25519 SHA256:y",
	       SSHLOG_OPEN, "alice", "10.1.2.3", 4);
}

static void test_close(void **state)
{
	struct sshlog_event ev;
	(void)state;

	expect("Disconnected from user alice 192.0.2.5 port 52144", SSHLOG_CLOSE, "alice",
	       "192.0.2.5", 52144);
	expect("Disconnected from user alice fd00:77::5 port 65535", SSHLOG_CLOSE, "alice",
	       "fd00:77::5", 65535);
	assert_int_equal(parse("pam_unix(sshd:session): session closed for user alice", &ev),
			 SSHLOG_EVENT);
	assert_int_equal(ev.kind, SSHLOG_CLOSE);
	assert_true(ev.pam);
	assert_false(ev.have_addr);
	assert_string_equal(ev.user, "alice");
	assert_string_equal(sshlog_kind_name(ev.kind), "close");
	/* pam_unix names an account that logged in: anything else is not one */
	expect_result("pam_unix(sshd:session): session closed for user Alice Smith",
		      SSHLOG_MALFORMED);
	expect_result("pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)",
		      SSHLOG_NONE);
	/* preauth ends are not session ends */
	expect_result("Disconnected from authenticating user alice 10.0.0.1 port 5 [preauth]",
		      SSHLOG_NONE);
	expect_result("Disconnected from invalid user x 10.0.0.1 port 5 [preauth]", SSHLOG_NONE);
	expect_result("Received disconnect from 192.0.2.5 port 52144:11: disconnected by user",
		      SSHLOG_NONE);
}

static void test_failed(void **state)
{
	struct sshlog_event ev;
	(void)state;

	expect("Failed publickey for alice from 192.0.2.9 port 41000 ssh2: ED25519 SHA256:abc",
	       SSHLOG_FAILED, "alice", "192.0.2.9", 41000);
	expect("Failed password for root from 203.0.113.4 port 2200 ssh2", SSHLOG_FAILED, "root",
	       "203.0.113.4", 2200);
	expect("Failed password for invalid user admin from 203.0.113.4 port 2201 ssh2",
	       SSHLOG_FAILED, "admin", "203.0.113.4", 2201);
	expect("Invalid user oracle from 198.51.100.7 port 60000", SSHLOG_FAILED, "oracle",
	       "198.51.100.7", 60000);
	expect("Connection closed by authenticating user alice 192.0.2.9 port 41000 [preauth]",
	       SSHLOG_FAILED, "alice", "192.0.2.9", 41000);
	expect("Connection closed by invalid user oracle 198.51.100.7 port 60000 [preauth]",
	       SSHLOG_FAILED, "oracle", "198.51.100.7", 60000);
	assert_int_equal(parse("Failed keyboard-interactive/pam for bob from 10.0.0.1 port 9 ssh2",
			       &ev), SSHLOG_EVENT);
	assert_int_equal(ev.method, SSHLOG_M_KBDINT);
	/* the "none" probe of every attempt: the Invalid user line is the record */
	expect_result("Failed none for invalid user admin from 203.0.113.4 port 2201 ssh2",
		      SSHLOG_NONE);
	expect_result("Failed hostbased for alice from 10.0.0.1 port 1 ssh2", SSHLOG_NONE);
	expect_result("Postponed publickey for alice from 10.0.0.1 port 1 ssh2 [preauth]",
		      SSHLOG_NONE);
	expect_result("Partial publickey for alice from 10.0.0.1 port 1 ssh2: ED25519 SHA256:x",
		      SSHLOG_NONE);
}

/* A user name an attacker chose: it reaches the record as "-", and the
 * address is the one sshd appended. */
static void test_hostile_users(void **state)
{
	(void)state;

	/* sshd escapes control and non-ASCII bytes as \ooo: ゲスト */
	expect("Invalid user \\343\\202\\262\\343\\202\\271\\343\\203\\210 from 192.0.2.66 port 1234",
	       SSHLOG_FAILED, "-", "192.0.2.66", 1234);
	/* and unescaped UTF-8 (another logger) is no account name either */
	expect("Invalid user ゲスト from 192.0.2.66 port 1234", SSHLOG_FAILED, "-", "192.0.2.66",
	       1234);
	/* a fake "from" in the user name: the LAST one is sshd's */
	expect("Invalid user x from 1.2.3.4 port 1 from 10.0.0.1 port 2", SSHLOG_FAILED, "-",
	       "10.0.0.1", 2);
	expect("Invalid user x from 6.6.6.6 from 10.0.0.1 port 2", SSHLOG_FAILED, "-", "10.0.0.1",
	       2);
	expect("Failed password for invalid user x from 6.6.6.6 port 1 ssh2 from 10.0.0.1 port 2 ssh2",
	       SSHLOG_FAILED, "-", "10.0.0.1", 2);
	expect("Failed password for invalid user x from 6.6.6.6 port 1 ssh2: k from 10.0.0.1 port 2 "
	       "ssh2", SSHLOG_FAILED, "-", "10.0.0.1", 2);
	expect("Connection closed by invalid user x 6.6.6.6 port 1 10.0.0.1 port 2 [preauth]",
	       SSHLOG_FAILED, "-", "10.0.0.1", 2);
	expect("Connection closed by invalid user x from 6.6.6.6 port 1 [preauth] 10.0.0.1 port 2 "
	       "[preauth]", SSHLOG_FAILED, "-", "10.0.0.1", 2);
	/* client text on both sides of the address: nothing can be told */
	expect_result("Failed publickey for invalid user x from 6.6.6.6 port 1 ssh2: K from 10.0.0.1 "
		      "port 2 ssh2: ED25519 SHA256:abc", SSHLOG_MALFORMED);
	/* one address only, with a key after it: that one */
	expect("Failed publickey for invalid user x y from 10.0.0.1 port 2 ssh2: ED25519 SHA256:abc",
	       SSHLOG_FAILED, "-", "10.0.0.1", 2);
	/* empty user (two spaces), as sshd writes it */
	expect("Invalid user  from 10.0.0.1 port 2", SSHLOG_FAILED, "-", "10.0.0.1", 2);
	expect("Connection closed by invalid user  10.0.0.1 port 2 [preauth]", SSHLOG_FAILED, "-",
	       "10.0.0.1", 2);
	/* names that are not account names */
	expect("Invalid user Administrator from 10.0.0.1 port 2", SSHLOG_FAILED, "-", "10.0.0.1", 2);
	expect("Invalid user 1abc from 10.0.0.1 port 2", SSHLOG_FAILED, "-", "10.0.0.1", 2);
	expect("Invalid user a\\033[2Jb from 10.0.0.1 port 2", SSHLOG_FAILED, "-", "10.0.0.1", 2);
	expect("Invalid user a\"},{\"user\":\"root from 10.0.0.1 port 2", SSHLOG_FAILED, "-",
	       "10.0.0.1", 2);
	/* 32 characters is an account name, 33 is not */
	expect("Invalid user abcdefghijklmnopqrstuvwxyz012345 from 10.0.0.1 port 2", SSHLOG_FAILED,
	       "abcdefghijklmnopqrstuvwxyz012345", "10.0.0.1", 2);
	expect("Invalid user abcdefghijklmnopqrstuvwxyz0123456 from 10.0.0.1 port 2", SSHLOG_FAILED,
	       "-", "10.0.0.1", 2);
}

static void test_control_bytes_and_length(void **state)
{
	char long_line[SSHLOG_LINE_MAX + 64];
	struct sshlog_event ev;
	int n;
	(void)state;

	/* raw control bytes never come from sshd (it escapes them) */
	expect_result("Invalid user a\nb from 10.0.0.1 port 2", SSHLOG_MALFORMED);
	expect_result("Invalid user a\x1b[2J from 10.0.0.1 port 2", SSHLOG_MALFORMED);
	expect_result("Accepted publickey for alice\x7f from 10.0.0.1 port 2 ssh2", SSHLOG_MALFORMED);
	/* a NUL inside the message */
	assert_int_equal(sshlog_parse("Invalid user a\0b from 10.0.0.1 port 2",
				      sizeof("Invalid user a\0b from 10.0.0.1 port 2") - 1, &ev),
			 SSHLOG_MALFORMED);
	/* longer than any message sshd writes */
	n = snprintf(long_line, sizeof(long_line), "Invalid user ");
	memset(long_line + n, 'a', sizeof(long_line) - (size_t)n - 1);
	long_line[sizeof(long_line) - 1] = '\0';
	memcpy(long_line + sizeof(long_line) - 25, " from 10.0.0.1 port 2", 22);
	expect_result(long_line, SSHLOG_MALFORMED);
	/* exactly at the limit it parses (the name is no account name) */
	long_line[SSHLOG_LINE_MAX] = '\0';
	memcpy(long_line + SSHLOG_LINE_MAX - 21, " from 10.0.0.1 port 2", 21);
	assert_int_equal(strlen(long_line), SSHLOG_LINE_MAX);
	expect(long_line, SSHLOG_FAILED, "-", "10.0.0.1", 2);
	/* the length given, not the NUL, ends the message */
	assert_int_equal(sshlog_parse("Invalid user bob from 10.0.0.1 port 23", 37, &ev),
			 SSHLOG_EVENT);
	assert_int_equal(ev.port, 2);
}

static void test_addresses_and_ports(void **state)
{
	(void)state;

	expect_result("Invalid user bob from host.example port 2", SSHLOG_MALFORMED);
	expect_result("Invalid user bob from 10.0.0.256 port 2", SSHLOG_MALFORMED);
	expect_result("Invalid user bob from 10.0.0.1/24 port 2", SSHLOG_MALFORMED);
	expect_result("Invalid user bob from fe80::1%eth0 port 2", SSHLOG_MALFORMED);
	expect_result("Invalid user bob from UNKNOWN port 65535", SSHLOG_MALFORMED);
	expect_result("Invalid user bob from 10.0.0.1 port 65536", SSHLOG_MALFORMED);
	expect_result("Invalid user bob from 10.0.0.1 port 022", SSHLOG_MALFORMED);
	expect_result("Invalid user bob from 10.0.0.1 port -2", SSHLOG_MALFORMED);
	expect_result("Invalid user bob from 10.0.0.1 port ", SSHLOG_MALFORMED);
	expect_result("Invalid user bob from 10.0.0.1 port 2 ", SSHLOG_MALFORMED);
	expect_result("Invalid user bob from 10.0.0.1", SSHLOG_MALFORMED);
	expect_result("Accepted publickey for alice from 10.0.0.1 port 2", SSHLOG_MALFORMED);
	expect_result("Accepted publickey for alice from 10.0.0.1 port 2 ssh2:x", SSHLOG_MALFORMED);
	expect_result("Accepted publickey for alice bob from 10.0.0.1 port 2 ssh2", SSHLOG_MALFORMED);
	expect_result("Accepted publickey for  from 10.0.0.1 port 2 ssh2", SSHLOG_MALFORMED);
	expect_result("Disconnected from user alice 10.0.0.1 port 2 [preauth]", SSHLOG_MALFORMED);
	expect_result("Disconnected from user  10.0.0.1 port 2", SSHLOG_EVENT);
	expect_result("Disconnected from user 10.0.0.1 port 2", SSHLOG_MALFORMED);
	expect_result("Connection closed by invalid user x 10.0.0.1 port 2", SSHLOG_MALFORMED);
	expect_result("Connection closed by authenticating userx 10.0.0.1 port 2 [preauth]",
		      SSHLOG_MALFORMED);
	expect("Invalid user bob from 0.0.0.0 port 0", SSHLOG_FAILED, "bob", "0.0.0.0", 0);
	expect("Invalid user bob from ::ffff:10.0.0.1 port 2", SSHLOG_FAILED, "bob",
	       "::ffff:10.0.0.1", 2);
}

static void test_not_session_messages(void **state)
{
	(void)state;

	expect_result("", SSHLOG_NONE);
	expect_result("Server listening on 0.0.0.0 port 22.", SSHLOG_NONE);
	expect_result("Connection closed by 10.0.0.1 port 2 [preauth]", SSHLOG_NONE);
	expect_result("Connection reset by 10.0.0.1 port 2", SSHLOG_NONE);
	expect_result("Received signal 15; terminating.", SSHLOG_NONE);
	expect_result("error: kex_exchange_identification: Connection closed by remote host",
		      SSHLOG_NONE);
	expect_result("Failed to start session", SSHLOG_NONE);
	expect_result("Accepted", SSHLOG_NONE);
	expect_result("accepted publickey for alice from 10.0.0.1 port 2 ssh2", SSHLOG_NONE);
	expect_result(" Accepted publickey for alice from 10.0.0.1 port 2 ssh2", SSHLOG_NONE);
	expect_result("sshd[123]: Accepted publickey for alice from 10.0.0.1 port 2 ssh2",
		      SSHLOG_NONE);
	expect_result("User child is on pid 1234", SSHLOG_NONE);
}

/* What sshd 9.2 (Debian 12) said under `sshd -e` with the appliance's
 * drop-in, in tests/sessions/01-ssh-sessions.sh: every line, in order,
 * and the events they are. */
static void test_real_transcript(void **state)
{
	static const struct {
		const char *line;
		enum sshlog_result r;
		enum sshlog_kind kind;
		const char *user, *addr;
		unsigned port;
	} t[] = {
		{ "Server listening on fd00:99::1 port 24022.\r\n", SSHLOG_NONE, 0, 0, 0, 0 },
		{ "Connection from 10.99.0.2 port 55600 on 10.99.0.1 port 24022 rdomain \"\"\r\n",
		  SSHLOG_NONE, 0, 0, 0, 0 },
		{ "Accepted key ED25519 SHA256:in8EHxsdW97WZnUHvM7wkheKPCV8JNQP/68gX52CMdQ found at "
		  "/tmp/jg-daemon.wawuPr/home/alice/.ssh/authorized_keys:1\r\n", SSHLOG_NONE, 0, 0, 0, 0 },
		{ "Postponed publickey for alice from 10.99.0.2 port 55600 ssh2 [preauth]\r\n",
		  SSHLOG_NONE, 0, 0, 0, 0 },
		{ "Accepted publickey for alice from 10.99.0.2 port 55600 ssh2: ED25519 "
		  "SHA256:in8EHxsdW97WZnUHvM7wkheKPCV8JNQP/68gX52CMdQ\r\n", SSHLOG_EVENT, SSHLOG_OPEN,
		  "alice", "10.99.0.2", 55600 },
		{ "User child is on pid 28328\r\n", SSHLOG_NONE, 0, 0, 0, 0 },
		{ "Starting session: command for alice from 10.99.0.2 port 55600 id 0\r\n", SSHLOG_NONE,
		  0, 0, 0, 0 },
		{ "Received disconnect from 10.99.0.2 port 55600:11: disconnected by user\r\n",
		  SSHLOG_NONE, 0, 0, 0, 0 },
		{ "Disconnected from user alice 10.99.0.2 port 55600\r\n", SSHLOG_EVENT, SSHLOG_CLOSE,
		  "alice", "10.99.0.2", 55600 },
		{ "Close session: user bob from 10.99.0.2 port 55620 id 0\r\n", SSHLOG_NONE, 0, 0, 0, 0 },
		{ "Failed publickey for alice from 10.99.0.2 port 55636 ssh2: ED25519 "
		  "SHA256:dofRuG7L1H5lNbGdae2rmSl9q4+5bl1L3HCWWAHihNc\r\n", SSHLOG_EVENT, SSHLOG_FAILED,
		  "alice", "10.99.0.2", 55636 },
		{ "Connection closed by authenticating user alice 10.99.0.2 port 55636 [preauth]\r\n",
		  SSHLOG_EVENT, SSHLOG_FAILED, "alice", "10.99.0.2", 55636 },
		{ "Invalid user \\343\\202\\262\\343\\202\\271\\343\\203\\210 from 10.99.0.2 port "
		  "55650\r\n", SSHLOG_EVENT, SSHLOG_FAILED, "-", "10.99.0.2", 55650 },
		/* the monitor escapes the child's escapes once more */
		{ "Connection closed by invalid user \\\\343\\\\202\\\\262\\\\343\\\\202\\\\271\\\\343"
		  "\\\\203\\\\210 10.99.0.2 port 55650 [preauth]\r\n", SSHLOG_EVENT, SSHLOG_FAILED, "-",
		  "10.99.0.2", 55650 },
		{ "Invalid user x from 6.6.6.6 port 1 from fd00:99::2 port 32970\r\n", SSHLOG_EVENT,
		  SSHLOG_FAILED, "-", "fd00:99::2", 32970 },
		{ "Connection closed by invalid user x from 6.6.6.6 port 1 fd00:99::2 port 32970 "
		  "[preauth]\r\n", SSHLOG_EVENT, SSHLOG_FAILED, "-", "fd00:99::2", 32970 },
		{ "User carol from 10.99.0.2 not allowed because none of user's groups are listed in "
		  "AllowGroups\r\n", SSHLOG_NONE, 0, 0, 0, 0 },
		{ "Connection closed by invalid user carol 10.99.0.2 port 55662 [preauth]\r\n",
		  SSHLOG_EVENT, SSHLOG_FAILED, "carol", "10.99.0.2", 55662 },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (t[i].r == SSHLOG_EVENT)
			expect(t[i].line, t[i].kind, t[i].user, t[i].addr, t[i].port);
		else
			expect_result(t[i].line, t[i].r);
	}
}

static void test_account_names(void **state)
{
	(void)state;

	assert_true(sshlog_account_name("alice", 5));
	assert_true(sshlog_account_name("_svc", 4));
	assert_true(sshlog_account_name("a.b-c_9", 7));
	assert_false(sshlog_account_name("", 0));
	assert_false(sshlog_account_name("-", 1));
	assert_false(sshlog_account_name("Alice", 5));
	assert_false(sshlog_account_name("9lives", 6));
	assert_false(sshlog_account_name(".x", 2));
	assert_false(sshlog_account_name("a b", 3));
	assert_false(sshlog_account_name("a/b", 3));
	assert_false(sshlog_account_name("a$", 2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_close),
		cmocka_unit_test(test_failed),
		cmocka_unit_test(test_hostile_users),
		cmocka_unit_test(test_control_bytes_and_length),
		cmocka_unit_test(test_addresses_and_ports),
		cmocka_unit_test(test_not_session_messages),
		cmocka_unit_test(test_real_transcript),
		cmocka_unit_test(test_account_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
