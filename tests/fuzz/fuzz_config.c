/*
 * fuzz_config.c — libFuzzer target for the configuration loader: scanner,
 * grammar, value conversion, semantic checks and the error reporting, through
 * cfg_load() exactly as jgwd calls it.
 *
 * The input is written to a file in a private directory and loaded. Inputs
 * that could include files from elsewhere in the file system (an include
 * together with '/', or a pattern) are skipped, so a run reads only its own
 * input: a self-include (a cycle) and missing files are still exercised. The
 * catalog has its own fuzz target; here cat_load is a stub that refuses.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filters/policy/config.h"

struct cat_catalog *cat_load(const char *path, cat_error_fn err, void *arg)
{
	(void)path;
	err(arg, "catalog: not loaded by the config fuzzer");
	return NULL;
}

void cat_free(struct cat_catalog *cat)
{
	(void)cat;
}

static char dir[64], file[96];

static void cleanup(void)
{
	unlink(file);
	rmdir(dir);
}

static void count(void *arg, const char *msg)
{
	size_t *n = arg;

	/* Every message must be a whole, printable line. */
	if (strchr(msg, '\n') != NULL)
		abort();
	(*n)++;
}

static bool reaches_out(const uint8_t *data, size_t size)
{
	return memmem(data, size, "include", 7) != NULL &&
	       (memchr(data, '/', size) || memchr(data, '*', size) ||
		memchr(data, '?', size) || memchr(data, '[', size));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jgw_config *cfg;
	size_t errors = 0;
	FILE *f;

	if (dir[0] == '\0') {
		/* tmpfs when there is one: truncating a file on disk costs ms. */
		snprintf(dir, sizeof(dir), "/dev/shm/jgw-fuzz-config-XXXXXX");
		if (mkdtemp(dir) == NULL) {
			snprintf(dir, sizeof(dir), "/tmp/jgw-fuzz-config-XXXXXX");
			if (mkdtemp(dir) == NULL)
				abort();
		}
		snprintf(file, sizeof(file), "%s/f.conf", dir);
		atexit(cleanup);
	}
	if (reaches_out(data, size))
		return 0;
	f = fopen(file, "wb");
	if (f == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
	cfg = cfg_load(file, count, &errors);
	/* The stub catalog always refuses, so nothing may load. */
	if (cfg != NULL || errors == 0)
		abort();
	return 0;
}
