/*
 * t_arc_trust - the trusted-forwarder decision, the resinfo reader it and
 * upstream trust share, ARCTrustedSealers / TrustedAuthservIDs parsing, and
 * the upstream spf= pick.
 */
#include "testutil.h"
#include "../../lib/arc_trust.h"
#include "../../lib/config.h"
#include "../../lib/resinfo.h"
#include "../../lib/upstream.h"

/* ---- resinfo ---- */

START_TEST(test_resinfo_full)
{
	const char *v = " lists.example.org 1 (comment (nested));\r\n\tspf=pass (sender ok)"
			" smtp.mailfrom=bounce@lists.example.org;\r\n dkim/1 = pass header.d=reject.example"
			" header.i=@reject.example header.b=\"abc/+=\" ; dmarc=pass reason=\"aligned dkim\""
			" header.from=Reject.Example;";
	struct resinfo_list l;
	const char *why;

	ck_assert(resinfo_parse(v, strlen(v), &l, &why));
	ck_assert_str_eq(l.authserv_id, "lists.example.org");
	ck_assert_uint_eq(l.n, 3);
	ck_assert_str_eq(l.results[0].method, "spf");
	ck_assert_str_eq(l.results[0].result, "pass");
	ck_assert_str_eq(resinfo_get(&l.results[0], "smtp.mailfrom"), "bounce@lists.example.org");
	ck_assert_str_eq(l.results[1].method, "dkim");
	ck_assert_str_eq(resinfo_get(&l.results[1], "header.b"), "abc/+=");
	ck_assert_str_eq(resinfo_get(&l.results[1], "header.i"), "@reject.example");
	ck_assert_str_eq(resinfo_get(&l.results[2], "reason"), "aligned dkim");
	ck_assert_str_eq(resinfo_get(&l.results[2], "header.from"), "Reject.Example");
	ck_assert_ptr_null(resinfo_get(&l.results[2], "header.d"));
	resinfo_free(&l);
}
END_TEST

START_TEST(test_resinfo_none)
{
	struct resinfo_list l;
	const char *why;

	ck_assert(resinfo_parse("mx.example; none", 16, &l, &why));
	ck_assert_uint_eq(l.n, 0);
	resinfo_free(&l);
	ck_assert(resinfo_parse("\"quoted id\"; none-ish=pass", 26, &l, &why));
	ck_assert_str_eq(l.authserv_id, "quoted id");
	ck_assert_str_eq(l.results[0].method, "none-ish");
	resinfo_free(&l);
}
END_TEST

static const char *const bad_values[] = {
	"",					/* no authserv-id */
	"mx.example spf=pass",			/* no ; */
	"mx.example; spf",			/* no = */
	"mx.example; spf=pass smtp=x",		/* property without ptype. */
	"mx.example; spf=pass smtp.mailfrom=\"unterminated",
	"mx.example; spf=pass (unterminated comment",
	"mx.example; spf=pass )",
	"mx.example; none; spf=pass",		/* results after none */
	"mx.example; spf=pass; none",		/* none after results */
	"mx.example; =pass",
	"mx.example; spf=pass reason",
	"mx.example; spf=pass smtp.mailfrom=a\"b",
	"mx.example; dkim/x=pass",
};

START_TEST(test_resinfo_bad)
{
	struct resinfo_list l;
	const char *why = NULL;
	const char *v = bad_values[_i];

	ck_assert_msg(!resinfo_parse(v, strlen(v), &l, &why), "accepted: %s", v);
	ck_assert_ptr_nonnull(why);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_ptr_null(l.results);
}
END_TEST

/* Past a cap the value is an error, never fewer results. */
START_TEST(test_resinfo_caps)
{
	struct resinfo_list l;
	const char *why;
	struct buf b;

	buf_init(&b);
	buf_adds(&b, "mx.example");
	for (int i = 0; i < RESINFO_MAX_RESULTS; i++)
		buf_adds(&b, "; spf=pass");
	ck_assert(resinfo_parse(b.data, b.len, &l, &why));
	ck_assert_uint_eq(l.n, RESINFO_MAX_RESULTS);
	resinfo_free(&l);
	buf_adds(&b, "; dmarc=fail");
	ck_assert(!resinfo_parse(b.data, b.len, &l, &why));
	ck_assert_str_eq(why, "too many results");

	buf_reset(&b);
	buf_adds(&b, "mx.example; dkim=pass");
	for (int i = 0; i <= RESINFO_MAX_PROPS; i++)
		buf_adds(&b, " header.d=x");
	ck_assert(!resinfo_parse(b.data, b.len, &l, &why));
	ck_assert_str_eq(why, "too many properties");

	buf_reset(&b);
	buf_adds(&b, "mx.example; dkim=pass header.b=");
	for (int i = 0; i <= RESINFO_MAX_TOKEN; i++)
		buf_addc(&b, 'A');
	ck_assert(!resinfo_parse(b.data, b.len, &l, &why));

	buf_reset(&b);
	buf_adds(&b, "mx.example");
	for (int i = 0; i <= RESINFO_MAX_DEPTH; i++)
		buf_addc(&b, '(');
	ck_assert(!resinfo_parse(b.data, b.len, &l, &why));
	ck_assert(!resinfo_parse("mx\0; spf=pass", 13, &l, &why));
	buf_free(&b);
}
END_TEST

