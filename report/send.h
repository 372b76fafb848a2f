/*
 * send - hand a spooled message to the MTA: a sendmail-compatible command
 * fed from the spool file, or SMTP submission (STARTTLS, AUTH) with
 * libcurl. The spool file is the journal that makes a crash harmless:
 *
 *   NAME.eml   written (temp, fsync, rename) before the hand-over
 *   NAME.done  the same file renamed by the submitting child once the MTA
 *              accepted it, so a reporter killed meanwhile loses nothing:
 *              the child still finishes, and the next run sees .done and
 *              only marks the report sent.
 */
#ifndef AUTHMILTER_REPORT_SEND_H
#define AUTHMILTER_REPORT_SEND_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define SEND_DEFAULT_SENDMAIL "/usr/sbin/sendmail -t -oi"

struct send_cfg {
	const char *method;		/* "sendmail", a command line, or smtp(s)://host:port */
	const char *smtp_user;		/* NULL: no AUTH */
	const char *smtp_password_file;
	const char *envelope_from;	/* SMTP MAIL FROM */
	const char *smtp_ca_file;	/* CAs that sign the smarthost's certificate; NULL: system's */
};

enum spool_state { SPOOL_NONE, SPOOL_PENDING, SPOOL_DONE };

/* base = DIR/NAME (no suffix). What a previous run left: waits for a submitter still
 * holding the file, so the answer is final */
enum spool_state send_spool_state(const char *base);
/* write base.eml atomically; false with why */
bool send_spool_write(const char *base, const void *data, size_t len, struct buf *why);
/* submit base.eml to rcpt in a child that renames it to base.done on acceptance */
bool send_submit(const struct send_cfg *c, const char *base, const char *rcpt, struct buf *why);
/* the run lock's descriptor: submitters close it, so a reporter killed while
 * its submitter finishes does not keep the next run out (that run waits on
 * the spool file's own lock instead) */
void send_set_run_lock(int fd);
/* forget base.done (after it is marked sent) */
void send_spool_remove(const char *base);

#endif
