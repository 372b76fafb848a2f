/*
 * t_report - authmilter-report's pure parts: grouping rows into records,
 * the XML (escaping, HELO-scope SPF left out), gzip round trip, base64,
 * the MIME message, rua= URIs and ReportSuppress, the metrics file.
 */
#include "testutil.h"

#include "agg.h"
#include "config.h"
#include "dest.h"
#include "rmetrics.h"
#include "mime.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const struct agg_dkim sig_pass = { "example.org", "s1", "pass", NULL };
static const struct agg_dkim sig_odd = { "example.org", "s<2>", "bogus", NULL };

static struct agg_msg
msg(const char *ip, const char *disp)
{
	return (struct agg_msg){ .source_ip = ip, .header_from = "example.org",
		.envelope_from = "example.org", .dmarc_result = "pass", .dkim_aligned = "pass",
		.spf_aligned = "pass", .disposition = disp, .spf_domain = "example.org",
		.spf_scope = "mfrom", .spf_result = "pass", .dkim = &sig_pass, .n_dkim = 1 };
}

static void
policy(struct agg_report *rep)
{
	struct agg_policy p = { "example.org", "reject", NULL, NULL, "r", "r", "n", "treewalk",
				NULL, "mailto:d@example.org", NULL };
	agg_set_policy(rep, &p);
}

START_TEST(test_grouping)
{
	struct agg_report rep;

	agg_init(&rep, 100, 200);
	policy(&rep);
	for (int i = 0; i < 1000; i++) {
		struct agg_msg m = msg(i % 3 ? "192.0.2.1" : "192.0.2.2", "none");
		agg_add(&rep, &m);
	}
	struct agg_msg q = msg("192.0.2.1", "quarantine");
	agg_add(&rep, &q);
	agg_finish(&rep);
	ck_assert_uint_eq(rep.n_records, 3);
	ck_assert_int_eq(rep.n_messages, 1001);
	ck_assert_int_eq(rep.records[0].count, 666);
	ck_assert_int_eq(rep.records[1].count, 334);
	ck_assert_int_eq(rep.records[2].count, 1);
	agg_free(&rep);
}
END_TEST

START_TEST(test_xml)
{
	struct agg_report rep;
	struct buf x;
	struct agg_msg m = msg("192.0.2.1", "none");

	m.header_from = "a&b<c>.example";
	m.spf_scope = "helo";
	m.dkim = &sig_odd;
	m.override_type = "mailing_list";
	m.override_comment = "list \"x\"";
	agg_init(&rep, 100, 200);
	policy(&rep);
	agg_add(&rep, &m);
	agg_finish(&rep);
	buf_init(&x);
	agg_xml(&rep, &(struct agg_meta){ "Org & Co", "r@x.example", "id1", "gen" }, &x);
	ck_assert_ptr_nonnull(strstr(x.data, "<org_name>Org &amp; Co</org_name>"));
	ck_assert_ptr_nonnull(strstr(x.data, "<header_from>a&amp;b&lt;c&gt;.example</header_from>"));
	ck_assert_ptr_null(strstr(x.data, "<spf>\n"));	/* HELO scope: no auth_results spf */
	ck_assert_ptr_nonnull(strstr(x.data, "<selector>s&lt;2&gt;</selector>"));
	ck_assert_ptr_nonnull(strstr(x.data, "<result>permerror</result>"));
	ck_assert_ptr_nonnull(strstr(x.data, "<human_result>unknown result bogus</human_result>"));
	ck_assert_ptr_nonnull(strstr(x.data, "<type>mailing_list</type>"));
	ck_assert_ptr_nonnull(strstr(x.data, "<comment>list &quot;x&quot;</comment>"));
	ck_assert_ptr_nonnull(strstr(x.data, "<disposition>pass</disposition>"));
	ck_assert_ptr_nonnull(strstr(x.data, "<count>1</count>"));
	ck_assert_ptr_null(strchr(x.data, '\001'));
	buf_free(&x);
	agg_free(&rep);
}
END_TEST

START_TEST(test_gzip)
{
	struct buf in, gz, out, why;

	buf_init(&in);
	buf_init(&gz);
	buf_init(&out);
	buf_init(&why);
	for (int i = 0; i < 20000; i++)
		buf_printf(&in, "<record>%d</record>\n", i);
	ck_assert(mime_gzip(in.data, in.len, &gz, &why));
	ck_assert_uint_eq((unsigned char)gz.data[0], 0x1f);
	ck_assert_uint_eq((unsigned char)gz.data[1], 0x8b);
	ck_assert(mime_gunzip(gz.data, gz.len, in.len, &out, &why));
	ck_assert_uint_eq(out.len, in.len);
	ck_assert(memcmp(out.data, in.data, in.len) == 0);
	buf_reset(&out);
	ck_assert(!mime_gunzip(gz.data, gz.len, in.len - 1, &out, &why));	/* a cap is an error */
	buf_reset(&out);
	ck_assert(!mime_gunzip(gz.data, gz.len / 2, in.len, &out, &why));	/* truncated */
	buf_free(&in);
	buf_free(&gz);
	buf_free(&out);
	buf_free(&why);
}
END_TEST

