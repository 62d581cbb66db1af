/*
 * config.y — the grammar of the gateway configuration (docs/configuration.md).
 *
 * Statements end with ';', blocks are `name { ... }' and may appear more than
 * once (their settings merge, a setting given twice is an error). The parser
 * only shapes tokens into calls on the builder in config.c; values are
 * converted and range-checked there, relations between settings are checked
 * once after every file has been read (cfg_load).
 *
 * Each file has its own scanner and its own parse: `include' parses the
 * named file to completion from inside the action, which a pure parser and a
 * reentrant scanner allow without a buffer stack.
 */
%define api.pure full
%define api.prefix {cfgyy}
%define parse.error custom
%locations
%param {void *scanner}
%parse-param {struct cfg_file *f}

%code requires {
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "filters/policy/config.h"

enum cfg_unit {
	CFG_UNIT_NONE = 0, CFG_UNIT_MS, CFG_UNIT_S, CFG_UNIT_MIN, CFG_UNIT_H,
	CFG_UNIT_D, CFG_UNIT_B, CFG_UNIT_KIB, CFG_UNIT_MIB, CFG_UNIT_GIB,
	CFG_UNIT_PCT,
};

/* A number as written: its value, its unit and its text for messages. */
struct cfg_num {
	uint64_t value;
	enum cfg_unit unit;
	char text[32];
};

/* Settings that take one value; config.c maps each to its field, its kind
 * and its bounds, and remembers where it was set. */
enum cfg_key {
	CFG_K_CATALOG, CFG_K_CONTROL, CFG_K_USER, CFG_K_GROUP, CFG_K_PIDFILE,
	CFG_K_CTL_GROUP, CFG_K_CTL_ADMIN,
	CFG_K_SSH_PORT,
	CFG_K_TLS_CERT, CFG_K_TLS_KEY, CFG_K_TLS_CA, CFG_K_CRL_POLICY,
	CFG_K_CRL_ALARM, CFG_K_TLS12,
	CFG_K_TLS_SOURCE_CHECK,
	CFG_K_T_HANDSHAKE, CFG_K_T_IDLE, CFG_K_T_CONNECT, CFG_K_T_SHUTDOWN,
	CFG_K_T_FIRST_FRAME, CFG_K_T_FRAME,
	CFG_K_L_TUNNELS, CFG_K_L_PER_PEER, CFG_K_L_PER_SOURCE, CFG_K_L_OUTSTANDING,
	CFG_K_L_BUFFER,
	CFG_K_L_SKEW,
	CFG_K_WORKERS,
	CFG_K_FW_ENABLED, CFG_K_FW_TABLE, CFG_K_FW_NFLOG, CFG_K_FW_RATE,
	CFG_K_FW_BURST, CFG_K_FW_CONN_LIMIT, CFG_K_FW_KEEP, CFG_K_FW_DROP_INTERVAL,
	CFG_K_FW_QUAR_LAN,
	CFG_K_A_SPOOL, CFG_K_A_KEY, CFG_K_A_ROTATE, CFG_K_A_COMMIT, CFG_K_A_STATS,
	CFG_K_A_DISK_ALARM, CFG_K_A_DISK_LIMIT, CFG_K_A_DISK_POLICY,
	CFG_K_A_RETAIN, CFG_K_A_RETAIN_SIZE, CFG_K_A_REQUIRE_ARCHIVE,
	CFG_K_C_PORT, CFG_K_C_CA, CFG_K_C_CERT, CFG_K_C_KEY, CFG_K_C_NAME,
	CFG_K_M_TEXTFILE, CFG_K_M_INTERVAL,
	CFG_K_HA_MEMBER, CFG_K_HA_IF, CFG_K_HA_SYNC_PORT,
	/* Set by their own calls, listed so duplicates are caught the same way. */
	CFG_K_SITE, CFG_K_LAN_LISTEN, CFG_K_WAN_LISTEN, CFG_K_LAN_IF, CFG_K_WAN_IF,
	CFG_K_JUKI, CFG_K_FUHYO, CFG_K_FW_QUARANTINE, CFG_K_C_HOST,
	CFG_K_M_LISTEN, CFG_K_HA,
	CFG_K_MAX
};

struct cfg_build;

/* One file being read: the scanner's extra data and the parser's state. */
struct cfg_file {
	struct cfg_build *b;
	const char *name;            /* as reported; owned by the builder */
	char *dir;                   /* relative paths resolve against it */
	int line, col;               /* where the scanner is */
	char last[80];               /* text of the last token, for syntax errors */
	bool lexerr;                 /* the last token was a reported lexical error */
	int braces;                  /* '{' minus '}' seen by the scanner */
	int skip_to;                 /* >= 0: drop tokens until braces is back here */
	/* One message per mistake: after a syntax or lexical error, the rest of
	 * its statement (or, for a block whose '{' is missing, the rest of that
	 * block) reports nothing more. */
	bool quiet, quiet_block, quiet_ending;
	int quiet_depth;
	unsigned depth;
	dev_t dev;
	ino_t ino;
	struct cfg_file *parent;
};
}