/* ---- arc_trust ---- */

static char *sealers[] = { "lists.example.org", ".forwarders.example" };

static struct arc_set_view sets[] = {
	{ 1, "lists.example.org", "s1", "lists.example.org; dkim=pass header.d=reject.example;"
					" spf=pass smtp.mailfrom=alice@reject.example" },
	{ 2, "untrusted.example", "s2", "untrusted.example; dmarc=pass header.from=reject.example" },
};

static void
request(struct arc_trust_request *req, struct arc_chain *chain)
{
	memset(chain, 0, sizeof(*chain));
	chain->status = ARC_PASS;
	chain->instances = 2;
	chain->sets = sets;
	chain->n_sets = 2;
	*req = (struct arc_trust_request) {
		.from_domain = "reject.example", .org_domain = "reject.example",
		.dmarc = DMARC_FAIL, .chain = chain, .sealers = sealers, .n_sealers = 2,
	};
}

START_TEST(test_trust_override)
{
	struct arc_trust_request req;
	struct arc_chain chain;
	struct arc_trust t;

	request(&req, &chain);
	arc_trust_decide(&req, &t);
	ck_assert(t.override);
	ck_assert_str_eq(t.sealer, "lists.example.org");	/* the newest trusted, not i=2 */
	ck_assert_uint_eq(t.instance, 1);
	ck_assert_str_eq(t.via, "dkim");
}
END_TEST

START_TEST(test_trust_refusals)
{
	struct arc_trust_request req;
	struct arc_chain chain;
	struct arc_trust t;

	request(&req, &chain);
	req.dmarc = DMARC_PASS;
	arc_trust_decide(&req, &t);
	ck_assert(!t.override);

	request(&req, &chain);
	chain.status = ARC_FAIL;
	arc_trust_decide(&req, &t);
	ck_assert(!t.override);
	ck_assert_str_eq(t.why_not, "no valid ARC chain");

	request(&req, &chain);
	req.chain = NULL;
	arc_trust_decide(&req, &t);
	ck_assert(!t.override);

	request(&req, &chain);
	req.n_sealers = 0;
	arc_trust_decide(&req, &t);
	ck_assert(!t.override);

	/* only the untrusted sealer shows dmarc=pass */
	request(&req, &chain);
	chain.sets = &sets[1];
	chain.n_sets = 1;
	arc_trust_decide(&req, &t);
	ck_assert(!t.override);
	ck_assert_str_eq(t.why_not, "no trusted sealer in the ARC chain");

	/* strict alignment: the AAR's pass is for the From domain itself, still fine */
	request(&req, &chain);
	req.adkim_strict = req.aspf_strict = true;
	arc_trust_decide(&req, &t);
	ck_assert(t.override);

	/* another From domain: nothing in the AAR aligns */
	request(&req, &chain);
	req.from_domain = req.org_domain = "other.example";
	arc_trust_decide(&req, &t);
	ck_assert(!t.override);
	ck_assert_str_eq(t.why_not, "trusted sealer's AAR shows no aligned pass");
}
END_TEST

/* The newest trusted sealer decides: an older trusted pass does not count. */
START_TEST(test_trust_newest_decides)
{
	struct arc_set_view two[] = {
		{ 1, "lists.example.org", "s", "lists.example.org; dmarc=pass header.from=reject.example" },
		{ 2, "a.forwarders.example", "s", "fwd.example; dmarc=fail header.from=reject.example;"
						  " dkim=fail header.d=reject.example" },
	};
	struct arc_trust_request req;
	struct arc_chain chain;
	struct arc_trust t;

	request(&req, &chain);
	chain.sets = two;
	arc_trust_decide(&req, &t);
	ck_assert(!t.override);
	ck_assert_str_eq(t.sealer, "a.forwarders.example");
	ck_assert_uint_eq(t.instance, 2);

	two[1].aar_payload = "fwd.example; dmarc=pass header.from=REJECT.example";
	arc_trust_decide(&req, &t);
	ck_assert(t.override);
	ck_assert_str_eq(t.via, "dmarc");

	two[1].aar_payload = "fwd.example; dmarc=pass header.from=reject.example; spf=pass (";
	arc_trust_decide(&req, &t);
	ck_assert(!t.override);		/* unreadable: no override */
	ck_assert_str_eq(t.why_not, "trusted sealer's AAR unreadable");
}
END_TEST

