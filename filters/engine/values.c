/* values.c — value kinds (docs/protocol.md §4). */
#include "filters/engine/values.h"

#include <string.h>

#include "filters/engine/jmsg.h"

/* Bytes assembled little-endian whatever the host order, so the masks below
 * name byte 0 in their lowest eight bits; compilers turn this into one load. */
static inline uint64_t load_le64(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	       (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
	       (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

/* Eight bytes '0'..'9' at once: every high nibble is 3, and adding 6 to
 * each byte keeps it so (0x3A..0x3F would carry into 0x4_). No byte can
 * carry into its neighbour once the first test holds. */
static inline bool digits8(const uint8_t *p)
{
	const uint64_t hi = 0xF0F0F0F0F0F0F0F0ull, three = 0x3030303030303030ull;
	uint64_t x = load_le64(p);
	return ((x & hi) == three) & (((x + 0x0606060606060606ull) & hi) == three);
}

bool val_digits(const uint8_t *p, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8)
		if (!digits8(p + i))
			return false;
	for (; i < n; i++)
		if ((unsigned)(p[i] - '0') > 9)
			return false;
	return true;
}

static char mod11_check(int sum)
{
	int r = sum % 11;
	return (char)('0' + (r <= 1 ? 0 : 11 - r));
}

char val_resident_check(const uint8_t first10[10])
{
	/* weights 2,3,4,5,6,7,2,3,4,5 from the rightmost of the ten */
	static const int weight[10] = { 5, 4, 3, 2, 7, 6, 5, 4, 3, 2 };
	int sum = 0;

	for (int i = 0; i < 10; i++)
		sum += (first10[i] - '0') * weight[i];
	return mod11_check(sum);
}

char val_individual_check(const uint8_t first11[11])
{
	static const int weight[11] = { 6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2 };
	int sum = 0;

	for (int i = 0; i < 11; i++)
		sum += (first11[i] - '0') * weight[i];
	return mod11_check(sum);
}

bool val_resident_code(const uint8_t *p, size_t n)
{
	/* bytes 0..7 and 3..10: the eleven digits in two overlapping words */
	return n == VAL_RESIDENT_LEN && digits8(p) && digits8(p + 3) &&
	       val_resident_check(p) == (char)p[10];
}

bool val_individual_number(const uint8_t *p, size_t n)
{
	return n == VAL_INDIVIDUAL_LEN && digits8(p) && digits8(p + 4) &&
	       val_individual_check(p) == (char)p[11];
}

static int num(const uint8_t *p, size_t n)
{
	int v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (p[i] - '0');
	return v;
}

bool val_date(const uint8_t *p, size_t n)
{
	/* Days of each month, in a leap year, then in a common year. */
	static const uint8_t mdays[2][13] = {
		{ 0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 },
		{ 0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 },
	};

	if (n != VAL_DATE_LEN || !digits8(p))
		return false;
	int year = num(p, 4), month = num(p + 4, 2), day = num(p + 6, 2);
	if (year < VAL_YEAR_MIN || year > VAL_YEAR_MAX || month < 1 || month > 12 || day < 1)
		return false;
	/* The remainders by 100 and 400 are only computed for one year in four. */
	bool leap = (year & 3) == 0 && (year % 100 != 0 || year % 400 == 0);
	return day <= mdays[leap][month];
}

bool val_nodecode(const uint8_t *p, size_t n)
{
	return n == NODE_CODE_LEN && node_role(p) != NODE_ROLE_INVALID;
}

bool val_lgcode(const uint8_t *p, size_t n)
{
	if (n != NODE_CODE_LEN)
		return false;
	enum node_role role = node_role(p);
	return role == NODE_ROLE_PREFECTURE || role == NODE_ROLE_MUNICIPALITY;
}

/* A three-byte character that needs no range check beyond its continuation
 * bytes: lead E1..EC, EE or EF (most of Japanese text). E0 (overlong forms)
 * and ED (surrogates) are left to the streaming validator. */
static inline bool lead3_plain(uint8_t c)
{
	return (c & 0xF0) == 0xE0 && (c & 0x0F) != 0 && c != 0xED;
}

/* Two whole plain three-byte characters in the first six bytes of x (bytes
 * in little-endian order): lead, continuation, continuation, twice. */
static inline bool two_chars3(uint64_t x)
{
	const uint64_t mask = 0x0000C0C0F0C0C0F0ull, want = 0x00008080E08080E0ull;
	return (x & mask) == want && lead3_plain((uint8_t)x) && lead3_plain((uint8_t)(x >> 24));
}

/* What the fast path of val_text left: the streaming validator from there.
 * Kept out of line, so the common case (the whole value taken by the fast
 * path) sets up no validator state. */
static __attribute__((noinline)) bool text_rest(const uint8_t *p, size_t n)
{
	struct utf8_state u;

	utf8_text_init(&u);
	return utf8_text_feed(&u, p, n) && utf8_text_complete(&u);
}

/* Whole-value fast path: runs of printable ASCII, eight bytes at a step, and
 * of plain three-byte characters, two at a step; anything else (and the
 * tail) goes through the streaming validator from that point, so the two
 * paths accept exactly the same values (test_values compares them). */
bool val_text(const uint8_t *p, size_t n, size_t max)
{
	size_t i = 0;

	if (n < 1 || n > max)
		return false;
	while (i + 8 <= n) {
		if (utf8_ascii8(p + i)) {
			i += 8;
			continue;
		}
		uint64_t x = load_le64(p + i);
		if (two_chars3(x)) {
			i += 6;
		} else if ((x & 0xC0C0F0) == 0x8080E0 && lead3_plain((uint8_t)x)) {
			i += 3;
		} else if ((uint8_t)x >= 0x20 && (uint8_t)x < 0x7F) {
			i++;
		} else {
			break;
		}
	}
	/* The tail (under eight bytes) a character at a time. */
	while (i < n) {
		uint8_t c = p[i];
		if (c >= 0x20 && c < 0x7F)
			i++;
		else if (i + 3 <= n && lead3_plain(c) && (p[i + 1] & 0xC0) == 0x80 &&
			 (p[i + 2] & 0xC0) == 0x80)
			i += 3;
		else
			break;
	}
	return i == n || text_rest(p + i, n - i);
}

bool val_enum(const struct cat_field *f, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < f->n_enums; i++) {
		const char *e = f->enums[i];
		size_t j = 0;
		while (j < n && e[j] != '\0' && (uint8_t)e[j] == p[j])
			j++;
		if (j == n && e[n] == '\0')
			return true;
	}
	return false;
}

bool val_length_ok(const struct cat_field *f, size_t n)
{
	switch (f->kind) {
	case CAT_DIGITS:     return n == f->n;
	case CAT_NODECODE:
	case CAT_LGCODE:     return n == NODE_CODE_LEN;
	case CAT_RESIDENT:   return n == VAL_RESIDENT_LEN;
	case CAT_INDIVIDUAL: return n == VAL_INDIVIDUAL_LEN;
	case CAT_DATE:       return n == VAL_DATE_LEN;
	case CAT_TEXT:
	case CAT_BYTES:      return n >= 1 && n <= f->n;
	case CAT_UINT:       return n == f->n;
	case CAT_ENUM:
		for (size_t i = 0; i < f->n_enums; i++)
			if (strlen(f->enums[i]) == n)
				return true;
		return false;
	case CAT_CONTAINER:  return true;
	}
	return false;
}

bool val_check(const struct cat_field *f, const uint8_t *p, size_t n)
{
	if (!val_length_ok(f, n))
		return false;
	switch (f->kind) {
	case CAT_DIGITS:     return val_digits(p, n);
	case CAT_NODECODE:   return val_nodecode(p, n);
	case CAT_LGCODE:     return val_lgcode(p, n);
	case CAT_RESIDENT:   return val_resident_code(p, n);
	case CAT_INDIVIDUAL: return val_individual_number(p, n);
	case CAT_DATE:       return val_date(p, n);
	case CAT_TEXT:       return val_text(p, n, f->n);
	case CAT_ENUM:       return val_enum(f, p, n);
	case CAT_UINT:
	case CAT_BYTES:      return true;
	case CAT_CONTAINER:  return false;
	}
	return false;
}

/* The engine's per-field call: the same as val_check once val_length_ok
 * holds, without judging the length again, and with the kind checks of this
 * file inlined into one call. */
bool val_value(const struct cat_field *f, const uint8_t *p, size_t n)
{
	switch (f->kind) {
	case CAT_TEXT:       return val_text(p, n, f->n);
	case CAT_DIGITS:     return val_digits(p, n);
	case CAT_RESIDENT:   return val_resident_code(p, n);
	case CAT_INDIVIDUAL: return val_individual_number(p, n);
	case CAT_DATE:       return val_date(p, n);
	case CAT_NODECODE:   return val_nodecode(p, n);
	case CAT_LGCODE:     return val_lgcode(p, n);
	case CAT_ENUM:       return val_enum(f, p, n);
	case CAT_UINT:
	case CAT_BYTES:      return true;
	case CAT_CONTAINER:  return false;
	}
	return false;
}
