/*
 * t_dkimv - DKIM outcomes that need no key lookup: fields past the maximum
 * are counted, refused fields and a library that cannot run still give one
 * result per evaluated signature, never "none". Key lookups and real
 * signatures are in tests/dkim (dkim_corpus.py).
 */
#include "testutil.h"
#include "../../lib/dkimv.h"
#include "../../lib/buf.h"

/* complete tag-lists libopendkim rejects before any key lookup (v=2) */
#define NOLOOKUP_NO_B " v=2; a=rsa-sha256; d=example.com; h=from; bh=AAAA; "
#define NOLOOKUP NOLOOKUP_NO_B "b=AAAA; s="

static struct dkimv_settings settings = { .min_key_bits = 1024, .max_signatures = 3 };

static void
init_lib(void)
{
	char why[128];

	ck_assert_msg(dkimv_init(300, why, sizeof(why)), "%s", why);
}

/* run - one message through a verifier: DKIM-Signature values, then From */
static void
run(struct dkimv_outcome *out, const char *const *sigs, const size_t *lens, size_t n)
{
	struct dkimv_msg *m = dkimv_begin(&settings);

	for (size_t i = 0; i < n; i++)
		dkimv_header_n(m, "DKIM-Signature", sigs[i], lens ? lens[i] : strlen(sigs[i]));
	dkimv_header(m, "From", " a@example.com\n");
	dkimv_eoh(m);
	if (dkimv_wants_body(m))
		dkimv_body(m, "x\r\n", 3);
	dkimv_end(m, out);
	dkimv_free(m);
}

START_TEST(test_past_max_counted)
{
	const char *sigs[10];
	char text[10][128];
	struct dkimv_outcome out;

	init_lib();
	for (int i = 0; i < 10; i++) {
		snprintf(text[i], sizeof(text[i]), NOLOOKUP "s%d", i);
		sigs[i] = text[i];
	}
	run(&out, sigs, NULL, 10);
	ck_assert(out.signed_message);
	ck_assert_uint_eq(out.n_sigs, 3);
	ck_assert_uint_eq(out.n_not_evaluated, 7);
	/* the first three in header order */
	for (int i = 0; i < 3; i++) {
		char want[8];
		snprintf(want, sizeof(want), "s%d", i);
		ck_assert_str_eq(out.sigs[i].selector, want);
		ck_assert_int_eq(out.sigs[i].result, DKIMV_PERMERROR);
	}
	dkimv_outcome_free(&out);
	dkimv_shutdown();
}
END_TEST

START_TEST(test_nul_refused)
{
	static const char nul[] = NOLOOKUP "a\0; d=other.example";
	const char *sigs[] = { nul, NOLOOKUP "b" };
	size_t lens[] = { sizeof(nul) - 1, strlen(NOLOOKUP "b") };
	struct dkimv_outcome out;

	init_lib();
	run(&out, sigs, lens, 2);
	ck_assert_uint_eq(out.n_sigs, 2);
	ck_assert_int_eq(out.sigs[0].result, DKIMV_PERMERROR);
	ck_assert_str_eq(out.sigs[0].reason, "NUL byte in the DKIM-Signature field");
	ck_assert_int_eq(out.sigs[1].result, DKIMV_PERMERROR);
	ck_assert_str_eq(out.sigs[1].selector, "b");
	dkimv_outcome_free(&out);
	dkimv_shutdown();
}
END_TEST

START_TEST(test_refusals)
{
	struct buf big, longh, dup;
	struct dkimv_outcome out;

	init_lib();
	buf_init(&big);
	buf_init(&longh);
	buf_init(&dup);
	buf_adds(&big, NOLOOKUP "big; x=");
	while (big.len <= 8192)
		buf_adds(&big, "AAAA");
	buf_adds(&longh, " v=2; a=rsa-sha256; d=example.com; bh=AAAA; b=AAAA; s=h; h=from");
	while (longh.len <= 4200)
		buf_adds(&longh, ":to");
	buf_adds(&dup, NOLOOKUP "dup; t=1; t=2");
	const char *sigs[] = { big.data, longh.data, dup.data };
	run(&out, sigs, NULL, 3);
	ck_assert_uint_eq(out.n_sigs, 3);
	ck_assert_uint_eq(out.n_not_evaluated, 0);
	ck_assert_str_eq(out.sigs[0].reason, "DKIM-Signature field over 8192 bytes");
	ck_assert_str_eq(out.sigs[0].selector, "big");
	ck_assert_str_eq(out.sigs[1].reason, "h= over 4095 bytes");
	ck_assert_str_eq(out.sigs[2].reason, "a tag occurs twice, RFC 6376 3.2");
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(out.sigs[i].result, DKIMV_PERMERROR);
	dkimv_outcome_free(&out);
	buf_free(&big);
	buf_free(&longh);
	buf_free(&dup);
	dkimv_shutdown();
}
END_TEST

/* libopendkim unusable (here: never initialised): each signature is a
 * temperror that says so, the log gets lib_error, nothing reads as unsigned */
START_TEST(test_library_failure_not_hidden)
{
	const char *sigs[] = { NOLOOKUP "a", NOLOOKUP "b" };
	struct dkimv_outcome out;

	run(&out, sigs, NULL, 2);
	ck_assert(out.signed_message);
	ck_assert_uint_eq(out.n_sigs, 2);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(out.sigs[i].result, DKIMV_TEMPERROR);
		ck_assert_ptr_nonnull(strstr(out.sigs[i].reason, "verifier error"));
	}
	ck_assert_str_eq(out.sigs[1].domain, "example.com");
	ck_assert_ptr_nonnull(out.lib_error);
	dkimv_outcome_free(&out);
	run(&out, NULL, NULL, 0);
	ck_assert(!out.signed_message);
	ck_assert_uint_eq(out.n_sigs, 0);
	dkimv_outcome_free(&out);
}
END_TEST

START_TEST(test_b_prefix)
{
	struct dkimv_outcome out;
	const char *sigs[] = {
		NOLOOKUP_NO_B "s=a; b=abcdefghijk1", NOLOOKUP_NO_B "s=b; b=abcdefghijk2",
		NOLOOKUP_NO_B "s=c; b=zz",
	};
	const char *same[] = { NOLOOKUP_NO_B "s=d; b=sameBBBBBBBBBB", NOLOOKUP_NO_B "s=e; b=sameBBBBBBBBBB" };

	init_lib();
	run(&out, sigs, NULL, 3);
	ck_assert_uint_eq(dkimv_b_prefix_len(&out, 0), 12);
	ck_assert_uint_eq(dkimv_b_prefix_len(&out, 1), 12);
	ck_assert_uint_eq(dkimv_b_prefix_len(&out, 2), 2);
	dkimv_outcome_free(&out);
	run(&out, same, NULL, 2);
	ck_assert_uint_eq(dkimv_b_prefix_len(&out, 0), 14);
	ck_assert_uint_eq(dkimv_b_prefix_len(&out, 1), 14);
	dkimv_outcome_free(&out);
	dkimv_shutdown();
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("dkimv");
	TCase *tc = tcase_create("dkimv");

	tcase_add_test(tc, test_past_max_counted);
	tcase_add_test(tc, test_nul_refused);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_library_failure_not_hidden);
	tcase_add_test(tc, test_b_prefix);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
