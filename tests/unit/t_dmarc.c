/*
 * t_dmarc - DMARC records, the RFC 9989 tree walk (query sequence asserted
 * against ldns-testns), organizational domains by walk and by PSL, and the
 * alignment truth table.
 */
#include "testutil.h"
#include "../../lib/buf.h"
#include "../../lib/dmarc.h"
#include "../../lib/dnscache.h"

static struct testns ns;
static struct dns dns;
static struct buf queries;

static void
record_query(void *ctx, const char *name, ldns_rr_type type)
{
	(void)ctx;
	if (type == LDNS_RR_TYPE_TXT)
		buf_printf(&queries, "%s%s", queries.len ? " " : "", name);
}

static void
setup(void)
{
	struct dns_server srv;
	char spec[32];

	snprintf(spec, sizeof(spec), "127.0.0.1:%d", ns.port);
	ck_assert(dns_server_parse(spec, &srv));
	dns_init(&dns, &srv, 1, 2, 0, NULL);
	dns.observe = record_query;
	buf_init(&queries);
}

#define T4 "x=y; x=y; x=y; x=y; "
#define T16 T4 T4 T4 T4
#define T63 T16 T16 T16 T4 T4 T4 "x=y; x=y; x=y; "

static const struct {
	const char *txt;
	enum dmarc_mode mode;
	bool ok;
	enum dmarc_policy p, sp, np;
	bool adkim_s, aspf_s, t;
	char psd;
	int pct;
} records[] = {
	{ "v=DMARC1; p=reject", DMARC_MODE_RFC9989, true, DMARC_POLICY_REJECT, 0, 0, false, false, false, 'u', 100 },
	{ "v=DMARC1;p=quarantine;sp=none;np=reject;adkim=s;aspf=s;t=y;psd=n", DMARC_MODE_RFC9989, true,
	  DMARC_POLICY_QUARANTINE, DMARC_POLICY_NONE, DMARC_POLICY_REJECT, true, true, true, 'n', 100 },
	{ " v = DMARC1 ; p = Reject ; ", DMARC_MODE_RFC9989, true, DMARC_POLICY_REJECT, 0, 0, false, false, false, 'u', 100 },
	{ "v=DMARC1; p=none; rua=mailto:d@example.com; foo=bar", DMARC_MODE_RFC9989, true, DMARC_POLICY_NONE, 0, 0, false, false, false, 'u', 100 },
	{ "v=DMARC1; rua=mailto:d@example.com", DMARC_MODE_RFC9989, true, DMARC_POLICY_NONE, 0, 0, false, false, false, 'u', 100 },
	{ "v=DMARC1", DMARC_MODE_RFC9989, true, DMARC_POLICY_NONE, 0, 0, false, false, false, 'u', 100 },
	{ "v=DMARC1; p=bogus; rua=mailto:d@example.com", DMARC_MODE_RFC9989, true, DMARC_POLICY_NONE, 0, 0, false, false, false, 'u', 100 },
	{ "v=DMARC1; p=bogus", DMARC_MODE_RFC9989, false, 0, 0, 0, false, false, false, 'u', 100 },
	{ "v=DMARC1; p=bogus; rua=nonsense", DMARC_MODE_RFC9989, false, 0, 0, 0, false, false, false, 'u', 100 },
	/* RFC 9989 4.7: an invalid sp= or np= is treated like an invalid p= */
	{ "v=DMARC1; p=reject; adkim=x; sp=maybe", DMARC_MODE_RFC9989, false, 0, 0, 0, false, false, false, 'u', 100 },
	{ "v=DMARC1; p=reject; adkim=x", DMARC_MODE_RFC9989, true, DMARC_POLICY_REJECT, 0, 0, false, false, false, 'u', 100 },
	{ "v=DMARC1; p=reject; sp=maybe; adkim=s; rua=mailto:d@example.com", DMARC_MODE_RFC9989, true, DMARC_POLICY_NONE, 0, 0, false, false, false, 'u', 100 },
	{ "v=DMARC1; p=reject; np=never", DMARC_MODE_RFC9989, false, 0, 0, 0, false, false, false, 'u', 100 },
	{ "v=DMARC1; p=reject; np=never; rua=mailto:d@example.com", DMARC_MODE_RFC9989, true, DMARC_POLICY_NONE, 0, 0, false, false, false, 'u', 100 },
	{ "v=DMARC1; p=reject; np=never", DMARC_MODE_RFC7489, true, DMARC_POLICY_REJECT, 0, 0, false, false, false, 'u', 100 },
	{ "v=DMARC1; p=reject; sp=maybe", DMARC_MODE_RFC7489, false, 0, 0, 0, false, false, false, 'u', 100 },
	/* every tag is read: p= after 63, 64 and 80 other tags */
	{ "v=DMARC1; " T63 "p=reject", DMARC_MODE_RFC9989, true, DMARC_POLICY_REJECT, 0, 0, false, false, false, 'u', 100 },
	{ "v=DMARC1; " T63 "x=y; p=reject", DMARC_MODE_RFC9989, true, DMARC_POLICY_REJECT, 0, 0, false, false, false, 'u', 100 },
	{ "v=DMARC1; " T63 T16 "x=y; p=reject", DMARC_MODE_RFC9989, true, DMARC_POLICY_REJECT, 0, 0, false, false, false, 'u', 100 },
	{ "v=DMARC1; p=reject; pct=20", DMARC_MODE_RFC9989, true, DMARC_POLICY_REJECT, 0, 0, false, false, false, 'u', 100 },
	{ "v=DMARC1; p=reject; pct=20; np=none; t=y", DMARC_MODE_RFC7489, true, DMARC_POLICY_REJECT, 0, 0, false, false, false, 'u', 20 },
	{ "v=DMARC1; p=reject; pct=200", DMARC_MODE_RFC7489, true, DMARC_POLICY_REJECT, 0, 0, false, false, false, 'u', 100 },
	{ "v=DMARC1; rua=mailto:d@example.com", DMARC_MODE_RFC7489, true, DMARC_POLICY_NONE, 0, 0, false, false, false, 'u', 100 },
	{ "v=DMARC1; sp=reject", DMARC_MODE_RFC7489, false, 0, 0, 0, false, false, false, 'u', 100 },
	{ "p=reject; v=DMARC1", DMARC_MODE_RFC9989, false, 0, 0, 0, false, false, false, 'u', 100 },
	{ "v=DMARC2; p=reject", DMARC_MODE_RFC9989, false, 0, 0, 0, false, false, false, 'u', 100 },
	{ "v=DMARC10; p=reject", DMARC_MODE_RFC9989, false, 0, 0, 0, false, false, false, 'u', 100 },
	{ "v=spf1 -all", DMARC_MODE_RFC9989, false, 0, 0, 0, false, false, false, 'u', 100 },
	{ "", DMARC_MODE_RFC9989, false, 0, 0, 0, false, false, false, 'u', 100 },
};

