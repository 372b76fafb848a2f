/*
 * t_spf - SPF record syntax, macro expansion and addresses without DNS; the
 * RFC 7208 suite (tests/conformance) covers evaluation over real DNS.
 */
#include "testutil.h"
#include "../../lib/spf.h"
#include "../../lib/spf_record.h"

static const struct {
	const char *record;
	bool ok;
	size_t n_terms;
} record_cases[] = {
	{ "v=spf1", true, 0 },
	{ "v=spf1 -all", true, 1 },
	{ "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a mx ptr -all", true, 6 },
	{ "v=spf1 a/24//64 mx:example.com/0 a:%{d}.example.com", true, 3 },
	{ "v=spf1 ip4:0.0.0.0/0 ip6:::/0", true, 2 },
	{ "v=spf1 include:_spf.example.com redirect=_spf.example.net", true, 1 },
	{ "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d}", true, 1 },
	{ "v=spf1 moo.cow-far_out=man:dog/cat", true, 0 },
	{ "v=spf1 ip4:192.0.2.1/33", false, 0 },
	{ "v=spf1 ip4:192.0.2.01", false, 0 },
	{ "v=spf1 ip4:192.0.2.1/024", false, 0 },
	{ "v=spf1 ip6:2001:db8::/129", false, 0 },
	{ "v=spf1 ip6:192.0.2.1", false, 0 },
	{ "v=spf1 a:museum", false, 0 },
	{ "v=spf1 a:foo.123", false, 0 },
	{ "v=spf1 a:", false, 0 },
	{ "v=spf1 include", false, 0 },
	{ "v=spf1 all:foo", false, 0 },
	{ "v=spf1 frob", false, 0 },
	{ "v=spf1 redirect=a.example redirect=b.example", false, 0 },
	{ "v=spf1 exp=a.example exp=b.example", false, 0 },
	{ "v=spf1 exists:%{z}.example.com", false, 0 },
	{ "v=spf1 a:%{c}.example.com", false, 0 },
	{ "v=spf1 a:%{d0}.example.com", false, 0 },
	{ "v=spf1 a:%.example.com", false, 0 },
	{ "v=spf1 foo=%", false, 0 },
	{ "v=spf1 a\t-all", false, 0 },
	{ "v=spf1 -all\x01", false, 0 },
};

START_TEST(test_record_parse)
{
	struct spf_record *rec = malloc(sizeof(*rec));
	struct buf why;

	buf_init(&why);
	ck_assert(spf_record_is_spf(record_cases[_i].record));
	bool ok = spf_record_parse(record_cases[_i].record, rec, &why);
	ck_assert_msg(ok == record_cases[_i].ok, "%s: %s", record_cases[_i].record,
		      why.data ? why.data : "parsed");
	if (ok)
		ck_assert_uint_eq(rec->n_terms, record_cases[_i].n_terms);
	spf_record_free(rec);
	buf_free(&why);
	free(rec);
}
END_TEST

START_TEST(test_record_selection)
{
	ck_assert(spf_record_is_spf("v=spf1"));
	ck_assert(spf_record_is_spf("V=SPF1 -all"));
	ck_assert(!spf_record_is_spf("v=spf10 -all"));
	ck_assert(!spf_record_is_spf("v=spf1-all"));
	ck_assert(!spf_record_is_spf("spf2.0/pra -all"));
	ck_assert(!spf_record_is_spf("v=spf1\t-all"));
}
END_TEST

/* Terms are limited by the record's size, not their count (RFC 7208 limits
 * only the DNS-querying ones): 255, 256, 257 and 5,000 ip4 terms all parse. */
static const int many_terms[] = { 255, 256, 257, 5000 };

START_TEST(test_many_terms)
{
	struct spf_record *rec = malloc(sizeof(*rec));
	struct buf text, why;

	buf_init(&text);
	buf_init(&why);
	buf_adds(&text, "v=spf1");
	for (int i = 0; i < many_terms[_i]; i++)
		buf_adds(&text, " ip4:192.0.2.1");
	buf_adds(&text, " -all");
	ck_assert_msg(spf_record_parse(text.data, rec, &why), "%s", why.data ? why.data : "");
	ck_assert_uint_eq(rec->n_terms, (size_t)many_terms[_i] + 1);
	spf_record_free(rec);
	buf_free(&text);
	buf_free(&why);
	free(rec);
}
END_TEST