START_TEST(test_trust_alignment)
{
	/* relaxed: at or below the organizational domain */
	ck_assert(arc_trust_aligned("mail.reject.example", "news.reject.example", "reject.example", false));
	ck_assert(arc_trust_aligned("reject.example", "news.reject.example", "reject.example", false));
	ck_assert(!arc_trust_aligned("evilreject.example", "reject.example", "reject.example", false));
	ck_assert(!arc_trust_aligned("example", "reject.example", "reject.example", false));
	ck_assert(!arc_trust_aligned("mail.reject.example", "reject.example", NULL, true));
	ck_assert(arc_trust_aligned("Reject.Example", "reject.example", NULL, true));
	ck_assert(!arc_trust_aligned("", "reject.example", NULL, false));
	ck_assert(!arc_trust_aligned(NULL, "reject.example", NULL, false));
}
END_TEST

START_TEST(test_trust_listed)
{
	ck_assert(arc_trust_listed(sealers, 2, "lists.example.org"));
	ck_assert(arc_trust_listed(sealers, 2, "LISTS.example.org"));
	ck_assert(!arc_trust_listed(sealers, 2, "a.lists.example.org"));	/* no dot: itself only */
	ck_assert(arc_trust_listed(sealers, 2, "a.forwarders.example"));
	ck_assert(arc_trust_listed(sealers, 2, "b.a.forwarders.example"));
	ck_assert(!arc_trust_listed(sealers, 2, "forwarders.example"));	/* dot: subdomains only */
	ck_assert(!arc_trust_listed(sealers, 2, "evilforwarders.example"));
	ck_assert(!arc_trust_listed(sealers, 2, ".forwarders.example"));
	ck_assert(!arc_trust_listed(sealers, 2, NULL));
}
END_TEST

/* ---- configuration ---- */