START_TEST(test_record)
{
	struct dmarc_record r;
	struct buf why;

	buf_init(&why);
	bool ok = dmarc_record_parse(records[_i].txt, records[_i].mode, &r, &why);
	ck_assert_msg(ok == records[_i].ok, "\"%s\": %s", records[_i].txt, why.data ? why.data : "ok");
	if (ok) {
		ck_assert_int_eq(r.p, records[_i].p);
		ck_assert_int_eq(r.sp, records[_i].sp);
		ck_assert_int_eq(r.np, records[_i].np);
		ck_assert_int_eq(r.adkim_strict, records[_i].adkim_s);
		ck_assert_int_eq(r.aspf_strict, records[_i].aspf_s);
		ck_assert_int_eq(r.testing, records[_i].t);
		ck_assert_int_eq(r.psd, records[_i].psd);
		ck_assert_int_eq(r.pct, records[_i].pct);
		dmarc_record_free(&r);
	}
	buf_free(&why);
}
END_TEST

/* the tree walk asks exactly these names, in this order */
static const struct {
	const char *domain;
	const char *org;
	const char *queries;
} walks[] = {
	{ "example.com", "example.com", "_dmarc.example.com _dmarc.com" },
	{ "mail.example.com", "example.com", "_dmarc.mail.example.com _dmarc.example.com _dmarc.com" },
	{ "a.b.c.d.e.f.g.h.i.example.com", "example.com",
	  "_dmarc.a.b.c.d.e.f.g.h.i.example.com _dmarc.e.f.g.h.i.example.com _dmarc.f.g.h.i.example.com "
	  "_dmarc.g.h.i.example.com _dmarc.h.i.example.com _dmarc.i.example.com _dmarc.example.com "
	  "_dmarc.com" },
	{ "x.org.example.com", "org.example.com", "_dmarc.x.org.example.com _dmarc.org.example.com" },
	{ "shop.psd.test", "shop.psd.test", "_dmarc.shop.psd.test _dmarc.psd.test" },
	{ "a.b.shop.psd.test", "shop.psd.test",
	  "_dmarc.a.b.shop.psd.test _dmarc.b.shop.psd.test _dmarc.shop.psd.test _dmarc.psd.test" },
	{ "nothing.example", "nothing.example", "_dmarc.nothing.example _dmarc.example" },
	{ "twice.example.net", "example.net", "_dmarc.twice.example.net _dmarc.example.net _dmarc.net" },
};

