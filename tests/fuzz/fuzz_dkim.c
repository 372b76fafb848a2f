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
#include "buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fuzz_key {
	const char *name, *txt;
};

static const struct fuzz_key keys[] = {
#include "dkim_keys.inc"
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static struct dns dns;
static bool verbose;		/* FUZZ_VERBOSE=1: print each result, to check the seeds */
static uint8_t *key_wire[N_KEYS];
static size_t key_len[N_KEYS];
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
	for (size_t i = 0; i < N_KEYS; i++)
		if (!fakedns_txt_wire(keys[i].name, keys[i].txt, strlen(keys[i].txt), &key_wire[i],
				      &key_len[i]))
			abort();
	return 0;
}

/* line_end - end of the line at p (before CRLF or LF) and the start of the next */
static const char *
line_end(const char *p, const char *end, const char **next)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	if (nl == NULL) {
		*next = end;
		return end;
	}
	*next = nl + 1;
	return nl > p && nl[-1] == '\r' ? nl - 1 : nl;
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
	const char *p = (const char *)data, *end = p + size, *next;
	struct dkimv_outcome out;
	struct dkimv_msg *m;

	fakedns_reset(&dns);
	for (size_t i = 0; i < N_KEYS; i++)
		fakedns_put_wire(&dns, keys[i].name, LDNS_RR_TYPE_TXT, key_wire[i], key_len[i]);
	m = dkimv_begin(&settings);
	while (p < end) {
		const char *e = line_end(p, end, &next);
		if (e == p) {		/* the empty line: end of headers */
			p = next;
			break;
		}
		const char *field = p;
		p = next;
		while (p < end && (*p == ' ' || *p == '\t')) {
			line_end(p, end, &next);
			p = next;
		}
		feed_header(m, field, p);
	}
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
