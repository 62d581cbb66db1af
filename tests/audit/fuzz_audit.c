/*
 * fuzz_audit.c — libFuzzer on the record parser and the verifier: any
 * bytes as a spool file or collector copy, checked against a fixed k0.
 * Seeded by `make fuzz-audit` with a real spool made under that k0, so
 * mutations start from a valid chain.
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

#include "gateway/audit.h"
#include "gateway/audit_impl.h"

static char k0_path[64];
static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(k0_path, sizeof(k0_path), "fuzz_audit-k0.hex");   /* in the working dir */
	FILE *fp = fopen(k0_path, "w");
	if (!fp)
		abort();
	for (int i = 0; i < 32; i++)
		fputs("01", fp);
	fputc('\n', fp);
	fclose(fp);
	devnull = fopen("/dev/null", "w");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
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
