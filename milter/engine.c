/*
 * engine - event loops, connections and the worker pool around proto_conn.
 *
 * Ownership: a connection belongs to its loop thread while it is in that
 * loop's epoll set (level-triggered: it stays there from one read to the
 * next, no re-arming) and to one worker while parked (busy), when it is out
 * of the set, so not even a hang-up is reported to the loop. Whoever holds
 * it reads, runs, writes and hands it on or closes it; nobody else touches
 * it, except the idle sweep of its own loop, which skips busy connections
 * and those active lately.
 */
#include "engine.h"
#include "log.h"
#include "proto_conn.h"
#include "steps.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ENGINE_MAX_LOOPS 16
#define ENGINE_READ 65536		/* bytes asked for per read, into the loop's buffer */
#define ENGINE_WRITE_WAIT_MS 30000	/* a full socket buffer: how long we wait */
#define ENGINE_EVENTS 64
/* an end of message parked this long tells the MTA it is still being worked on:
 * under Sendmail's default R= of 10 s (SPF, ARC and DMARC all wait there) */
#define ENGINE_PROGRESS_SECONDS 5

struct loop;

struct econn {
	int fd;
	struct loop *loop;
	struct pconn pc;
	struct step_conn *sc;
	atomic_bool busy;		/* parked in the pool */
	atomic_llong last;		/* monotonic second of its last activity */
	atomic_bool in_eom;		/* parked on an end of message: PROGRESS allowed */
	pthread_mutex_t wlock;		/* one writer at a time: replies, PROGRESS */
	struct econn *prev, *next;	/* the loop's list, under loop->lock */
	struct econn *qnext;		/* the pool's queue */
};

struct loop {
	pthread_t thread;
	int ep, wake;
	bool accepting;
	pthread_mutex_t lock;
	struct econn *conns;
	/* every read lands here: a connection keeps only what it has not decoded */
	char rbuf[ENGINE_READ];
};

static struct loop loops[ENGINE_MAX_LOOPS];
static int n_loops;
static int listen_fd = -1;
static atomic_bool stop_flag, failed_flag;
static char listen_tag, wake_tag;	/* epoll data for the two non-connection fds */

/* worker - one thread of the pool; idle ones wait on their own semaphore */
struct worker {
	pthread_t thread;
	sem_t go;		/* posted with job set, or at stop */
	struct econn *job;
	struct worker *next_idle;
};

/*
 * The pool: a stack of idle workers (the last one idle is the warmest) and
 * a queue of parked connections for when all are busy. A hand-off is one
 * wake and one wait on the chosen worker's semaphore; the mutex is held
 * only to pick.
 */
static struct {
	pthread_mutex_t lock;
	struct worker *idle;
	struct econn *head, *tail;
	struct worker workers[ENGINE_WORKERS];
} pool = { PTHREAD_MUTEX_INITIALIZER, NULL, NULL, NULL, { { 0 } } };

/* now_s - monotonic seconds */
static long long
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec;
}

static const struct pconn_ops step_ops = {
	steps_negotiate, steps_connect, steps_helo, steps_mail, steps_header, steps_eoh,
	steps_body, steps_eom, steps_abort, steps_conn_reset, steps_macro_lists,
};

/* conn_close - the end of a connection, from whoever holds it */
static void
conn_close(struct econn *c)
{
	struct loop *l = c->loop;

	pthread_mutex_lock(&l->lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		l->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&l->lock);
	close(c->fd);
	pthread_mutex_destroy(&c->wlock);
	pconn_free(&c->pc);
	steps_conn_free(c->sc);
	free(c);
}

/*
 * flush - write every queued reply; false, said once in the log, when the
 * MTA is gone or stuck: what it did not get may include a verdict already
 * logged as given.
 */
