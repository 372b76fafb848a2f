/*
 * fuzz_dmarc_record - DMARC TXT record text into dmarc_record_parse (both
 * modes), then the same text served as _dmarc.example.com through a fake
 * DNS into dmarc_evaluate, so the tree walk and the result code see it too.
 */
#include "dmarc.h"
#include "fakedns.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct dns dns;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fakedns_init(&dns);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *txt = xstrndup((const char *)data, size);
	struct dmarc_record rec;
	struct buf why;
	struct dmarc_ctx ctx = { .dns = &dns, .mode = DMARC_MODE_RFC9989, .psl = NULL };
	struct dkimv_outcome dk = { 0 };
	struct dmarc_request req = {
		.author_domain = "mail.example.com", .spf_result = SPF_PASS,
		.spf_domain = "bounce.example.com", .dkim = &dk, .mode = DMARC_MODE_RFC9989,
	};
	struct dmarc_outcome out;

	buf_init(&why);
	(void)dmarc_record_is_dmarc(txt);
	for (int mode = DMARC_MODE_RFC9989; mode <= DMARC_MODE_RFC7489; mode++) {
		buf_reset(&why);
		if (dmarc_record_parse(txt, (enum dmarc_mode)mode, &rec, &why)) {
			if (rec.p > DMARC_POLICY_REJECT || rec.sp > DMARC_POLICY_REJECT
			    || rec.np > DMARC_POLICY_REJECT || rec.pct < 0 || rec.pct > 100)
				abort();
			dmarc_record_free(&rec);	/* rua=, ruf=, fo= as published */
		}
	}
	buf_free(&why);

	fakedns_reset(&dns);
	fakedns_put_txt(&dns, "_dmarc.example.com", data, size);
	memset(&out, 0, sizeof(out));
	dmarc_evaluate(&ctx, &req, &out);
	if (out.result > DMARC_PERMERROR)
		abort();
	dmarc_outcome_free(&out);
	free(txt);
	return 0;
}
