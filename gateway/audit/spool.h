/*
 * spool.h — the spool on disk: file names, listing them in seq order,
 * reading a file whole, printing records as readable lines, and following
 * a spool as it grows (jgwctl audit tail -f).
 */
#ifndef JGW_AUDIT_SPOOL_H
#define JGW_AUDIT_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "gateway/audit/chain.h"

#define AUDIT_FILE_FMT  "audit-%020llu.jsonl"
#define AUDIT_ACK_FILE  "mirror.acked"
/* The last seq jgwctl audit archive copied out (retention with
 * require_archive prunes nothing past it). */
#define AUDIT_ARCHIVE_FILE "archive.done"

/* A seq kept in a small file of the spool (mirror.acked, archive.done):
 * 0 when the file is missing or unreadable. */
uint64_t audit_seq_file_read(const char *dir, const char *name);

/* Spool files of DIR sorted by first seq; *firsts[i] is file i's first seq. */
int audit_spool_list(const char *dir, char ***names, uint64_t **firsts, size_t *n);
void audit_spool_list_free(char **names, uint64_t *firsts, size_t n);
/* The newest spool file of dir: its path and first seq. -1: none. */
int audit_spool_newest(const char *dir, char *path, size_t cap, uint64_t *first);

/* Whole file into memory (NUL-terminated). */
int audit_slurp(const char *path, char **buf, size_t *len);

/* The last last_n whole lines of buf, each as "ts #seq event eEPOCH k=v ..."
 * (values as escaped in the JSON: no control character reaches a terminal). */
void audit_print_records(const char *buf, size_t len, size_t last_n, FILE *out);

/* Following a spool file and, in a spool directory, the files after it.
 * Exposed for the tests, which play the writer in at_end: called each time
 * the end of the file is reached, before the next file is looked for. */
struct audit_follow {
	const char *dir;          /* NULL: a single file, no rotation */
	char path[4096];          /* the file followed */
	int fd;
	uint64_t first;           /* first seq of the file followed */
	size_t have;              /* bytes of an unfinished line in chunk */
	char chunk[AUDIT_LINE_MAX * 4];
	void (*at_end)(void *arg);
	void *at_end_arg;
};
/* Start at byte `at` of path (the spool file whose first seq is `first`);
 * at_end is cleared. */
int audit_follow_open(struct audit_follow *f, const char *dir, const char *path,
                      uint64_t first, off_t at);
/* Print every new whole record; at the end of a file that has a successor,
 * print what the file still holds, then move on. 1: moved to the next
 * file; 0: nothing more for now; -1: error (errno). */
int audit_follow_poll(struct audit_follow *f, FILE *out);
void audit_follow_close(struct audit_follow *f);

#endif