static bool
flush(struct econn *c)
{
	struct buf *out = &c->pc.out;
	size_t off = 0;
	int err = 0;

	pthread_mutex_lock(&c->wlock);
	while (err == 0 && off < out->len) {
		ssize_t n = write(c->fd, out->data + off, out->len - off);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		struct pollfd pfd = { c->fd, POLLOUT, 0 };
		if (n < 0 && errno == EAGAIN && poll(&pfd, 1, ENGINE_WRITE_WAIT_MS) == 1)
			continue;
		err = n < 0 ? errno : EIO;	/* after a poll timeout, still EAGAIN */
	}
	pthread_mutex_unlock(&c->wlock);
	if (err == EAGAIN)
		log_warning("closing a milter connection: the MTA read no reply for %d s",
			    ENGINE_WRITE_WAIT_MS / 1000);
	else if (err)
		log_warning("closing a milter connection: %zu bytes of replies not written: %s",
			    out->len - off, strerror(err));
	buf_free(out);		/* a waiting connection holds no buffer */
	return err == 0;
}

/* watch - the connection's loop reads it from now on */
static bool
watch(struct econn *c)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = c };

	return epoll_ctl(c->loop->ep, EPOLL_CTL_ADD, c->fd, &ev) == 0;
}

/* unwatch - out of its loop's set while a worker holds it */
static bool
unwatch(struct econn *c)
{
	return epoll_ctl(c->loop->ep, EPOLL_CTL_DEL, c->fd, NULL) == 0;
}

/* pool_submit - park a connection whose next step may block */
static void
pool_submit(struct econn *c)
{
	const struct buf *in = &c->pc.in;

	atomic_store(&c->last, now_s());
	/* the packet it parks on is whole: its command byte follows the length */
	atomic_store(&c->in_eom, in->data[c->pc.in_off + MILTER_LEN_BYTES] == SMFIC_BODYEOB);
	atomic_store(&c->busy, true);
	c->qnext = NULL;
	pthread_mutex_lock(&pool.lock);
	struct worker *w = pool.idle;
	if (w) {
		pool.idle = w->next_idle;
		w->job = c;
	} else if (pool.tail) {
		pool.tail->qnext = c;
		pool.tail = c;
	} else {
		pool.head = pool.tail = c;
	}
	pthread_mutex_unlock(&pool.lock);
	if (w)
		sem_post(&w->go);
}

/* next_job - a queued connection, or NULL after going back on the idle stack */
static struct econn *
next_job(struct worker *w)
{
	struct econn *c;

	pthread_mutex_lock(&pool.lock);
	c = pool.head;
	if (c) {
		pool.head = c->qnext;
		if (pool.head == NULL)
			pool.tail = NULL;
	} else {
		w->job = NULL;
		w->next_idle = pool.idle;
		pool.idle = w;
	}
	pthread_mutex_unlock(&pool.lock);
	return c;
}

/* settle - after a run: write the replies, then park, hand back to the loop
 * (watched: the loop holds it) or close */
static void
settle(struct econn *c, enum pconn_state st, bool watched)
{
	if (!flush(c))
		st = PCONN_CLOSE;
	if (st == PCONN_PARK && watched && !unwatch(c))
		st = PCONN_CLOSE;
	if (st == PCONN_PARK) {
		pool_submit(c);
		return;
	}
	atomic_store(&c->last, now_s());
	atomic_store(&c->in_eom, false);
	atomic_store(&c->busy, false);
	if (st == PCONN_CLOSE && c->pc.why[0])
		log_warning("closing a milter connection: %s", c->pc.why);
	if (st == PCONN_CLOSE || (!watched && !watch(c)))
		conn_close(c);
}

/* worker - run parked connections' blocking steps, in order, one connection at a time */
static void *
worker(void *arg)
{
	struct worker *w = arg;

	for (;;) {
		while (sem_wait(&w->go) != 0)
			;	/* EINTR */
		if (atomic_load(&stop_flag))
			return NULL;
		for (struct econn *c = w->job; c; c = next_job(w)) {
			enum pconn_state st;
			while ((st = pconn_run(&c->pc, true)) == PCONN_PARK)
				;
			/* before its reply goes out: no PROGRESS may follow it */
			atomic_store(&c->in_eom, false);
			settle(c, st, false);
		}
	}
}

