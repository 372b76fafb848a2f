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
	/* The server answers after 3 s: "timeout" (not NODATA) shows our 1 s per
	 * try was used; the bound only catches a hang, never a slow machine. */
	ck_assert_int_eq(r.status, DNS_TEMPFAIL);
	ck_assert_str_eq(r.reason, "timeout");
	ck_assert_msg(elapsed < 15, "took %.2f s", elapsed);
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
	ck_assert(now_sec() - t0 < 15);		/* 3 tries x 1 s: only a hang fails this */
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

/* txt_one - query name TXT, expect one record, return its text (static) */
static const char *
txt_one(const char *name, struct dns_result *r)
{
	static char text[256];
	char **s;
	size_t n;

	dns_query(&dns, name, LDNS_RR_TYPE_TXT, r);
	ck_assert_msg(r->status == DNS_ANSWER, "%s: %s", name, dns_status_name(r->status));
	n = dns_txt_strings(r, &s);
	ck_assert_uint_eq(n, 1);
	snprintf(text, sizeof(text), "%s", s[0]);
	dns_strings_free(s, n);
	return text;
}

START_TEST(test_cname_chain_in_answer)
{
	struct dns_result r;

	/* lib/dns does not ask again for a CNAME target: the answer must carry
	 * the chain, and only records on it count (owner checks below). */
	setup_dns(2, 0, false);
	ck_assert_str_eq(txt_one("alias.test", &r), "at-target");
	ck_assert_str_eq(r.cname, "target.test.");
	dns_result_free(&r);
	/* two hops, one written in upper case; a record of another name in between */
	ck_assert_str_eq(txt_one("chain.test", &r), "at-end");
	ck_assert_str_eq(r.cname, "hop2.test.");
	dns_result_free(&r);
	ck_assert_str_eq(txt_one("eight.test", &r), "eight-hops");
	dns_result_free(&r);
	/* the chain ends where the answer stops: NODATA, and where it ends */
	dns_query(&dns, "broken.test", LDNS_RR_TYPE_TXT, &r);
	ck_assert_int_eq(r.status, DNS_NODATA);
	ck_assert_uint_eq(ldns_rr_list_rr_count(r.rrs), 0);
	ck_assert_str_eq(r.cname, "t1.test.");
	dns_result_free(&r);
}
END_TEST

START_TEST(test_cname_chain_bounded)
{
	struct dns_result r;

	setup_dns(2, 0, false);
	dns_query(&dns, "long.test", LDNS_RR_TYPE_TXT, &r);
	ck_assert_int_eq(r.status, DNS_TEMPFAIL);
	ck_assert_str_eq(r.reason, "CNAME chain too long or looping");
	dns_result_free(&r);
	dns_query(&dns, "loop.test", LDNS_RR_TYPE_TXT, &r);
	ck_assert_int_eq(r.status, DNS_TEMPFAIL);
	dns_result_free(&r);
}
END_TEST

/* A record whose owner is neither the question nor on its CNAME chain is
 * no answer: NOERROR with nothing of ours is NODATA (not tempfail: a
 * forger could as well send a clean NXDOMAIN, and a resolver drops such
 * records the same way). */
static const struct {
	const char *name;
	enum dns_status status;
	const char *text;	/* the one record that must remain, or NULL */
} owner_cases[] = {
	{ "victim.test", DNS_NODATA, NULL },			/* SPF "v=spf1 +all" of evil.test */
	{ "_dmarc.victim.test", DNS_NODATA, NULL },		/* DMARC record of evil.test */
	{ "sel._domainkey.victim.test", DNS_NODATA, NULL },	/* DKIM key of evil.test */
	{ "fcname.test", DNS_NODATA, NULL },			/* chain starts at another name */
	{ "mixed.test", DNS_ANSWER, "ours" },			/* owner MIXED.Test: case-insensitive */
};