START_TEST(test_walk)
{
	struct dmarc_ctx ctx;
	char why[128];
	bool tempfail;

	setup();
	ck_assert(dmarc_ctx_init(&ctx, &dns, DMARC_MODE_RFC9989, NULL, why, sizeof(why)));
	char *org = dmarc_org_domain(&ctx, walks[_i].domain, &tempfail);
	ck_assert(!tempfail);
	ck_assert_str_eq(org, walks[_i].org);
	ck_assert_str_eq(queries.data, walks[_i].queries);
	free(org);
	buf_free(&queries);
}
END_TEST

START_TEST(test_walk_tempfail)
{
	struct dmarc_ctx ctx;
	char why[128];
	bool tempfail;

	setup();
	ck_assert(dmarc_ctx_init(&ctx, &dns, DMARC_MODE_RFC9989, NULL, why, sizeof(why)));
	ck_assert_ptr_null(dmarc_org_domain(&ctx, "broken.example.org", &tempfail));
	ck_assert(tempfail);
	buf_free(&queries);
}
END_TEST

/* PSL org domains (RFC 7489 mode), cases from the PSL's own test list */
static const struct {
	const char *domain, *org;
} psl_cases[] = {
	{ "example.com", "example.com" },
	{ "www.example.com", "example.com" },
	{ "a.b.example.com", "example.com" },
	{ "example.co.uk", "example.co.uk" },
	{ "www.example.co.uk", "example.co.uk" },
	{ "co.uk", "co.uk" },
	{ "com", "com" },
	{ "www.test.k12.ak.us", "test.k12.ak.us" },
	{ "www.city.kawasaki.jp", "city.kawasaki.jp" },
	{ "a.b.c.kawasaki.jp", "b.c.kawasaki.jp" },
	{ "foo.blogspot.com", "foo.blogspot.com" },
	{ "a.foo.blogspot.com", "foo.blogspot.com" },
	{ "www.xn--85x722f.xn--55qx5d.cn", "xn--85x722f.xn--55qx5d.cn" },
};

START_TEST(test_psl)
{
	struct dmarc_ctx ctx;
	char why[128];
	bool tempfail;

	setup();
	ck_assert_msg(dmarc_ctx_init(&ctx, &dns, DMARC_MODE_RFC7489,
				     "/usr/share/publicsuffix/public_suffix_list.dat", why, sizeof(why)), "%s", why);
	char *org = dmarc_org_domain(&ctx, psl_cases[_i].domain, &tempfail);
	ck_assert_str_eq(org, psl_cases[_i].org);
	ck_assert_str_eq(queries.data ? queries.data : "", "");	/* no DNS at all */
	free(org);
	dmarc_ctx_free(&ctx);
	buf_free(&queries);
}
END_TEST

