/*
 * history_service - which history writer the sessions hand rows to.
 *
 * A read-write lock guards the current writer: sessions take it shared for
 * the pointer push, a reload or shutdown takes it exclusive only to swap the
 * pointer, then drains the old writer outside the lock.
 */
#include "history_service.h"
#include "history_db.h"
#include "history_writer.h"

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define REPORT_EVERY 60

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static struct history_writer *writer;
static char *writer_url;
static int writer_queue, writer_keep;
/* test mode: one connection, rows written by the caller */
static pthread_mutex_t sync_lock = PTHREAD_MUTEX_INITIALIZER;
static struct history_db *sync_db;
static struct buf sync_error;
static bool sync_failed;
/* the daemon's report line */
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;
static time_t last_report;
static struct history_counts reported;

/* same_writer - the running writer already is what cfg asks for */
static bool
same_writer(const struct config *cfg)
{
	if (cfg->history_db == NULL || writer_url == NULL)
		return cfg->history_db == NULL && writer_url == NULL;
	return strcmp(cfg->history_db, writer_url) == 0 && cfg->history_queue == writer_queue
	    && cfg->history_keep == writer_keep;
}

/* configure_sync - test mode: the store opened now, rows written at once */
static bool
configure_sync(const struct config *cfg, struct buf *why)
{
	struct history_db *db;

	if (cfg->history_db == NULL)
		return true;
	db = history_db_open(cfg->history_db, why);
	if (db == NULL)
		return false;
	pthread_mutex_lock(&sync_lock);
	history_db_close(sync_db);
	sync_db = db;
	pthread_mutex_unlock(&sync_lock);
	return true;
}

/* history_service_configure - see the header */
bool
history_service_configure(const struct config *cfg, bool sync, int drain_timeout,
			  struct buf *why)
{
	struct history_writer *fresh = NULL, *old;
	char *old_url;

	if (sync)
		return configure_sync(cfg, why);
	if (same_writer(cfg))
		return true;
	if (cfg->history_db) {
		struct history_writer_opts o = {
			.url = cfg->history_db,
			.queue = (size_t)cfg->history_queue,
			.keep_days = cfg->history_keep,
		};
		fresh = history_writer_start(&o, why);
		if (fresh == NULL)
			return false;
	}
	pthread_rwlock_wrlock(&lock);
	old = writer;
	old_url = writer_url;
	writer = fresh;
	writer_url = cfg->history_db ? xstrdup(cfg->history_db) : NULL;
	writer_queue = cfg->history_queue;
	writer_keep = cfg->history_keep;
	pthread_rwlock_unlock(&lock);
	free(old_url);
	history_writer_stop(old, drain_timeout);
	return true;
}

/* store_sync - test mode's row, written before the program goes on; with
 * no store (a message of an old snapshot after the writer was stopped) the
 * row is dropped */
static void
store_sync(struct history_row *row)
{
	pthread_mutex_lock(&sync_lock);
	if (sync_db == NULL) {
		history_count_dropped(1);
	} else {
		buf_reset(&sync_error);
		sync_failed = !history_store_rows(sync_db, &row, 1, &sync_error);
		if (sync_failed)
			history_count_failed(1);
		else
			history_count_written(1);
	}
	pthread_mutex_unlock(&sync_lock);
	history_row_free(row);
}

/* history_service_offer - the row of a message, when one is due */
void
history_service_offer(const struct history_input *in)
{
	struct history_row *row;

	if (!history_row_wanted(in))
		return;
	row = history_row_build(in);
	pthread_rwlock_rdlock(&lock);
	if (writer) {
		history_writer_submit(writer, row);
		row = NULL;
	}
	pthread_rwlock_unlock(&lock);
	if (row)
		store_sync(row);
}

/* history_service_sync_result - how test mode's row went */
bool
history_service_sync_result(struct buf *why)
{
	bool ok;

	pthread_mutex_lock(&sync_lock);
	ok = !sync_failed;
	if (!ok) {
		buf_reset(why);
		buf_adds(why, sync_error.data ? sync_error.data : "");
	}
	pthread_mutex_unlock(&sync_lock);
	return ok;
}

