/*
 * duration.h — a span of time as netops write it, the same everywhere:
 * the configuration's units (`500ms`, `30s`, `10min`, `2h`, `7d`), and a
 * bare number meaning seconds (`jgwctl quarantine add ADDR 600`).
 */
#ifndef JGW_DURATION_H
#define JGW_DURATION_H

#include <stdbool.h>
#include <stdint.h>

/* Parse s into milliseconds, at most max_ms; false on anything else (an
 * unknown unit, no digits, zero when zero_ok is false, too large). */
bool dur_parse_ms(const char *s, uint64_t max_ms, bool zero_ok, uint64_t *ms);

#endif
