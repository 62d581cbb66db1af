/*
 * node.h — node codes and their roles (docs/protocol.md §1): 000000 for 機構,
 * a prefecture's PP0000 + check digit, a municipality's PPMMM + check digit
 * (the 全国地方公共団体コード). Pure functions; every part of jgw that names
 * a site uses them (engine, policy, TLS identities, audit records).
 */
#ifndef JGW_NODE_H
#define JGW_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define NODE_CODE_LEN 6

/* A node code as a NUL-terminated string: 6 ASCII digits + NUL. */
typedef char node_code[NODE_CODE_LEN + 1];

enum node_role {
	NODE_ROLE_INVALID = 0,
	NODE_ROLE_JLIS,          /* 000000 */
	NODE_ROLE_PREFECTURE,    /* PP0000 + check */
	NODE_ROLE_MUNICIPALITY,  /* PPMMM + check, MMM != 000 */
};

/* Role of a 6-byte code (not necessarily NUL-terminated); INVALID on any
 * rule broken: a non-digit, PP outside 01..47, a wrong check digit. Inline:
 * the engine meets a code in every record of a batch. Never reads more
 * than six bytes. */
static inline enum node_role node_role(const uint8_t code[NODE_CODE_LEN])
{
	static const uint8_t weight[5] = { 6, 5, 4, 3, 2 };
	unsigned bad = 0;
	int pp, sum = 0;

	for (int i = 0; i < NODE_CODE_LEN; i++)
		bad |= (unsigned)(code[i] - '0') > 9;
	if (bad)
		return NODE_ROLE_INVALID;
	if (memcmp(code, "000000", NODE_CODE_LEN) == 0)
		return NODE_ROLE_JLIS;
	pp = (code[0] - '0') * 10 + (code[1] - '0');
	for (int i = 0; i < 5; i++)
		sum += (code[i] - '0') * weight[i];
	if (pp < 1 || pp > 47 || code[5] != '0' + (11 - sum % 11) % 10)
		return NODE_ROLE_INVALID;
	return memcmp(code + 2, "000", 3) == 0 ? NODE_ROLE_PREFECTURE : NODE_ROLE_MUNICIPALITY;
}

/* True when a NUL-terminated string is exactly a valid node code. */
bool node_valid(const char *s);

/* The prefecture number (1..47) of a prefecture or municipality code, 0 else. */
int node_prefecture(const uint8_t code[NODE_CODE_LEN]);

/* The check digit ('0'..'9') of the first five digits. */
char node_check_digit(const uint8_t first5[5]);

const char *node_role_name(enum node_role role);

#endif