START_TEST(test_foreign_owner_ignored)
{
	struct dns_result r;
	char **s;
	size_t n;

	setup_dns(2, 0, true);
	for (int pass = 0; pass < 2; pass++) {		/* from the server, then from the cache */
		dns_query(&dns, owner_cases[_i].name, LDNS_RR_TYPE_TXT, &r);
		ck_assert_msg(r.status == owner_cases[_i].status, "%s: %s", owner_cases[_i].name,
			      dns_status_name(r.status));
		ck_assert(r.from_cache == (pass == 1) || owner_cases[_i].status == DNS_NODATA);
		n = dns_txt_strings(&r, &s);
		ck_assert_uint_eq(n, owner_cases[_i].text ? 1 : 0);
		if (n)
			ck_assert_str_eq(s[0], owner_cases[_i].text);
		dns_strings_free(s, n);
		dns_result_free(&r);
	}
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

static time_t fake_now = 1000000;

static time_t
fake_clock(void)
{
	return fake_now;
}

START_TEST(test_cache_ttl)
{
	struct dns_result r;

	setup_dns(2, 0, true);
	dnscache_set_clock(cache, fake_clock);
	dns_query(&dns, "a.test", LDNS_RR_TYPE_A, &r);
	ck_assert(!r.from_cache);
	dns_result_free(&r);
	fake_now += 1;		/* within the smallest TTL (2 s) */
	dns_query(&dns, "A.TEST", LDNS_RR_TYPE_A, &r);
	ck_assert(r.from_cache);
	ck_assert_int_eq(r.status, DNS_ANSWER);
	dns_result_free(&r);
	fake_now += 1;		/* at it: expired */
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
	char name[32];

	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "n%d.test", i);
		dnscache_put(c, name, 1, pkt, sizeof(pkt), 100, 1000);
	}
	ck_assert_uint_eq(dnscache_count(c), 3);
	ck_assert_int_eq(dnscache_get(c, "n0.test", 1, &w, &len, 1000), DNSCACHE_MISS);
	ck_assert_int_eq(dnscache_get(c, "n4.test", 1, &w, &len, 1000), DNSCACHE_REPLY);
	ck_assert_uint_eq(len, 4);
	free(w);
	ck_assert_int_eq(dnscache_get(c, "n4.test", 1, &w, &len, 1100), DNSCACHE_MISS);	/* expired */
	dnscache_put(c, "t.test", 1, NULL, 0, 3600, 1000);	/* failure: capped */
	ck_assert_int_eq(dnscache_get(c, "t.test", 1, &w, &len, 1000), DNSCACHE_FAILURE);
	ck_assert_int_eq(dnscache_get(c, "t.test", 1, &w, &len, 1000 + DNSCACHE_TEMPFAIL_TTL),
			 DNSCACHE_MISS);
	dnscache_free(c);
}
END_TEST

/* Use order, not insertion order: FIFO would evict the oldest, touched one. */
START_TEST(test_cache_lru_touch)
{
	struct dns_cache *c = dnscache_new(3);
	uint8_t pkt[1] = { 0 }, *w;
	size_t len;

	dnscache_put(c, "old.test", 1, pkt, sizeof(pkt), 100, 1000);
	dnscache_put(c, "mid.test", 1, pkt, sizeof(pkt), 100, 1000);
	dnscache_put(c, "new.test", 1, pkt, sizeof(pkt), 100, 1000);
	ck_assert_int_eq(dnscache_get(c, "old.test", 1, &w, &len, 1000), DNSCACHE_REPLY);
	free(w);
	dnscache_put(c, "more.test", 1, pkt, sizeof(pkt), 100, 1000);	/* past capacity */
	ck_assert_uint_eq(dnscache_count(c), 3);
	ck_assert_int_eq(dnscache_get(c, "mid.test", 1, &w, &len, 1000), DNSCACHE_MISS);
	ck_assert_int_eq(dnscache_get(c, "old.test", 1, &w, &len, 1000), DNSCACHE_REPLY);
	free(w);
	dnscache_put(c, "last.test", 1, pkt, sizeof(pkt), 100, 1000);	/* new.test is now oldest */
	ck_assert_int_eq(dnscache_get(c, "new.test", 1, &w, &len, 1000), DNSCACHE_MISS);
	ck_assert_int_eq(dnscache_get(c, "more.test", 1, &w, &len, 1000), DNSCACHE_REPLY);
	free(w);
	dnscache_free(c);
}
END_TEST

/* setup_servers - n copies of the test server, so each round tries it n times */
static void
setup_servers(int n, int timeout, int retries)
{
	struct dns_server srv[DNS_MAX_SERVERS];
	char spec[32];

	snprintf(spec, sizeof(spec), "127.0.0.1:%d", ns.port);
	for (int i = 0; i < n; i++)
		ck_assert(dns_server_parse(spec, &srv[i]));
	dns_init(&dns, srv, n, timeout, retries, NULL);
}

