/* log.c — stderr or syslog, one line per call, thread-safe (one write). */
#include "filters/base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *log_ident = "jgw";
static int log_syslog;
static int log_min = LOG_INFO;

void log_init(const char *ident, int use_syslog, int min_prio)
{
	log_ident = ident;
	log_syslog = use_syslog;
	log_min = min_prio;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

static const char *prio_name(int prio)
{
	static const char *const names[] = { "emerg", "alert", "crit", "error",
					     "warning", "notice", "info", "debug" };
	return names[prio & 7];
}

void log_msg(int prio, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if (prio > log_min)
		return;
	va_start(ap, fmt);
	if (log_syslog) {
		vsyslog(prio, fmt, ap);
		va_end(ap);
		return;
	}
	n = snprintf(line, sizeof(line), "%s[%d]: %s: ", log_ident, (int)getpid(), prio_name(prio));
	if (n > 0 && (size_t)n < sizeof(line))
		n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* One write(2) per line so lines of threads and processes never interleave. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}
