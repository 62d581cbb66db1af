/*
 * utf8.h — the one UTF-8 checker of jgw (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF). The engine checks `text` values with
 * the streaming form (values split across reads), the JSON writer finds
 * each character with utf8_seq_len; both use the same lead-byte rules.
 */
#ifndef JGW_UTF8_H
#define JGW_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct utf8_state {
	uint8_t need;    /* continuation bytes still expected */
	uint8_t lo, hi;  /* range of the next continuation byte */
};

/* A lead byte of a multi-byte character: how many continuation bytes
 * follow and the range of the first (the rest are 80..BF). False when c
 * cannot lead (an ASCII byte, a continuation byte, C0, C1, F5..FF). */
static inline bool utf8_lead(uint8_t c, struct utf8_state *u)
{
	u->lo = 0x80;
	u->hi = 0xBF;
	if (c < 0xC2 || c > 0xF4)
		return false;
	if (c < 0xE0) {
		u->need = 1;
	} else if (c < 0xF0) {
		u->need = 2;
		if (c == 0xE0)
			u->lo = 0xA0;       /* overlong */
		else if (c == 0xED)
			u->hi = 0x9F;       /* surrogates */
	} else {
		u->need = 3;
		if (c == 0xF0)
			u->lo = 0x90;       /* overlong */
		else if (c == 0xF4)
			u->hi = 0x8F;       /* above U+10FFFF */
	}
	return true;
}

/* Eight bytes at once are plain printable ASCII: no high bit, nothing
 * below 0x20, no DEL. */
static inline bool utf8_ascii8(const uint8_t *p)
{
	uint64_t x;
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;

	memcpy(&x, p, 8);
	uint64_t below20 = (x - ones * 0x20) & ~x;
	uint64_t del = x ^ (ones * 0x7F);
	uint64_t isdel = (del - ones) & ~del;
	return ((x | below20 | isdel) & high) == 0;
}

/* Length (1..4) of the well-formed character at s, of at most avail
 * bytes; 0 when it is not one (or is cut short). ASCII, controls
 * included, is 1. */
size_t utf8_seq_len(const uint8_t *s, size_t avail);

/* Streaming check of text: well-formed UTF-8 without C0 controls or DEL. */
void utf8_text_init(struct utf8_state *u);
/* Feed n more bytes; false at the first bad byte (the state is then spent). */
bool utf8_text_feed(struct utf8_state *u, const uint8_t *p, size_t n);
/* True when the bytes fed so far end on a character boundary. */
bool utf8_text_complete(const struct utf8_state *u);

#endif
