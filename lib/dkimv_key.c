/*
 * dkimv_key - parse a DKIM key TXT record: RFC 6376 3.2 tag-list, 3.6.1 tags.
 *
 * Tags are read in one pass over the record; a duplicate tag, a v= that is
 * not first or not DKIM1, a missing p=, base64 that does not decode or a key
 * OpenSSL cannot read make the record unusable. Unknown tags are ignored.
 */
#include "dkimv_key.h"
#include "pkeycache.h"
#include "b64.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#define ED25519_KEY_BYTES 32

struct tag {
	const char *name, *value;
	size_t name_len, value_len;
};

static const char *const type_names[] = { "rsa", "ed25519", "other" };

/* dkimv_key_type_name - k= spelling */
const char *
dkimv_key_type_name(enum dkimv_key_type t)
{
	return type_names[t];
}

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* next_tag - one "name = value" up to ';' or the end; false at the end */
static bool
next_tag(const char **pp, const char *end, struct tag *t, bool *bad)
{
	const char *p = *pp, *semi, *eq, *e;

	while (p < end && is_wsp(*p))
		p++;
	if (p >= end)
		return false;
	semi = memchr(p, ';', (size_t)(end - p));
	if (semi == NULL)
		semi = end;
	*pp = semi < end ? semi + 1 : end;
	eq = memchr(p, '=', (size_t)(semi - p));
	if (eq == NULL) {
		*bad = true;
		return true;
	}
	e = eq;
	while (e > p && is_wsp(e[-1]))
		e--;
	t->name = p;
	t->name_len = (size_t)(e - p);
	p = eq + 1;
	while (p < semi && is_wsp(*p))
		p++;
	e = semi;
	while (e > p && is_wsp(e[-1]))
		e--;
	t->value = p;
	t->value_len = (size_t)(e - p);
	for (size_t i = 0; i < t->name_len; i++)
		if (!isalnum((unsigned char)t->name[i]) && t->name[i] != '_')
			*bad = true;
	*bad = *bad || t->name_len == 0;
	return true;
}

static bool
tag_is(const struct tag *t, const char *name)
{
	return t->name_len == strlen(name) && memcmp(t->name, name, t->name_len) == 0;
}

/* has_flag - does a colon-separated list (t=, s=) hold word? */
static bool
has_flag(const struct tag *t, const char *word)
{
	const char *p = t->value, *end = t->value + t->value_len;

	while (p < end) {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		const char *e = colon ? colon : end;
		const char *s = p;
		while (s < e && is_wsp(*s))
			s++;
		const char *f = e;
		while (f > s && is_wsp(f[-1]))
			f--;
		if ((size_t)(f - s) == strlen(word) && strncasecmp(s, word, (size_t)(f - s)) == 0)
			return true;
		p = colon ? colon + 1 : end;
	}
	return false;
}

/* key_bits - decode p= and ask OpenSSL for the size; 0 when unreadable;
 * the key itself into *out when out is not NULL */
static unsigned
key_bits(const struct tag *p, enum dkimv_key_type type, struct buf *why, EVP_PKEY **out)
{
	struct buf der;
	unsigned bits = 0;

	buf_init(&der);
	if (!b64_decode(p->value, p->value_len, &der)) {
		buf_adds(why, "p= is not valid base64");
	} else if (type == DKIMV_KEY_ED25519) {
		if (der.len == ED25519_KEY_BYTES)
			bits = 256;
		if (bits && out)
			*out = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
							   (unsigned char *)der.data, der.len);
		if (bits && out && *out == NULL)
			bits = 0, buf_adds(why, "p= is not an ed25519 key OpenSSL can read");
		else if (der.len != ED25519_KEY_BYTES)
			buf_printf(why, "an ed25519 key is 32 bytes, p= has %zu", der.len);
	} else {
		size_t used = 0;
		EVP_PKEY *pk = pkeycache_decode((unsigned char *)der.data, der.len, &used);
		if (pk == NULL || used != der.len)
			buf_adds(why, "p= is not a public key OpenSSL can read");
		else if (EVP_PKEY_base_id(pk) != EVP_PKEY_RSA)
			buf_adds(why, "p= is not an RSA key");
		else
			bits = (unsigned)EVP_PKEY_get_bits(pk);
		if (bits && out)
			*out = pk, pk = NULL;
		EVP_PKEY_free(pk);
	}
	buf_free(&der);
	return bits;
}

