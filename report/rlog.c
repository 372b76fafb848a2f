/*
 * rlog - the report program's log lines (lib/ never logs; report/ does).
 */
#include "rlog.h"

#include <stdarg.h>
#include <stdio.h>

/* rlog - one line on stderr */
void
rlog(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("authmilter-report: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	fflush(stderr);
}
