/*
 * history_writer - a ring of row pointers under one mutex, and the thread
 * that empties it into the store. Sessions only ever push a pointer; all
 * waiting on the store (connect, insert, backoff) happens on this thread.
 */
#include "history_writer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 256		/* rows per transaction */
#define BACKOFF_MAX 60		/* seconds between two connection attempts, at most */
#define PURGE_EVERY 3600
/* The thread looks at the queue this often (and at once when a batch, or
 * the whole queue, is full): a session's hand-over is then a mutex and a
 * pointer, no wake-up system call; a row reaches the store within this time. */
#define POLL_NS 100000000L

struct history_writer {
	char *url;
	int keep_days;
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* rows arrived, or stop */
	struct history_row **ring;
	size_t cap, head, n;
	bool stopping;
	struct timespec deadline;	/* when stopping: drop what is left after this */
	struct buf last_error;
	pthread_t thread;
	/* the thread's own */
	struct history_db *db;
	struct history_row *batch[BATCH];
	size_t n_batch;
	time_t next_purge;
};

/* now_mono - the monotonic clock (the condition variable waits on it) */
static void
now_mono(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

/* past - t has come */
static bool
past(const struct timespec *t)
{
	struct timespec now;

	now_mono(&now);
	return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

/* set_error - remember the store's last complaint for the daemon's log */
static void
set_error(struct history_writer *w, const char *text)
{
	pthread_mutex_lock(&w->lock);
	buf_reset(&w->last_error);
	buf_adds(&w->last_error, text);
	pthread_mutex_unlock(&w->lock);
}

/* history_writer_submit - push a pointer or drop the row; never waits on the store */
void
history_writer_submit(struct history_writer *w, struct history_row *row)
{
	bool taken = false;

	pthread_mutex_lock(&w->lock);
	if (!w->stopping && w->n < w->cap) {
		w->ring[(w->head + w->n++) % w->cap] = row;
		taken = true;
		/* a batch, or a queue smaller than one that is now full: the next
		 * row would be dropped if the thread waited for its 100 ms */
		if (w->n == BATCH || w->n == w->cap)
			pthread_cond_signal(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	if (!taken) {
		history_count_dropped(1);
		history_row_free(row);
	}
}

/* take - move queued rows into the batch; false when the thread should end */
static bool
take(struct history_writer *w)
{
	bool go_on = true;

	pthread_mutex_lock(&w->lock);
	while (w->n == 0 && w->n_batch == 0 && !w->stopping) {
		struct timespec t;
		now_mono(&t);
		t.tv_nsec += POLL_NS;
		if (t.tv_nsec >= 1000000000L)
			t.tv_sec++, t.tv_nsec -= 1000000000L;
		pthread_cond_timedwait(&w->cond, &w->lock, &t);
		if (w->keep_days && w->db && time(NULL) >= w->next_purge)
			break;
	}
	/* a batch in hand (the store was down) is retried as it is: rows wait
	 * in the queue, so HistoryQueue bounds what waits */
	while (w->n > 0 && w->n_batch < BATCH && (w->n_batch == 0 || w->db)) {
		w->batch[w->n_batch++] = w->ring[w->head];
		w->head = (w->head + 1) % w->cap;
		w->n--;
	}
	if (w->stopping && ((w->n == 0 && w->n_batch == 0) || past(&w->deadline)))
		go_on = false;
	pthread_mutex_unlock(&w->lock);
	return go_on;
}

/* nap - wait seconds, or less when the writer is told to stop */
static void
nap(struct history_writer *w, int seconds)
{
	struct timespec until;

	now_mono(&until);
	until.tv_sec += seconds;
	pthread_mutex_lock(&w->lock);
	while (!past(&until) && !(w->stopping && past(&w->deadline)))
		pthread_cond_timedwait(&w->cond, &w->lock, w->stopping && w->deadline.tv_sec
				       < until.tv_sec ? &w->deadline : &until);
	pthread_mutex_unlock(&w->lock);
}

/* connect_store - open the store, backing off 1, 2, 4 .. 60 s while it is down */
static bool
connect_store(struct history_writer *w, int *backoff)
{
	struct buf why;

	buf_init(&why);
	w->db = history_db_open(w->url, &why);
	if (w->db == NULL) {
		set_error(w, why.data);
		buf_free(&why);
		nap(w, *backoff);
		*backoff = *backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : *backoff * 2;
		return false;
	}
	buf_free(&why);
	*backoff = 1;
	return true;
}

/* write_rows - rows in one transaction; false when the store went away */
static bool
write_rows(struct history_writer *w, struct history_row *const *rows, size_t n, size_t *failed)
{
	struct buf why;

	buf_init(&why);
	if (history_store_rows(w->db, rows, n, &why)) {
		history_count_written(n);
		buf_free(&why);
		return true;
	}
	set_error(w, why.data);
	buf_free(&why);
	if (!history_db_ok(w->db))
		return false;
	*failed += n;
	return true;
}

/* write_batch - insert the batch. A row the store refuses is found by
 * writing the rows one by one, so it does not take its batch with it; rows
 * not yet written when the store goes away stay for the next try. */
static void
write_batch(struct history_writer *w)
{
	size_t failed = 0, done = 0;
	bool up = write_rows(w, w->batch, w->n_batch, &failed);

	if (up && (failed == 0 || w->n_batch == 1))
		done = w->n_batch;
	else if (up) {
		failed = 0;
		while (up && done < w->n_batch)
			if ((up = write_rows(w, &w->batch[done], 1, &failed)))
				done++;
	}
	history_count_failed(failed);
	for (size_t i = 0; i < done; i++)
		history_row_free(w->batch[i]);
	memmove(w->batch, w->batch + done, (w->n_batch - done) * sizeof(w->batch[0]));
	w->n_batch -= done;
	if (!up) {	/* down: reconnect, then the same rows again */
		history_db_close(w->db);
		w->db = NULL;
	}
}

/* purge - rows older than HistoryKeep days, once an hour */
static void
purge(struct history_writer *w)
{
	struct buf why;
	time_t now = time(NULL);

	if (w->keep_days == 0 || w->db == NULL || now < w->next_purge)
		return;
	w->next_purge = now + PURGE_EVERY;
	buf_init(&why);
	if (!history_db_purge(w->db, (long)now - (long)w->keep_days * 86400, &why))
		set_error(w, why.data);
	buf_free(&why);
}

/* writer_main - the thread: take, connect, write, purge, until stopped */
static void *
writer_main(void *arg)
{
	struct history_writer *w = arg;
	int backoff = 1;

	while (take(w)) {
		if (w->db == NULL && !connect_store(w, &backoff))
			continue;
		if (w->n_batch)
			write_batch(w);
		purge(w);
	}
	/* stopped: what could not be written in time is dropped, and counted */
	history_count_dropped(w->n_batch);
	for (size_t i = 0; i < w->n_batch; i++)
		history_row_free(w->batch[i]);
	w->n_batch = 0;
	history_db_close(w->db);
	w->db = NULL;
	return NULL;
}

/* history_writer_start - the queue and its thread; the store is opened by the thread */
struct history_writer *
history_writer_start(const struct history_writer_opts *o, struct buf *why)
{
	struct history_writer *w;
	pthread_condattr_t attr;

	if (!history_url_ok(o->url)) {
		buf_reset(why);
		buf_printf(why, "\"%s\" is not sqlite:/ABSOLUTE/PATH or postgresql://...", o->url);
		return NULL;
	}
	w = xcalloc(1, sizeof(*w));
	w->url = xstrdup(o->url);
	w->keep_days = o->keep_days;
	w->cap = o->queue ? o->queue : 1;
	w->ring = xcalloc(w->cap, sizeof(*w->ring));
	w->next_purge = time(NULL);
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		buf_reset(why);
		buf_adds(why, "cannot start the history writer thread");
		history_writer_stop(w, -1);
		return NULL;
	}
	return w;
}

/* history_writer_stop - drain for at most timeout seconds, then drop and free
 * (timeout < 0: the thread never started) */
void
history_writer_stop(struct history_writer *w, int timeout)
{
	if (w == NULL)
		return;
	if (timeout >= 0) {
		pthread_mutex_lock(&w->lock);
		w->stopping = true;
		now_mono(&w->deadline);
		w->deadline.tv_sec += timeout;
		pthread_cond_broadcast(&w->cond);
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->thread, NULL);
	}
	history_count_dropped(w->n);
	for (; w->n > 0; w->n--, w->head = (w->head + 1) % w->cap)
		history_row_free(w->ring[w->head]);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	buf_free(&w->last_error);
	free(w->ring);
	free(w->url);
	free(w);
}

/* history_writer_last_error - a copy of the store's last complaint */
void
history_writer_last_error(struct history_writer *w, struct buf *out)
{
	buf_reset(out);
	pthread_mutex_lock(&w->lock);
	buf_adds(out, w->last_error.data ? w->last_error.data : "");
	pthread_mutex_unlock(&w->lock);
}