/* readable - the loop's event for a connection: read once, run what is whole */
static void
readable(struct econn *c)
{
	char *rbuf = c->loop->rbuf;
	ssize_t n;

	do
		n = read(c->fd, rbuf, ENGINE_READ);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return;		/* still watched: the next bytes are reported */
	if (n <= 0) {
		conn_close(c);
		return;
	}
	pconn_in(&c->pc, rbuf, (size_t)n);
	settle(c, pconn_run(&c->pc, false), true);
}

/* accept_one - take a waiting connection; on EMFILE pause until the next tick.
 * One per event: the listening socket is level-triggered, so the next wait
 * reports any other at once, and no accept is spent to learn there is none. */
static void
accept_one(struct loop *l)
{
	int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			/* fdwatch logs the full table; the queue waits, as with libmilter */
			epoll_ctl(l->ep, EPOLL_CTL_DEL, listen_fd, NULL);
			l->accepting = false;
		}
		return;
	}
	struct econn *c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->loop = l;
	pthread_mutex_init(&c->wlock, NULL);
	c->sc = steps_conn_new();
	pconn_init(&c->pc, &step_ops, c->sc);
	atomic_store(&c->last, now_s());
	pthread_mutex_lock(&l->lock);
	c->next = l->conns;
	if (l->conns)
		l->conns->prev = c;
	l->conns = c;
	pthread_mutex_unlock(&l->lock);
	if (!watch(c))
		conn_close(c);
}

/* listen_arm - this loop takes its share of new connections */
static bool
listen_arm(struct loop *l)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = &listen_tag };

	l->accepting = epoll_ctl(l->ep, EPOLL_CTL_ADD, listen_fd, &ev) == 0;
	return l->accepting;
}

/*
 * progress - SMFIR_PROGRESS for each end of message parked long, so the
 * MTA's content timeout (Postfix: 300 s) restarts. Under l->lock no
 * connection of the list is freed; the write lock keeps it whole.
 */
static void
progress(struct loop *l, long long now)
{
	static const char packet[] = { 0, 0, 0, 1, SMFIR_PROGRESS };

	pthread_mutex_lock(&l->lock);
	for (struct econn *c = l->conns; c; c = c->next) {
		if (!atomic_load(&c->busy) || now - atomic_load(&c->last) < ENGINE_PROGRESS_SECONDS)
			continue;
		pthread_mutex_lock(&c->wlock);
		if (atomic_load(&c->in_eom)
		    && send(c->fd, packet, sizeof(packet), MSG_DONTWAIT | MSG_NOSIGNAL) == sizeof(packet))
			atomic_store(&c->last, now);
		pthread_mutex_unlock(&c->wlock);
	}
	pthread_mutex_unlock(&l->lock);
}

/* sweep - once a tick: PROGRESS, idle connections closed, accept again after EMFILE */
static void
sweep(struct loop *l)
{
	long long now = now_s();
	struct econn *c, *next;

	if (!l->accepting)
		(void)listen_arm(l);
	progress(l, now);
	for (;;) {
		struct econn *idle = NULL;
		pthread_mutex_lock(&l->lock);
		for (c = l->conns; c; c = next) {
			next = c->next;
			if (!atomic_load(&c->busy) && now - atomic_load(&c->last) > ENGINE_IDLE_SECONDS) {
				idle = c;
				break;
			}
		}
		pthread_mutex_unlock(&l->lock);
		if (idle == NULL)
			return;
		log_info("closing a milter connection idle for %d s", ENGINE_IDLE_SECONDS);
		conn_close(idle);
	}
}

