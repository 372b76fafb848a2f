/*
 * log - syslog or stderr, filtered by LogLevel.
 *
 * On stderr (-f, what the systemd unit runs, where journald reads it) each
 * line is formatted whole into one buffer and written with one write(2)
 * under a lock: with one stdio call per piece, lines from concurrent
 * messages came out spliced into each other. The threshold is an atomic,
 * since a reload changes it while every worker thread reads it.
 */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#define LOG_STACK_LINE 2048		/* most lines fit: no allocation */

static bool log_stderr = true;		/* set once, before any thread */
static atomic_int log_threshold = LOG_LEVEL_INFO;
static pthread_mutex_t stderr_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *const log_tag[] = { "error", "warning", "info", "debug" };

/* log_open - choose the sink; syslog uses the mail facility like every MTA part */
void
log_open(bool to_stderr, enum log_level level)
{
	log_stderr = to_stderr;
	atomic_store(&log_threshold, (int)level);
	if (!to_stderr)
		openlog("authmilter", LOG_PID | LOG_NDELAY, LOG_MAIL);
}

/* log_set_level - change the threshold (reload) */
void
log_set_level(enum log_level level)
{
	atomic_store(&log_threshold, (int)level);
}

/* write_line - all of it, one write(2) unless the kernel takes less */
static void
write_line(const char *p, size_t n)
{
	pthread_mutex_lock(&stderr_lock);
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		p += w;
		n -= (size_t)w;
	}
	pthread_mutex_unlock(&stderr_lock);
}

/* stderr_v - "authmilter: LEVEL: text\n" built whole, then written at once */
static void
stderr_v(enum log_level level, const char *fmt, va_list ap)
{
	char stack[LOG_STACK_LINE], *line = stack;
	va_list copy;
	int head = snprintf(stack, sizeof(stack), "authmilter: %s: ", log_tag[level]);

	va_copy(copy, ap);
	int body = vsnprintf(stack + head, sizeof(stack) - (size_t)head - 1, fmt, copy);
	va_end(copy);
	if (body < 0)
		return;
	size_t len = (size_t)head + (size_t)body;
	if (len + 1 >= sizeof(stack)) {
		/* Plain malloc: xmalloc's failure path logs through here. */
		char *big = malloc(len + 2);
		if (big) {
			memcpy(big, stack, (size_t)head);
			vsnprintf(big + head, (size_t)body + 1, fmt, ap);
			line = big;
		} else {
			len = sizeof(stack) - 2;	/* out of memory: what fits */
		}
	}
	line[len++] = '\n';
	write_line(line, len);
	if (line != stack)
		free(line);
}

/* log_v - below the threshold nothing is formatted */
static void
log_v(enum log_level level, int priority, const char *fmt, va_list ap)
{
	if ((int)level > atomic_load_explicit(&log_threshold, memory_order_relaxed))
		return;
	if (log_stderr)
		stderr_v(level, fmt, ap);
	else
		vsyslog(priority, fmt, ap);
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

/*
 * log_oom - buf.c's out-of-memory hook: one line, then buf.c aborts. No
 * allocation here (a fixed buffer, one write or one syslog call).
 */
void
log_oom(size_t n)
{
	char msg[128];
	int len;

	if (log_stderr) {
		len = snprintf(msg, sizeof(msg),
			       "authmilter: error: out of memory allocating %zu bytes; aborting\n", n);
		if (len > 0)
			write_line(msg, (size_t)len < sizeof(msg) ? (size_t)len : sizeof(msg) - 1);
	} else {
		syslog(LOG_CRIT, "out of memory allocating %zu bytes; aborting", n);
	}
}
