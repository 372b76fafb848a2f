/*
 * rlog - authmilter-report's log: one line per event on stderr (the
 * journal under systemd), "authmilter-report: " first.
 */
#ifndef AUTHMILTER_REPORT_RLOG_H
#define AUTHMILTER_REPORT_RLOG_H

void rlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
