/*
 * fuzz_catalog.c — libFuzzer target: the catalog grammar (flex + bison) and
 * its semantic checks, on arbitrary bytes. A catalog that loads must be
 * self-consistent: every type reachable by code and by name, shapes sorted.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "filters/engine/catalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void quiet(void *arg, const char *msg)
{
	size_t *n = arg;
	if (msg == NULL || strncmp(msg, "fuzz.jcat", 9) != 0)
		abort();                       /* every error names its file */
	(*n)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t errors = 0;
	struct cat_catalog *cat = cat_load_buffer("fuzz.jcat", (const char *)data, size, quiet, &errors);

	if ((cat == NULL) != (errors > 0))
		abort();                       /* NULL exactly when an error was reported */
	if (cat == NULL)
		return 0;
	for (size_t i = 0; i < cat_type_count(cat); i++) {
		const struct cat_type *t = cat_type_at(cat, i);
		if (cat_type_by_code(cat, t->code) != t || cat_type_by_name(cat, t->name) != t)
			abort();
		if (t->body == NULL)
			continue;
		for (size_t j = 1; j < t->body->n_items; j++)
			if (t->body->items[j - 1].field->tag >= t->body->items[j].field->tag)
				abort();
	}
	cat_free(cat);
	return 0;
}
