/*
 * audit_recover.c — opening the writer: the spool's tail recovered (torn
 * bytes left behind, the previous run's epoch sealed when it crashed), the
 * chain continued, a fresh epoch started; and closing it with a seal.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "filters/base/log.h"
#include "gateway/audit/mirror.h"
#include "gateway/audit/spool.h"
#include "gateway/audit/writer.h"

/* ---------- open / recover / close ---------- */

struct tail {
	bool found;
	struct audit_line last;
	char last_text[AUDIT_LINE_MAX + 1];
	bool have_prev;
	uint8_t prev_mac[AUDIT_MAC_LEN];
	uint64_t torn_bytes;
	bool append_ok;       /* the newest file ends cleanly: keep appending */
	uint64_t newest_first;
	bool have_newest;
};

/* Last complete record of one file; *end is where it ends (bytes). */
static bool file_last_record(const char *buf, size_t len, struct tail *t, size_t *end)
{
	const char *p = buf, *stop = buf + len;
	bool found = false;
	struct audit_line cur;
	*end = 0;
	while (p < stop) {
		const char *nl = memchr(p, '\n', (size_t)(stop - p));
		if (!nl)
			break;
		if (audit_line_parse(p, (size_t)(nl - p), &cur) == 0) {
			t->have_prev = found;
			if (found)
				memcpy(t->prev_mac, t->last.mac, AUDIT_MAC_LEN);
			t->last = cur;
			found = true;
			*end = (size_t)(nl + 1 - buf);
		}
		p = nl + 1;
	}
	if (found) {
		memcpy(t->last_text, t->last.text, t->last.len);
		t->last.text = t->last_text;
	}
	return found;
}

static int recover(struct audit *a, struct tail *t, char *err, size_t errlen)
{
	char **names = NULL, path[4096];
	uint64_t *firsts = NULL;
	size_t n = 0;

	memset(t, 0, sizeof(*t));
	if (audit_spool_list(a->spool_dir, &names, &firsts, &n) != 0) {
		snprintf(err, errlen, "%s: %s", a->spool_dir, strerror(errno));
		return -1;
	}
	for (size_t i = n; i-- > 0 && !t->found;) {
		char *buf;
		size_t len, end;
		snprintf(path, sizeof(path), "%s/%s", a->spool_dir, names[i]);
		if (audit_slurp(path, &buf, &len) != 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			audit_spool_list_free(names, firsts, n);
			return -1;
		}
		bool found = file_last_record(buf, len, t, &end);
		free(buf);
		t->found = found;
		if (i == n - 1) {
			t->have_newest = true;
			t->newest_first = firsts[i];
			t->torn_bytes = len - end;
			t->append_ok = found && end == len;
		}
		if (!found && len > 0) {
			/* No complete record at all: set it aside (never deleted). */
			char aside[4200];
			snprintf(aside, sizeof(aside), "%s.torn-%lld", path, (long long)time(NULL));
			log_warn("audit: %s holds no complete record (%zu bytes); kept as %s",
			         path, len, aside);
			if (rename(path, aside) != 0) {
				snprintf(err, errlen, "%s: %s", path, strerror(errno));
				audit_spool_list_free(names, firsts, n);
				return -1;
			}
			t->have_newest = false;
		} else if (!found) {
			unlink(path);   /* empty file of a run that wrote nothing */
			t->have_newest = false;
		}
	}
	audit_spool_list_free(names, firsts, n);
	return 0;
}

static int check_tail(struct audit *a, struct tail *t, char *err, size_t errlen)
{
	if (!t->found)
		return 0;
	if (strcmp(t->last.gw, a->gw) != 0) {
		snprintf(err, errlen, "%s: spool belongs to gateway %s, not %s",
		         a->spool_dir, t->last.gw, a->gw);
		return -1;
	}
	if (t->last.epoch > a->epoch) {
		snprintf(err, errlen, "%s: key file is at epoch %u but the spool reached "
		         "epoch %u (an old key file restored?)", a->key_file, a->epoch,
		         t->last.epoch);
		return -1;
	}
	if (t->last.epoch == a->epoch && (t->have_prev || t->last.seq == 1)) {
		uint8_t prev[AUDIT_MAC_LEN] = { 0 }, mac[AUDIT_MAC_LEN];
		if (t->have_prev)
			memcpy(prev, t->prev_mac, sizeof(prev));
		audit_chain_mac(a->key, prev, t->last.text, t->last.body_len, mac);
		if (CRYPTO_memcmp(mac, t->last.mac, sizeof(mac)) != 0) {
			snprintf(err, errlen, "%s: the last record (seq %llu) does not verify "
			         "with the key file (spool or key replaced)", a->spool_dir,
			         (unsigned long long)t->last.seq);
			return -1;
		}
	}
	return 0;
}

