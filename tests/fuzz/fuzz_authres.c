/*
 * fuzz_authres - Authentication-Results values from the network: the
 * authserv-id reader (authres_id_of, authres_is_ours, which decide whether
 * a header is deleted as a forgery), and the builders that take network text
 * (authres_sanitize, comments and properties, authres_fold).
 * Input: "AUTHSERV-ID\nVALUE".
 */
#include "authres.h"
#include "buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* check_printable - our header carries printable ASCII and folding only */
static void
check_printable(const char *s)
{
	if (s == NULL)		/* an empty buf has no storage yet */
		return;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p < 0x20 && *p != '\t' && *p != '\n') || *p > 0x7e)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = xstrndup((const char *)data, size);
	char *nl = strchr(copy, '\n');
	const char *id = "mx.example.org", *value = copy;
	char got[512];
	struct buf clean;
	struct authres ar;

	if (nl) {
		*nl = '\0';
		id = copy;
		value = nl + 1;
	}
	if (authres_id_of(value, got, sizeof(got)) && strlen(got) >= sizeof(got))
		abort();
	(void)authres_is_ours(value, id);

	buf_init(&clean);
	authres_sanitize(&clean, value, 200);
	check_printable(clean.data);
	buf_free(&clean);

	authres_begin(&ar, id);
	authres_add(&ar, "spf", "pass", value);
	authres_prop(&ar, "smtp.mailfrom", value);
	authres_add(&ar, "dkim", "fail", id);
	authres_prop(&ar, "header.d", id);
	char *text = authres_finish(&ar);
	check_printable(text);
	/* whatever the values, our own header must still read as ours */
	if (nl == NULL && !authres_is_ours(text, id))
		abort();
	char *folded = authres_fold("Authentication-Results", text);
	check_printable(folded);
	char *raw = authres_fold("X", value);
	free(raw);
	free(folded);
	free(text);
	free(copy);
	return 0;
}
