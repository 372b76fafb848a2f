/*
 * t_dns - lib/dns and lib/dnscache against a real ldns-testns.
 */
#include "testutil.h"
#include "../../lib/dns.h"
#include "../../lib/dnscache.h"

#include <arpa/inet.h>
#include <sys/time.h>

static struct testns ns;
static struct dns dns;
static struct dns_cache *cache;

static void
setup_dns(int timeout, int retries, bool with_cache)
{
	struct dns_server srv;
	char spec[32];

	snprintf(spec, sizeof(spec), "127.0.0.1:%d", ns.port);
	ck_assert(dns_server_parse(spec, &srv));
	dnscache_free(cache);
	cache = with_cache ? dnscache_new(100) : NULL;
	dns_init(&dns, &srv, 1, timeout, retries, cache);
}

static double
now_sec(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

START_TEST(test_answer)
{
	struct dns_result r;

	setup_dns(2, 0, false);
	dns_query(&dns, "A.Test.", LDNS_RR_TYPE_A, &r);
	ck_assert_int_eq(r.status, DNS_ANSWER);
	ck_assert_uint_eq(ldns_rr_list_rr_count(r.rrs), 2);
	dns_result_free(&r);
}
END_TEST

START_TEST(test_nxdomain)
{
	struct dns_result r;

	setup_dns(2, 0, false);
	dns_query(&dns, "nothing.test", LDNS_RR_TYPE_A, &r);
	ck_assert_int_eq(r.status, DNS_NXDOMAIN);
	dns_result_free(&r);
}
END_TEST

START_TEST(test_nodata)
{
	struct dns_result r;

	setup_dns(2, 0, false);
	dns_query(&dns, "a.test", LDNS_RR_TYPE_TXT, &r);
	ck_assert_int_eq(r.status, DNS_NODATA);
	dns_result_free(&r);
}
END_TEST

START_TEST(test_servfail)
{
	struct dns_result r;

	setup_dns(2, 1, false);
	dns_query(&dns, "servfail.test", LDNS_RR_TYPE_A, &r);
	ck_assert_int_eq(r.status, DNS_TEMPFAIL);
	ck_assert_str_eq(r.reason, "SERVFAIL");
	dns_result_free(&r);
}
END_TEST

START_TEST(test_timeout_bounded)
{
	struct dns_result r;
	double t0 = now_sec();

	setup_dns(1, 1, false);		/* 2 tries x 1 s */
	dns_query(&dns, "slow.test", LDNS_RR_TYPE_A, &r);
	double elapsed = now_sec() - t0;
	ck_assert_int_eq(r.status, DNS_TEMPFAIL);
	ck_assert_str_eq(r.reason, "timeout");
	ck_assert_msg(elapsed >= 1.9 && elapsed < 3.5, "took %.2f s", elapsed);
	dns_result_free(&r);
}
END_TEST

START_TEST(test_unreachable_server)
{
	struct dns_server srv;
	struct dns_result r;
	double t0 = now_sec();

	/* nothing listens on port 9 of loopback: refused or silent, never a hang */
	ck_assert(dns_server_parse("127.0.0.1:9", &srv));
	dns_init(&dns, &srv, 1, 1, 2, NULL);
	dns_query(&dns, "a.test", LDNS_RR_TYPE_A, &r);
	ck_assert_int_eq(r.status, DNS_TEMPFAIL);
	ck_assert(now_sec() - t0 < 3.5);
	dns_result_free(&r);
}
END_TEST

START_TEST(test_second_server_answers)
{
	struct dns_server srv[2];
	struct dns_result r;
	char spec[32];

	snprintf(spec, sizeof(spec), "127.0.0.1:%d", ns.port);
	ck_assert(dns_server_parse("127.0.0.1:9", &srv[0]));
	ck_assert(dns_server_parse(spec, &srv[1]));
	dns_init(&dns, srv, 2, 1, 0, NULL);
	dns_query(&dns, "a.test", LDNS_RR_TYPE_A, &r);
	ck_assert_int_eq(r.status, DNS_ANSWER);
	dns_result_free(&r);
}
END_TEST

START_TEST(test_multi_string_txt)
{
	struct dns_result r;
	char **s;

	setup_dns(2, 0, false);
	dns_query(&dns, "multi.test", LDNS_RR_TYPE_TXT, &r);
	ck_assert_int_eq(r.status, DNS_ANSWER);
	ck_assert_uint_eq(dns_txt_strings(&r, &s), 1);
	ck_assert_str_eq(s[0], "v=spf1 ip4:192.0.2.0/24 -all");
	dns_strings_free(s, 1);
	dns_result_free(&r);
}
END_TEST

START_TEST(test_tcp_fallback)
{
	struct dns_result r;
	char **s;

	setup_dns(2, 0, false);
	dns_query(&dns, "big.test", LDNS_RR_TYPE_TXT, &r);
	ck_assert_int_eq(r.status, DNS_ANSWER);
	ck_assert_uint_eq(dns_txt_strings(&r, &s), 1);
	ck_assert_str_eq(s[0], "only-over-tcp");
	dns_strings_free(s, 1);
	dns_result_free(&r);
}
END_TEST

START_TEST(test_garbage_reply)
{
	struct dns_result r;

	setup_dns(1, 0, false);
	dns_query(&dns, "garbage.test", LDNS_RR_TYPE_A, &r);
	ck_assert_int_eq(r.status, DNS_TEMPFAIL);
	dns_result_free(&r);
}
END_TEST

START_TEST(test_cname_followed)
{
	struct dns_result r;
	char **s;

	setup_dns(2, 0, false);
	dns_query(&dns, "alias.test", LDNS_RR_TYPE_TXT, &r);
	ck_assert_int_eq(r.status, DNS_ANSWER);
	ck_assert_uint_eq(dns_txt_strings(&r, &s), 1);
	ck_assert_str_eq(s[0], "at-target");
	dns_strings_free(s, 1);
	dns_result_free(&r);
}
END_TEST

START_TEST(test_invalid_name)
{
	struct dns_result r;
	char label[80];

	setup_dns(2, 0, false);
	memset(label, 'x', 64);
	memcpy(label + 64, ".test", 6);
	dns_query(&dns, label, LDNS_RR_TYPE_A, &r);
	ck_assert_int_eq(r.status, DNS_NXDOMAIN);
	dns_query(&dns, "a..test", LDNS_RR_TYPE_A, &r);
	ck_assert_int_eq(r.status, DNS_NXDOMAIN);
}
END_TEST

START_TEST(test_cache_ttl)
{
	struct dns_result r;

	setup_dns(2, 0, true);
	dns_query(&dns, "a.test", LDNS_RR_TYPE_A, &r);
	ck_assert(!r.from_cache);
	dns_result_free(&r);
	dns_query(&dns, "A.TEST", LDNS_RR_TYPE_A, &r);
	ck_assert(r.from_cache);
	ck_assert_int_eq(r.status, DNS_ANSWER);
	dns_result_free(&r);
	sleep(3);		/* past the smallest TTL (2 s) */
	dns_query(&dns, "a.test", LDNS_RR_TYPE_A, &r);
	ck_assert(!r.from_cache);
	dns_result_free(&r);
}
END_TEST

START_TEST(test_negative_cache)
{
	struct dns_result r;

	setup_dns(2, 0, true);
	dns_query(&dns, "a.test", LDNS_RR_TYPE_TXT, &r);
	dns_result_free(&r);
	dns_query(&dns, "a.test", LDNS_RR_TYPE_TXT, &r);
	ck_assert(r.from_cache);
	ck_assert_int_eq(r.status, DNS_NODATA);
	dns_result_free(&r);
	/* NXDOMAIN without SOA: RFC 2308 says do not cache */
	dns_query(&dns, "nothing.test", LDNS_RR_TYPE_A, &r);
	dns_result_free(&r);
	dns_query(&dns, "nothing.test", LDNS_RR_TYPE_A, &r);
	ck_assert(!r.from_cache);
	dns_result_free(&r);
}
END_TEST

START_TEST(test_tempfail_cached_briefly)
{
	struct dns_result r;

	setup_dns(2, 0, true);
	dns_query(&dns, "servfail.test", LDNS_RR_TYPE_A, &r);
	ck_assert(!r.from_cache);
	dns_query(&dns, "servfail.test", LDNS_RR_TYPE_A, &r);
	ck_assert(r.from_cache);
	ck_assert_int_eq(r.status, DNS_TEMPFAIL);
}
END_TEST

START_TEST(test_cache_lru_bound)
{
	struct dns_cache *c = dnscache_new(3);
	uint8_t pkt[4] = { 1, 2, 3, 4 }, *w;
	size_t len;
	char name[16];

	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "n%d.test", i);
		dnscache_put(c, name, 1, pkt, sizeof(pkt), 100, 1000);
	}
	ck_assert_uint_eq(dnscache_count(c), 3);
	ck_assert_int_eq(dnscache_get(c, "n0.test", 1, &w, &len, 1000), 0);
	ck_assert_int_eq(dnscache_get(c, "n4.test", 1, &w, &len, 1000), 1);
	ck_assert_uint_eq(len, 4);
	free(w);
	ck_assert_int_eq(dnscache_get(c, "n4.test", 1, &w, &len, 1100), 0);	/* expired */
	dnscache_put(c, "t.test", 1, NULL, 0, 3600, 1000);	/* failure: capped */
	ck_assert_int_eq(dnscache_get(c, "t.test", 1, &w, &len, 1000 + DNSCACHE_TEMPFAIL_TTL), 0);
	dnscache_free(c);
}
END_TEST

