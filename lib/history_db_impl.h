/*
 * history_db_impl - what a history store backend provides to history_db.
 * Private to lib/history_db*.c.
 */
#ifndef AUTHMILTER_HISTORY_DB_IMPL_H
#define AUTHMILTER_HISTORY_DB_IMPL_H

#include "history_db.h"

struct history_db_ops {
	const char *kind;
	bool (*exec)(void *conn, const char *sql, struct buf *why);
	bool (*query)(void *conn, const char *sql, const char *const *params, size_t n_params,
		      struct history_rows *out, struct buf *why);
	bool (*ok)(void *conn);
	void (*close)(void *conn);
	const char *begin_write;	/* BEGIN that takes the write lock at once */
	const char *lock_migration;	/* run after begin_write before migrating, or NULL */
};

struct history_db {
	const struct history_db_ops *ops;
	void *conn;
};

/* each backend's open: NULL with *why set on failure */
void *history_db_sqlite_open(const char *path, struct buf *why);
void *history_db_pg_open(const char *conninfo, struct buf *why);
extern const struct history_db_ops history_db_sqlite_ops, history_db_pg_ops;

/* history_rows_alloc - an n_rows x n_cols table of NULL cells */
void history_rows_alloc(struct history_rows *out, size_t n_rows, size_t n_cols);

#endif