/* history_service_stop - drain the writer (at most timeout s) and close */
void
history_service_stop(int timeout)
{
	struct history_writer *old;

	pthread_rwlock_wrlock(&lock);
	old = writer;
	writer = NULL;
	free(writer_url);
	writer_url = NULL;
	pthread_rwlock_unlock(&lock);
	history_writer_stop(old, timeout);
	pthread_mutex_lock(&sync_lock);
	history_db_close(sync_db);
	sync_db = NULL;
	buf_free(&sync_error);
	pthread_mutex_unlock(&sync_lock);
}

/* history_service_report - "N rows dropped, M failed" since the last line */
bool
history_service_report(time_t now, struct buf *line)
{
	struct history_counts c;
	struct buf err;
	bool say;

	buf_init(&err);
	pthread_mutex_lock(&report_lock);
	history_counts_get(&c);
	say = now - last_report >= REPORT_EVERY
	   && (c.dropped != reported.dropped || c.failed != reported.failed);
	if (say) {
		pthread_rwlock_rdlock(&lock);
		if (writer)
			history_writer_last_error(writer, &err);
		pthread_rwlock_unlock(&lock);
		buf_reset(line);
		buf_printf(line, "history: %lu rows dropped and %lu failed since the last report"
			   " (%lu written in all)%s%s", c.dropped - reported.dropped,
			   c.failed - reported.failed, c.written, err.len ? "; store: " : "",
			   err.len ? err.data : "");
		reported = c;
		last_report = now;
	}
	pthread_mutex_unlock(&report_lock);
	buf_free(&err);
	return say;
}

/* key_line - the line of the conf file where key is set, 0 if unknown */
static unsigned
key_line(const char *path, const char *key)
{
	char line[4096];
	unsigned n = 0, found = 0;
	size_t klen = strlen(key);
	FILE *fp = path ? fopen(path, "r") : NULL;

	if (fp == NULL)
		return 0;
	while (found == 0 && fgets(line, sizeof(line), fp)) {
		const char *p = line;

		n++;
		while (isspace((unsigned char)*p))
			p++;
		if (strncasecmp(p, key, klen) == 0 && isspace((unsigned char)p[klen]))
			found = n;
	}
	fclose(fp);
	return found;
}

/* sqlite_creatable - a store file that does not exist yet is not created by
 * a check (run as root it would belong to root): its directory must be writable */
static bool
sqlite_creatable(const char *path, struct buf *why)
{
	char *copy = xstrdup(path), *dir = dirname(copy);
	bool ok = access(dir, W_OK) == 0;

	if (!ok)
		buf_printf(why, "cannot create %s: %s: %s", path, dir, strerror(errno));
	free(copy);
	return ok;
}

/* history_service_check - open the store once, as the writer would */
bool
history_service_check(const struct config *cfg, const char *conf_path, struct buf *errors)
{
	const char *url = cfg->history_db;
	struct history_db *db = NULL;
	struct buf why;
	bool ok;

	if (url == NULL)
		return true;
	buf_init(&why);
	if (!history_url_ok(url))
		buf_printf(&why, "\"%s\" is not sqlite:/ABSOLUTE/PATH or postgresql://...", url);
	else if (strncmp(url, "sqlite:", 7) == 0 && access(url + 7, F_OK) != 0)
		sqlite_creatable(url + 7, &why);
	else if ((db = history_db_open(url, &why)) != NULL)
		history_db_close(db);
	ok = why.len == 0;
	if (!ok)
		history_service_error(conf_path, why.data, errors);
	buf_free(&why);
	return ok;
}

/* history_service_error - "conf:line: HistoryDB: text", the line where the conf sets it */
void
history_service_error(const char *conf_path, const char *text, struct buf *errors)
{
	buf_printf(errors, "%s:%u: HistoryDB: %s\n", conf_path ? conf_path : "-",
		   key_line(conf_path, "HistoryDB"), text);
}
