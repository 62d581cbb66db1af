/* operator.c — callers of the control socket and their records. */
#include "gateway/daemon/operator.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/audit/audit.h"

/* A small number from /proc/PID/NAME; false when it cannot be read. */
static bool proc_u32(pid_t pid, const char *name, uint32_t *out)
{
	char path[64], buf[32];
	FILE *f;
	bool ok = false;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	if ((f = fopen(path, "re")) != NULL) {
		char *end;
		unsigned long v;

		if (fgets(buf, sizeof(buf), f) != NULL) {
			v = strtoul(buf, &end, 10);
			ok = end != buf && v <= UINT32_MAX;
			*out = (uint32_t)v;
		}
		fclose(f);
	}
	return ok;
}

static void account_name(uid_t uid, char *out, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	if (pw)
		snprintf(out, len, "%s", pw->pw_name);
	else
		snprintf(out, len, "uid:%u", (unsigned)uid);
}

void operator_of(const struct control_caller *caller, const struct control_req *req,
		 struct operator *out)
{
	uint32_t v;

	memset(out, 0, sizeof(*out));
	snprintf(out->via, sizeof(out->via), "%s", req->via);
	snprintf(out->comment, sizeof(out->comment), "%s", req->comment);
	if (!caller->known) {
		snprintf(out->name, sizeof(out->name), "unknown");
		return;
	}
	out->known = true;
	out->uid = caller->uid;
	out->pid = caller->pid;
	account_name(caller->uid, out->name, sizeof(out->name));
	/* (uint32_t)-1: no login (a daemon, a boot script). */
	if (proc_u32(caller->pid, "loginuid", &v) && v != UINT32_MAX) {
		out->have_login = true;
		out->login_uid = v;
		account_name((uid_t)v, out->login, sizeof(out->login));
	}
	if (proc_u32(caller->pid, "sessionid", &v) && v != UINT32_MAX)
		out->session = v;
}

static bool in_group(const char *user, gid_t primary, gid_t want)
{
	gid_t groups[256];
	int n = (int)(sizeof(groups) / sizeof(groups[0]));

	if (primary == want)
		return true;
	if (getgrouplist(user, primary, groups, &n) < 0)
		return false;
	for (int i = 0; i < n; i++)
		if (groups[i] == want)
			return true;
	return false;
}

bool operator_may_change(const struct operator *op, const char *admin_group,
			 char *why, size_t whylen)
{
	struct passwd *pw;
	struct group *gr;

	if (!op->known) {
		snprintf(why, whylen, "the caller's account is not known");
		return false;
	}
	if (op->uid == 0 || op->uid == geteuid())
		return true;
	if (admin_group && (gr = getgrnam(admin_group)) != NULL &&
	    (pw = getpwuid(op->uid)) != NULL && in_group(pw->pw_name, pw->pw_gid, gr->gr_gid))
		return true;
	if (admin_group)
		snprintf(why, whylen, "account %s may only read: state changes need the group "
			 "'%s'", op->name, admin_group);
	else
		snprintf(why, whylen, "account %s may only read: state changes need root (no "
			 "control admin-group is configured)", op->name);
	return false;
}

void operator_fields(struct audit_rec *rec, const struct operator *op)
{
	if (!op)
		return;
	audit_rec_str(rec, "operator", op->name);
	if (!op->known)
		return;
	audit_rec_u64(rec, "uid", op->uid);
	audit_rec_u64(rec, "pid", (uint64_t)op->pid);
	if (op->have_login)
		audit_rec_str(rec, "login", op->login);
	if (op->session)
		audit_rec_u64(rec, "session", op->session);
	if (op->via[0])
		audit_rec_str(rec, "via", op->via);
	if (op->comment[0])
		audit_rec_str(rec, "comment", op->comment);
}

void operator_record(struct audit *audit, const struct operator *op, const char *action,
		     const char *outcome, const char *detail)
{
	struct audit_rec *rec;

	if (!audit || !(rec = audit_rec_begin(audit, "admin")))
		return;
	audit_rec_str(rec, "action", action);
	operator_fields(rec, op);
	audit_rec_str(rec, "outcome", outcome);
	if (detail && detail[0])
		audit_rec_str(rec, "detail", detail);
	audit_rec_commit(rec);
}
