/*
 * fuzz_dkimv_key - a DKIM key TXT record into dkimv_key_parse (the checker's
 * reading of key records): a usable record has a size or is revoked, and an
 * unusable one always says why.
 */
#include "dkimv_key.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *txt = xstrndup((const char *)data, size);
	struct dkimv_key key;
	struct buf why;

	buf_init(&why);
	if (dkimv_key_parse(txt, &key, &why)) {
		if (!key.revoked && (key.bits == 0 || key.type == DKIMV_KEY_OTHER))
			abort();
	} else if (why.len == 0) {
		abort();
	}
	(void)dkimv_key_type_name(key.type);
	buf_free(&why);
	free(txt);
	return 0;
}