/* loop_thread - one core's event loop */
static void *
loop_thread(void *arg)
{
	struct loop *l = arg;
	struct epoll_event ev[ENGINE_EVENTS];
	long long ticked = now_s();

	while (!atomic_load(&stop_flag)) {
		int n = epoll_wait(l->ep, ev, ENGINE_EVENTS, 1000);
		if (n < 0 && errno != EINTR) {
			log_error("engine: epoll_wait: %s", strerror(errno));
			atomic_store(&failed_flag, true);
			return NULL;
		}
		for (int i = 0; i < n && !atomic_load(&stop_flag); i++) {
			if (ev[i].data.ptr == &listen_tag)
				accept_one(l);
			else if (ev[i].data.ptr != &wake_tag)
				readable(ev[i].data.ptr);
		}
		if (now_s() != ticked) {
			ticked = now_s();
			sweep(l);
		}
	}
	return NULL;
}

/* loop_count - one loop per core the process may run on */
static int
loop_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > ENGINE_MAX_LOOPS ? ENGINE_MAX_LOOPS : (int)n;
}

/* engine_start - the loops and the pool, serving fd */
bool
engine_start(int fd, char *why, size_t why_size)
{
	listen_fd = fd;
	/* every loop may be woken for one connection: the losers must not block */
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
		snprintf(why, why_size, "engine: cannot make the socket non-blocking: %s",
			 strerror(errno));
		return false;
	}
	n_loops = loop_count();
	for (int i = 0; i < n_loops; i++) {
		struct loop *l = &loops[i];
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &wake_tag };
		pthread_mutex_init(&l->lock, NULL);
		l->ep = epoll_create1(EPOLL_CLOEXEC);
		l->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (l->ep < 0 || l->wake < 0 || epoll_ctl(l->ep, EPOLL_CTL_ADD, l->wake, &ev) != 0
		    || !listen_arm(l)) {
			snprintf(why, why_size, "engine: cannot set up its event loop: %s", strerror(errno));
			return false;
		}
	}
	for (int i = 0; i < ENGINE_WORKERS; i++) {
		struct worker *w = &pool.workers[i];
		sem_init(&w->go, 0, 0);
		if (pthread_create(&w->thread, NULL, worker, w) != 0) {
			snprintf(why, why_size, "engine: cannot start its worker threads");
			return false;
		}
		pthread_mutex_lock(&pool.lock);
		w->next_idle = pool.idle;
		pool.idle = w;
		pthread_mutex_unlock(&pool.lock);
	}
	for (int i = 0; i < n_loops; i++)
		if (pthread_create(&loops[i].thread, NULL, loop_thread, &loops[i]) != 0) {
			snprintf(why, why_size, "engine: cannot start its event loops");
			return false;
		}
	log_debug("milter engine: %d event loops, %d workers", n_loops, ENGINE_WORKERS);
	return true;
}

/*
 * close_idle - at the end, every connection no worker holds: their
 * sessions go before the runtime they use (libmilter closed them likewise)
 */
static void
close_idle(struct loop *l)
{
	struct econn *c = l->conns, *next;

	for (; c; c = next) {
		next = c->next;
		if (!atomic_load(&c->busy))
			conn_close(c);
	}
}

/* engine_stop - end the loops (at once), the idle workers and connections */
void
engine_stop(void)
{
	struct timespec deadline;
	uint64_t one = 1;

	atomic_store(&stop_flag, true);
	for (int i = 0; i < n_loops; i++)
		if (write(loops[i].wake, &one, sizeof(one)) < 0)
			log_warning("engine: cannot wake an event loop: %s", strerror(errno));
	for (int i = 0; i < ENGINE_WORKERS; i++)
		sem_post(&pool.workers[i].go);
	for (int i = 0; i < n_loops; i++)
		pthread_join(loops[i].thread, NULL);
	/* a worker still in a step after 2 s is abandoned: the process is about to exit */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 2;
	for (int i = 0; i < ENGINE_WORKERS; i++)
		if (pthread_timedjoin_np(pool.workers[i].thread, NULL, &deadline) != 0)
			pthread_detach(pool.workers[i].thread);
	for (int i = 0; i < n_loops; i++)
		close_idle(&loops[i]);
	close(listen_fd);
}

/* engine_failed - a loop ended on an error */
bool
engine_failed(void)
{
	return atomic_load(&failed_flag);
}
