/*
 * history_writer - the bounded queue between the sessions and the history
 * store, and the one thread that writes it.
 *
 * history_writer_submit() never blocks on the store: it holds a mutex for
 * a pointer push (no wake-up: the thread looks every 100 ms, or at once
 * when a batch or the whole queue is full), and a full queue or a stopping
 * writer drops the row (counted). The thread inserts rows in batches, one transaction per batch,
 * reconnects with backoff (1 to 60 s) while the store is down (keeping the
 * batch in hand; the queue fills, then drops), and purges rows older than
 * keep_days once an hour. Counters are process-wide and only grow, so a
 * writer replaced on reload keeps counting into the same metrics.
 */
#ifndef AUTHMILTER_HISTORY_WRITER_H
#define AUTHMILTER_HISTORY_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"
#include "history_db.h"
#include "history_row.h"

struct history_writer;

struct history_writer_opts {
	const char *url;		/* HistoryDB */
	size_t queue;			/* HistoryQueue */
	int keep_days;			/* HistoryKeep; 0: no purge */
};

struct history_counts {
	unsigned long written;		/* rows committed */
	unsigned long dropped;		/* queue full, writer stopping or none running */
	unsigned long failed;		/* the store refused them */
};

/* NULL with why when the URL is not one of ours; the store itself may be down */
struct history_writer *history_writer_start(const struct history_writer_opts *o, struct buf *why);
/* takes row; never waits for the store */
void history_writer_submit(struct history_writer *w, struct history_row *row);
/* write what is queued for at most timeout seconds, drop the rest, end the thread, free */
void history_writer_stop(struct history_writer *w, int timeout);
/* the store's last error (connection or insert), "" when none yet */
void history_writer_last_error(struct history_writer *w, struct buf *out);

/* insert rows in one transaction (rolled back on failure) */
bool history_store_rows(struct history_db *db, struct history_row *const *rows, size_t n,
			struct buf *why);
void history_counts_get(struct history_counts *out);
void history_count_dropped(unsigned long n);
void history_count_written(unsigned long n);
void history_count_failed(unsigned long n);
/* a URL the daemon takes (syntax only): sqlite:/ABSOLUTE/PATH or postgresql:// */
bool history_url_ok(const char *url);

#endif
