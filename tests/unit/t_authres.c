/*
 * t_authres - building our header safely and recognising forged ones.
 */
#include "testutil.h"
#include "../../lib/authres.h"

START_TEST(test_build)
{
	struct authres ar;
	char *v;

	authres_begin(&ar, "mx.example.net");
	authres_add(&ar, "spf", "pass", "example.com matched ip4:192.0.2.0/24");
	authres_prop(&ar, "smtp.mailfrom", "user@example.com");
	v = authres_finish(&ar);
	ck_assert_str_eq(v, "mx.example.net; spf=pass (example.com matched ip4:192.0.2.0/24) "
			    "smtp.mailfrom=user@example.com");
	free(v);
}
END_TEST

START_TEST(test_none)
{
	struct authres ar;
	char *v;

	authres_begin(&ar, "mx");
	v = authres_finish(&ar);
	ck_assert_str_eq(v, "mx; none");
	free(v);
}
END_TEST

/* hostile values: quoting, comment breaking, CR/LF and 8-bit bytes */
static const struct {
	const char *value;
	const char *comment;
	const char *expect;
} escape_cases[] = {
	{ "a b@example.com", NULL, "x; spf=none smtp.mailfrom=\"a b@example.com\"" },
	{ "\"q\\\"@example.com", NULL, "x; spf=none smtp.mailfrom=\"\\\"q\\\\\\\"@example.com\"" },
	{ "x@example.com\r\nX-Evil: 1", NULL, "x; spf=none smtp.mailfrom=\"x@example.com??X-Evil: 1\"" },
	{ "caf\xc3\xa9@example.com", NULL, "x; spf=none smtp.mailfrom=\"caf??@example.com\"" },
	{ "", NULL, "x; spf=none smtp.mailfrom=\"\"" },
	{ "a@b", "x) dkim=pass (y", "x; spf=none (x\\) dkim=pass \\(y) smtp.mailfrom=a@b" },
	{ "a@b", "back\\slash\n", "x; spf=none (back\\\\slash?) smtp.mailfrom=a@b" },
};

START_TEST(test_escaping)
{
	struct authres ar;
	char *v;

	authres_begin(&ar, "x");
	authres_add(&ar, "spf", "none", escape_cases[_i].comment);
	authres_prop(&ar, "smtp.mailfrom", escape_cases[_i].value);
	v = authres_finish(&ar);
	ck_assert_str_eq(v, escape_cases[_i].expect);
	free(v);
}
END_TEST

/* A value is written whole up to AUTHRES_MAX_VALUE and left out above it:
 * a shortened address would name another sender. Comments are cut, marked. */
START_TEST(test_long_values)
{
	struct authres ar;
	char big[AUTHRES_MAX_VALUE + 2], *v;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	authres_begin(&ar, "x");
	authres_add(&ar, "spf", "none", big);
	authres_prop(&ar, "smtp.mailfrom", big);		/* 1025 bytes: left out */
	big[AUTHRES_MAX_VALUE] = '\0';
	authres_prop(&ar, "smtp.helo", big);		/* 1024 bytes: whole */
	v = authres_finish(&ar);
	ck_assert_ptr_null(strstr(v, "smtp.mailfrom"));
	ck_assert_ptr_nonnull(strstr(v, "smtp.helo="));
	ck_assert_uint_eq(strlen(strstr(v, "smtp.helo=") + strlen("smtp.helo=")), AUTHRES_MAX_VALUE);
	ck_assert_ptr_nonnull(strstr(v, "...)"));
	ck_assert_uint_lt(strlen(v), 1400);
	free(v);
}
END_TEST

/* a value that starts with spaces (found by fuzz_authres: read before the buffer) */
START_TEST(test_fold_leading_space)
{
	char *v = authres_fold("Authentication-Results", "   (only a comment)  ");

	ck_assert_str_eq(v, "(only a comment)");
	free(v);
}
END_TEST

/* rollback drops exactly what came after the mark */
START_TEST(test_rollback)
{
	struct authres ar;
	size_t mark;
	char *v;

	authres_begin(&ar, "x");
	authres_add(&ar, "dkim", "pass", NULL);
	mark = authres_mark(&ar);
	authres_add(&ar, "dkim", "fail", "bad signature");
	authres_rollback(&ar, mark);
	authres_add(&ar, "dkim", "fail", "bad signature; 3 more signatures not shown");
	v = authres_finish(&ar);
	ck_assert_str_eq(v, "x; dkim=pass; dkim=fail (bad signature; 3 more signatures not shown)");
	free(v);
}
END_TEST

