/*
 * signals - SIGHUP, SIGTERM and SIGINT belong to one thread of ours.
 *
 * signals_block() runs in main() before any thread exists, so every thread
 * (libmilter's, libmicrohttpd's, ours) starts with them blocked; the daemon's
 * main thread then takes them with signals_wait(). libmilter's own signal
 * thread, which would stop the milter on SIGHUP, never waits for them (see
 * signals.c for how and why).
 */
#ifndef AUTHMILTER_SIGNALS_H
#define AUTHMILTER_SIGNALS_H

#include <stdbool.h>

enum signals_event {
	SIGNALS_TICK,		/* the timeout passed: time for periodic checks */
	SIGNALS_RELOAD,		/* SIGHUP */
	SIGNALS_STOP,		/* SIGTERM or SIGINT */
};

void signals_block(void);
enum signals_event signals_wait(int timeout_ms, int *signo);
/* true once libmilter's signal thread sits in our sigwait(), diverted */
bool signals_libmilter_diverted(void);

#endif
