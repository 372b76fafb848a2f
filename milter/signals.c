/*
 * signals - keep SIGHUP away from libmilter.
 *
 * libmilter 8.17 starts, inside smfi_main(), a thread that blocks SIGHUP,
 * SIGTERM and SIGINT and loops in sigwait() on those three; on SIGHUP or
 * SIGTERM it stops the milter (closes the listening socket, smfi_main
 * returns), on SIGINT it aborts it. A daemon that also sigwait()s for SIGHUP
 * in a thread of its own has two threads waiting for the same process-wide
 * signal, and Linux gives it to whichever wants it at that instant: ours
 * while it sits in sigwait(), libmilter's while ours is busy (reloading, or
 * between two waits). That is how `kill -HUP; kill -HUP` left the process
 * alive but serving nothing in 2% of rounds (18% with the slower rfc7489
 * reload). No ordering of waits can close that window, so we make sure
 * libmilter's thread never waits for these signals at all:
 *
 *   - signals_block() blocks SIGHUP, SIGTERM and SIGINT in main() before any
 *     thread exists, so every thread inherits the mask and none of them can
 *     be interrupted or killed by one (libmicrohttpd's thread used to start
 *     with SIGHUP unblocked: default action, the process died);
 *   - this file defines sigwait(). The executable's definition comes first in
 *     the dynamic symbol lookup, so libmilter's call (libmilter.so imports
 *     sigwait@GLIBC_2.2.5) lands here; we drop our three signals from the set
 *     the caller asked for and wait for what is left. For libmilter's thread
 *     that is nothing: it sleeps for good and never calls mi_stop_milters();
 *   - our own code never calls sigwait(): signals_wait() uses sigtimedwait(),
 *     in the daemon's main thread only. While that thread is busy, a signal
 *     stays pending (standard signals do not queue: two SIGHUPs merge) until
 *     it waits again; no other thread can take it.
 *
 * signals_libmilter_diverted() lets the daemon check at start that the
 * diversion really happened, and say so loudly if not.
 */
#include "signals.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

static atomic_bool libmilter_diverted;

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

/* sigwait - every caller but us (libmilter): wait, never for our signals */
int
sigwait(const sigset_t *set, int *sig)
{
	sigset_t rest = *set;
	int s;

	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
		sigdelset(&rest, owned[i]);
	atomic_store(&libmilter_diverted, true);
	/* An empty set waits for nothing: sigwaitinfo sleeps until the process ends. */
	while ((s = sigwaitinfo(&rest, NULL)) < 0)
		if (errno != EINTR)
			return errno;
	*sig = s;
	return 0;
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

/* signals_libmilter_diverted - libmilter's signal thread is in our sigwait */
bool
signals_libmilter_diverted(void)
{
	return atomic_load(&libmilter_diverted);
}
