/*
 * values.h — the value kinds of docs/protocol.md §4, checked without copying.
 *
 * Whole-value checks take a pointer and a length and only read; the UTF-8
 * check also exists as a streaming validator, so that the inspection engine
 * can check a text value split across reads without buffering it.
 */
#ifndef JGW_VALUES_H
#define JGW_VALUES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "filters/base/utf8.h"
#include "filters/engine/catalog.h"

#define VAL_RESIDENT_LEN   11
#define VAL_INDIVIDUAL_LEN 12
#define VAL_DATE_LEN       8
#define VAL_YEAR_MIN       1868
#define VAL_YEAR_MAX       2200

/* Exactly n bytes '0'..'9' (n may be 0: true). */
bool val_digits(const uint8_t *p, size_t n);

/* Check digit ('0'..'9') of a 住民票コード's first ten digits. */
char val_resident_check(const uint8_t first10[10]);
/* Check digit ('0'..'9') of a 個人番号's first eleven digits. */
char val_individual_check(const uint8_t first11[11]);

bool val_resident_code(const uint8_t *p, size_t n);
bool val_individual_number(const uint8_t *p, size_t n);
/* YYYYMMDD, a real Gregorian date, year VAL_YEAR_MIN..VAL_YEAR_MAX. */
bool val_date(const uint8_t *p, size_t n);
bool val_nodecode(const uint8_t *p, size_t n);
/* A municipality or prefecture code (not 000000). */
bool val_lgcode(const uint8_t *p, size_t n);

/* text:max — 1..max bytes of such UTF-8. */
bool val_text(const uint8_t *p, size_t n, size_t max);

/* Exactly one of the enum values of f. */
bool val_enum(const struct cat_field *f, const uint8_t *p, size_t n);

/* One value of field f, whole, by its kind (containers: false). */
bool val_check(const struct cat_field *f, const uint8_t *p, size_t n);

/* val_check for a value whose length already passed val_length_ok (the
 * engine's hot path: one call per field). */
bool val_value(const struct cat_field *f, const uint8_t *p, size_t n);

/* Can a value of n bytes be valid for f at all? Decided from the length
 * alone, before any byte of the value is read. */
bool val_length_ok(const struct cat_field *f, size_t n);

#endif