static const struct {
	const char *text;
	bool ok;
	const char *formatted;
} server_cases[] = {
	{ "127.0.0.1", true, "127.0.0.1:53" },
	{ "192.0.2.1:5353", true, "192.0.2.1:5353" },
	{ "[::1]:5300", true, "[::1]:5300" },
	{ "[2001:db8::1]", true, "[2001:db8::1]:53" },
	{ "2001:db8::2", true, "[2001:db8::2]:53" },
	{ "192.0.2.1:0", false, NULL },
	{ "192.0.2.1:65536", false, NULL },
	{ "192.0.2.1:x", false, NULL },
	{ "ns.example.com", false, NULL },
	{ "[::1", false, NULL },
	{ "[::1]x", false, NULL },
	{ "", false, NULL },
};

START_TEST(test_server_parse)
{
	struct dns_server srv;
	char out[64];

	ck_assert_msg(dns_server_parse(server_cases[_i].text, &srv) == server_cases[_i].ok,
		      "%s", server_cases[_i].text);
	if (server_cases[_i].ok) {
		dns_server_format(&srv, out, sizeof(out));
		ck_assert_str_eq(out, server_cases[_i].formatted);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("dns");
	TCase *tc = tcase_create("dns");
	int rc;

	testns_start(&ns, test_path("tests/dns/t_dns.data"), 3);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_answer);
	tcase_add_test(tc, test_nxdomain);
	tcase_add_test(tc, test_nodata);
	tcase_add_test(tc, test_servfail);
	tcase_add_test(tc, test_timeout_bounded);
	tcase_add_test(tc, test_unreachable_server);
	tcase_add_test(tc, test_second_server_answers);
	tcase_add_test(tc, test_multi_string_txt);
	tcase_add_test(tc, test_tcp_fallback);
	tcase_add_test(tc, test_garbage_reply);
	tcase_add_test(tc, test_cname_followed);
	tcase_add_test(tc, test_invalid_name);
	tcase_add_test(tc, test_cache_ttl);
	tcase_add_test(tc, test_negative_cache);
	tcase_add_test(tc, test_tempfail_cached_briefly);
	tcase_add_test(tc, test_cache_lru_bound);
	tcase_add_loop_test(tc, test_server_parse, 0, sizeof(server_cases) / sizeof(server_cases[0]));
	suite_add_tcase(s, tc);
	rc = run_suite(s);
	testns_stop(&ns);
	return rc;
}
