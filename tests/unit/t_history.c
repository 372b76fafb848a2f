/*
 * t_history - the history store on a real SQLite file: migrations (twice,
 * and from several connections), $n parameters, NULLs, the DKIM cascade,
 * purge; the row builder and the writer's queue (drops when full).
 */
#include "testutil.h"
#include "../../lib/history_db.h"
#include "../../lib/history_row.h"
#include "../../lib/history_schema.h"
#include "../../lib/history_writer.h"

#include <sqlite3.h>

static char dir[64];
static char url[128];

/* setup - a fresh store in a fresh temporary directory for each test */
static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/t_history.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(url, sizeof(url), "sqlite:%s/h.db", dir);
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static struct history_db *
open_ok(void)
{
	struct buf why;
	struct history_db *db;

	buf_init(&why);
	db = history_db_open(url, &why);
	if (db == NULL)
		ck_abort_msg("open %s: %s", url, why.data);
	buf_free(&why);
	return db;
}

/* count - SELECT count(*) of a table */
static long
count(struct history_db *db, const char *table)
{
	char sql[128];
	struct history_rows rows;
	struct buf why;
	long n;

	buf_init(&why);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	ck_assert_msg(history_db_query(db, sql, NULL, 0, &rows, &why), "%s", why.data);
	n = atol(history_rows_get(&rows, 0, 0));
	history_rows_free(&rows);
	buf_free(&why);
	return n;
}

START_TEST(test_open_migrate)
{
	struct history_db *db = open_ok(), *db2;
	struct history_rows rows;
	struct buf why;

	buf_init(&why);
	ck_assert_str_eq(history_db_kind(db), "sqlite");
	ck_assert(history_db_query(db, "SELECT value FROM history_meta WHERE key = $1",
				   (const char *const[]){ "schema_version" }, 1, &rows, &why));
	ck_assert_uint_eq(rows.n_rows, 1);
	ck_assert_str_eq(history_rows_get(&rows, 0, 0), "1");
	history_rows_free(&rows);
	/* a second connection and a second migration change nothing */
	db2 = open_ok();
	ck_assert(history_db_migrate(db, &why));
	ck_assert_int_eq(count(db2, "history_meta"), 1);
	ck_assert_int_eq(count(db2, "history_message"), 0);
	history_db_close(db2);
	history_db_close(db);
	buf_free(&why);
}
END_TEST

START_TEST(test_bad_urls)
{
	struct buf why;

	buf_init(&why);
	ck_assert_ptr_null(history_db_open("mysql://x", &why));
	ck_assert_str_eq(why.data, "not sqlite:PATH or postgresql://...");
	ck_assert_ptr_null(history_db_open("sqlite:", &why));
	ck_assert_ptr_null(history_db_open("sqlite:/nonexistent/dir/h.db", &why));
	ck_assert_ptr_nonnull(strstr(why.data, "sqlite"));
	ck_assert_ptr_null(history_db_open("postgresql:///x?host=/nonexistent&connect_timeout=1",
					   &why));
	ck_assert_ptr_nonnull(strstr(why.data, "postgresql: connect"));
	buf_free(&why);
}
END_TEST

/* a store whose schema version is newer than ours is refused, not downgraded */
START_TEST(test_newer_schema)
{
	struct history_db *db = open_ok();
	struct buf why;

	buf_init(&why);
	ck_assert(history_db_exec(db, "UPDATE history_meta SET value = '99'", &why));
	ck_assert(!history_db_migrate(db, &why));
	ck_assert_ptr_nonnull(strstr(why.data, "newer than this program"));
	ck_assert(history_db_exec(db, "UPDATE history_meta SET value = '1'", &why));
	history_db_close(db);
	buf_free(&why);
}
END_TEST

static const char insert_sql[] =
	"INSERT INTO history_message (received, mta, source_ip, header_from, envelope_from,"
	" envelope_to, helo, policy_domain, discovery, p, sp, np, adkim, aspf, testing, pct,"
	" dmarc_result, dkim_aligned, spf_aligned, disposition, spf_result)"
	" VALUES ($1, 'mx', '192.0.2.1', 'example.org', '', $2, 'helo', 'example.org',"
	" 'psl', 'reject', NULL, NULL, 'r', 'r', 'n', $3, 'pass', 'pass', 'fail', 'none',"
	" 'none') RETURNING id";

