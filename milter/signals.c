/*
 * signals - SIGHUP, SIGTERM and SIGINT belong to the daemon's main thread.
 *
 *   - signals_block() blocks them in main() before any thread exists, so
 *     every thread inherits the mask and none of them can be interrupted or
 *     killed by one (libmicrohttpd's thread used to start with SIGHUP
 *     unblocked: default action, the process died);
 *   - signals_wait() takes them with sigtimedwait(), in the main thread
 *     only. While that thread is busy a signal stays pending (standard
 *     signals do not queue: two SIGHUPs merge) until it waits again; no
 *     other thread can take it.
 */
#include "signals.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <time.h>

/* the signals only signals_wait() may take */
static const int owned[] = { SIGHUP, SIGTERM, SIGINT };

/* owned_set - those, as a set */
static void
owned_set(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
		sigaddset(set, owned[i]);
}

/* signals_block - block ours for the calling thread and all threads it starts */
void
signals_block(void)
{
	sigset_t set;

	owned_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* A peer closing its socket must be an EPIPE, not the end of the process. */
	signal(SIGPIPE, SIG_IGN);
}

/* signals_wait - the next of our signals, or SIGNALS_TICK after timeout_ms */
enum signals_event
signals_wait(int timeout_ms, int *signo)
{
	sigset_t set;
	struct timespec ts = { timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L };
	int s;

	owned_set(&set);
	*signo = 0;
	s = sigtimedwait(&set, NULL, &ts);
	if (s < 0)
		return SIGNALS_TICK;	/* EAGAIN: timeout; EINTR: treat alike */
	*signo = s;
	return s == SIGHUP ? SIGNALS_RELOAD : SIGNALS_STOP;
}
