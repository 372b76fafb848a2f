/*
 * t_history - the history store on a real SQLite file: migrations (twice,
 * and from several connections), $n parameters, NULLs, the DKIM cascade,
 * purge; the row builder and the writer's queue (drops when full).
 */
#include "testutil.h"
#include "../../lib/history_db.h"
#include "../../lib/history_schema.h"

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

static Suite *
history_suite(void)
{
	Suite *s = suite_create("history");
	TCase *tc = tcase_create("db");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_open_migrate);
	tcase_add_test(tc, test_bad_urls);
	tcase_add_test(tc, test_newer_schema);
	tcase_add_test(tc, test_params_nulls);
	tcase_add_test(tc, test_purge);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(history_suite());
}