/* alignment truth table: author domain, SPF, one DKIM signature -> result */
static const struct {
	const char *author;
	enum spf_result spf;
	const char *spf_domain;
	enum dkimv_result dkim;
	const char *dkim_domain;
	enum dmarc_result result;
	enum dmarc_policy disposition;
	const char *from;		/* p, sp or np */
} table[] = {
	{ "example.com", SPF_PASS, "example.com", DKIMV_NONE, NULL, DMARC_PASS, DMARC_POLICY_NONE, "p" },
	{ "example.com", SPF_PASS, "bounce.example.com", DKIMV_NONE, NULL, DMARC_PASS, DMARC_POLICY_NONE, "p" },
	{ "example.com", SPF_PASS, "example.net", DKIMV_NONE, NULL, DMARC_FAIL, DMARC_POLICY_REJECT, "p" },
	{ "example.com", SPF_FAIL, "example.com", DKIMV_NONE, NULL, DMARC_FAIL, DMARC_POLICY_REJECT, "p" },
	{ "example.com", SPF_SOFTFAIL, "example.com", DKIMV_FAIL, "example.com", DMARC_FAIL, DMARC_POLICY_REJECT, "p" },
	{ "example.com", SPF_NONE, NULL, DKIMV_PASS, "example.com", DMARC_PASS, DMARC_POLICY_NONE, "p" },
	{ "example.com", SPF_NONE, NULL, DKIMV_PASS, "mail.example.com", DMARC_PASS, DMARC_POLICY_NONE, "p" },
	{ "example.com", SPF_NONE, NULL, DKIMV_PASS, "example.net", DMARC_FAIL, DMARC_POLICY_REJECT, "p" },
	{ "example.com", SPF_NONE, NULL, DKIMV_PASS, "badexample.com", DMARC_FAIL, DMARC_POLICY_REJECT, "p" },
	{ "mail.example.com", SPF_PASS, "example.com", DKIMV_NONE, NULL, DMARC_PASS, DMARC_POLICY_NONE, "np" },
	{ "exists.example.com", SPF_FAIL, "x.example", DKIMV_NONE, NULL, DMARC_FAIL, DMARC_POLICY_QUARANTINE, "sp" },
	{ "nope.example.com", SPF_FAIL, "x.example", DKIMV_NONE, NULL, DMARC_FAIL, DMARC_POLICY_REJECT, "np" },
	{ "strict.example", SPF_PASS, "mail.strict.example", DKIMV_PASS, "mail.strict.example", DMARC_FAIL, DMARC_POLICY_REJECT, "p" },
	{ "strict.example", SPF_PASS, "strict.example", DKIMV_NONE, NULL, DMARC_PASS, DMARC_POLICY_NONE, "p" },
	{ "strict.example", SPF_NONE, NULL, DKIMV_PASS, "strict.example", DMARC_PASS, DMARC_POLICY_NONE, "p" },
	{ "testing.example", SPF_FAIL, "testing.example", DKIMV_NONE, NULL, DMARC_FAIL, DMARC_POLICY_QUARANTINE, "p" },
	{ "shop.psd.test", SPF_NONE, NULL, DKIMV_PASS, "other.psd.test", DMARC_FAIL, DMARC_POLICY_NONE, "p" },
	{ "shop.psd.test", SPF_NONE, NULL, DKIMV_PASS, "mail.shop.psd.test", DMARC_PASS, DMARC_POLICY_NONE, "p" },
	{ "twice.example.net", SPF_FAIL, "x.example", DKIMV_NONE, NULL, DMARC_FAIL, DMARC_POLICY_QUARANTINE, "p" },
	{ "nothing.example", SPF_FAIL, "x.example", DKIMV_NONE, NULL, DMARC_NONE, DMARC_POLICY_NONE, NULL },
	{ "broken.example.org", SPF_PASS, "broken.example.org", DKIMV_NONE, NULL, DMARC_TEMPERROR, DMARC_POLICY_NONE, NULL },
};

/* evaluate - one message's DMARC result (RFC 9989) with at most one signature;
 * the names asked land in queries */
static void
evaluate(const char *author, enum spf_result spf, const char *spf_domain,
	 enum dkimv_result dkim, const char *dkim_domain, struct dmarc_outcome *out)
{
	struct dmarc_ctx ctx;
	struct dkimv_sig sig = { .result = dkim, .domain = (char *)dkim_domain };
	struct dkimv_outcome dk = { .sigs = &sig, .n_sigs = dkim_domain ? 1 : 0 };
	struct dmarc_request req = {
		.author_domain = author,
		.spf_result = spf,
		.spf_domain = spf_domain,
		.dkim = &dk,
		.mode = DMARC_MODE_RFC9989,
	};
	char why[128];

	setup();
	ck_assert(dmarc_ctx_init(&ctx, &dns, DMARC_MODE_RFC9989, NULL, why, sizeof(why)));
	dmarc_evaluate(&ctx, &req, out);
}

