/* json.c — JSON string escaping. */
#include "filters/base/json.h"

#include <stdint.h>
#include <string.h>

#include "filters/base/utf8.h"

/* Printable ASCII that needs no escaping: the common case, copied in runs. */
static bool plain_ascii(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* The escape of one byte that needs one, in esc; its length. */
static size_t escape_byte(unsigned char c, char esc[8])
{
	static const char digits[] = "0123456789abcdef";

	switch (c) {
	case '"': return (size_t)(memcpy(esc, "\\\"", 2), 2);
	case '\\': return (size_t)(memcpy(esc, "\\\\", 2), 2);
	case '\n': return (size_t)(memcpy(esc, "\\n", 2), 2);
	case '\r': return (size_t)(memcpy(esc, "\\r", 2), 2);
	case '\t': return (size_t)(memcpy(esc, "\\t", 2), 2);
	default: break;
	}
	memcpy(esc, "\\u00", 4);
	esc[4] = digits[c >> 4];
	esc[5] = digits[c & 15];
	return 6;
}

static bool put(char *dst, size_t room, size_t *used, const void *p, size_t n)
{
	if (n > room - *used)
		return false;
	memcpy(dst + *used, p, n);
	*used += n;
	return true;
}

size_t json_escape(char *dst, size_t room, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t used = 0, left = strlen(s);
	char esc[8];

	while (left > 0) {
		size_t n = 0;
		bool ok;

		while (n < left && plain_ascii(p[n]))
			n++;
		if (n > 0) {
			ok = put(dst, room, &used, p, n);
		} else if (*p >= 0x80) {
			n = utf8_seq_len(p, left);
			ok = n ? put(dst, room, &used, p, n) : put(dst, room, &used, "\\ufffd", 6);
			n = n ? n : 1;
		} else {
			n = 1;
			ok = put(dst, room, &used, esc, escape_byte(*p, esc));
		}
		if (!ok)
			return (size_t)-1;
		p += n;
		left -= n;
	}
	return used;
}

void json_put_str(FILE *out, const char *s)
{
	char buf[512];
	size_t n;

	fputc('"', out);
	/* Short names in one step; a long string a chunk of whole characters
	 * at a time (cut at a lead byte, never inside a character). */
	while (*s) {
		size_t take = strlen(s);
		char chunk[96];

		if (take > 80) {
			take = 80;
			while (take > 0 && ((unsigned char)s[take] & 0xC0) == 0x80)
				take--;
			if (take == 0)
				take = 80;
		}
		memcpy(chunk, s, take);
		chunk[take] = '\0';
		n = json_escape(buf, sizeof(buf), chunk);   /* 80 bytes need <= 480 */
		if (n != (size_t)-1)
			fwrite(buf, 1, n, out);
		s += take;
	}
	fputc('"', out);
}
