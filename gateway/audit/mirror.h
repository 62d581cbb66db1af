/*
 * mirror.h — the mirror thread of the audit writer (mirror.c): sends
 * committed records to the collector over RELP/TLS, resuming after the last
 * one it acknowledged. Private to the writer.
 */
#ifndef JGW_AUDIT_MIRROR_H
#define JGW_AUDIT_MIRROR_H

#include <stdbool.h>
#include <stdint.h>

struct audit_params;
struct audit_mirror;
struct audit_mirror *audit_mirror_start(const struct audit_params *p, char *err, size_t errlen);
/* New records up to seq are durable: the mirror may send them. */
void audit_mirror_notify(struct audit_mirror *m, uint64_t durable_seq);
/* Waits up to drain_ms for the mirror to catch up, then stops it. */
void audit_mirror_stop(struct audit_mirror *m, int drain_ms);
/* The writer cut uncommitted records back (fdatasync error): what the mirror
 * read past the last committed record is stale; read the spool again. */
void audit_mirror_rewind(struct audit_mirror *m);
uint64_t audit_mirror_acked(const struct audit_mirror *m);
bool audit_mirror_up(const struct audit_mirror *m);

#endif