static char *dup_opt(const char *s, bool *ok)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		*ok = false;
	return d;
}

static void free_audit(struct audit *a)
{
	if (a->fd >= 0)
		close(a->fd);
	if (a->dir_fd >= 0)
		close(a->dir_fd);
	if (a->wbuf) {
		explicit_bzero(a->wbuf, WBUF_CAP);   /* habit: records are metadata */
		free(a->wbuf);
	}
	EVP_MAC_CTX_free(a->hmac_ctx);
	EVP_MAC_free(a->hmac);
	pthread_mutex_destroy(&a->mu);
	free(a->gw); free(a->spool_dir); free(a->key_file);
	free(a->c_host); free(a->c_ca); free(a->c_cert); free(a->c_key);
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
}

static int params_copy(struct audit *a, const struct audit_params *p, char *err, size_t errlen)
{
	bool ok = true;
	if (!aw_is_word(p->gw, 16, true) || !p->spool_dir || !p->key_file) {
		snprintf(err, errlen, "audit: gateway code, spool_dir and key_file are required "
		         "(gateway code: letters, digits, '-', '_')");
		return -1;
	}
	a->p = *p;
	a->gw = dup_opt(p->gw, &ok);
	a->spool_dir = dup_opt(p->spool_dir, &ok);
	a->key_file = dup_opt(p->key_file, &ok);
	a->c_host = dup_opt(p->collector_host, &ok);
	a->c_ca = dup_opt(p->collector_ca, &ok);
	a->c_cert = dup_opt(p->collector_cert, &ok);
	a->c_key = dup_opt(p->collector_key, &ok);
	if (!ok) {
		snprintf(err, errlen, "audit: out of memory");
		return -1;
	}
	a->p.gw = a->gw; a->p.spool_dir = a->spool_dir; a->p.key_file = a->key_file;
	a->p.collector_host = a->c_host; a->p.collector_ca = a->c_ca;
	a->p.collector_cert = a->c_cert; a->p.collector_key = a->c_key;
	if (a->p.commit_ms == 0 || a->p.commit_ms > 100)
		a->p.commit_ms = 100;
	if (a->p.epoch_s == 0)
		a->p.epoch_s = 3600;
	if (a->p.rotate_bytes == 0)
		a->p.rotate_bytes = DEFAULT_ROTATE;
	if (a->p.rotate_bytes < AUDIT_LINE_MAX)
		a->p.rotate_bytes = AUDIT_LINE_MAX;
	if (a->p.retain_s == 0)
		a->p.retain_s = DEFAULT_RETAIN_S;
	if (a->p.forecast_alarm_s == 0)
		a->p.forecast_alarm_s = DEFAULT_FORECAST_ALARM_S;
	if (a->p.disk_limit_pct == 0 || a->p.disk_limit_pct > 100)
		a->p.disk_limit_pct = 95;
	if (a->p.disk_alarm_pct == 0 || a->p.disk_alarm_pct > a->p.disk_limit_pct)
		a->p.disk_alarm_pct = a->p.disk_limit_pct < 80 ? a->p.disk_limit_pct : 80;
	return 0;
}

