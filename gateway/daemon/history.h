/*
 * history.h — the configuration history: every configuration jgwd loads is
 * kept, content-addressed by its sha256 (the top file and its includes, as
 * read), with a line in an index per load, reload, revert and rollback
 * (generation, time, sha256, operator, action, outcome). Kept beside the
 * audit key, on the data partition (DIR = the audit key's directory +
 * "/config"), for as long as the audit trail.
 *
 *   DIR/index                       one line per event, appended, fsync'd
 *   DIR/objects/SHA256/manifest     one line per file: number, size, path
 *   DIR/objects/SHA256/N            the file's bytes
 */
#ifndef JGW_HISTORY_H
#define JGW_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "filters/policy/config.h"

struct history_entry {
	uint64_t generation;
	int64_t time_s;
	char sha[65];
	char operator[64];
	char action[16];              /* load, reload, rollback, revert, confirm */
	char outcome[16];             /* ok, rejected */
};

/* DIR for a configuration (out: PATH_MAX). */
void history_dir(const struct jgw_config *cfg, char *out, size_t len);

/* Make DIR (and its objects/) for the daemon's account, before it drops
 * root; an existing one is given to it. 0, or -1 with err. */
int history_init(const char *dir, uid_t uid, gid_t gid, char *err, size_t errlen);

/* Keep the configuration's files under its sha256 (nothing when already
 * kept). 0, or -1 with err. */
int history_keep(const char *dir, const struct jgw_config *cfg, char *err, size_t errlen);

/* Append an event to the index. 0, or -1 with err. */
int history_note(const char *dir, const struct history_entry *e, char *err, size_t errlen);

/* Every event, oldest first. -1 when the index cannot be read (none yet: 0). */
typedef void (*history_entry_fn)(void *arg, const struct history_entry *e);
int history_list(const char *dir, history_entry_fn fn, void *arg, char *err, size_t errlen);

/* A generation number or a sha256 (or a prefix of at least 8 hex digits
 * naming one kept configuration) to its sha256. 0, or -1 with err. */
int history_resolve(const char *dir, const char *ref, char sha[65], char *err, size_t errlen);

/* The files of a kept configuration, in their order. 0, or -1 with err. */
typedef void (*history_file_fn)(void *arg, const char *path, const char *data, size_t len);
int history_files(const char *dir, const char *sha, history_file_fn fn, void *arg,
		  char *err, size_t errlen);

#endif