/* insert - one message row received at t with one DKIM row; its id */
static char *
insert(struct history_db *db, const char *t, const char *to, const char *pct)
{
	struct history_rows rows;
	struct buf why;
	char *id;

	buf_init(&why);
	ck_assert_msg(history_db_query(db, insert_sql, (const char *const[]){ t, to, pct }, 3,
				       &rows, &why), "%s", why.data);
	id = xstrdup(history_rows_get(&rows, 0, 0));
	history_rows_free(&rows);
	ck_assert_msg(history_db_query(db, "INSERT INTO history_dkim VALUES ($1, 0, 'example.org',"
				       " 's1', 'pass', NULL)", (const char *const[]){ id }, 1,
				       &rows, &why), "%s", why.data);
	ck_assert_uint_eq(rows.n_rows, 0);
	history_rows_free(&rows);
	buf_free(&why);
	return id;
}

START_TEST(test_params_nulls)
{
	struct history_db *db = open_ok();
	struct history_rows rows;
	struct buf why;
	char *id = insert(db, "1700000000", NULL, NULL);

	buf_init(&why);
	free(insert(db, "1700000001", "example.net", "0007"));
	ck_assert(history_db_query(db, "SELECT id, received, envelope_to, pct, sp FROM history_message"
				   " WHERE received >= $1 ORDER BY id", (const char *const[]){ "1700000000" },
				   1, &rows, &why));
	ck_assert_uint_eq(rows.n_rows, 2);
	ck_assert_uint_eq(rows.n_cols, 5);
	ck_assert_str_eq(history_rows_get(&rows, 0, 0), id);
	ck_assert_str_eq(history_rows_get(&rows, 0, 1), "1700000000");
	ck_assert_ptr_null(history_rows_get(&rows, 0, 2));
	ck_assert_ptr_null(history_rows_get(&rows, 0, 3));
	ck_assert_ptr_null(history_rows_get(&rows, 0, 4));
	ck_assert_str_eq(history_rows_get(&rows, 1, 2), "example.net");
	ck_assert_str_eq(history_rows_get(&rows, 1, 3), "7");	/* INTEGER column */
	ck_assert_ptr_null(history_rows_get(&rows, 2, 0));	/* out of range */
	history_rows_free(&rows);
	/* a NOT NULL column refuses NULL, and says so */
	ck_assert(!history_db_query(db, insert_sql, (const char *const[]){ NULL, NULL, NULL }, 3,
				    &rows, &why));
	ck_assert_ptr_nonnull(strstr(why.data, "NOT NULL"));
	free(id);
	history_db_close(db);
	buf_free(&why);
}
END_TEST

START_TEST(test_purge)
{
	struct history_db *db = open_ok();
	struct buf why;

	buf_init(&why);
	for (int i = 0; i < 12000; i += 100) {
		char t[16];

		snprintf(t, sizeof(t), "%d", 1000 + i);
		free(insert(db, t, NULL, "50"));
	}
	ck_assert(history_db_exec(db, "BEGIN; INSERT INTO history_message SELECT NULL, received,"
				  " mta, source_ip, header_from, envelope_from, envelope_to, helo,"
				  " policy_domain, discovery, p, sp, np, adkim, aspf, testing, pct,"
				  " fo, rua, ruf, dmarc_result, dkim_aligned, spf_aligned,"
				  " disposition, override_type, override_comment, spf_domain,"
				  " spf_scope, spf_result, failure_fo, failure_headers, failure_body"
				  " FROM history_message, (SELECT 1 FROM history_message LIMIT 90);"
				  " COMMIT", &why));
	ck_assert_int_eq(count(db, "history_message"), 120 * 91);
	ck_assert_int_eq(count(db, "history_dkim"), 120);
	/* rows 1000..6900 go (60 of 120 times, x91), in several batches */
	ck_assert_msg(history_db_purge(db, 7000, &why), "%s", why.data);
	ck_assert_int_eq(count(db, "history_message"), 60 * 91);
	ck_assert_int_eq(count(db, "history_dkim"), 60);	/* the cascade */
	ck_assert(history_db_purge(db, 0, &why));
	ck_assert_int_eq(count(db, "history_message"), 60 * 91);
	history_db_close(db);
	buf_free(&why);
}
END_TEST