/* RFC 7208 section 7.4 examples */
static const struct {
	const char *macro;
	const char *ip;
	const char *expansion;
} macro_cases[] = {
	{ "%{s}", "192.0.2.3", "strong-bad@email.example.com" },
	{ "%{o}", "192.0.2.3", "email.example.com" },
	{ "%{d}", "192.0.2.3", "email.example.com" },
	{ "%{d4}", "192.0.2.3", "email.example.com" },
	{ "%{d3}", "192.0.2.3", "email.example.com" },
	{ "%{d2}", "192.0.2.3", "example.com" },
	{ "%{d1}", "192.0.2.3", "com" },
	{ "%{dr}", "192.0.2.3", "com.example.email" },
	{ "%{d2r}", "192.0.2.3", "example.email" },
	{ "%{l}", "192.0.2.3", "strong-bad" },
	{ "%{l-}", "192.0.2.3", "strong.bad" },
	{ "%{lr}", "192.0.2.3", "strong-bad" },
	{ "%{lr-}", "192.0.2.3", "bad.strong" },
	{ "%{l1r-}", "192.0.2.3", "strong" },
	{ "%{ir}.%{v}._spf.%{d2}", "192.0.2.3", "3.2.0.192.in-addr._spf.example.com" },
	{ "%{lr-}.lp._spf.%{d2}", "192.0.2.3", "bad.strong.lp._spf.example.com" },
	{ "%{ir}.%{v}._spf.%{d2}", "2001:db8::cb01",
	  "1.0.B.C.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.ip6._spf.example.com" },
	{ "%{c}", "2001:db8::cb01", "2001:db8::cb01" },
	{ "%{c}", "::ffff:192.0.2.3", "192.0.2.3" },
	{ "%%%_%-", "192.0.2.3", "% %20" },
	{ "%{S}", "192.0.2.3", "strong-bad%40email.example.com" },
	{ "%{h}", "192.0.2.3", "mx.example.org" },
	{ "%{r}", "192.0.2.3", "receiver.example.net" },
};

START_TEST(test_macro_expand)
{
	struct ipaddr ip;
	struct buf out;
	struct spf_macro_env env = {
		.sender = "strong-bad@email.example.com", .local = "strong-bad",
		.sender_domain = "email.example.com", .domain = "email.example.com",
		.helo = "mx.example.org", .receiver = "receiver.example.net", .ip = &ip,
	};

	ck_assert(ipaddr_parse(macro_cases[_i].ip, &ip));
	buf_init(&out);
	ck_assert(spf_macro_expand(&env, macro_cases[_i].macro, strlen(macro_cases[_i].macro),
				   true, &out));
	ck_assert_str_eq(out.data, macro_cases[_i].expansion);
	buf_free(&out);
}
END_TEST

START_TEST(test_domain_truncate)
{
	struct buf name;

	buf_init(&name);
	for (int i = 0; i < 30; i++)
		buf_adds(&name, "abcdefghi.");
	buf_adds(&name, "example.com.");
	spf_domain_truncate(&name);
	ck_assert_uint_le(name.len, 253);
	ck_assert(name.data[0] != '.');
	ck_assert_str_eq(name.data + name.len - 11, "example.com");
	buf_free(&name);
}
END_TEST

START_TEST(test_ipaddr)
{
	struct ipaddr a, b;
	char text[IPADDR_TEXT_MAX], rev[80];

	ck_assert(ipaddr_parse("::ffff:192.0.2.1", &a));
	ck_assert_int_eq(a.family, AF_INET);
	ck_assert(ipaddr_parse("192.0.2.200", &b));
	ck_assert(ipaddr_match(&a, &b, 24));
	ck_assert(!ipaddr_match(&a, &b, 25));
	ck_assert(ipaddr_match(&a, &b, 0));
	ck_assert(ipaddr_parse("IPv6:2001:db8::1", &a));
	ck_assert_int_eq(a.family, AF_INET6);
	ck_assert(!ipaddr_match(&a, &b, 0));	/* families never match */
	ipaddr_format(&a, text);
	ck_assert_str_eq(text, "2001:db8::1");
	ipaddr_reverse_name(&b, rev, sizeof(rev));
	ck_assert_str_eq(rev, "200.2.0.192.in-addr.arpa");
	ck_assert(!ipaddr_parse("192.0.2", &a));
	ck_assert(!ipaddr_parse("", &a));
	ck_assert(!ipaddr_parse_ip4_strict("1.2.3.4.5", 9, &a));
	ck_assert(!ipaddr_parse_ip4_strict("1.2.3.256", 9, &a));
	ck_assert(ipaddr_parse_ip4_strict("0.0.0.0", 7, &a));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("spf");
	TCase *tc = tcase_create("spf");

	tcase_add_loop_test(tc, test_record_parse, 0, sizeof(record_cases) / sizeof(record_cases[0]));
	tcase_add_test(tc, test_record_selection);
	tcase_add_loop_test(tc, test_many_terms, 0, sizeof(many_terms) / sizeof(many_terms[0]));
	tcase_add_loop_test(tc, test_macro_expand, 0, sizeof(macro_cases) / sizeof(macro_cases[0]));
	tcase_add_test(tc, test_domain_truncate);
	tcase_add_test(tc, test_ipaddr);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
