/* duration.c — spans of time in the configuration's units. */
#include "filters/base/duration.h"

#include <string.h>

static const struct {
	const char *unit;
	uint64_t ms;
} units[] = {
	{ "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "min", 60 * 1000 },
	{ "h", 3600 * 1000 }, { "d", 24 * 3600 * 1000 },
};

bool dur_parse_ms(const char *s, uint64_t max_ms, bool zero_ok, uint64_t *ms)
{
	uint64_t v = 0;
	const char *p = s;

	if (!s)
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > max_ms)
			return false;
	}
	if (p == s)
		return false;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(p, units[i].unit) != 0)
			continue;
		if (v > max_ms / units[i].ms || (v == 0 && !zero_ok))
			return false;
		*ms = v * units[i].ms;
		return true;
	}
	return false;
}
