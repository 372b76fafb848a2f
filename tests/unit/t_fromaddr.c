/*
 * t_fromaddr - the From parser on tricky and hostile inputs, including the
 * shapes behind OpenDMARC's CVEs.
 */
#include "testutil.h"
#include "../../lib/buf.h"
#include "../../lib/fromaddr.h"

/* want: space-separated domains, or NULL when the field must be rejected */
static const struct {
	const char *from;
	const char *want;
} cases[] = {
	/* plain forms */
	{ "alice@example.com", "example.com" },
	{ " alice@example.com ", "example.com" },
	{ "<alice@example.com>", "example.com" },
	{ "Alice <alice@example.com>", "example.com" },
	{ "Alice Smith <alice@example.com>", "example.com" },
	{ "\"Alice Smith\" <alice@example.com>", "example.com" },
	{ "alice@Example.COM", "example.com" },
	{ "alice@example.com.", "example.com" },
	{ "alice@sub.example.co.uk", "sub.example.co.uk" },
	{ "alice.smith@example.com", "example.com" },
	{ "\"alice smith\"@example.com", "example.com" },
	{ "\"a@b\"@example.com", "example.com" },
	{ "\"Evil <x@evil.com>\" <alice@example.com>", "example.com" },
	{ "\"x@evil.com\" <alice@example.com>", "example.com" },
	{ "\"\\\"quoted\\\" name\" <alice@example.com>", "example.com" },
	{ "\"back\\\\slash\" <alice@example.com>", "example.com" },
	{ "=?utf-8?q?Alice_=40evil.com?= <alice@example.com>", "example.com" },
	{ "=?utf-8?b?QWxpY2U=?= <alice@example.com>", "example.com" },
	{ "alice+tag@example.com", "example.com" },
	{ "o'brien@example.com", "example.com" },
	{ "Alice\r\n <alice@example.com>", "example.com" },
	{ "Alice\n\t<alice@example.com>", "example.com" },
	/* comments */
	{ "alice@example.com (Alice)", "example.com" },
	{ "(comment) alice@example.com", "example.com" },
	{ "Alice (the (nested) one) <alice@example.com>", "example.com" },
	{ "alice(c)@(c)example.com", "example.com" },
	{ "alice@example.com (a) (b)", "example.com" },
	{ "alice@example.com (evil@evil.com)", "example.com" },
	{ "alice@example.com (\\) still comment)", "example.com" },
	/* several mailboxes, groups (RFC 6854) */
	{ "alice@example.com, bob@example.com", "example.com example.com" },
	{ "alice@example.com, bob@example.org", "example.com example.org" },
	{ "Alice <alice@example.com>, Bob <bob@example.org>", "example.com example.org" },
	{ "Team: alice@example.com, bob@example.org;", "example.com example.org" },
	{ "Team: Alice <alice@example.com>;", "example.com" },
	{ "Team:;, alice@example.com", "example.com" },
	{ "alice@example.com,,bob@example.com", "example.com example.com" },
	{ ", alice@example.com", "example.com" },
	/* obsolete syntax */
	{ "<@route.example:alice@example.com>", "example.com" },
	{ "<@a.example,@b.example:alice@example.com>", "example.com" },
	{ "alice . smith@example.com", "example.com" },
	{ "\"alice\".smith@example.com", "example.com" },
	/* IDN */
	{ "alice@b\xc3\xbc" "cher.example", "xn--bcher-kva.example" },
	{ "Ali <alice@\xe4\xbe\x8b\xe3\x81\x88.jp>", "xn--r8jz45g.jp" },
	{ "alice@xn--bcher-kva.example", "xn--bcher-kva.example" },
	{ "\"J\xc3\xb6rg\" <jorg@example.de>", "example.de" },
	/* CVE-2020-12272: a comment must not hide the real domain */
	{ "alice@example.net(.example.com", NULL },
	{ "alice@example.net(.example.com)", "example.net" },
	{ "<alice@example.net(.example.com>", NULL },
	/* CVE-2019-16378: every address counts, not just the first */
	{ "alice@good.example, mallory@evil.example", "good.example evil.example" },
	{ "Good <alice@good.example>, <mallory@evil.example>", "good.example evil.example" },
	/* CVE-2021-34555 shapes: empty and degenerate fields give errors, no crash */
	{ "", NULL },
	{ " ", NULL },
	{ "<>", NULL },
	{ "@", NULL },
	{ "alice@", NULL },
	{ "@example.com", NULL },
	{ "Alice", NULL },
	{ "Alice <>", NULL },
	{ "<alice@example.com", NULL },
	{ "alice@example.com>", NULL },
	{ "\"unterminated <alice@example.com>", NULL },
	{ "(unterminated alice@example.com", NULL },
	{ "Team: alice@example.com", NULL },
	{ "alice@example.com bob@example.com", NULL },
	{ "alice@@example.com", NULL },
	{ "alice@exa mple.com", NULL },
	{ "alice@[192.0.2.1]", NULL },
	{ "alice@[unterminated", NULL },
	{ "alice@example..com", NULL },
	{ "alice@.example.com", NULL },
	{ "alice@-", NULL },
	{ "alice@exa\x01mple.com", NULL },
	{ "alice@example.com\x7f", NULL },
	{ "Alice <alice@example.com> trailing", NULL },
	{ "alice@example.com; bob@example.com", NULL },
	{ "<@route.example alice@example.com>", NULL },
};

