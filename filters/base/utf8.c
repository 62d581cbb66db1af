/* utf8.c — UTF-8 well-formedness (RFC 3629). */
#include "filters/base/utf8.h"

size_t utf8_seq_len(const uint8_t *s, size_t avail)
{
	struct utf8_state u;

	if (avail == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (!utf8_lead(s[0], &u) || avail < (size_t)u.need + 1)
		return 0;
	for (size_t i = 1; i <= u.need; i++) {
		if (s[i] < u.lo || s[i] > u.hi)
			return 0;
		u.lo = 0x80;
		u.hi = 0xBF;
	}
	return (size_t)u.need + 1;
}

void utf8_text_init(struct utf8_state *u)
{
	u->need = 0;
	u->lo = 0x80;
	u->hi = 0xBF;
}

bool utf8_text_feed(struct utf8_state *u, const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = p[i];
		if (u->need > 0) {
			if (c < u->lo || c > u->hi)
				return false;
			u->need--;
			u->lo = 0x80;
			u->hi = 0xBF;
			i++;
			continue;
		}
		if (c < 0x80) {
			if (c < 0x20 || c == 0x7F)
				return false;
			i++;
			while (i + 8 <= n && utf8_ascii8(p + i))
				i += 8;
			continue;
		}
		if (!utf8_lead(c, u))
			return false;
		i++;
		/* Whole three-byte characters (most of Japanese text) in one step. */
		if (u->need == 2 && u->lo == 0x80 && u->hi == 0xBF && i + 2 <= n) {
			if ((p[i] & 0xC0) != 0x80 || (p[i + 1] & 0xC0) != 0x80)
				return false;
			u->need = 0;
			i += 2;
		}
	}
	return true;
}

bool utf8_text_complete(const struct utf8_state *u)
{
	return u->need == 0;
}