START_TEST(test_budget_cuts_query)
{
	struct dns_result r;
	struct dns stage;

	/* slow.test answers (NODATA) after 3 s, within the 5 s timeout:
	 * a tempfail proves the 1 s budget cut the wait */
	setup_servers(1, 5, 0);
	stage = dns;
	dns_budget_start(&stage, 1);
	dns_query(&stage, "slow.test", LDNS_RR_TYPE_A, &r);
	ck_assert_int_eq(r.status, DNS_TEMPFAIL);
	ck_assert_str_eq(r.reason, DNS_BUDGET_REASON);
	dns_result_free(&r);
}
END_TEST

START_TEST(test_budget_spans_servers_and_retries)
{
	struct dns_result r;
	struct dns stage;
	double t0 = now_sec(), elapsed;

	/* 3 servers x 3 rounds x 1 s = 9 s of tries; the budget allows 2 */
	setup_servers(3, 1, 2);
	stage = dns;
	dns_budget_start(&stage, 2);
	dns_query(&stage, "slow.test", LDNS_RR_TYPE_A, &r);
	elapsed = now_sec() - t0;
	ck_assert_int_eq(r.status, DNS_TEMPFAIL);
	ck_assert_str_eq(r.reason, DNS_BUDGET_REASON);	/* all 9 tries: "timeout" */
	dns_result_free(&r);
	ck_assert_msg(elapsed < 8.5, "took %.2f s", elapsed);	/* 9 s without the budget */
	/* then the rest of the stage fails at once, even a name that answers */
	t0 = now_sec();
	dns_query(&stage, "a.test", LDNS_RR_TYPE_A, &r);
	ck_assert_int_eq(r.status, DNS_TEMPFAIL);
	ck_assert_str_eq(r.reason, DNS_BUDGET_REASON);
	dns_result_free(&r);
	/* the snapshot's own struct dns has no budget */
	dns_query(&dns, "a.test", LDNS_RR_TYPE_A, &r);
	ck_assert_int_eq(r.status, DNS_ANSWER);
	dns_result_free(&r);
}
END_TEST

START_TEST(test_budget_zero_left)
{
	struct dns_result r;
	struct dns stage;

	setup_dns(2, 0, true);
	dns_query(&dns, "multi.test", LDNS_RR_TYPE_TXT, &r);	/* cached */
	dns_result_free(&r);
	stage = dns;
	dns_budget_start(&stage, 0);
	dns_query(&stage, "a.test", LDNS_RR_TYPE_A, &r);
	ck_assert_int_eq(r.status, DNS_TEMPFAIL);
	ck_assert_str_eq(r.reason, DNS_BUDGET_REASON);
	ck_assert(!r.from_cache);
	dns_result_free(&r);
	/* what the cache knows costs no time: still answered */
	dns_query(&stage, "multi.test", LDNS_RR_TYPE_TXT, &r);
	ck_assert_int_eq(r.status, DNS_ANSWER);
	ck_assert(r.from_cache);
	dns_result_free(&r);
	/* a spent budget is no server failure: not cached for the next message */
	dns_query(&dns, "a.test", LDNS_RR_TYPE_A, &r);
	ck_assert_int_eq(r.status, DNS_ANSWER);
	ck_assert(!r.from_cache);
	dns_result_free(&r);
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

	testns_start(&ns, test_path("tests/dns/t_dns.data"), 8);
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
	tcase_add_test(tc, test_cname_chain_in_answer);
	tcase_add_test(tc, test_cname_chain_bounded);
	tcase_add_loop_test(tc, test_foreign_owner_ignored, 0, sizeof(owner_cases) / sizeof(owner_cases[0]));
	tcase_add_test(tc, test_invalid_name);
	tcase_add_test(tc, test_cache_ttl);
	tcase_add_test(tc, test_negative_cache);
	tcase_add_test(tc, test_tempfail_cached_briefly);
	tcase_add_test(tc, test_cache_lru_bound);
	tcase_add_test(tc, test_cache_lru_touch);
	/* last: their sleeping server processes must not hold up the others */
	tcase_add_test(tc, test_budget_cuts_query);
	tcase_add_test(tc, test_budget_spans_servers_and_retries);
	tcase_add_test(tc, test_budget_zero_left);
	tcase_add_loop_test(tc, test_server_parse, 0, sizeof(server_cases) / sizeof(server_cases[0]));
	suite_add_tcase(s, tc);
	rc = run_suite(s);
	testns_stop(&ns);
	return rc;
}
