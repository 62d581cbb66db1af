/*
 * log.h — operational log lines (stderr, which journald collects, or
 * syslog). Never a field value of a frame: callers pass metadata only.
 */
#ifndef JGW_LOG_H
#define JGW_LOG_H

#include <syslog.h>

void log_init(const char *ident, int use_syslog, int min_prio);
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)  log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
