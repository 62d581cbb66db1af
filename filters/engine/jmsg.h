/*
 * jmsg.h — JMSG v1 wire constants (docs/protocol.md §2): the header
 * layout and big-endian access. Node codes are filters/base/node.h.
 *
 * The one place that knows the header layout.
 * Everything here is pure: no allocation, no I/O.
 */
#ifndef JGW_JMSG_H
#define JGW_JMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "filters/base/node.h"

#define JMSG_MAGIC0        0x4A
#define JMSG_MAGIC1        0x4B
#define JMSG_VERSION       1
#define JMSG_HDR_LEN       48
#define JMSG_FLAG_RESPONSE 0x01
#define JMSG_BODY_HARD_MAX (16u * 1024 * 1024)

/* Header field offsets (docs/protocol.md §2). */
enum {
	JMSG_OFF_MAGIC = 0, JMSG_OFF_VERSION = 2, JMSG_OFF_FLAGS = 3,
	JMSG_OFF_TYPE = 4, JMSG_OFF_RESERVED = 6, JMSG_OFF_BODY_LEN = 8,
	JMSG_OFF_SEQ = 12, JMSG_OFF_REF = 20, JMSG_OFF_TIME = 28,
	JMSG_OFF_SENDER = 36, JMSG_OFF_RECEIVER = 42,
};

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
