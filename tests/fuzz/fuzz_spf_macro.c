/*
 * fuzz_spf_macro - RFC 7208 macro expansion with a fuzzed macro-string and
 * a fuzzed context. Input: "MACRO\nSENDER\nHELO\nIP\nDOMAIN" (missing
 * fields get defaults); the first byte's low bit picks exp= rules.
 *
 * Checks that check and expand agree (spf_macro.c promises they cannot
 * disagree) and that an expansion stays bounded by its input and context.
 */
#include "spf.h"
#include "buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define N_FIELDS 5

static const char *
p_name(void *ctx)
{
	return ctx;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = xstrndup((const char *)data, size);
	char *field[N_FIELDS] = { "", "postmaster@example.com", "mx.example.com",
				  "192.0.2.1", "example.com" };
	char *p = copy;
	bool in_exp = size > 0 && (data[0] & 1);
	struct ipaddr ip;
	struct buf out;

	for (int i = 0; i < N_FIELDS && p; i++) {
		char *nl = i < N_FIELDS - 1 ? strchr(p, '\n') : NULL;
		if (nl)
			*nl = '\0';
		field[i] = p;
		p = nl ? nl + 1 : NULL;
	}
	if (!ipaddr_parse(field[3], &ip))
		ipaddr_parse("2001:db8::1", &ip);
	char *at = strrchr(field[1], '@');
	char *local = at ? xstrndup(field[1], (size_t)(at - field[1])) : xstrdup("postmaster");
	const char *sdom = at ? at + 1 : field[1];
	struct spf_macro_env env = {
		.sender = field[1], .local = local, .sender_domain = sdom, .domain = field[4],
		.helo = field[2], .receiver = "mx.example.org", .ip = &ip,
		.validated_name = p_name, .ctx = field[2],
	};
	size_t mlen = strlen(field[0]);

	buf_init(&out);
	bool ok_check = spf_macro_check(field[0], mlen, in_exp);
	bool ok_expand = spf_macro_expand(&env, field[0], mlen, in_exp, &out);
	if (ok_check != ok_expand)
		abort();
	/* a macro (4 bytes at least) yields at most its value escaped (x3) and
	 * dot-joined (x2); values are the fields or short fixed texts */
	if (ok_expand && out.len > mlen + (mlen / 4 + 1) * 6 * (size + 100))
		abort();
	if (ok_expand && !in_exp) {
		spf_domain_truncate(&out);
		if (out.len > DNS_MAX_NAME && memchr(out.data, '.', out.len))
			abort();
	}
	buf_free(&out);
	free(local);
	free(copy);
	return 0;
}
