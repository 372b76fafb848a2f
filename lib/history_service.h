/*
 * history_service - the process's one history writer, as the configuration
 * says: the daemon (re)configures it at start and on reload and stops it at
 * shutdown; sessions offer each message's evaluation to it. Test mode uses
 * it synchronously: the row is written on the caller's thread at once.
 * lib/ never logs: the daemon asks for a report line at most once a minute.
 */
#ifndef AUTHMILTER_HISTORY_SERVICE_H
#define AUTHMILTER_HISTORY_SERVICE_H

#include <stdbool.h>
#include <time.h>
#include "buf.h"
#include "config.h"
#include "history_row.h"

/* start, replace (HistoryDB, HistoryQueue or HistoryKeep changed) or stop the
 * writer; the replaced one drains for at most drain_timeout seconds. False
 * with why when HistoryDB is no URL of ours (the old writer stays).
 * sync: open the store now and write each row at once (test mode); false
 * with why when it cannot be opened. */
bool history_service_configure(const struct config *cfg, bool sync, int drain_timeout,
			       struct buf *why);
/* session_eom: build and queue the row when history is on and one is due */
void history_service_offer(const struct history_input *in);
/* shutdown: drain for at most timeout seconds */
void history_service_stop(int timeout);
/* a line for the log when rows were dropped or failed since the last one,
 * at most one a minute; false when there is nothing to say */
bool history_service_report(time_t now, struct buf *line);
/* authmilter -n: can the store in cfg be opened? errors as "path:line: HistoryDB: ..." */
bool history_service_check(const struct config *cfg, const char *conf_path, struct buf *errors);
/* history_service_error - text as an error of the conf's HistoryDB line (file:line:) */
void history_service_error(const char *conf_path, const char *text, struct buf *errors);
/* the last row offered to a synchronous service was written (test mode) */
bool history_service_sync_result(struct buf *why);

#endif
