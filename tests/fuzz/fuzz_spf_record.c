/*
 * fuzz_spf_record - SPF record text into spf_record_parse, then the same
 * text served as the TXT record of example.com through a fake DNS into
 * spf_check, so the evaluator (macros, includes, limits) runs on it too.
 * Every other lookup is an immediate temporary failure.
 */
#include "spf.h"
#include "spf_record.h"
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
	struct spf_record rec;
	struct buf why;
	struct spf_request req = { .helo = "mx.example.com", .sender = "alice@example.com",
				   .receiver = "mx.example.org" };
	struct spf_outcome out;

	buf_init(&why);
	if (spf_record_is_spf(txt)) {
		if (spf_record_parse(txt, &rec, &why))
			for (size_t i = 0; i < rec.n_terms; i++)
				if (rec.terms[i].text < txt
				    || rec.terms[i].text + rec.terms[i].text_len > txt + size)
					abort();
		spf_record_free(&rec);
	}
	buf_free(&why);

	fakedns_reset(&dns);
	fakedns_put_txt(&dns, "example.com", data, size);
	ipaddr_parse(size % 2 ? "2001:db8::25" : "192.0.2.25", &req.ip);
	memset(&out, 0, sizeof(out));
	spf_check(&dns, &req, SPF_ID_MAILFROM, &out);
	if (out.result > SPF_PERMERROR)
		abort();
	spf_outcome_free(&out);
	free(txt);
	return 0;
}
