/*
 * audit_epoch.c — key epochs: at every change (hourly, and at start-up) the
 * epoch is sealed, the seal made durable, the next key stored, and the old
 * key wiped; a failed change is retried without writing new seals.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "filters/base/log.h"
#include "gateway/audit/writer.h"

/* ---------- epochs ---------- */

/* The key moved on: the old key's bytes are overwritten, the HMAC context
 * is keyed with the new key at once. */
static void take_key(struct audit *a, uint8_t next[AUDIT_KEY_LEN])
{
	OPENSSL_cleanse(a->key, sizeof(a->key));
	memcpy(a->key, next, sizeof(a->key));
	OPENSSL_cleanse(next, AUDIT_KEY_LEN);
	aw_hmac_rekey(a);
	a->epoch++;
}

/* An epoch change failed: keep the key (records stay verifiable), say so
 * once, and try again in KEY_RETRY_MS, not at every tick. */
static void epoch_failed(struct audit *a, int64_t now_ms, const char *why)
{
	if (!a->key_alarm)
		log_err("audit: key epoch change failed: %s; the key of epoch %u stays in use "
		        "(retried every %d s)", why, a->epoch, KEY_RETRY_MS / 1000);
	a->key_alarm = true;
	a->key_retry_ms = now_ms + KEY_RETRY_MS;
}

/* Seal the current epoch and move the key on. The seal is durable before the
 * key file changes, and the key file changes before the next record. When
 * the key file cannot be stored, the seal already written still ends the
 * epoch as long as it is the last record: a retry writes no new seal then
 * (an idle writer with an unwritable key directory adds nothing to the
 * spool), and a shutdown always writes its own. */
int aw_epoch_change(struct audit *a, const char *reason, int64_t now_ms)
{
	char err[512];
	uint8_t next[AUDIT_KEY_LEN];

	if (a->spool_broken)
		return -1;   /* no seal can be written: the epoch must not move on */
	bool sealed = a->pending_seal_seq != 0 && a->pending_seal_seq == a->seq &&
	              strcmp(reason, "shutdown") != 0;
	if (!sealed) {
		if (aw_append_internal(a, "seal", ",\"reason\":\"%s\",\"epoch_records\":%llu,"
		                    "\"lost_total\":%llu,\"next_epoch\":%u", reason,
		                    (unsigned long long)a->epoch_records + 1,
		                    (unsigned long long)a->lost, a->epoch + 1) != 0) {
			snprintf(err, sizeof(err), "cannot seal epoch %u (%s)", a->epoch, reason);
			epoch_failed(a, now_ms, err);
			return -1;
		}
		a->pending_seal_seq = a->seq;
	}
	/* A seal kept in memory (full disk, fail-closed) is not durable yet:
	 * the key stays until it is. */
	if (aw_sync_spool(a) != 0 || a->durable_seq < a->pending_seal_seq) {
		snprintf(err, sizeof(err), "cannot make the seal of epoch %u durable (%s)",
		         a->epoch, reason);
		epoch_failed(a, now_ms, err);
		return -1;
	}
	memcpy(next, a->key, sizeof(next));
	audit_key_evolve(next);
	int rc = audit_key_store(a->key_file, a->epoch + 1, next, err, sizeof(err));
	if (rc < 0) {
		OPENSSL_cleanse(next, sizeof(next));
		epoch_failed(a, now_ms, err);
		return -1;
	}
	if (rc > 0)
		log_warn("audit: %s", err);
	take_key(a, next);
	if (a->key_alarm)
		log_info("audit: key epoch change done (now epoch %u)", a->epoch);
	a->key_alarm = false;
	a->pending_seal_seq = 0;
	a->key_retry_ms = 0;
	a->epoch_records = 0;
	a->epoch_start_ms = now_ms;
	return 0;
}

int aw_start_epoch(struct audit *a, char *err, size_t errlen)
{
	uint8_t next[AUDIT_KEY_LEN];
	memcpy(next, a->key, sizeof(next));
	audit_key_evolve(next);
	int rc = audit_key_store(a->key_file, a->epoch + 1, next, err, errlen);
	if (rc < 0) {
		OPENSSL_cleanse(next, sizeof(next));
		return -1;
	}
	if (rc > 0)
		log_warn("audit: %s", err);
	take_key(a, next);
	return 0;
}