START_TEST(test_base64)
{
	struct buf b;

	buf_init(&b);
	mime_base64("foobar", 6, &b);
	ck_assert_str_eq(b.data, "Zm9vYmFy\r\n");
	buf_reset(&b);
	mime_base64("fooba", 5, &b);
	ck_assert_str_eq(b.data, "Zm9vYmE=\r\n");
	buf_reset(&b);
	mime_base64("f", 1, &b);
	ck_assert_str_eq(b.data, "Zg==\r\n");
	buf_reset(&b);
	char big[120];
	memset(big, 'A', sizeof(big));
	mime_base64(big, sizeof(big), &b);
	ck_assert_uint_eq(strcspn(b.data, "\r"), 76);
	buf_free(&b);
}
END_TEST

/* line ends fall every 57 input bytes, with no empty line after a full last one */
START_TEST(test_base64_lines)
{
	struct buf b;
	unsigned char bytes[171];

	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (unsigned char)(i * 37 + 11);
	buf_init(&b);
	mime_base64(bytes, 57, &b);
	ck_assert_uint_eq(b.len, 78);
	ck_assert_str_eq(b.data + 76, "\r\n");
	buf_reset(&b);
	mime_base64(bytes, 58, &b);
	ck_assert_uint_eq(b.len, 78 + 6);
	ck_assert_str_eq(b.data + 78, "SA==\r\n");
	buf_reset(&b);
	mime_base64(bytes, sizeof(bytes), &b);
	ck_assert_uint_eq(b.len, 3 * 78);
	buf_reset(&b);
	mime_base64(bytes, 0, &b);
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);
}
END_TEST

START_TEST(test_mime)
{
	struct buf m;
	struct mime_report r = { "dmarc@rx.example", "d@example.org", "example.org", "rx.example",
				 "id1", "rx.example!example.org!1!2!id1.xml.gz", "text",
				 "application/gzip", 0, "m1@rx.example" };

	buf_init(&m);
	mime_message(&r, "xyz", 3, &m);
	ck_assert_ptr_nonnull(strstr(m.data, "\r\nSubject: Report Domain: example.org Submitter: "
				     "rx.example Report-ID: <id1>\r\n"));
	ck_assert_ptr_nonnull(strstr(m.data, "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"));
	ck_assert_ptr_nonnull(strstr(m.data, "Content-Type: application/gzip; name=\"rx.example"));
	ck_assert_ptr_nonnull(strstr(m.data, "\r\n\r\neHl6\r\n"));
	buf_free(&m);
}
END_TEST

static const struct {
	const char *uri, *address;
	unsigned long long size;
} uri_cases[] = {
	{ "mailto:dmarc@Example.ORG", "dmarc@example.org", 0 },
	{ " mailto:a@b.example!10m", "a@b.example", 10485760 },
	{ "MAILTO:a%21b@b.example!5k", "a!b@b.example", 5120 },
	{ "mailto:a@b.example!10x", NULL, 0 },
	{ "https://b.example/r", NULL, 0 },
	{ "mailto:a@b.example?subject=x", NULL, 0 },
	{ "mailto:<a@b.example>", NULL, 0 },
	{ "mailto:a@b.example%0d%0aBcc:x@y", NULL, 0 },
	{ "mailto:nobody", NULL, 0 },
	{ "mailto:a@b.example!99999999999999999999t", NULL, 0 },
};

START_TEST(test_uri)
{
	struct dest d;
	struct buf why;
	bool ok;

	buf_init(&why);
	ok = dest_parse_uri(uri_cases[_i].uri, &d, &why);
	if (uri_cases[_i].address == NULL) {
		ck_assert_msg(!ok, "%s accepted", uri_cases[_i].uri);
	} else {
		ck_assert_msg(ok, "%s: %s", uri_cases[_i].uri, why.data);
		ck_assert_str_eq(d.address, uri_cases[_i].address);
		ck_assert_uint_eq(d.max_size, uri_cases[_i].size);
		free(d.address);
	}
	buf_free(&why);
}
END_TEST

START_TEST(test_list_and_suppress)
{
	struct dest_list l;
	struct dest_suppress s;
	struct config cfg;
	struct buf notes;
	char conf[] = "/tmp/t_report_conf.XXXXXX";
	int fd = mkstemp(conf);
	static const char line[] = "ReportSuppress A@X.example, y.example\n";

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, line, sizeof(line) - 1), (int)sizeof(line) - 1);
	close(fd);
	config_defaults(&cfg);
	buf_init(&notes);
	dest_parse_list("mailto:a@x.example, https://no, mailto:b@sub.y.example!1m,mailto:c@z.example",
			&l, &notes);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_ptr_nonnull(strstr(notes.data, "only mailto:"));
	/* lib/config reads ReportSuppress (inline or a file), lower case */
	ck_assert(config_load(&cfg, conf, &notes));
	s = (struct dest_suppress){ cfg.report_suppress, cfg.n_report_suppress };
	ck_assert(dest_suppressed(&s, &l.items[0]));
	ck_assert(dest_suppressed(&s, &l.items[1]));	/* subdomain of y.example */
	ck_assert(!dest_suppressed(&s, &l.items[2]));
	config_free(&cfg);
	unlink(conf);
	dest_list_free(&l);
	buf_free(&notes);
}
END_TEST