START_TEST(test_from)
{
	struct fromaddr f;
	struct buf got;
	bool ok = fromaddr_parse(cases[_i].from, &f);

	buf_init(&got);
	for (size_t i = 0; i < f.n; i++)
		buf_printf(&got, "%s%s", i ? " " : "", f.domains[i]);
	if (cases[_i].want == NULL)
		ck_assert_msg(!ok, "\"%s\" parsed as \"%s\"", cases[_i].from, got.data ? got.data : "");
	else
		ck_assert_msg(ok && strcmp(got.data ? got.data : "", cases[_i].want) == 0,
			      "\"%s\": want \"%s\", got \"%s\" (%s)", cases[_i].from, cases[_i].want,
			      got.data ? got.data : "", f.error ? f.error : "ok");
	if (!ok)
		ck_assert_ptr_nonnull(f.error);
	buf_free(&got);
	fromaddr_free(&f);
}
END_TEST

START_TEST(test_hostile_sizes)
{
	struct fromaddr f;
	struct buf b;

	/* 10,000 addresses: bounded, an error rather than unbounded work */
	buf_init(&b);
	for (int i = 0; i < 10000; i++)
		buf_adds(&b, "a@example.com, ");
	ck_assert(!fromaddr_parse(b.data, &f));
	fromaddr_free(&f);
	/* deeply nested comments */
	buf_reset(&b);
	for (int i = 0; i < 5000; i++)
		buf_addc(&b, '(');
	buf_adds(&b, "a@example.com");
	ck_assert(!fromaddr_parse(b.data, &f));
	fromaddr_free(&f);
	/* a 1 MB display name */
	buf_reset(&b);
	buf_addc(&b, '"');
	for (int i = 0; i < 1000000; i++)
		buf_addc(&b, 'x');
	buf_adds(&b, "\" <a@example.com>");
	ck_assert(fromaddr_parse(b.data, &f));
	ck_assert_str_eq(f.domains[0], "example.com");
	fromaddr_free(&f);
	buf_free(&b);
}
END_TEST

/* parse text made of prefix, n times unit, suffix; the error text or NULL */
static const char *
parse_repeated(const char *prefix, const char *unit, int n, const char *suffix, size_t *n_domains)
{
	struct fromaddr f;
	struct buf b;
	const char *error;

	buf_init(&b);
	buf_adds(&b, prefix);
	for (int i = 0; i < n; i++)
		buf_printf(&b, unit, i);
	buf_adds(&b, suffix);
	fromaddr_parse(b.data, &f);
	error = f.error;
	*n_domains = f.n;
	fromaddr_free(&f);
	buf_free(&b);
	return error;
}

/* each limit below, at and above it: an error, never a shorter list */
START_TEST(test_limits)
{
	size_t n;

	ck_assert_ptr_null(parse_repeated("", "u@d%d.example, ", FROMADDR_MAX - 1, "", &n));
	ck_assert_uint_eq(n, FROMADDR_MAX - 1);
	ck_assert_ptr_null(parse_repeated("", "u@d%d.example, ", FROMADDR_MAX, "", &n));
	ck_assert_uint_eq(n, FROMADDR_MAX);
	ck_assert_str_eq(parse_repeated("", "u@d%d.example, ", FROMADDR_MAX + 1, "", &n),
			 "too many addresses in From");
	/* 4,096 tokens: the display-name words, "<" a "@" domain ">" and the end */
	ck_assert_ptr_null(parse_repeated("", "w%d ", 4089, "<a@example.com>", &n));
	ck_assert_ptr_null(parse_repeated("", "w%d ", 4090, "<a@example.com>", &n));
	ck_assert_str_eq(parse_repeated("", "w%d ", 4091, "<a@example.com>", &n),
			 "From field too complex");
	/* comments nested 31, 32 and 33 deep */
	ck_assert_ptr_null(parse_repeated("", "(", 31, "x))))))))))))))))))))))))))))))) a@example.com", &n));
	ck_assert_ptr_null(parse_repeated("", "(", 32, "x)))))))))))))))))))))))))))))))) a@example.com", &n));
	ck_assert_str_eq(parse_repeated("", "(", 33, "x))))))))))))))))))))))))))))))))) a@example.com", &n),
			 "comments nested too deep");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("fromaddr");
	TCase *tc = tcase_create("fromaddr");

	tcase_add_loop_test(tc, test_from, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, test_hostile_sizes);
	tcase_add_test(tc, test_limits);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