struct audit *audit_open(const struct audit_params *params, char *err, size_t errlen)
{
	struct audit *a = calloc(1, sizeof(*a));
	struct tail t;
	if (!a) {
		snprintf(err, errlen, "audit: out of memory");
		return NULL;
	}
	a->magic = AUDIT_MAGIC;
	pthread_mutex_init(&a->mu, NULL);
	a->fd = a->dir_fd = -1;
	if (params_copy(a, params, err, errlen) != 0)
		goto fail;
	a->wbuf = malloc(WBUF_CAP);
	if (!a->wbuf) {
		snprintf(err, errlen, "audit: out of memory");
		goto fail;
	}
	/* Without a reusable context every record takes the one-shot path. */
	a->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	a->hmac_ctx = a->hmac ? EVP_MAC_CTX_new(a->hmac) : NULL;
	if (mkdir(a->spool_dir, 0750) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", a->spool_dir, strerror(errno));
		goto fail;
	}
	a->dir_fd = open(a->spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (a->dir_fd < 0) {
		snprintf(err, errlen, "%s: %s", a->spool_dir, strerror(errno));
		goto fail;
	}
	if (audit_key_load(a->key_file, &a->epoch, a->key, err, errlen) != 0)
		goto fail;
	if (recover(a, &t, err, errlen) != 0 || check_tail(a, &t, err, errlen) != 0)
		goto fail;
	if (t.found) {
		a->seq = a->durable_seq = t.last.seq;
		memcpy(a->prev_mac, t.last.mac, AUDIT_MAC_LEN);
		memcpy(a->d_mac, t.last.mac, AUDIT_MAC_LEN);
	}
	a->w_seq = a->seq;
	memcpy(a->w_mac, a->prev_mac, AUDIT_MAC_LEN);
	if (aw_open_spool_file(a, t.have_newest && t.append_ok ? t.newest_first : a->seq + 1) != 0) {
		snprintf(err, errlen, "%s: cannot open a spool file", a->spool_dir);
		goto fail;
	}
	/* Appending to the newest file: it ends at the next day boundary. */
	if (t.found && a->file_bytes > 0)
		memcpy(a->file_date, t.last.text + 7, sizeof(a->file_date));
	a->last_sync_ms = a->epoch_start_ms = audit_now_ms();
	if (t.torn_bytes > 0)
		log_warn("audit: torn record after seq %llu (%llu bytes, crash during a "
		         "write); left in place, continuing in a new spool file",
		         (unsigned long long)a->seq, (unsigned long long)t.torn_bytes);
	/* The previous run ended without a seal: close its epoch now. */
	if (t.found && strcmp(t.last.event, "seal") != 0 && t.last.epoch == a->epoch) {
		log_warn("audit: previous run ended without a seal (crash); sealing epoch %u",
		         a->epoch);
		if (aw_append_internal(a, "seal", ",\"reason\":\"recovery\",\"torn_bytes\":%llu,"
		                    "\"next_epoch\":%u", (unsigned long long)t.torn_bytes,
		                    a->epoch + 1) != 0 || aw_sync_spool(a) != 0) {
			snprintf(err, errlen, "%s: cannot write the recovery seal", a->spool_dir);
			goto fail;
		}
		t.last.epoch = a->epoch;
	}
	/* Every run writes in a fresh epoch: k0 (epoch 0) is never used. */
	if (a->epoch == 0 || (t.found && t.last.epoch >= a->epoch)) {
		if (aw_start_epoch(a, err, errlen) != 0)
			goto fail;
	}
	a->epoch_records = 0;
	a->forecast_s = -1;
	aw_disk_check(a, audit_now_ms());
	aw_time_check(a, audit_now_ms(), true);
	if (a->c_host) {
		a->mirror = audit_mirror_start(&a->p, err, errlen);
		if (!a->mirror)
			goto fail;
		audit_mirror_notify(a->mirror, a->durable_seq);
	}
	aw_retain_check(a, audit_now_ms());
	return a;
fail:
	free_audit(a);
	return NULL;
}

void audit_close(struct audit *audit)
{
	if (!audit || audit->magic != AUDIT_MAGIC)
		return;
	/* The relay's workers are gone by now; the lock only orders memory. */
	aw_rec_forget(audit);
	pthread_mutex_lock(&audit->mu);
	if (audit->lost_unreported > 0 && !audit->spool_broken)
		aw_report_loss(audit);
	aw_epoch_change(audit, "shutdown", audit_now_ms());
	aw_sync_spool(audit);
	if (audit->mirror)
		audit_mirror_stop(audit->mirror, 2000);
	pthread_mutex_unlock(&audit->mu);
	free_audit(audit);
}
