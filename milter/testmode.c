/*
 * testmode - feed a message file through the session object.
 *
 * The file is read as the MTA would pass it: header fields (unfolded
 * continuation lines kept with their line breaks), then the body in
 * chunks. Output is the contract: one header per line, unfolded, then
 * action=. The SMTP reply of a reject or tempfail goes to stderr.
 */
#include "testmode.h"
#include "../lib/session.h"
#include "../lib/history_service.h"
#include "../lib/runtime.h"

#include <errno.h>
#include <stdatomic.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* The time of evaluation (-T), 0 for the clock. libopendkim judges t= and x=
 * by time(3) alone (its fixed-time option is for signing), so the program's
 * time() answers with -T once test mode sets it; the daemon never does. */
static _Atomic time_t testmode_clock;

/* time - the clock, or test mode's time of evaluation */
time_t
time(time_t *out)
{
	time_t t = atomic_load(&testmode_clock);
	struct timespec now;

	if (t == 0) {
		clock_gettime(CLOCK_REALTIME, &now);
		t = now.tv_sec;
	}
	if (out)
		*out = t;
	return t;
}

/* history_sync - with HistoryDB the row is written before the program ends
 * (DESIGN contract 9): the store is opened first, and a row it refused is told */
static bool
history_sync(struct runtime_slot *slot, bool done)
{
	struct runtime *rt = runtime_acquire(slot);
	struct buf why;
	bool ok = true;

	buf_init(&why);
	if (!done)
		ok = history_service_configure(&rt->cfg, true, 0, &why);
	else if (!history_service_sync_result(&why))
		fprintf(stderr, "authmilter: HistoryDB: row not written: %s\n", why.data);
	if (!ok)
		fprintf(stderr, "authmilter: HistoryDB: %s\n", why.data);
	if (done)
		history_service_stop(0);
	buf_free(&why);
	runtime_release(rt);
	return ok;
}

/* testmode_run - exit status 0 when evaluation ran */
int
testmode_run(struct runtime_slot *slot, const struct testmode_args *args)
{
	struct session *s;
	struct verdict v;
	FILE *fp;

	fp = strcmp(args->message_file, "-") == 0 ? stdin : fopen(args->message_file, "rb");
	if (fp == NULL) {
		fprintf(stderr, "authmilter: %s: %s\n", args->message_file, strerror(errno));
		return 2;
	}
	atomic_store(&testmode_clock, args->when);
	if (!history_sync(slot, false)) {
		if (fp != stdin)
			fclose(fp);
		return 1;
	}
	s = session_new(slot);
	session_connect(s, args->client_ip, NULL);
	if (args->helo)
		session_helo(s, args->helo);
	session_mail_from(s, args->sender ? args->sender : "");
	session_set_auth(s, args->auth_user);
	session_feed_file(s, fp);
	if (fp != stdin)
		fclose(fp);
	session_eom(s, &v);
	history_sync(slot, true);
	printf("Authentication-Results: %s\n", v.auth_results);
	for (size_t i = 0; i < v.n_add_fields; i++)
		printf("%s: %s\n", v.add_fields[i].name, v.add_fields[i].value);
	printf("action=%s\n", verdict_action_name(v.action));
	if (v.reply_text)
		fprintf(stderr, "authmilter: reply: %s %s %s\n", v.smtp_code, v.smtp_xcode,
			v.reply_text);
	for (size_t i = 0; i < v.n_delete; i++)
		fprintf(stderr, "authmilter: would delete Authentication-Results #%zu\n",
			v.delete_ar[i]);
	verdict_free(&v);
	session_free(s);
	return 0;
}
