/*
 * log - syslog or stderr, filtered by LogLevel.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>

static bool log_stderr = true;
static enum log_level log_threshold = LOG_LEVEL_INFO;

/* log_open - choose the sink; syslog uses the mail facility like every MTA part */
void
log_open(bool to_stderr, enum log_level level)
{
	log_stderr = to_stderr;
	log_threshold = level;
	if (!to_stderr)
		openlog("authmilter", LOG_PID | LOG_NDELAY, LOG_MAIL);
}

/* log_set_level - change the threshold */
void
log_set_level(enum log_level level)
{
	log_threshold = level;
}

static void
log_v(enum log_level level, int priority, const char *fmt, va_list ap)
{
	static const char *const tag[] = { "error", "warning", "info", "debug" };

	if (level > log_threshold)
		return;
	if (log_stderr) {
		fprintf(stderr, "authmilter: %s: ", tag[level]);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	} else {
		vsyslog(priority, fmt, ap);
	}
}

#define LOG_FN(name, level, priority)			\
	void name(const char *fmt, ...)			\
	{						\
		va_list ap;				\
		va_start(ap, fmt);			\
		log_v(level, priority, fmt, ap);	\
		va_end(ap);				\
	}

LOG_FN(log_error, LOG_LEVEL_ERROR, LOG_ERR)
LOG_FN(log_warning, LOG_LEVEL_WARNING, LOG_WARNING)
LOG_FN(log_info, LOG_LEVEL_INFO, LOG_INFO)
LOG_FN(log_debug, LOG_LEVEL_DEBUG, LOG_DEBUG)

/* fatal - log and exit: only for start-up problems, never for a peer's data */
void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v(LOG_LEVEL_ERROR, LOG_ERR, fmt, ap);
	va_end(ap);
	exit(EXIT_FAILURE);
}
