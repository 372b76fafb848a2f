/*
 * fuzz_mtasts_policy - an MTA-STS policy body (as fetched over HTTPS) into
 * authmilter-check's mtasts_policy_parse, then every mx: pattern matched
 * against a few host names. The parser lives in check/; it is compiled in
 * here directly, as it is no part of lib/.
 */
#include "../../check/mtasts_policy.c"

#include <stdint.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const hosts[] = { "mx1.example.com", "example.com", ".", "a.b.c" };
	struct mtasts_policy p;
	struct buf why;

	if (size > MTASTS_MAX_BODY)
		return 0;	/* the fetch refuses larger bodies before the parser sees them */
	buf_init(&why);
	if (mtasts_policy_parse((const char *)data, size, &p, &why)) {
		if (p.max_age < 0 || p.n_mx > MTASTS_MAX_MX || p.mode[0] == '\0')
			abort();
		for (size_t i = 0; i < p.n_mx; i++)
			for (size_t j = 0; j < sizeof(hosts) / sizeof(hosts[0]); j++)
				(void)mtasts_mx_match(p.mx[i], hosts[j]);
		mtasts_policy_free(&p);
	} else if (why.len == 0) {
		abort();
	}
	buf_free(&why);
	return 0;
}
