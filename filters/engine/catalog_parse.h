/*
 * catalog_parse.h — private to the catalog module: what the bison grammar
 * (catalog.y) and the flex scanner (catalog.l) hand to catalog.c. The grammar
 * only records declarations with their positions; every semantic check runs
 * afterwards, in one place (catalog.c: resolve()).
 */
#ifndef JGW_CATALOG_PARSE_H
#define JGW_CATALOG_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "filters/engine/catalog.h"

struct cat_loc {
	int first_line, first_column, last_line, last_column;
};

/* A list of strings (enum values, answer references) as parsed. */
struct cat_strlist {
	char **v;
	struct cat_loc *loc;
	size_t n, cap;
};

struct cat_build;

/* Report an error at loc (printf-style), counting it. */
void cat_build_error(struct cat_build *b, const struct cat_loc *loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

void cat_strlist_add(struct cat_strlist *l, char *s, const struct cat_loc *loc);
void cat_strlist_free(struct cat_strlist *l);

/* Declarations, in file order. Strings passed in are owned by the builder. */
void cat_build_field(struct cat_build *b, const struct cat_loc *loc, uint32_t tag,
		     char *name, char *name_ja, char *kind, const struct cat_loc *kind_loc,
		     bool has_n, uint32_t n, struct cat_strlist *enums);
void cat_build_shape_begin(struct cat_build *b, const struct cat_loc *loc, char *name);
/* ref: a field name, or NULL with tag set. max UINT32_MAX: unbounded. */
void cat_build_shape_item(struct cat_build *b, const struct cat_loc *loc, char *ref,
			  uint32_t tag, uint32_t min, uint32_t max, char *inner,
			  const struct cat_loc *inner_loc);
void cat_build_shape_end(struct cat_build *b);
void cat_build_type_begin(struct cat_build *b, const struct cat_loc *loc, uint32_t code, char *name);
/* prop: "name-ja", "basis", "pattern", "body", "system" with one string. */
void cat_build_type_prop(struct cat_build *b, const struct cat_loc *loc, const char *prop, char *value);
void cat_build_type_dir(struct cat_build *b, const struct cat_loc *loc, char *from, char *to);
void cat_build_type_answers(struct cat_build *b, const struct cat_loc *loc, struct cat_strlist *refs);
void cat_build_type_max_body(struct cat_build *b, const struct cat_loc *loc, uint64_t bytes);
void cat_build_type_end(struct cat_build *b);

/* Scanner: the builder keeps the scanner's cursor (line, column in
 * characters) so that locations do not depend on the parser's defaults. */
struct cat_pos {
	int line, col;
};
struct cat_pos *cat_build_pos(struct cat_build *b);

#endif