/* ---- rows ---- */

/* A DMARC failure of example.org (p=reject, ruf=, fo=1) that local policy
 * softened to quarantine (never-reject), SPF fail for bounce.example.org,
 * one passing unaligned signature; FailureReports on. */
struct fixture {
	struct config cfg;
	struct spf_outcome spf;
	struct dkimv_sig sig;
	struct dkimv_outcome dk;
	struct dmarc_eval ev;
	struct verdict v;
	struct history_capture cap;
	struct history_input in;
};

static void
fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	config_defaults(&f->cfg);
	free(f->cfg.authserv_id);
	f->cfg.authserv_id = xstrdup("mx.example.net");
	f->cfg.history_db = xstrdup("sqlite:/nonexistent");
	f->cfg.failure_reports = true;
	f->spf = (struct spf_outcome){ .result = SPF_FAIL, .domain = "Bounce.Example.ORG" };
	f->sig = (struct dkimv_sig){ .result = DKIMV_PASS, .domain = "Other.Example",
				     .selector = "s1", .reason = NULL };
	f->dk = (struct dkimv_outcome){ .sigs = &f->sig, .n_sigs = 1, .signed_message = true };
	f->ev.evaluated = true;
	f->ev.from_domain = "Example.ORG";
	f->ev.out = (struct dmarc_outcome){ .result = DMARC_FAIL, .policy_domain = "example.org",
					    .have_record = true, .requested = DMARC_POLICY_REJECT,
					    .disposition = DMARC_POLICY_REJECT };
	f->ev.out.rec = (struct dmarc_record){ .p = DMARC_POLICY_REJECT, .sp = DMARC_POLICY_UNSET,
					       .ruf = "mailto:f@example.org", .fo = "1",
					       .pct_published = -1, .pct = 100 };
	f->v.action = ACTION_QUARANTINE;
	f->v.dmarc_applied = DMARC_POLICY_QUARANTINE;
	buf_init(&f->v.dmarc_notes);
	buf_adds(&f->v.dmarc_notes, "local override never-reject");
	history_capture_header(&f->cap, &f->cfg, "Subject", " hi\n there", 10, true);
	history_capture_header(&f->cap, &f->cfg, "From", "a@Example.ORG", 13, true);
	f->in = (struct history_input){ .cfg = &f->cfg, .client_ip = "192.0.2.7",
					.helo = "Mail.Example.NET", .mail_from = "x@Bounce.Example.ORG",
					.spf = &f->spf, .dkim = &f->dk, .dmarc = &f->ev,
					.verdict = &f->v, .capture = &f->cap };
}

static void
fixture_free(struct fixture *f)
{
	buf_free(&f->v.dmarc_notes);
	history_capture_reset(&f->cap);
	config_free(&f->cfg);
}

