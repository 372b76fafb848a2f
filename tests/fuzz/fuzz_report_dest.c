/*
 * fuzz_report_dest - a rua=/ruf= value, as a policy domain published it and
 * the history store kept it, into authmilter-report's destination parser:
 * dest_parse_list, then dest_select for the policy domain example.com with
 * a suppress list, the organizational domain from the public suffix list
 * and the rest of the input (after the first line break) served as the
 * authorization record of two outside domains. The parser lives in report/;
 * it is compiled in here directly, as it is no part of lib/.
 *
 * input: RUA-VALUE [\n AUTHORIZATION-TXT]
 */
#include "../../report/dest.c"

#include "fakedns.h"

#include <stdint.h>

#define PSL "/usr/share/publicsuffix/public_suffix_list.dat"

static struct dns dns;
static struct dmarc_ctx dmarc;
static char *suppressed[] = { "blocked@ext.example", "nobody.example" };
static const struct dest_suppress suppress = { suppressed, 2 };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char why[256];

	(void)argc, (void)argv;
	fakedns_init(&dns);
	if (!dmarc_ctx_init(&dmarc, &dns, DMARC_MODE_RFC7489, PSL, why, sizeof(why)))
		dmarc_ctx_init(&dmarc, &dns, DMARC_MODE_RFC9989, NULL, why, sizeof(why));
	return 0;
}

/* check - what the senders rely on: a usable, lower-case-domain address */
static void
check(const struct dest_list *l, size_t max)
{
	if (l->n > max || l->n > DEST_MAX_URIS)
		abort();
	for (size_t i = 0; i < l->n; i++) {
		const struct dest *d = &l->items[i];
		const char *at = strrchr(d->address, '@');
		if (at == NULL || d->domain != at + 1 || !address_ok(d->address))
			abort();
		for (const char *p = d->domain; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t rua_len = nl ? (size_t)(nl - data) : size;
	char *rua = xstrndup((const char *)data, rua_len);
	struct dest_list all, sel;
	struct buf notes;

	fakedns_reset(&dns);
	if (nl) {
		const uint8_t *txt = nl + 1;
		size_t n = size - rua_len - 1;
		fakedns_put_txt(&dns, "example.com._report._dmarc.ext.example", txt, n);
		fakedns_put_txt(&dns, "example.com._report._dmarc.reports.example.net", txt, n);
	}
	buf_init(&notes);
	dest_parse_list(rua, &all, &notes);
	check(&all, SIZE_MAX);
	dest_list_free(&all);
	for (size_t max = 1; max <= 3; max += 2) {
		buf_reset(&notes);
		dest_select(&dmarc, "example.com", rua, &suppress, max, &sel, &notes);
		check(&sel, max);
		dest_list_free(&sel);
	}
	buf_free(&notes);
	free(rua);
	return 0;
}
