/*
 * t_config - every way a conf file can be right or wrong.
 */
#include "testutil.h"
#include "../../lib/config.h"

/* load_text - write text to a temp file and load it; errors into *err */
static bool
load_text(const char *text, struct config *cfg, struct buf *err, char *path, size_t size)
{
	snprintf(path, size, "/tmp/t_config_XXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	config_defaults(cfg);
	buf_init(err);
	bool ok = config_load(cfg, path, err);
	unlink(path);
	return ok;
}

START_TEST(test_defaults)
{
	struct config cfg;

	config_defaults(&cfg);
	ck_assert_str_eq(cfg.socket_spec, "inet:8891@127.0.0.1");
	ck_assert(cfg.authserv_id != NULL && cfg.authserv_id[0] != '\0');
	ck_assert_int_eq(cfg.n_nameservers, 0);
	ck_assert_int_eq(cfg.dns_timeout, 5);
	ck_assert(cfg.spf_helo);
	ck_assert(!cfg.spf_reject_fail);
	ck_assert(!cfg.tempfail_on_dns_error);
	ck_assert(cfg.user_id == NULL && cfg.pid_file == NULL);
	ck_assert_int_eq(cfg.dkim_min_key_bits, 1024);
	ck_assert_int_eq(cfg.dkim_max_signatures, 10);
	ck_assert(cfg.dmarc_enforce);
	ck_assert_uint_eq(cfg.n_trusted_nets, 0);
	ck_assert_int_eq(cfg.dmarc_multi_from, MULTI_FROM_REJECT);
	config_free(&cfg);
}
END_TEST

START_TEST(test_full_file)
{
	struct config cfg;
	struct buf err;
	char path[64];
	const char *text =
		"# a comment\n"
		"\n"
		"  socket   unix:/run/authmilter/authmilter.sock  # trailing comment\n"
		"AUTHSERVID mx.example.net\n"
		"Nameservers 192.0.2.53, [2001:db8::53]:5353 ,127.0.0.1:5300\n"
		"DNSTimeout 3\r\n"
		"DNSRetries 0\n"
		"DNSCacheSize 50\n"
		"UserID authmilter:authmilter\n"
		"PidFile /run/authmilter/authmilter.pid\n"
		"LogLevel Debug\n"
		"SocketMode 0600\n"
		"SPFHelo off\n"
		"SPFRejectFail YES\n"
		"TempFailOnDNSError true\n"
		"DKIMMinKeyBits 2048\n"
		"dkimmaxsignatures 3\n"
		"DKIMClockSkew 0\n";

	ck_assert_msg(load_text(text, &cfg, &err, path, sizeof(path)), "%s", err.data);
	ck_assert_str_eq(cfg.socket_spec, "unix:/run/authmilter/authmilter.sock");
	ck_assert_str_eq(cfg.authserv_id, "mx.example.net");
	ck_assert_int_eq(cfg.n_nameservers, 3);
	ck_assert_int_eq(cfg.dns_timeout, 3);
	ck_assert_int_eq(cfg.dns_retries, 0);
	ck_assert_int_eq(cfg.dns_cache_size, 50);
	ck_assert_str_eq(cfg.user_id, "authmilter:authmilter");
	ck_assert_int_eq(cfg.log_level, LOG_LEVEL_DEBUG);
	ck_assert_int_eq(cfg.socket_mode, 0600);
	ck_assert(!cfg.spf_helo);
	ck_assert(cfg.spf_reject_fail);
	ck_assert(cfg.tempfail_on_dns_error);
	ck_assert_int_eq(cfg.dkim_min_key_bits, 2048);
	ck_assert_int_eq(cfg.dkim_max_signatures, 3);
	ck_assert_int_eq(cfg.dkim_clock_skew, 0);
	buf_free(&err);
	config_free(&cfg);
}
END_TEST

/* one bad line each; the message must name the line and say what is wrong */
static const struct {
	const char *text;
	const char *message;
} error_cases[] = {
	{ "Frobnicate yes\n", ":1: unknown key \"Frobnicate\"" },
	{ "# ok\nSPFHelo maybe\n", ":2: SPFHelo wants yes or no, not \"maybe\"" },
	{ "DNSTimeout 0\n", ":1: DNSTimeout wants a whole number from 1 to 300, not \"0\"" },
	{ "DNSTimeout 5s\n", ":1: DNSTimeout wants a whole number" },
	{ "DNSRetries -1\n", ":1: DNSRetries wants a whole number from 0 to 10" },
	{ "DNSTimeout 99999999999999999999\n", ":1: DNSTimeout wants a whole number" },
	{ "AuthservID a\nauthservid b\n", ":2: duplicate key \"AuthservID\"" },
	{ "AuthservID\n", ":1: AuthservID needs a value" },
	{ "AuthservID   # only a comment\n", ":1: AuthservID needs a value" },
	{ "Nameservers 192.0.2.1, ns.example.com\n", ":1: bad nameserver \"ns.example.com\"" },
	{ "Nameservers 192.0.2.1:70000\n", ":1: bad nameserver \"192.0.2.1:70000\"" },
	{ "Nameservers ,\n", ":1: empty nameserver list" },
	{ "Nameservers 1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4,1.1.1.5,1.1.1.6,1.1.1.7,1.1.1.8,1.1.1.9\n",
	  ":1: at most 8 nameservers" },
	{ "Socket tcp:8891\n", ":1: Socket wants inet:port@host" },
	{ "LogLevel verbose\n", ":1: LogLevel wants error, warning, info or debug" },
	{ "SocketMode 0999\n", ":1: SocketMode wants an octal mode" },
	{ "DKIMMinKeyBits 256\n", ":1: DKIMMinKeyBits wants a whole number from 512 to 16384" },
	{ "DKIMMaxSignatures 0\n", ":1: DKIMMaxSignatures wants a whole number from 1 to 1000" },
	{ "DMARCMode dmarcbis\n", ":1: DMARCMode wants rfc9989 or rfc7489, not \"dmarcbis\"" },
	{ "DMARCMultiFrom first\n", ":1: DMARCMultiFrom wants reject, evaluate-strictest or ignore, not \"first\"" },
	{ "DMARCQuarantine spam\n", ":1: DMARCQuarantine wants hold or header" },
	{ "TrustedNetworks 10.0.0.0/8, 10.1.0.0/33\n", ":1: bad network \"10.1.0.0/33\"" },
	{ "TrustedNetworks 10.0.0.0/8, example.com\n", ":1: bad network \"example.com\"" },
	{ "DMARCOverrides /nonexistent/overrides\n", ":1: cannot open /nonexistent/overrides" },
};

START_TEST(test_errors)
{
	struct config cfg;
	struct buf err;
	char path[64], want[512];

	ck_assert(!load_text(error_cases[_i].text, &cfg, &err, path, sizeof(path)));
	snprintf(want, sizeof(want), "%s%s", path, error_cases[_i].message);
	ck_assert_msg(strncmp(err.data, want, strlen(want)) == 0, "got \"%s\" want \"%s\"",
		      err.data, want);
	buf_free(&err);
	config_free(&cfg);
}
END_TEST

START_TEST(test_dmarc_keys)
{
	struct config cfg;
	struct buf err;
	char path[64], ov[64], nets[64];
	const char *ov_text = "# comment\nexample.com never-reject\n\nPartner.Example. always-pass\n"
			      "bank.example force-reject # fraud\n";
	const char *nets_text = "192.0.2.0/24\n# office\n2001:db8::/32\n";

	snprintf(ov, sizeof(ov), "/tmp/t_config_ov_XXXXXX");
	int fd = mkstemp(ov);
	ck_assert_int_eq(write(fd, ov_text, strlen(ov_text)), (ssize_t)strlen(ov_text));
	close(fd);
	snprintf(nets, sizeof(nets), "/tmp/t_config_nets_XXXXXX");
	fd = mkstemp(nets);
	ck_assert_int_eq(write(fd, nets_text, strlen(nets_text)), (ssize_t)strlen(nets_text));
	close(fd);
	char text[512];
	snprintf(text, sizeof(text), "DMARCMode rfc7489\nDMARCEnforce no\nDMARCQuarantine header\n"
		 "DMARCMultiFrom evaluate-strictest\nTrustedNetworks %s\nTrustedClientPolicy skip\n"
		 "DMARCOverrides %s\nDMARCListAction quarantine\nDMARCRejectText go away %%d\n", nets, ov);
	ck_assert_msg(load_text(text, &cfg, &err, path, sizeof(path)), "%s", err.data);
	ck_assert_int_eq(cfg.dmarc_mode, 1);
	ck_assert(!cfg.dmarc_enforce);
	ck_assert_int_eq(cfg.dmarc_quarantine, QUARANTINE_HEADER);
	ck_assert_int_eq(cfg.dmarc_multi_from, MULTI_FROM_STRICTEST);
	ck_assert_uint_eq(cfg.n_trusted_nets, 2);
	ck_assert_int_eq(cfg.trusted_policy, TRUSTED_SKIP);
	ck_assert_int_eq(cfg.dmarc_list_action, LIST_QUARANTINE);
	ck_assert_str_eq(cfg.dmarc_reject_text, "go away %d");
	ck_assert_uint_eq(cfg.n_overrides, 3);
	ck_assert_int_eq(config_find_override(&cfg, "mail.partner.example")->action, OVERRIDE_ALWAYS_PASS);
	ck_assert_int_eq(config_find_override(&cfg, "BANK.example")->action, OVERRIDE_FORCE_REJECT);
	ck_assert_ptr_null(config_find_override(&cfg, "notexample.com"));
	ck_assert_ptr_null(config_find_override(&cfg, "com"));
	buf_free(&err);
	config_free(&cfg);
	/* a bad line in the overrides file is reported with that file's name and line */
	const char *bad = "example.com never-reject\nexample.org sometimes\n";
	fd = open(ov, O_WRONLY | O_TRUNC);
	ck_assert_int_eq(write(fd, bad, strlen(bad)), (ssize_t)strlen(bad));
	close(fd);
	snprintf(text, sizeof(text), "DMARCOverrides %s\n", ov);
	ck_assert(!load_text(text, &cfg, &err, path, sizeof(path)));
	char want[256];
	snprintf(want, sizeof(want), "%s:1: %s:2: unknown override \"sometimes\"", path, ov);
	ck_assert_msg(strncmp(err.data, want, strlen(want)) == 0, "got %s", err.data);
	buf_free(&err);
	config_free(&cfg);
	unlink(ov);
	unlink(nets);
}
END_TEST

/* the ARC sealing keys: names lower case, the key loaded once, list checks */
START_TEST(test_arc_sign_keys)
{
	struct config cfg;
	struct buf err;
	char path[64], text[4608];	/* test_path gives up to 4095 bytes */

	snprintf(text, sizeof(text), "ARCSign yes\nARCSignDomain Lists.Example.ORG\n"
		 "ARCSignSelector Sel1\nARCSignKey %s\nARCSignHeaders From, Subject:TO  date\n",
		 test_path("tests/dkim/keys/rsa2048.key"));
	ck_assert_msg(load_text(text, &cfg, &err, path, sizeof(path)), "%s", err.data);
	ck_assert(cfg.arc_sign);
	ck_assert_str_eq(cfg.arc_sign_domain, "lists.example.org");
	ck_assert_str_eq(cfg.arc_sign_selector, "sel1");
	ck_assert_ptr_nonnull(cfg.arc_sign_key);
	ck_assert_str_eq(cfg.arc_sign_headers, "from:subject:to:date");
	buf_free(&err);
	config_free(&cfg);
	ck_assert(!load_text("ARCSignHeaders from:ARC-Seal\n", &cfg, &err, path, sizeof(path)));
	ck_assert_ptr_nonnull(strstr(err.data, ":1: ARCSignHeaders must not name arc-seal"));
	ck_assert_ptr_null(cfg.arc_sign_headers);
	buf_free(&err);
	config_free(&cfg);
	ck_assert(!load_text("ARCSignKey /nonexistent/key.pem\n", &cfg, &err, path, sizeof(path)));
	ck_assert_ptr_nonnull(strstr(err.data, ":1: /nonexistent/key.pem: cannot open the key file"));
	ck_assert_ptr_null(cfg.arc_sign_key);
	buf_free(&err);
	config_free(&cfg);
	ck_assert(!load_text("ARCSign yes\nARCSignDomain a.example\n", &cfg, &err, path, sizeof(path)));
	ck_assert_ptr_nonnull(strstr(err.data, ":1: ARCSign yes needs ARCSignDomain"));
	buf_free(&err);
	config_free(&cfg);
}
END_TEST

START_TEST(test_every_error_reported)
{
	struct config cfg;
	struct buf err;
	char path[64];
	int lines = 0;

	ck_assert(!load_text("Bad1 x\nSPFHelo yes\nBad2 y\nSPFHelo no\n", &cfg, &err, path,
			     sizeof(path)));
	for (char *p = err.data; *p; p++)
		lines += *p == '\n';
	ck_assert_int_eq(lines, 3);
	ck_assert_ptr_nonnull(strstr(err.data, ":1: unknown key"));
	ck_assert_ptr_nonnull(strstr(err.data, ":3: unknown key"));
	ck_assert_ptr_nonnull(strstr(err.data, ":4: duplicate key"));
	buf_free(&err);
	config_free(&cfg);
}
END_TEST

START_TEST(test_overlong_line)
{
	struct config cfg;
	struct buf err, text;
	char path[64];

	buf_init(&text);
	buf_adds(&text, "AuthservID ");
	for (int i = 0; i < 5000; i++)
		buf_addc(&text, 'x');
	buf_adds(&text, "\nSPFHelo yes\n");
	ck_assert(!load_text(text.data, &cfg, &err, path, sizeof(path)));
	ck_assert_ptr_nonnull(strstr(err.data, ":1: line longer than"));
	ck_assert(cfg.spf_helo);
	ck_assert_ptr_null(strstr(err.data, ":2:"));	/* resynchronised after the long line */
	buf_free(&text);
	buf_free(&err);
	config_free(&cfg);
}
END_TEST

/* A TrustedNetworks file line too long for the reader is an error: split,
 * the tail of "#xxx... 0.0.0.0/0" was read as a network (pad 1022 did that).
 * The longest line that fits (1022 bytes, then the newline) still loads. */
static const struct { size_t pad; bool ok; } nets_line_cases[] = {
	{ 1011, true }, { 1012, false }, { 1022, false }, { 5000, false },
};

START_TEST(test_nets_file_long_line)
{
	struct config cfg;
	struct buf err, text, conf;
	char path[64], nets[64];

	buf_init(&text);
	buf_addc(&text, '#');
	for (size_t i = 0; i < nets_line_cases[_i].pad; i++)
		buf_addc(&text, 'x');
	buf_adds(&text, " 0.0.0.0/0\n192.0.2.0/24\n");
	snprintf(nets, sizeof(nets), "/tmp/t_config_nets_XXXXXX");
	int fd = mkstemp(nets);
	ck_assert_int_eq(write(fd, text.data, text.len), (ssize_t)text.len);
	close(fd);
	buf_init(&conf);
	buf_printf(&conf, "TrustedNetworks %s\n", nets);
	bool ok = load_text(conf.data, &cfg, &err, path, sizeof(path));
	unlink(nets);
	ck_assert_msg(ok == nets_line_cases[_i].ok, "pad %zu: %s", nets_line_cases[_i].pad,
		      err.data ? err.data : "loaded");
	if (ok)
		ck_assert_uint_eq(cfg.n_trusted_nets, 1);	/* the comment stayed a comment */
	else
		ck_assert_ptr_nonnull(strstr(err.data, "line longer than"));
	buf_free(&text);
	buf_free(&conf);
	buf_free(&err);
	config_free(&cfg);
}
END_TEST

/* write_bytes - len bytes (NULs too) to a new temp file named into path */
static void
write_bytes(char *path, size_t size, const char *bytes, size_t len)
{
	snprintf(path, size, "/tmp/t_config_XXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, bytes, len), (ssize_t)len);
	close(fd);
}

/* A NUL byte is an error, in the conf and in an included list: read as the
 * end of the line, it hid the rest of a long line, which then came back as
 * a line of its own (here a network after 1,100 spaces) */
START_TEST(test_nul_byte)
{
	struct config cfg;
	struct buf err, conf, nets;
	char path[64], list[64];

	buf_init(&nets);
	buf_add(&nets, "192.0.2.1\0", 10);
	for (int i = 0; i < 1100; i++)
		buf_addc(&nets, ' ');
	buf_adds(&nets, "10.0.0.0/8\n");
	write_bytes(list, sizeof(list), nets.data, nets.len);
	buf_init(&conf);
	buf_printf(&conf, "TrustedNetworks %s\n", list);
	ck_assert(!load_text(conf.data, &cfg, &err, path, sizeof(path)));
	ck_assert_msg(strstr(err.data, ":1: NUL byte in the line") != NULL, "%s", err.data);
	unlink(list);
	config_free(&cfg);
	buf_free(&err);

	static const char text[] = "AuthservID mx.example\0.evil\nDNSTimeout 3\n";
	write_bytes(path, sizeof(path), text, sizeof(text) - 1);
	config_defaults(&cfg);
	buf_init(&err);
	ck_assert(!config_load(&cfg, path, &err));
	ck_assert_msg(strstr(err.data, ":1: NUL byte in the line") != NULL, "%s", err.data);
	ck_assert_ptr_null(strstr(err.data, ":2:"));	/* the next line is read as it is */
	unlink(path);
	config_free(&cfg);
	buf_free(&err);
	buf_free(&nets);
	buf_free(&conf);
}
END_TEST

START_TEST(test_missing_file)
{
	struct config cfg;
	struct buf err;

	config_defaults(&cfg);
	buf_init(&err);
	ck_assert(!config_load(&cfg, "/nonexistent/authmilter.conf", &err));
	ck_assert_ptr_nonnull(strstr(err.data, "/nonexistent/authmilter.conf: cannot open"));
	buf_free(&err);
	config_free(&cfg);
}
END_TEST

/* ReportSuppress: a file of one entry a line (lower-cased, # comments), read at
 * load so authmilter -n reports a missing one, with its line; "none" empties it */
START_TEST(test_report_suppress)
{
	struct config cfg;
	struct buf err, conf;
	char path[64], list[64];
	static const char text[] = "# traps\nAbuse@Example.ORG\n\n  spamtrap.example  # ours\n";

	snprintf(list, sizeof(list), "/tmp/t_config_suppress_XXXXXX");
	int fd = mkstemp(list);
	ck_assert_int_eq(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	buf_init(&conf);
	buf_printf(&conf, "ReportSuppress %s\n", list);
	ck_assert(load_text(conf.data, &cfg, &err, path, sizeof(path)));
	ck_assert_uint_eq(cfg.n_report_suppress, 2);
	ck_assert_str_eq(cfg.report_suppress[0], "abuse@example.org");
	ck_assert_str_eq(cfg.report_suppress[1], "spamtrap.example");
	config_free(&cfg);
	buf_free(&err);
	unlink(list);
	ck_assert(!load_text(conf.data, &cfg, &err, path, sizeof(path)));
	ck_assert_ptr_nonnull(strstr(err.data, ":1: cannot open /tmp/t_config_suppress_"));
	config_free(&cfg);
	buf_free(&err);
	ck_assert(load_text("ReportSuppress none\n", &cfg, &err, path, sizeof(path)));
	ck_assert_uint_eq(cfg.n_report_suppress, 0);
	config_free(&cfg);
	buf_free(&err);
	buf_free(&conf);
}
END_TEST

START_TEST(test_sample_conf_is_valid)
{
	struct config cfg;
	struct buf err;

	config_defaults(&cfg);
	buf_init(&err);
	ck_assert_msg(config_load(&cfg, test_path("conf/authmilter.conf"), &err), "%s", err.data);
	buf_free(&err);
	config_free(&cfg);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_full_file);
	tcase_add_loop_test(tc, test_errors, 0, sizeof(error_cases) / sizeof(error_cases[0]));
	tcase_add_test(tc, test_dmarc_keys);
	tcase_add_test(tc, test_arc_sign_keys);
	tcase_add_test(tc, test_every_error_reported);
	tcase_add_test(tc, test_overlong_line);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_nul_byte);
	tcase_add_loop_test(tc, test_nets_file_long_line, 0,
			    sizeof(nets_line_cases) / sizeof(nets_line_cases[0]));
	tcase_add_test(tc, test_report_suppress);
	tcase_add_test(tc, test_sample_conf_is_valid);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