START_TEST(test_row_build)
{
	struct fixture f;
	struct history_row *r;

	fixture_init(&f);
	ck_assert(history_row_wanted(&f.in));
	r = history_row_build(&f.in);
	ck_assert_str_eq(r->mta, "mx.example.net");
	ck_assert_str_eq(r->header_from, "example.org");
	ck_assert_str_eq(r->envelope_from, "bounce.example.org");
	ck_assert_ptr_null(r->envelope_to);
	ck_assert_str_eq(r->helo, "mail.example.net");
	ck_assert_str_eq(r->discovery, "treewalk");
	ck_assert_str_eq(r->p, "reject");
	ck_assert_ptr_null(r->sp);
	ck_assert_int_eq(r->pct, -1);
	ck_assert_ptr_null(r->rua);
	ck_assert_str_eq(r->ruf, "mailto:f@example.org");
	ck_assert_str_eq(r->dmarc_result, "fail");
	ck_assert_str_eq(r->dkim_aligned, "fail");
	ck_assert_str_eq(r->disposition, "quarantine");
	ck_assert_str_eq(r->override_type, "local_policy");
	ck_assert_str_eq(r->override_comment, "local override never-reject");
	ck_assert_str_eq(r->spf_domain, "bounce.example.org");
	ck_assert_str_eq(r->spf_scope, "mfrom");
	ck_assert_str_eq(r->spf_result, "fail");
	ck_assert_str_eq(r->failure_fo, "1");
	ck_assert_str_eq(r->failure_headers, "Subject: hi\r\n there\r\nFrom: a@Example.ORG\r\n");
	ck_assert_ptr_null(r->failure_body);
	ck_assert_uint_eq(r->n_dkim, 1);
	ck_assert_str_eq(r->dkim[0].domain, "other.example");
	ck_assert_str_eq(r->dkim[0].result, "pass");
	ck_assert_ptr_null(r->dkim[0].human);
	history_row_free(r);
	fixture_free(&f);
}
END_TEST

/* each override the record or local policy can cause, and none for a pass */
START_TEST(test_row_overrides)
{
	struct fixture f;
	struct history_row *r;

	fixture_init(&f);
	buf_reset(&f.v.dmarc_notes);
	buf_adds(&f.v.dmarc_notes, "mailing list: quarantine");
	r = history_row_build(&f.in);
	ck_assert_str_eq(r->override_type, "mailing_list");
	history_row_free(r);
	f.v.dmarc_override = "trusted_forwarder";
	f.v.dmarc_override_comment = "arc=pass i=1 lists.example.org dkim=pass";
	r = history_row_build(&f.in);
	ck_assert_str_eq(r->override_type, "trusted_forwarder");
	ck_assert_str_eq(r->override_comment, "arc=pass i=1 lists.example.org dkim=pass");
	history_row_free(r);
	f.v.dmarc_override = NULL;
	f.v.dmarc_applied = DMARC_POLICY_QUARANTINE;
	f.ev.out.disposition = DMARC_POLICY_QUARANTINE;	/* t=y: one step less */
	f.ev.out.rec.testing = true;
	r = history_row_build(&f.in);
	ck_assert_str_eq(r->override_type, "policy_test_mode");
	ck_assert_str_eq(r->testing == 'y' ? "y" : "n", "y");
	history_row_free(r);
	f.ev.out.result = DMARC_PASS;
	f.ev.out.dkim_aligned = true;
	r = history_row_build(&f.in);
	ck_assert_ptr_null(r->override_type);
	ck_assert_str_eq(r->failure_fo, "1");	/* SPF was not aligned: fo=1 still asks */
	history_row_free(r);
	f.ev.out.spf_aligned = true;
	r = history_row_build(&f.in);
	ck_assert_ptr_null(r->failure_fo);
	ck_assert_ptr_null(r->failure_headers);
	history_row_free(r);
	fixture_free(&f);
}
END_TEST

/* no record, a tempfail, history off, FailureReports off: no row or no report fields */
START_TEST(test_row_wanted)
{
	struct fixture f;
	struct history_row *r;

	fixture_init(&f);
	f.v.action = ACTION_TEMPFAIL;
	ck_assert(!history_row_wanted(&f.in));
	f.v.action = ACTION_ACCEPT;
	f.ev.out.have_record = false;
	ck_assert(!history_row_wanted(&f.in));
	f.ev.out.have_record = true;
	f.cfg.failure_reports = false;
	r = history_row_build(&f.in);
	ck_assert_ptr_null(r->failure_fo);
	ck_assert_ptr_null(r->failure_headers);
	history_row_free(r);
	free(f.cfg.history_db);
	f.cfg.history_db = NULL;
	ck_assert(!history_row_wanted(&f.in));
	fixture_free(&f);
}
END_TEST

/* the body is kept only with FailureReportsBody, LF made CRLF across chunks,
 * and over the cap not at all (never a cut body) */
