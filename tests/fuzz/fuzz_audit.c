/*
 * fuzz_audit.c — libFuzzer on the record parser and the verifier: any
 * bytes as a spool file or collector copy, checked against a fixed k0.
 * Seeded from tests/fuzz/corpus/audit/ (a real spool made under that k0 by
 * tests/tools/audit-writer, `make seeds-audit`), so mutations start from a
 * valid chain.
 */
#ifndef _GNU_SOURCE   /* the build defines it too */
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gateway/audit/audit.h"
#include "gateway/audit/chain.h"

static char k0_path[64];
static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void remove_k0(void)
{
	unlink(k0_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* A private file, never in the working directory (the repository). */
	snprintf(k0_path, sizeof(k0_path), "/tmp/jgw-fuzz-audit-k0-XXXXXX");
	int fd = mkstemp(k0_path);
	FILE *fp = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!fp)
		abort();
	atexit(remove_k0);
	for (int i = 0; i < 32; i++)
		fputs("01", fp);
	fputc('\n', fp);
	fclose(fp);
	devnull = fopen("/dev/null", "w");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct audit_line l;
	const char *text = (const char *)data;
	const char *start = audit_line_find(text, size);
	if (start)
		(void)audit_line_parse(start, size - (size_t)(start - text), &l);
	(void)audit_line_parse(text, size, &l);

	int fd = memfd_create("spool", 0);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		const char *paths[] = { path, path };
		(void)audit_verify(k0_path, paths, 1 + (size & 1), devnull);
	}
	close(fd);
	return 0;
}
