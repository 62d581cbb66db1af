/*
 * faildisk.c — a disk that loses write-backs, for the audit scenarios.
 * Linked with -Wl,--wrap=fdatasync into audit-writer-faildisk:
 * JGW_FAIL_FDATASYNC="N,M,..." makes the process's Nth, Mth ... fdatasync
 * call fail with EIO (counting from 1), as Linux reports a write-back
 * error; every other call is the real one.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

int __real_fdatasync(int fd);
int __wrap_fdatasync(int fd);

static _Atomic unsigned long calls;

static bool listed(unsigned long n)
{
	const char *p = getenv("JGW_FAIL_FDATASYNC");
	while (p && *p) {
		char *end;
		unsigned long v = strtoul(p, &end, 10);
		if (end == p)
			return false;
		if (v == n)
			return true;
		p = *end == ',' ? end + 1 : end;
	}
	return false;
}

int __wrap_fdatasync(int fd)
{
	if (listed(atomic_fetch_add(&calls, 1) + 1)) {
		errno = EIO;
		return -1;
	}
	return __real_fdatasync(fd);
}