START_TEST(test_capture_body)
{
	struct fixture f;
	char *big = xmalloc(HISTORY_MAX_BODY);

	fixture_init(&f);
	history_capture_body(&f.cap, &f.cfg, "x\n", 2);
	ck_assert_uint_eq(f.cap.body.len, 0);
	f.cfg.failure_reports_body = true;
	ck_assert(history_capture_wants_body(&f.cfg));
	history_capture_body(&f.cap, &f.cfg, "a\r", 2);
	history_capture_body(&f.cap, &f.cfg, "\nb\n", 3);
	ck_assert_str_eq(f.cap.body.data, "a\r\nb\r\n");
	memset(big, 'z', HISTORY_MAX_BODY);
	history_capture_body(&f.cap, &f.cfg, big, HISTORY_MAX_BODY);
	ck_assert(f.cap.body_over);
	ck_assert_ptr_null(f.cap.body.data);
	free(big);
	fixture_free(&f);
}
END_TEST

/* the header section is dropped whole once the session's MaxHeaderBytes
 * count refuses a field (never a cut section), and stays dropped */
START_TEST(test_capture_headers_over)
{
	struct fixture f;
	struct history_row *r;

	fixture_init(&f);
	history_capture_header(&f.cap, &f.cfg, "X-Big", " x", 2, false);
	ck_assert(f.cap.headers_over);
	ck_assert_ptr_null(f.cap.headers.data);
	history_capture_header(&f.cap, &f.cfg, "X-After", " y", 2, true);
	ck_assert_ptr_null(f.cap.headers.data);
	r = history_row_build(&f.in);
	ck_assert_str_eq(r->failure_fo, "1");
	ck_assert_ptr_null(r->failure_headers);
	history_row_free(r);
	fixture_free(&f);
}
END_TEST

/* network bytes become text both stores hold: invalid UTF-8 and NUL are
 * U+FFFD, valid sequences (up to 4 bytes) stay, nothing is cut */