%code provides {
int cfgyylex(CFGYYSTYPE *lval, CFGYYLTYPE *lloc, void *scanner);
void cfgp_recover(struct cfg_file *f, int level);
/* A syntax or lexical error: reported unless the statement it is in already
 * had one; block: a block's '{' is missing (quiet to its '}'). */
void cfgp_syntax_error(struct cfg_file *f, const CFGYYLTYPE *loc, bool block, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The keyword closest to a misspelt word (at most two edits), or NULL. */
const char *cfgp_suggest(const char *word);

/* Builder calls (config.c). Strings passed in are owned by the callee. */
void cfgp_error(struct cfg_file *f, const CFGYYLTYPE *loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void cfgp_lex_step(struct cfg_file *f, CFGYYLTYPE *loc, const char *text, size_t len);
void cfgp_include(struct cfg_file *f, const CFGYYLTYPE *loc, char *path);
void cfgp_site(struct cfg_file *f, const CFGYYLTYPE *loc, const struct cfg_num *code);
void cfgp_string(struct cfg_file *f, const CFGYYLTYPE *loc, enum cfg_key key, char *s);
void cfgp_number(struct cfg_file *f, const CFGYYLTYPE *loc, enum cfg_key key,
		 const struct cfg_num *n);
long cfgp_port(struct cfg_file *f, const CFGYYLTYPE *loc, const struct cfg_num *n);
void cfgp_listen(struct cfg_file *f, const CFGYYLTYPE *loc, char *side,
		 const CFGYYLTYPE *addr_loc, char *addr, long port);
void cfgp_interface(struct cfg_file *f, const CFGYYLTYPE *loc, char *side, char *name);
void cfgp_server(struct cfg_file *f, const CFGYYLTYPE *loc, char *system,
		 const CFGYYLTYPE *addr_loc, char *addr, long port);
void cfgp_lan_allow(struct cfg_file *f, const CFGYYLTYPE *loc, char *prefix);
void cfgp_mgmt_network(struct cfg_file *f, const CFGYYLTYPE *loc, char *prefix);
void cfgp_crl(struct cfg_file *f, const CFGYYLTYPE *loc, char *path);
void cfgp_peer_begin(struct cfg_file *f, const CFGYYLTYPE *loc, const struct cfg_num *code);
void cfgp_peer_address(struct cfg_file *f, const CFGYYLTYPE *loc, char *addr, long port);
void cfgp_peer_source(struct cfg_file *f, const CFGYYLTYPE *loc, char *prefix);
void cfgp_peer_end(struct cfg_file *f);
void cfgp_quarantine(struct cfg_file *f, const CFGYYLTYPE *loc,
		     const struct cfg_num *failures, const CFGYYLTYPE *window_loc,
		     const struct cfg_num *window, const CFGYYLTYPE *for_loc,
		     const struct cfg_num *duration);
enum cfg_dest { CFG_DEST_DNS, CFG_DEST_NTP, CFG_DEST_NTS };
void cfgp_fw_dest(struct cfg_file *f, const CFGYYLTYPE *loc, enum cfg_dest kind, char *addr,
		  long port);
void cfgp_collector(struct cfg_file *f, const CFGYYLTYPE *loc);
void cfgp_collector_host(struct cfg_file *f, const CFGYYLTYPE *loc, char *addr);
void cfgp_firewall(struct cfg_file *f, const CFGYYLTYPE *loc);
void cfgp_metrics_listen(struct cfg_file *f, const CFGYYLTYPE *loc,
			 const CFGYYLTYPE *addr_loc, char *addr, long port);
/* ha { } (config_ha.c). */
void cfgp_ha(struct cfg_file *f, const CFGYYLTYPE *loc);
void cfgp_ha_partner(struct cfg_file *f, const CFGYYLTYPE *loc, char *addr);
}

%code {
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void cfgyyerror(const CFGYYLTYPE *loc, void *scanner, struct cfg_file *f, const char *msg);
}

%union {
	char *str;
	struct cfg_num num;
	long port;
}

%destructor { free($$); } <str>

%token <str> STRING "string" WORD "word" ADDR "ip-address"
%token <num> NUMBER "number"
%token LEXERR "invalid token"

%token INCLUDE "include" SITE "site" CATALOG "catalog" LISTEN "listen"
%token INTERFACE "interface" CONTROL_SOCKET "control-socket" USER "user"
%token CONTROL "control" SOCKET "socket" ADMIN_GROUP "admin-group"
%token GROUP "group" PID_FILE "pid-file" SERVER "server" LAN_ALLOW "lan-allow"
%token MANAGEMENT "management" NETWORK "network" SSH_PORT "ssh-port"
%token TLS "tls" CERTIFICATE "certificate" KEY "key" CA "ca" CRL "crl"
%token CRL_POLICY "crl-policy" CRL_ALARM "crl-alarm" TLS12 "tls12"
%token SOURCE_CHECK "source-check"
%token PEER "peer" ADDRESS "address" PORT "port" SOURCE "source"
%token TIMEOUTS "timeouts" HANDSHAKE "handshake" IDLE "idle" CONNECT "connect"
%token SHUTDOWN "shutdown" FIRST_FRAME "first-frame" FRAME "frame"
%token LIMITS "limits" TUNNELS "tunnels" PER_PEER "per-peer" PER_SOURCE "per-source"
%token OUTSTANDING "outstanding" BUFFER "buffer" SKEW "skew"
%token FIREWALL "firewall" ENABLED "enabled" TABLE "table"
%token NFLOG_GROUP "nflog-group" RATE "rate" BURST "burst"
%token CONN_LIMIT "conn-limit" QUARANTINE "quarantine" AFTER "after"
%token QUARANTINE_LAN "quarantine-lan"
%token FAILURES "failures" WITHIN "within" FOR "for"
%token KEEP_ON_STOP "keep-on-stop" DNS "dns" NTP "ntp" NTS "nts"
%token DROP_INTERVAL "drop-interval"
%token AUDIT "audit" SPOOL "spool" ROTATE "rotate" COMMIT "commit"
%token STATS_INTERVAL "stats-interval" COLLECTOR "collector" HOST "host" NAME "name"
%token METRICS "metrics" TEXTFILE "textfile" INTERVAL "interval"
%token RETAIN "retain" RETAIN_SIZE "retain-size" REQUIRE_ARCHIVE "require-archive"
%token HA "ha" MEMBER "member" PARTNER "partner" SYNC_PORT "sync-port"
%token DISK_ALARM "disk-alarm" DISK_LIMIT "disk-limit" DISK_POLICY "disk-policy"
%token WORKERS "workers"

%type <str> name
%type <port> opt_port port opt_nts

%%

config		: %empty
		| config stmt
		;

name		: STRING
		| WORD
		;

opt_semi	: %empty
		| ';'
		;

port		: PORT NUMBER		{ $$ = cfgp_port(f, &@2, &$2); }
		;

opt_port	: %empty		{ $$ = -1; }
		| port
		;

opt_nts		: %empty		{ $$ = 0; }
		| NTS			{ $$ = 1; }
		;

stmt		: INCLUDE STRING ';'	{ cfgp_include(f, &@2, $2); }
		| SITE NUMBER ';'	{ cfgp_site(f, &@2, &$2); }
		| CATALOG STRING ';'	{ cfgp_string(f, &@2, CFG_K_CATALOG, $2); }
		| LISTEN WORD ADDR opt_port ';'
					{ cfgp_listen(f, &@2, $2, &@3, $3, $4); }
		| LISTEN WORD port ';'	{ cfgp_listen(f, &@2, $2, NULL, NULL, $3); }
		| INTERFACE WORD name ';'
					{ cfgp_interface(f, &@2, $2, $3); }
		| CONTROL_SOCKET STRING ';'
					{ cfgp_string(f, &@2, CFG_K_CONTROL, $2); }
		| CONTROL '{' control_stmts '}' opt_semi
		| CONTROL '{' control_stmts error '}' opt_semi
					{ yyerrok; cfgp_recover(f, 0); }
		| USER name ';'		{ cfgp_string(f, &@2, CFG_K_USER, $2); }
		| GROUP name ';'	{ cfgp_string(f, &@2, CFG_K_GROUP, $2); }
		| PID_FILE STRING ';'	{ cfgp_string(f, &@2, CFG_K_PIDFILE, $2); }
		| WORKERS NUMBER ';'	{ cfgp_number(f, &@2, CFG_K_WORKERS, &$2); }
		| SERVER WORD ADDR port ';'
					{ cfgp_server(f, &@2, $2, &@3, $3, $4); }
		| LAN_ALLOW '{' allow_list '}' opt_semi
		| LAN_ALLOW '{' allow_list error '}' opt_semi
					{ yyerrok; cfgp_recover(f, 0); }
		| MANAGEMENT '{' mgmt_stmts '}' opt_semi
		| MANAGEMENT '{' mgmt_stmts error '}' opt_semi
					{ yyerrok; cfgp_recover(f, 0); }
		| TLS '{' tls_stmts '}' opt_semi
		| TLS '{' tls_stmts error '}' opt_semi
					{ yyerrok; cfgp_recover(f, 0); }
		| PEER NUMBER		{ cfgp_peer_begin(f, &@2, &$2); }
		  '{' peer_stmts peer_end
		| TIMEOUTS '{' timeout_stmts '}' opt_semi
		| TIMEOUTS '{' timeout_stmts error '}' opt_semi
					{ yyerrok; cfgp_recover(f, 0); }
		| LIMITS '{' limit_stmts '}' opt_semi
		| LIMITS '{' limit_stmts error '}' opt_semi
					{ yyerrok; cfgp_recover(f, 0); }
		| FIREWALL		{ cfgp_firewall(f, &@1); }
		  '{' fw_stmts fw_end
		| AUDIT '{' audit_stmts '}' opt_semi
		| AUDIT '{' audit_stmts error '}' opt_semi
					{ yyerrok; cfgp_recover(f, 0); }
		| HA			{ cfgp_ha(f, &@1); }
		  '{' ha_stmts fw_end
		| METRICS '{' metrics_stmts '}' opt_semi
		| METRICS '{' metrics_stmts error '}' opt_semi
					{ yyerrok; cfgp_recover(f, 0); }
		| error ';'		{ yyerrok; cfgp_recover(f, 0); }
		| error '}' opt_semi	{ yyerrok; cfgp_recover(f, 0); }
		;

peer_end	: '}' opt_semi		{ cfgp_peer_end(f); }
		| error '}' opt_semi	{ cfgp_peer_end(f); yyerrok; cfgp_recover(f, 0); }
		;

allow_list	: %empty
		| allow_list ADDR ';'	{ cfgp_lan_allow(f, &@2, $2); }
		| allow_list error ';'	{ yyerrok; cfgp_recover(f, 1); }
		;

mgmt_stmts	: %empty
		| mgmt_stmts mgmt_stmt
		;

mgmt_stmt	: NETWORK ADDR ';'	{ cfgp_mgmt_network(f, &@2, $2); }
		| SSH_PORT NUMBER ';'	{ cfgp_number(f, &@2, CFG_K_SSH_PORT, &$2); }
		| error ';'		{ yyerrok; cfgp_recover(f, 1); }
		;

control_stmts	: %empty
		| control_stmts control_stmt
		;

control_stmt	: SOCKET STRING ';'	{ cfgp_string(f, &@2, CFG_K_CONTROL, $2); }
		| GROUP name ';'	{ cfgp_string(f, &@2, CFG_K_CTL_GROUP, $2); }
		| ADMIN_GROUP name ';'	{ cfgp_string(f, &@2, CFG_K_CTL_ADMIN, $2); }
		| error ';'		{ yyerrok; cfgp_recover(f, 1); }
		;

tls_stmts	: %empty
		| tls_stmts tls_stmt
		;

tls_stmt	: CERTIFICATE STRING ';'
					{ cfgp_string(f, &@2, CFG_K_TLS_CERT, $2); }
		| KEY STRING ';'	{ cfgp_string(f, &@2, CFG_K_TLS_KEY, $2); }
		| CA STRING ';'		{ cfgp_string(f, &@2, CFG_K_TLS_CA, $2); }
		| CRL STRING ';'	{ cfgp_crl(f, &@2, $2); }
		| CRL_POLICY WORD ';'	{ cfgp_string(f, &@2, CFG_K_CRL_POLICY, $2); }
		| CRL_ALARM NUMBER ';'	{ cfgp_number(f, &@2, CFG_K_CRL_ALARM, &$2); }
		| TLS12 WORD ';'	{ cfgp_string(f, &@2, CFG_K_TLS12, $2); }
		| SOURCE_CHECK WORD ';'	{ cfgp_string(f, &@2, CFG_K_TLS_SOURCE_CHECK, $2); }
		| error ';'		{ yyerrok; cfgp_recover(f, 1); }
		;

peer_stmts	: %empty
		| peer_stmts peer_stmt
		;

peer_stmt	: ADDRESS ADDR opt_port ';'
					{ cfgp_peer_address(f, &@2, $2, $3); }
		| SOURCE ADDR ';'	{ cfgp_peer_source(f, &@2, $2); }
		| error ';'		{ yyerrok; cfgp_recover(f, 1); }
		;

timeout_stmts	: %empty
		| timeout_stmts timeout_stmt
		;

timeout_stmt	: HANDSHAKE NUMBER ';'	{ cfgp_number(f, &@2, CFG_K_T_HANDSHAKE, &$2); }
		| IDLE NUMBER ';'	{ cfgp_number(f, &@2, CFG_K_T_IDLE, &$2); }
		| CONNECT NUMBER ';'	{ cfgp_number(f, &@2, CFG_K_T_CONNECT, &$2); }
		| SHUTDOWN NUMBER ';'	{ cfgp_number(f, &@2, CFG_K_T_SHUTDOWN, &$2); }
		| FIRST_FRAME NUMBER ';'
					{ cfgp_number(f, &@2, CFG_K_T_FIRST_FRAME, &$2); }
		| FRAME NUMBER ';'	{ cfgp_number(f, &@2, CFG_K_T_FRAME, &$2); }
		| error ';'		{ yyerrok; cfgp_recover(f, 1); }
		;

limit_stmts	: %empty
		| limit_stmts limit_stmt
		;

limit_stmt	: TUNNELS NUMBER ';'	{ cfgp_number(f, &@2, CFG_K_L_TUNNELS, &$2); }
		| PER_PEER NUMBER ';'	{ cfgp_number(f, &@2, CFG_K_L_PER_PEER, &$2); }
		| PER_SOURCE NUMBER ';'	{ cfgp_number(f, &@2, CFG_K_L_PER_SOURCE, &$2); }
		| OUTSTANDING NUMBER ';'
					{ cfgp_number(f, &@2, CFG_K_L_OUTSTANDING, &$2); }
		| BUFFER NUMBER ';'	{ cfgp_number(f, &@2, CFG_K_L_BUFFER, &$2); }
		| SKEW NUMBER ';'	{ cfgp_number(f, &@2, CFG_K_L_SKEW, &$2); }
		| error ';'		{ yyerrok; cfgp_recover(f, 1); }
		;

fw_end		: '}' opt_semi
		| error '}' opt_semi	{ yyerrok; cfgp_recover(f, 0); }
		;

fw_stmts	: %empty
		| fw_stmts fw_stmt
		;

fw_stmt		: ENABLED WORD ';'	{ cfgp_string(f, &@2, CFG_K_FW_ENABLED, $2); }
		| TABLE name ';'	{ cfgp_string(f, &@2, CFG_K_FW_TABLE, $2); }
		| NFLOG_GROUP NUMBER ';'
					{ cfgp_number(f, &@2, CFG_K_FW_NFLOG, &$2); }
		| RATE NUMBER ';'	{ cfgp_number(f, &@2, CFG_K_FW_RATE, &$2); }
		| BURST NUMBER ';'	{ cfgp_number(f, &@2, CFG_K_FW_BURST, &$2); }
		| CONN_LIMIT NUMBER ';'	{ cfgp_number(f, &@2, CFG_K_FW_CONN_LIMIT, &$2); }
		| QUARANTINE AFTER NUMBER FAILURES WITHIN NUMBER FOR NUMBER ';'
					{ cfgp_quarantine(f, &@3, &$3, &@6, &$6, &@8, &$8); }
		| KEEP_ON_STOP WORD ';'	{ cfgp_string(f, &@2, CFG_K_FW_KEEP, $2); }
		| QUARANTINE_LAN WORD ';'
					{ cfgp_string(f, &@2, CFG_K_FW_QUAR_LAN, $2); }
		| DNS ADDR opt_port ';'	{ cfgp_fw_dest(f, &@2, CFG_DEST_DNS, $2, $3); }
		| NTP ADDR opt_port opt_nts ';'
					{ cfgp_fw_dest(f, &@2, $4 ? CFG_DEST_NTS : CFG_DEST_NTP, $2, $3); }
		| DROP_INTERVAL NUMBER ';'
					{ cfgp_number(f, &@2, CFG_K_FW_DROP_INTERVAL, &$2); }
		| error ';'		{ yyerrok; cfgp_recover(f, 1); }
		;

audit_stmts	: %empty
		| audit_stmts audit_stmt
		;

audit_stmt	: SPOOL STRING ';'	{ cfgp_string(f, &@2, CFG_K_A_SPOOL, $2); }
		| KEY STRING ';'	{ cfgp_string(f, &@2, CFG_K_A_KEY, $2); }
		| ROTATE NUMBER ';'	{ cfgp_number(f, &@2, CFG_K_A_ROTATE, &$2); }
		| COMMIT NUMBER ';'	{ cfgp_number(f, &@2, CFG_K_A_COMMIT, &$2); }
		| STATS_INTERVAL NUMBER ';'
					{ cfgp_number(f, &@2, CFG_K_A_STATS, &$2); }
		| DISK_ALARM NUMBER ';'	{ cfgp_number(f, &@2, CFG_K_A_DISK_ALARM, &$2); }
		| DISK_LIMIT NUMBER ';'	{ cfgp_number(f, &@2, CFG_K_A_DISK_LIMIT, &$2); }
		| DISK_POLICY WORD ';'	{ cfgp_string(f, &@2, CFG_K_A_DISK_POLICY, $2); }
		| RETAIN NUMBER ';'	{ cfgp_number(f, &@2, CFG_K_A_RETAIN, &$2); }
		| RETAIN_SIZE NUMBER ';'
					{ cfgp_number(f, &@2, CFG_K_A_RETAIN_SIZE, &$2); }
		| REQUIRE_ARCHIVE WORD ';'
					{ cfgp_string(f, &@2, CFG_K_A_REQUIRE_ARCHIVE, $2); }
		| COLLECTOR		{ cfgp_collector(f, &@1); }
		  '{' collector_stmts collector_end
		| error ';'		{ yyerrok; cfgp_recover(f, 1); }
		;

ha_stmts	: %empty
		| ha_stmts ha_stmt
		;

ha_stmt		: MEMBER name ';'	{ cfgp_string(f, &@2, CFG_K_HA_MEMBER, $2); }
		| PARTNER ADDR ';'	{ cfgp_ha_partner(f, &@2, $2); }
		| INTERFACE name ';'	{ cfgp_string(f, &@2, CFG_K_HA_IF, $2); }
		| SYNC_PORT NUMBER ';'	{ cfgp_number(f, &@2, CFG_K_HA_SYNC_PORT, &$2); }
		| error ';'		{ yyerrok; cfgp_recover(f, 1); }
		;

metrics_stmts	: %empty
		| metrics_stmts metrics_stmt
		;

metrics_stmt	: LISTEN ADDR opt_port ';'
					{ cfgp_metrics_listen(f, &@1, &@2, $2, $3); }
		| TEXTFILE STRING ';'	{ cfgp_string(f, &@2, CFG_K_M_TEXTFILE, $2); }
		| INTERVAL NUMBER ';'	{ cfgp_number(f, &@2, CFG_K_M_INTERVAL, &$2); }
		| error ';'		{ yyerrok; cfgp_recover(f, 1); }
		;

collector_end	: '}' opt_semi
		| error '}' opt_semi	{ yyerrok; cfgp_recover(f, 1); }
		;

collector_stmts	: %empty
		| collector_stmts collector_stmt
		;

collector_stmt	: HOST ADDR ';'		{ cfgp_collector_host(f, &@2, $2); }
		| PORT NUMBER ';'	{ cfgp_number(f, &@2, CFG_K_C_PORT, &$2); }
		| CA STRING ';'		{ cfgp_string(f, &@2, CFG_K_C_CA, $2); }
		| CERTIFICATE STRING ';'
					{ cfgp_string(f, &@2, CFG_K_C_CERT, $2); }
		| KEY STRING ';'	{ cfgp_string(f, &@2, CFG_K_C_KEY, $2); }
		| NAME name ';'		{ cfgp_string(f, &@2, CFG_K_C_NAME, $2); }
		| error ';'		{ yyerrok; cfgp_recover(f, 2); }
		;

%%

static bool is_keyword(yysymbol_kind_t sym)
{
	return sym >= YYSYMBOL_INCLUDE && sym <= YYSYMBOL_DISK_POLICY;
}

/* How a symbol reads in a message: a kind of value, or a literal. */
static const char *describe(yysymbol_kind_t sym, char *buf, size_t len)
{
	const char *name = yysymbol_name(sym);

	switch (sym) {
	case YYSYMBOL_STRING: return "a quoted string";
	case YYSYMBOL_WORD:   return "a word";
	case YYSYMBOL_ADDR:   return "an address";
	case YYSYMBOL_NUMBER: return "a number";
	case YYSYMBOL_YYEOF:  return "end of file";
	default: break;
	}
	if (name[0] == '"' && strlen(name) >= 2)
		snprintf(buf, len, "'%.*s'", (int)strlen(name) - 2, name + 1);
	else
		snprintf(buf, len, "%s", name);
	return buf;
}

/* Name what was found and, when the list is short, what was expected. A
 * word where a statement was expected is almost always a misspelling. */
static int yyreport_syntax_error(const yypcontext_t *ctx, void *scanner, struct cfg_file *f)
{
	enum { MAX_EXPECTED = 5 };
	yysymbol_kind_t expected[MAX_EXPECTED];
	yysymbol_kind_t found = yypcontext_token(ctx);
	const CFGYYLTYPE *loc = yypcontext_location(ctx);
	int n = yypcontext_expected_tokens(ctx, expected, MAX_EXPECTED);
	bool statement = false;
	char want[256] = "", buf[64];
	size_t used = 0;

	(void)scanner;
	if (found == YYSYMBOL_LEXERR)
		return 0;               /* the scanner has said why */
	for (int i = 0; i < n; i++)
		statement |= is_keyword(expected[i]);
	if (found == YYSYMBOL_YYEOF) {
		cfgp_syntax_error(f, loc, false, "unexpected end of file (a missing ';' or '}'?)");
		return 0;
	}
	if (found == YYSYMBOL_WORD && (statement || n <= 0)) {
		const char *near = cfgp_suggest(f->last);

		if (near)
			cfgp_syntax_error(f, loc, false, "unknown keyword '%s' (did you mean '%s'?)",
					  f->last, near);
		else
			cfgp_syntax_error(f, loc, false, "unknown keyword '%s'", f->last);
		return 0;
	}
	if (is_keyword(found) && (statement || n <= 0)) {
		cfgp_syntax_error(f, loc, false, "'%s' is not allowed here", f->last);
		return 0;
	}
	for (int i = 0; i < n && used < sizeof(want); i++)
		used += (size_t)snprintf(want + used, sizeof(want) - used, "%s%s",
					 i == 0 ? ", expecting " : i == n - 1 ? " or " : ", ",
					 describe(expected[i], buf, sizeof(buf)));
	/* A block keyword without its '{': its statements would each be an
	 * error at the level above; the block's end closes the mistake. */
	cfgp_syntax_error(f, loc, n == 1 && strcmp(yysymbol_name(expected[0]), "'{'") == 0,
			  "unexpected '%s'%s", f->last, want);
	return 0;
}

static void cfgyyerror(const CFGYYLTYPE *loc, void *scanner, struct cfg_file *f, const char *msg)
{
	(void)scanner;
	cfgp_error(f, loc, "%s", msg);
}
