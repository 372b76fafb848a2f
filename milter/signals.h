/*
 * signals - SIGHUP, SIGTERM and SIGINT belong to one thread of ours.
 *
 * signals_block() runs in main() before any thread exists, so every thread
 * (the engine's, libmicrohttpd's, ours) starts with them blocked; the
 * daemon's main thread then takes them with signals_wait().
 */
#ifndef AUTHMILTER_SIGNALS_H
#define AUTHMILTER_SIGNALS_H

enum signals_event {
	SIGNALS_TICK,		/* the timeout passed: time for periodic checks */
	SIGNALS_RELOAD,		/* SIGHUP */
	SIGNALS_STOP,		/* SIGTERM or SIGINT */
};

void signals_block(void);
enum signals_event signals_wait(int timeout_ms, int *signo);

#endif
