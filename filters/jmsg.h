/*
 * jmsg.h — JMSG v1 wire constants and node codes (wire.md §1–§2).
 *
 * The one place that knows the header layout and what a node code is.
 * Everything here is pure: no allocation, no I/O.
 */
#ifndef JGW_JMSG_H
#define JGW_JMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JMSG_MAGIC0        0x4A
#define JMSG_MAGIC1        0x4B
#define JMSG_VERSION       1
#define JMSG_HDR_LEN       48
#define JMSG_FLAG_RESPONSE 0x01
#define JMSG_BODY_HARD_MAX (16u * 1024 * 1024)
#define JMSG_NODE_LEN      6

/* Header field offsets (wire.md §2). */
enum {
	JMSG_OFF_MAGIC = 0, JMSG_OFF_VERSION = 2, JMSG_OFF_FLAGS = 3,
	JMSG_OFF_TYPE = 4, JMSG_OFF_RESERVED = 6, JMSG_OFF_BODY_LEN = 8,
	JMSG_OFF_SEQ = 12, JMSG_OFF_REF = 20, JMSG_OFF_TIME = 28,
	JMSG_OFF_SENDER = 36, JMSG_OFF_RECEIVER = 42,
};

/* A node code as a NUL-terminated string: 6 ASCII digits + NUL. */
typedef char jmsg_node[JMSG_NODE_LEN + 1];

enum jmsg_role {
	JMSG_ROLE_INVALID = 0,
	JMSG_ROLE_JLIS,          /* 000000 */
	JMSG_ROLE_PREFECTURE,    /* PP0000 + check */
	JMSG_ROLE_MUNICIPALITY,  /* PPMMM + check, MMM != 000 */
};

/* Role of a 6-byte code (not necessarily NUL-terminated); INVALID on any
 * rule of wire.md §1 broken: non-digit, PP outside 01..47, bad check digit. */
enum jmsg_role jmsg_node_role(const uint8_t code[JMSG_NODE_LEN]);

/* True when a NUL-terminated string is exactly a valid node code. */
bool jmsg_node_valid(const char *s);

/* The prefecture number (1..47) of a prefecture or municipality code, 0 else. */
int jmsg_node_prefecture(const uint8_t code[JMSG_NODE_LEN]);

/* The node code of prefecture pp (1..47) into out; false when pp is out of range. */
bool jmsg_prefecture_node(int pp, jmsg_node out);

/* The 全国地方公共団体コード check digit of the first five digits ('0'..'9'). */
char jmsg_lg_check_digit(const uint8_t first5[5]);

const char *jmsg_role_name(enum jmsg_role role);

/* Big-endian loads and stores, without alignment assumptions. */
static inline uint16_t jmsg_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t jmsg_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t jmsg_be64(const uint8_t *p)
{
	return (uint64_t)jmsg_be32(p) << 32 | jmsg_be32(p + 4);
}
static inline void jmsg_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void jmsg_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void jmsg_put64(uint8_t *p, uint64_t v)
{
	jmsg_put32(p, (uint32_t)(v >> 32)); jmsg_put32(p + 4, (uint32_t)v);
}

#endif