/* apply - one tag into key; false on a tag that makes the record unusable */
static bool
apply(const struct tag *t, bool first, struct dkimv_key *key, const struct tag **p,
      struct buf *why)
{
	if (tag_is(t, "v")) {
		if (!first || t->value_len != 5 || memcmp(t->value, "DKIM1", 5) != 0) {
			buf_adds(why, first ? "v= is not DKIM1" : "v= is not the first tag");
			return false;
		}
	} else if (tag_is(t, "k")) {
		if (t->value_len >= sizeof(key->k)) {
			buf_adds(why, "k= names no key type we know");
			return false;
		}
		memcpy(key->k, t->value, t->value_len);
		key->k[t->value_len] = '\0';
		key->type = strcasecmp(key->k, "rsa") == 0 ? DKIMV_KEY_RSA
			    : strcasecmp(key->k, "ed25519") == 0 ? DKIMV_KEY_ED25519 : DKIMV_KEY_OTHER;
	} else if (tag_is(t, "t")) {
		key->testing = has_flag(t, "y");
		key->strict = has_flag(t, "s");
	} else if (tag_is(t, "s")) {
		key->email_only = !has_flag(t, "email") && !has_flag(t, "*");
	} else if (tag_is(t, "p")) {
		*p = t;
	}
	return true;
}

/* dkimv_key_parse - see the file comment */
bool
dkimv_key_parse(const char *txt, struct dkimv_key *key, struct buf *why)
{
	return dkimv_key_parse_pkey(txt, key, NULL, why);
}

/* dkimv_key_parse_pkey - dkimv_key_parse, and the key for OpenSSL (the
 * caller frees it) when the record is usable and pkey is not NULL */
bool
dkimv_key_parse_pkey(const char *txt, struct dkimv_key *key, EVP_PKEY **pkey, struct buf *why)
{
	struct tag tags[32], t;
	const struct tag *p = NULL;
	const char *s = txt, *end;
	size_t n = 0;
	bool bad = false;

	memset(key, 0, sizeof(*key));
	memcpy(key->k, "rsa", 4);
	if (strlen(txt) > DKIMV_KEY_RECORD_MAX) {
		buf_printf(why, "record longer than %d bytes", DKIMV_KEY_RECORD_MAX);
		return false;
	}
	end = txt + strlen(txt);
	while (next_tag(&s, end, &t, &bad)) {
		if (bad) {
			buf_adds(why, "not a tag=value list");
			return false;
		}
		for (size_t i = 0; i < n; i++)
			if (tags[i].name_len == t.name_len && memcmp(tags[i].name, t.name, t.name_len) == 0) {
				buf_printf(why, "tag %.*s= appears twice", (int)t.name_len, t.name);
				return false;
			}
		if (n == sizeof(tags) / sizeof(tags[0])) {
			buf_adds(why, "more than 32 tags");
			return false;
		}
		tags[n] = t;
		if (!apply(&tags[n], n == 0, key, &p, why))
			return false;
		n++;
	}
	if (p == NULL) {
		buf_adds(why, "no p= tag");
		return false;
	}
	if (p->value_len == 0) {
		key->revoked = true;
		return true;
	}
	if (key->type == DKIMV_KEY_OTHER) {
		buf_printf(why, "unknown key type k=%s", key->k);
		return false;
	}
	key->bits = key_bits(p, key->type, why, pkey);
	return key->bits > 0;
}