static bool
load(const char *text, struct config *cfg, struct buf *err, char *path)
{
	snprintf(path, 64, "/tmp/t_arc_trust_XXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	config_defaults(cfg);
	buf_init(err);
	return config_load(cfg, path, err);
}

START_TEST(test_conf_sealers_inline)
{
	struct config cfg;
	struct buf err;
	char path[64];

	ck_assert(load("ARCTrustedSealers lists.example.org, .Forwarders.Example.  other.example\n"
		       "TrustedAuthservIDs border.example.net,mx2.example.net\n", &cfg, &err, path));
	unlink(path);
	ck_assert_uint_eq(cfg.n_arc_trusted_sealers, 3);
	ck_assert_str_eq(cfg.arc_trusted_sealers[1], ".forwarders.example");
	ck_assert(arc_trust_listed(cfg.arc_trusted_sealers, cfg.n_arc_trusted_sealers,
				   "x.forwarders.example"));
	ck_assert(!arc_trust_listed(cfg.arc_trusted_sealers, cfg.n_arc_trusted_sealers,
				    "forwarders.example"));
	ck_assert_uint_eq(cfg.n_trusted_authserv_ids, 2);
	ck_assert_str_eq(cfg.trusted_authserv_ids[1], "mx2.example.net");
	config_free(&cfg);
	buf_free(&err);
}
END_TEST

START_TEST(test_conf_sealers_file)
{
	struct config cfg;
	struct buf err;
	char path[64], list[64], text[200];
	const char *body = "# trusted lists\nlists.example.org\n\n  .example.net   # subdomains\n";

	snprintf(list, sizeof(list), "/tmp/t_arc_sealers_XXXXXX");
	int fd = mkstemp(list);
	ck_assert_int_eq(write(fd, body, strlen(body)), (ssize_t)strlen(body));
	close(fd);
	snprintf(text, sizeof(text), "ARCTrustedSealers %s\n", list);
	ck_assert(load(text, &cfg, &err, path));
	unlink(path);
	ck_assert_uint_eq(cfg.n_arc_trusted_sealers, 2);
	ck_assert_str_eq(cfg.arc_trusted_sealers[1], ".example.net");
	config_free(&cfg);
	buf_free(&err);

	/* an error in the list names the list's file and line */
	body = "lists.example.org\n# fine\nbad_domain..example\n";
	fd = open(list, O_WRONLY | O_TRUNC);
	ck_assert_int_eq(write(fd, body, strlen(body)), (ssize_t)strlen(body));
	close(fd);
	ck_assert(!load(text, &cfg, &err, path));
	unlink(path);
	char want[128];
	snprintf(want, sizeof(want), "%s:3: bad domain", list);
	ck_assert_msg(strstr(err.data, want) != NULL, "%s", err.data);
	ck_assert_msg(strncmp(err.data, path, strlen(path)) == 0, "%s", err.data);
	config_free(&cfg);
	buf_free(&err);
	unlink(list);
}
END_TEST

static const char *const bad_conf[] = {
	"ARCTrustedSealers lists..example.org\n",
	"ARCTrustedSealers -lists.example.org\n",
	"ARCTrustedSealers lists.example.org/x\n",
	"ARCTrustedSealers ..example.org\n",
	"ARCTrustedSealers /nonexistent/sealers\n",
	"TrustedAuthservIDs border@example.net\n",
	"TrustedAuthservIDs \"quoted\"\n",
};

START_TEST(test_conf_bad)
{
	struct config cfg;
	struct buf err;
	char path[64], want[80];

	ck_assert_msg(!load(bad_conf[_i], &cfg, &err, path), "accepted %s", bad_conf[_i]);
	snprintf(want, sizeof(want), "%s:1: ", path);
	ck_assert_msg(strncmp(err.data, want, strlen(want)) == 0, "%s", err.data);
	unlink(path);
	config_free(&cfg);
	buf_free(&err);
}
END_TEST

/* ---- upstream ---- */

START_TEST(test_upstream_pick)
{
	struct spf_outcome o;
	char *helo;
	struct config cfg;

	ck_assert(upstream_spf("border.example; spf=softfail (not listed) smtp.mailfrom=a@x.example;"
			       " spf=pass smtp.mailfrom=bob@Sender.example", "bob@sender.example",
			       &o, &helo));
	ck_assert_int_eq(o.result, SPF_PASS);
	ck_assert_str_eq(o.domain, "Sender.example");
	ck_assert_str_eq(o.reason, "from border.example");
	ck_assert_ptr_null(helo);
	spf_outcome_free(&o);
	/* another envelope's result is not ours */
	ck_assert(!upstream_spf("border.example; spf=pass smtp.mailfrom=a@x.example", "b@y.example",
				&o, &helo));
	ck_assert(!upstream_spf("border.example; spf=bogus smtp.mailfrom=b@y.example", "b@y.example",
				&o, &helo));
	ck_assert(!upstream_spf("border.example; dkim=pass header.d=y.example", "b@y.example", &o, &helo));
	ck_assert(!upstream_spf("border.example; spf=pass smtp.mailfrom=b@y.example (", "b@y.example",
				&o, &helo));
	/* the null sender: the HELO identity */
	ck_assert(upstream_spf("border.example; spf=fail reason=\"not permitted\" smtp.helo=mx.y.example",
			       "", &o, &helo));
	ck_assert_int_eq(o.result, SPF_FAIL);
	ck_assert_str_eq(helo, "mx.y.example");
	ck_assert_str_eq(o.reason, "from border.example: not permitted");
	spf_outcome_free(&o);
	free(helo);

	config_defaults(&cfg);
	free(cfg.authserv_id);
	cfg.authserv_id = xstrdup("mx.example.org");
	char *ids[] = { "border.example", "mx.example.org" };
	cfg.trusted_authserv_ids = ids;
	cfg.n_trusted_authserv_ids = 2;
	ck_assert(upstream_applies(&cfg, true));
	ck_assert(!upstream_applies(&cfg, false));
	ck_assert(upstream_is_trusted(&cfg, " Border.Example; spf=pass smtp.mailfrom=a@b"));
	ck_assert(!upstream_is_trusted(&cfg, "other.example; spf=pass smtp.mailfrom=a@b"));
	/* our own id is a forgery to delete, never an upstream result */
	ck_assert(!upstream_is_trusted(&cfg, "mx.example.org; spf=pass smtp.mailfrom=a@b"));
	cfg.trusted_authserv_ids = NULL;
	cfg.n_trusted_authserv_ids = 0;
	config_free(&cfg);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("arc_trust");
	TCase *tc = tcase_create("arc_trust");

	tcase_add_test(tc, test_resinfo_full);
	tcase_add_test(tc, test_resinfo_none);
	tcase_add_loop_test(tc, test_resinfo_bad, 0, sizeof(bad_values) / sizeof(bad_values[0]));
	tcase_add_test(tc, test_resinfo_caps);
	tcase_add_test(tc, test_trust_override);
	tcase_add_test(tc, test_trust_refusals);
	tcase_add_test(tc, test_trust_newest_decides);
	tcase_add_test(tc, test_trust_alignment);
	tcase_add_test(tc, test_trust_listed);
	tcase_add_test(tc, test_conf_sealers_inline);
	tcase_add_test(tc, test_conf_sealers_file);
	tcase_add_loop_test(tc, test_conf_bad, 0, sizeof(bad_conf) / sizeof(bad_conf[0]));
	tcase_add_test(tc, test_upstream_pick);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