START_TEST(test_max_recipients)
{
	struct dmarc_ctx dmarc;
	struct dest_suppress none = { NULL, 0 };
	struct dest_list l;
	struct buf notes;

	/* destinations in the policy domain itself need no DNS */
	memset(&dmarc, 0, sizeof(dmarc));
	buf_init(&notes);
	dest_select(&dmarc, "x.example", "mailto:a@x.example,mailto:A@X.example,mailto:b@x.example,"
		    "mailto:c@x.example", &none, 2, &l, &notes);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(l.items[0].address, "a@x.example");
	ck_assert_str_eq(l.items[1].address, "b@x.example");
	ck_assert_ptr_nonnull(strstr(notes.data, "c@x.example: over ReportMaxRecipients (2)"));
	dest_list_free(&l);
	buf_free(&notes);
}
END_TEST

/* read_all - a small file's text (xmalloc'd) */
static char *
read_all(const char *path)
{
	char *text = xmalloc(8192);
	FILE *fp = fopen(path, "r");
	size_t n;

	ck_assert_ptr_nonnull(fp);
	n = fread(text, 1, 8191, fp);
	text[n] = '\0';
	fclose(fp);
	return text;
}

START_TEST(test_metrics)
{
	char dir[] = "/tmp/t_report.XXXXXX", path[64], tmp[80];
	struct rmetrics_counts a = { 2, 1, { [RMETRICS_SKIP_SIZE] = 1, [RMETRICS_SKIP_BACKOFF] = 3 } };
	struct rmetrics_counts f = { 1, 0, { [RMETRICS_SKIP_INTERVAL] = 4 } };
	struct buf why;
	FILE *fp;
	char *text;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/r.prom", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	buf_init(&why);
	/* a file someone else wrote: lines not ours, an overlong line that ends
	 * like ours, a negative and a non-numeric value are all left out */
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fprintf(fp, "# TYPE x counter\nother_total{kind=\"aggregate\"} 9\n");
	for (int i = 0; i < 600; i++)
		fputc('x', fp);
	fprintf(fp, "authmilter_report_sent_total{kind=\"aggregate\"} 50\n");
	fprintf(fp, "authmilter_report_failed_total{kind=\"aggregate\"} -4\n");
	fprintf(fp, "authmilter_report_skipped_total{kind=\"aggregate\",reason=\"size\"} 1x\n");
	fprintf(fp, "authmilter_report_skipped_total{kind=\"aggregate\",reason=\"backoff\"} 10\n");
	fclose(fp);
	ck_assert(rmetrics_update(path, RMETRICS_AGGREGATE, &a, 1000, 1, &why));
	ck_assert(rmetrics_update(path, RMETRICS_AGGREGATE, &a, 2000, 0, &why));
	ck_assert(rmetrics_update(path, RMETRICS_FAILURE, &f, 3000, 0, &why));
	ck_assert_int_ne(access(tmp, F_OK), 0);
	text = read_all(path);
	ck_assert_ptr_null(strstr(text, "other_total"));
	ck_assert_ptr_nonnull(strstr(text, "\nauthmilter_report_sent_total{kind=\"aggregate\"} 4\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nauthmilter_report_failed_total{kind=\"aggregate\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(text, "{kind=\"aggregate\",reason=\"size\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(text, "{kind=\"aggregate\",reason=\"backoff\"} 16\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nauthmilter_report_sent_total{kind=\"failure\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "{kind=\"failure\",reason=\"interval\"} 4\n"));
	ck_assert_ptr_nonnull(strstr(text,
		"\nauthmilter_report_last_run_timestamp_seconds{kind=\"aggregate\"} 2000\n"));
	ck_assert_ptr_nonnull(strstr(text,
		"\nauthmilter_report_last_run_timestamp_seconds{kind=\"failure\"} 3000\n"));
	ck_assert_ptr_nonnull(strstr(text, "# TYPE authmilter_report_sent_total counter\n"));
	free(text);
	/* a directory that is not there: an error, not a crash */
	snprintf(tmp, sizeof(tmp), "%s/no/such.prom", dir);
	ck_assert(!rmetrics_update(tmp, RMETRICS_FAILURE, &f, 1, 0, &why));
	ck_assert_ptr_nonnull(strstr(why.data, "no/such.prom.tmp"));
	buf_free(&why);
	unlink(path);
	rmdir(dir);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("report");

	tcase_add_test(tc, test_grouping);
	tcase_add_test(tc, test_xml);
	tcase_add_test(tc, test_gzip);
	tcase_add_test(tc, test_base64);
	tcase_add_test(tc, test_base64_lines);
	tcase_add_test(tc, test_mime);
	tcase_add_loop_test(tc, test_uri, 0, sizeof(uri_cases) / sizeof(uri_cases[0]));
	tcase_add_test(tc, test_list_and_suppress);
	tcase_add_test(tc, test_max_recipients);
	tcase_add_test(tc, test_metrics);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