START_TEST(test_text)
{
	static const struct { const char *in; size_t len; const char *out; } cases[] = {
		{ "plain", 5, "plain" },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7", 14,
		  "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7" },
		{ "a\xff" "b", 3, "a\xef\xbf\xbd" "b" },
		{ "a\0b", 3, "a\xef\xbf\xbd" "b" },
		{ "\xc3", 1, "\xef\xbf\xbd" },			/* cut sequence at the end */
		{ "\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },	/* surrogate */
		{ "\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd" },	/* overlong */
		{ "", 0, "" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *t = history_text(cases[i].in, cases[i].len);
		ck_assert_msg(strcmp(t, cases[i].out) == 0, "case %zu", i);
		free(t);
	}
}
END_TEST

/* ---- the writer ---- */

/* rows - n rows of the fixture */
static struct history_row *
fixture_row(struct fixture *f)
{
	return history_row_build(&f->in);
}

START_TEST(test_writer_writes)
{
	struct fixture f;
	struct history_counts before, after;
	struct history_writer_opts o = { .url = url, .queue = 2000, .keep_days = 30 };
	struct history_writer *w;
	struct history_db *db;
	struct buf why;

	buf_init(&why);
	fixture_init(&f);
	history_counts_get(&before);
	w = history_writer_start(&o, &why);
	ck_assert_ptr_nonnull(w);
	for (int i = 0; i < 1000; i++)
		history_writer_submit(w, fixture_row(&f));
	history_writer_stop(w, 200);	/* a deadline far off: slow machines, valgrind */
	history_counts_get(&after);
	ck_assert_uint_eq(after.written - before.written, 1000);
	ck_assert_uint_eq(after.dropped - before.dropped, 0);
	db = open_ok();
	ck_assert_int_eq(count(db, "history_message"), 1000);
	ck_assert_int_eq(count(db, "history_dkim"), 1000);
	history_db_close(db);
	ck_assert_ptr_null(history_writer_start(&(struct history_writer_opts){ .url = "mysql:x",
				.queue = 1 }, &why));
	fixture_free(&f);
	buf_free(&why);
}
END_TEST

/* While the store is locked the writer waits with one row in hand: the
 * queue (5) fills, five more are dropped and counted; once the lock goes
 * the six rows are written. */
START_TEST(test_writer_queue_full)
{
	struct fixture f;
	struct history_counts before, after;
	struct history_writer_opts o = { .url = url, .queue = 5, .keep_days = 0 };
	struct history_writer *w;
	struct history_db *db = open_ok();
	struct buf why;

	buf_init(&why);
	fixture_init(&f);
	ck_assert(history_db_begin(db, &why));	/* the write lock, held */
	history_counts_get(&before);
	w = history_writer_start(&o, &why);
	history_writer_submit(w, fixture_row(&f));
	usleep(600000);				/* the writer takes it (within 100 ms) and waits */
	for (int i = 0; i < 10; i++)
		history_writer_submit(w, fixture_row(&f));
	history_counts_get(&after);
	ck_assert_uint_eq(after.dropped - before.dropped, 5);
	ck_assert(history_db_exec(db, "COMMIT", &why));
	history_writer_stop(w, 30);
	history_counts_get(&after);
	ck_assert_uint_eq(after.written - before.written, 6);
	ck_assert_uint_eq(after.dropped - before.dropped, 5);
	ck_assert_int_eq(count(db, "history_message"), 6);
	history_db_close(db);
	fixture_free(&f);
	buf_free(&why);
}
END_TEST

/* HistoryQueue 1 with a store that keeps up: a row every 50 ms (twice
 * in the writer's 100 ms look) is never dropped, the full queue wakes it */
START_TEST(test_writer_queue_one)
{
	struct fixture f;
	struct history_counts before, after;
	struct history_writer_opts o = { .url = url, .queue = 1, .keep_days = 0 };
	struct history_writer *w;
	struct buf why;

	buf_init(&why);
	fixture_init(&f);
	history_counts_get(&before);
	w = history_writer_start(&o, &why);
	ck_assert_ptr_nonnull(w);
	history_writer_submit(w, fixture_row(&f));
	usleep(300000);				/* connected, the first row written */
	for (int i = 0; i < 9; i++) {
		usleep(50000);
		history_writer_submit(w, fixture_row(&f));
	}
	history_writer_stop(w, 30);
	history_counts_get(&after);
	ck_assert_uint_eq(after.dropped - before.dropped, 0);
	ck_assert_uint_eq(after.written - before.written, 10);
	fixture_free(&f);
	buf_free(&why);
}
END_TEST

/* a store another process keeps locked past SQLite's busy timeout (5 s)
 * while the writer is connected: the row waits and is written once the
 * lock goes, it is not counted as refused */
START_TEST(test_writer_store_locked)
{
	struct fixture f;
	struct history_counts before, after;
	struct history_writer_opts o = { .url = url, .queue = 10, .keep_days = 0 };
	struct history_writer *w;
	struct history_db *db = open_ok();
	struct buf why;

	buf_init(&why);
	fixture_init(&f);
	history_counts_get(&before);
	w = history_writer_start(&o, &why);
	history_writer_submit(w, fixture_row(&f));
	usleep(500000);				/* connected, the first row written */
	ck_assert(history_db_begin(db, &why));	/* the write lock, held 6 s */
	history_writer_submit(w, fixture_row(&f));
	sleep(6);
	ck_assert(history_db_exec(db, "COMMIT", &why));
	history_writer_stop(w, 30);
	history_counts_get(&after);
	ck_assert_uint_eq(after.failed - before.failed, 0);
	ck_assert_uint_eq(after.written - before.written, 2);
	ck_assert_int_eq(count(db, "history_message"), 2);
	history_db_close(db);
	fixture_free(&f);
	buf_free(&why);
}
END_TEST

/* a store that cannot be reached: rows wait, then are dropped at stop */
START_TEST(test_writer_store_down)
{
	struct fixture f;
	struct history_counts before, after;
	struct history_writer_opts o = {
		.url = "postgresql:///none?host=/nonexistent&connect_timeout=1", .queue = 100 };
	struct history_writer *w;
	struct buf why;

	buf_init(&why);
	fixture_init(&f);
	history_counts_get(&before);
	w = history_writer_start(&o, &why);
	for (int i = 0; i < 20; i++)
		history_writer_submit(w, fixture_row(&f));
	usleep(200000);
	history_writer_last_error(w, &why);
	ck_assert_msg(strstr(why.data, "postgresql: connect") != NULL, "%s", why.data);
	history_writer_stop(w, 0);
	history_counts_get(&after);
	ck_assert_uint_eq(after.dropped - before.dropped, 20);
	ck_assert_uint_eq(after.written - before.written, 0);
	fixture_free(&f);
	buf_free(&why);
}
END_TEST

static double
seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* measure - n messages' rows built and handed over while the store is
 * locked (the writer sleeps in SQLite's busy wait): the CPU seconds of this
 * thread to enqueue (wall time would count the machine's other load), then
 * the rows/s of the writer's drain (wall time) */
static void
measure(struct fixture *f, int n, double *enqueue, double *rate)
{
	struct history_writer_opts o = { .url = url, .queue = (size_t)n, .keep_days = 30 };
	struct history_db *lock = open_ok();
	struct history_writer *w;
	struct timespec t0, t1;
	struct buf why;

	buf_init(&why);
	ck_assert(history_db_begin(lock, &why));
	w = history_writer_start(&o, &why);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	for (int i = 0; i < n; i++)
		if (history_row_wanted(&f->in))
			history_writer_submit(w, fixture_row(f));
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
	*enqueue = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert(history_db_exec(lock, "COMMIT", &why));
	history_writer_stop(w, 200);
	*rate = n / seconds_since(&t0);
	history_db_close(lock);
	buf_free(&why);
}

/* the cost on the session's side: build the row and hand it over (printed,
 * not asserted), without and with FailureReports (the header section copied) */
START_TEST(test_writer_cost)
{
	enum { N = 20000 };
	struct fixture f;
	double enqueue, rate;

	fixture_init(&f);
	f.cfg.failure_reports = false;
	measure(&f, N, &enqueue, &rate);	/* warm-up: the allocator's first growth */
	measure(&f, N, &enqueue, &rate);
	printf("history: capture+enqueue %.2f us CPU/message (FailureReports no); SQLite writer"
	       " %.0f rows/s\n", enqueue * 1e6 / N, rate);
	f.cfg.failure_reports = true;
	measure(&f, N, &enqueue, &rate);
	printf("history: capture+enqueue %.2f us CPU/message (FailureReports yes); SQLite writer"
	       " %.0f rows/s\n", enqueue * 1e6 / N, rate);
	fixture_free(&f);
}
END_TEST

static Suite *
history_suite(void)
{
	Suite *s = suite_create("history");
	TCase *tc = tcase_create("db");
	TCase *rows = tcase_create("rows");
	TCase *wr = tcase_create("writer");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_open_migrate);
	tcase_add_test(tc, test_bad_urls);
	tcase_add_test(tc, test_newer_schema);
	tcase_add_test(tc, test_params_nulls);
	tcase_add_test(tc, test_purge);
	suite_add_tcase(s, tc);
	tcase_add_test(rows, test_row_build);
	tcase_add_test(rows, test_row_overrides);
	tcase_add_test(rows, test_row_wanted);
	tcase_add_test(rows, test_capture_body);
	tcase_add_test(rows, test_capture_headers_over);
	tcase_add_test(rows, test_text);
	suite_add_tcase(s, rows);
	tcase_add_checked_fixture(wr, setup, teardown);
	tcase_set_timeout(wr, 300);
	tcase_add_test(wr, test_writer_writes);
	tcase_add_test(wr, test_writer_queue_full);
	tcase_add_test(wr, test_writer_queue_one);
	tcase_add_test(wr, test_writer_store_locked);
	tcase_add_test(wr, test_writer_store_down);
	tcase_add_test(wr, test_writer_cost);
	suite_add_tcase(s, wr);
	return s;
}

int
main(void)
{
	return run_suite(history_suite());
}
