/*
 * log - the daemon's messages: syslog (mail facility), or stderr in the
 * foreground and in test mode. lib/ never logs; it returns reasons that
 * the daemon passes through here.
 */
#ifndef AUTHMILTER_LOG_H
#define AUTHMILTER_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include "../lib/config.h"

void log_open(bool to_stderr, enum log_level level);
void log_set_level(enum log_level level);
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* for buf_set_oom_handler: one line, no allocation */
void log_oom(size_t n);
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