START_TEST(test_alignment)
{
	struct dmarc_outcome out;

	evaluate(table[_i].author, table[_i].spf, table[_i].spf_domain, table[_i].dkim,
		 table[_i].dkim_domain, &out);
	ck_assert_msg(out.result == table[_i].result, "%s: got %s (%s)", table[_i].author,
		      dmarc_result_name(out.result), out.reason);
	if (out.result == DMARC_FAIL)
		ck_assert_int_eq(out.disposition, table[_i].disposition);
	if (table[_i].from)
		ck_assert_str_eq(out.requested_from, table[_i].from);
	dmarc_outcome_free(&out);
	buf_free(&queries);
}
END_TEST

/* the walk above the author domain's record is made only when an alignment
 * or a result other than pass needs the organizational domain */
static const struct {
	const char *author;
	enum spf_result spf;
	const char *spf_domain;
	const char *dkim_domain;	/* a passing signature's d= */
	enum dmarc_result result;
	const char *org;		/* NULL: not determined */
	const char *queries;
} lazy[] = {
	{ "example.com", SPF_PASS, "example.com", NULL, DMARC_PASS, NULL, "_dmarc.example.com" },
	{ "example.com", SPF_NONE, NULL, "example.com", DMARC_PASS, NULL, "_dmarc.example.com" },
	{ "example.com", SPF_PASS, "bounce.example.com", "example.com", DMARC_PASS, "example.com",
	  "_dmarc.example.com _dmarc.com _dmarc.bounce.example.com _dmarc.example.com _dmarc.com" },
	{ "example.com", SPF_FAIL, "example.com", NULL, DMARC_FAIL, "example.com",
	  "_dmarc.example.com _dmarc.com" },
	/* _dmarc.broken.example.org answers SERVFAIL */
	{ "cut.broken.example.org", SPF_PASS, "cut.broken.example.org", NULL, DMARC_PASS, NULL,
	  "_dmarc.cut.broken.example.org" },
	{ "cut.broken.example.org", SPF_NONE, NULL, "mail.cut.broken.example.org", DMARC_TEMPERROR, NULL,
	  "_dmarc.cut.broken.example.org _dmarc.broken.example.org" },
	{ "cut.broken.example.org", SPF_FAIL, "cut.broken.example.org", NULL, DMARC_TEMPERROR, NULL,
	  "_dmarc.cut.broken.example.org _dmarc.broken.example.org" },
};

START_TEST(test_lazy_walk)
{
	struct dmarc_outcome out;

	evaluate(lazy[_i].author, lazy[_i].spf, lazy[_i].spf_domain, DKIMV_PASS, lazy[_i].dkim_domain,
		 &out);
	ck_assert_msg(out.result == lazy[_i].result, "%s: got %s (%s)", lazy[_i].author,
		      dmarc_result_name(out.result), out.reason);
	ck_assert_str_eq(queries.data, lazy[_i].queries);
	if (lazy[_i].org)
		ck_assert_str_eq(out.org_domain, lazy[_i].org);
	else
		ck_assert_ptr_null(out.org_domain);
	if (out.result == DMARC_TEMPERROR)
		ck_assert(!out.have_record && out.policy_domain == NULL);
	dmarc_outcome_free(&out);
	buf_free(&queries);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("dmarc");
	TCase *tc = tcase_create("dmarc");
	int rc;

	testns_start(&ns, test_path("tests/dns/t_dmarc.data"), 0);
	tcase_add_loop_test(tc, test_record, 0, sizeof(records) / sizeof(records[0]));
	tcase_add_loop_test(tc, test_walk, 0, sizeof(walks) / sizeof(walks[0]));
	tcase_add_test(tc, test_walk_tempfail);
	tcase_add_loop_test(tc, test_psl, 0, sizeof(psl_cases) / sizeof(psl_cases[0]));
	tcase_add_loop_test(tc, test_alignment, 0, sizeof(table) / sizeof(table[0]));
	tcase_add_loop_test(tc, test_lazy_walk, 0, sizeof(lazy) / sizeof(lazy[0]));
	suite_add_tcase(s, tc);
	rc = run_suite(s);
	testns_stop(&ns);
	return rc;
}