static const struct {
	const char *header;
	const char *id;
	bool ours;
} id_cases[] = {
	{ "mx.example.net; spf=pass smtp.mailfrom=a@b", "mx.example.net", true },
	{ "MX.Example.NET; spf=pass", "MX.Example.NET", true },
	{ " (comment) mx.example.net ; none", "mx.example.net", true },
	{ "\"mx.example.net\"; none", "mx.example.net", true },
	{ "mx.example.net 1; none", "mx.example.net", true },
	{ "mx.example.net.evil; spf=pass", "mx.example.net.evil", false },
	{ "other.example; spf=pass (mx.example.net)", "other.example", false },
	{ "evil.mx.example.net; spf=pass", "evil.mx.example.net", false },
};

START_TEST(test_authserv_id)
{
	char id[256];

	ck_assert(authres_id_of(id_cases[_i].header, id, sizeof(id)));
	ck_assert_str_eq(id, id_cases[_i].id);
	ck_assert(authres_is_ours(id_cases[_i].header, "mx.example.net") == id_cases[_i].ours);
}
END_TEST

START_TEST(test_no_id)
{
	char id[16];

	/* an id longer than the buffer is no id, never a shortened one */
	ck_assert(!authres_id_of("mx.example.net.evil; none", id, sizeof(id)));
	ck_assert(authres_id_of("mx.example.net; none", id, sizeof(id)));
	ck_assert(!authres_id_of("\"mx.example.net.evil\"; none", id, sizeof(id)));

	ck_assert(!authres_id_of("", id, sizeof(id)));
	ck_assert(!authres_id_of("  (only a comment)  ", id, sizeof(id)));
	ck_assert(!authres_is_ours("; spf=pass", "mx"));
}
END_TEST

START_TEST(test_fold)
{
	char *f = authres_fold("Authentication-Results",
		"mx.example.net; spf=pass (example.com matched ip4:192.0.2.0/24) "
		"smtp.mailfrom=user@example.com; spf=none (no SPF record) smtp.helo=mail.example.com");

	ck_assert_str_eq(f, "mx.example.net;\n\tspf=pass (example.com matched ip4:192.0.2.0/24)\n\t"
			    "smtp.mailfrom=user@example.com;\n\tspf=none (no SPF record) "
			    "smtp.helo=mail.example.com");
	free(f);
	/* hostile lengths: every line stays short, quoted strings stay whole */
	struct buf v;
	buf_init(&v);
	buf_adds(&v, "mx; dkim=fail (a b c) header.d=");
	for (int i = 0; i < 300; i++)
		buf_adds(&v, "d.");
	buf_adds(&v, " header.s=\"x y z\" header.b=abc");
	f = authres_fold("Authentication-Results", v.data);
	size_t longest = 0, cur = strlen("Authentication-Results: ");
	for (const char *q = f; *q; q++) {
		cur = *q == '\n' ? 0 : cur + 1;
		longest = cur > longest ? cur : longest;
	}
	ck_assert_uint_lt(longest, 700);
	ck_assert_ptr_nonnull(strstr(f, "header.s=\"x y z\""));
	buf_free(&v);
	free(f);
	f = authres_fold("Authentication-Results", "mx; none");
	ck_assert_str_eq(f, "mx; none");
	free(f);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("authres");
	TCase *tc = tcase_create("authres");

	tcase_add_test(tc, test_build);
	tcase_add_test(tc, test_none);
	tcase_add_loop_test(tc, test_escaping, 0, sizeof(escape_cases) / sizeof(escape_cases[0]));
	tcase_add_test(tc, test_long_values);
	tcase_add_test(tc, test_rollback);
	tcase_add_test(tc, test_fold_leading_space);
	tcase_add_loop_test(tc, test_authserv_id, 0, sizeof(id_cases) / sizeof(id_cases[0]));
	tcase_add_test(tc, test_no_id);
	tcase_add_test(tc, test_fold);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
