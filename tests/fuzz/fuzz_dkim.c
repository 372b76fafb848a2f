/*
 * fuzz_dkim - a whole message into lib/dkimv the way the milter feeds it:
 * header fields one by one (name, raw value with LF folding), end of
 * headers, the body in chunks, end of message.
 *
 * Keys come from a fake DNS: the TXT records of the DKIM corpus
 * (tests/dkim/dkim_corpus.py's zone, generated into dkim_keys.inc by
 * gen_seeds.py) are planted in the cache before every message, so the
 * seed messages' signatures verify and any other selector is a temporary
 * failure without a packet leaving the process.
 */
#include "dkimv.h"
#include "fakedns.h"
#include "fuzzmsg.h"
#include "buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct fuzz_key keys[] = {
#include "dkim_keys.inc"
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static struct dns dns;
static bool verbose;		/* FUZZ_VERBOSE=1: print each result, to check the seeds */
static struct fuzzmsg_zone zone;
static struct dkimv_settings settings = { .min_key_bits = 1024, .max_signatures = 8,
					  .dns = &dns };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char why[256];

	(void)argc, (void)argv;
	if (!dkimv_init(300, why, sizeof(why))) {
		fprintf(stderr, "fuzz_dkim: %s\n", why);
		abort();
	}
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	fakedns_init(&dns);
	fuzzmsg_zone_init(&zone, keys, N_KEYS);
	return 0;
}

/* feed_header - one field: "Name:value" plus its continuation lines */
static void
feed_header(struct dkimv_msg *m, const char *start, const char *stop)
{
	const char *colon = memchr(start, ':', (size_t)(stop - start));
	struct buf value;
	char *name;

	if (colon == NULL || colon == start)
		return;
	name = xstrndup(start, (size_t)(colon - start));
	buf_init(&value);
	/* the milter hands folded fields over with bare LF between lines */
	for (const char *p = colon + 1; p < stop; p++)
		if (*p != '\r')
			buf_addc(&value, *p);
	while (value.len && value.data[value.len - 1] == '\n')
		value.data[--value.len] = '\0';
	dkimv_header(m, name, value.data ? value.data : "");
	buf_free(&value);
	free(name);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *field, *stop;
	struct dkimv_outcome out;
	struct dkimv_msg *m;

	fuzzmsg_zone_plant(&dns, &zone);
	m = dkimv_begin(&settings);
	while (fuzzmsg_field(&p, end, &field, &stop))
		feed_header(m, field, stop);
	dkimv_eoh(m);
	while (p < end && dkimv_wants_body(m)) {
		size_t n = (size_t)(end - p) > 4096 ? 4096 : (size_t)(end - p);
		dkimv_body(m, p, n);
		p += n;
	}
	memset(&out, 0, sizeof(out));
	dkimv_end(m, &out);
	if (out.n_sigs > settings.max_signatures)
		abort();
	for (size_t i = 0; i < out.n_sigs; i++) {
		if (out.sigs[i].result > DKIMV_PERMERROR)
			abort();
		(void)dkimv_b_prefix_len(&out, i);
		if (verbose)
			fprintf(stderr, "fuzz_dkim: d=%s s=%s %s (%s)\n", out.sigs[i].domain,
				out.sigs[i].selector, dkimv_result_name(out.sigs[i].result),
				out.sigs[i].reason ? out.sigs[i].reason : "");
	}
	dkimv_outcome_free(&out);
	dkimv_free(m);
	return 0;
}
