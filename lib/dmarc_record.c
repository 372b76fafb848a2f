/*
 * dmarc_record - parse a DMARC TXT record (RFC 9989 section 4.7, RFC 7489 6.3).
 *
 * v=DMARC1 must come first; unknown tags are ignored; a bad value of an
 * optional tag (adkim, aspf, t, psd, pct) is ignored too (the default stands).
 * An invalid p, sp or np, or a missing p in RFC 7489 mode, makes the record a
 * bare p=none when it names a valid rua (RFC 9989 4.7 and 4.10, RFC 7489
 * 6.6.3); otherwise the record is unusable. Every tag is read: the record's
 * size is bounded by the DNS message, and the parse is linear in it.
 */
#include "dmarc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* dmarc_record_is_dmarc - starts with the v=DMARC1 tag */
bool
dmarc_record_is_dmarc(const char *txt)
{
	const char *p = txt;

	while (*p == ' ' || *p == '\t')
		p++;
	if (strncmp(p, "v", 1) != 0)
		return false;
	p++;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p++ != '=')
		return false;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncasecmp(p, "DMARC1", 6) != 0)
		return false;
	p += 6;
	while (*p == ' ' || *p == '\t')
		p++;
	return *p == '\0' || *p == ';';
}

static enum dmarc_policy
parse_policy(const char *v)
{
	if (strcasecmp(v, "none") == 0)
		return DMARC_POLICY_NONE;
	if (strcasecmp(v, "quarantine") == 0)
		return DMARC_POLICY_QUARANTINE;
	if (strcasecmp(v, "reject") == 0)
		return DMARC_POLICY_REJECT;
	return DMARC_POLICY_UNSET;
}

/* rua_valid - at least one URI of the form scheme:rest */
static bool
rua_valid(const char *v)
{
	const char *p = v;

	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		const char *start = p;
		while (isalpha((unsigned char)*p) || (p > start && (isalnum((unsigned char)*p)
							|| *p == '+' || *p == '-' || *p == '.')))
			p++;
		if (p > start && *p == ':' && p[1] && p[1] != ',' && p[1] != ' ')
			return true;
		while (*p && *p != ',')
			p++;
	}
	return false;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

/* What the tags of one record said about its policy tags. */
struct record_scan {
	bool p_seen, rua_ok;
	const char *bad;	/* the first policy tag with an invalid value */
};

/* policy_tag - p, sp or np; an invalid value is remembered, not skipped */
static void
policy_tag(enum dmarc_policy *slot, const char *name, const char *value, struct record_scan *scan)
{
	*slot = parse_policy(value);
	if (*slot == DMARC_POLICY_UNSET && scan->bad == NULL)
		scan->bad = name[0] == 'p' ? "p" : name[0] == 's' ? "sp" : "np";
}

/* published - keep a tag's value as published (the last one when repeated) */
static void
published(char **slot, const char *value)
{
	free(*slot);
	*slot = xstrdup(value);
}

/* apply_tag - store one tag; unknown tags and bad values of optional tags are ignored */
static void
apply_tag(struct dmarc_record *rec, enum dmarc_mode mode, const char *name, const char *value,
	  struct record_scan *scan)
{
	if (strcmp(name, "p") == 0) {
		scan->p_seen = true;
		policy_tag(&rec->p, name, value, scan);
	} else if (strcmp(name, "sp") == 0) {
		policy_tag(&rec->sp, name, value, scan);
	} else if (strcmp(name, "np") == 0 && mode == DMARC_MODE_RFC9989) {
		policy_tag(&rec->np, name, value, scan);
	} else if (strcmp(name, "adkim") == 0 || strcmp(name, "aspf") == 0) {
		bool *strict = name[1] == 'd' ? &rec->adkim_strict : &rec->aspf_strict;
		if (strcasecmp(value, "s") == 0)
			*strict = true;
		else if (strcasecmp(value, "r") == 0)
			*strict = false;
	} else if (strcmp(name, "t") == 0 && mode == DMARC_MODE_RFC9989) {
		rec->testing = strcasecmp(value, "y") == 0;
	} else if (strcmp(name, "psd") == 0 && mode == DMARC_MODE_RFC9989) {
		if (strlen(value) == 1 && strchr("ynuYNU", value[0]))
			rec->psd = (char)tolower((unsigned char)value[0]);
	} else if (strcmp(name, "pct") == 0) {
		char *end;
		long n = strtol(value, &end, 10);
		bool ok = *value && *end == '\0' && n >= 0 && n <= 100;
		rec->pct_published = ok ? (int)n : -1;
		if (ok && mode == DMARC_MODE_RFC7489)
			rec->pct = (int)n;
	} else if (strcmp(name, "rua") == 0) {
		scan->rua_ok = rua_valid(value);
		published(&rec->rua, value);
	} else if (strcmp(name, "ruf") == 0) {
		published(&rec->ruf, value);
	} else if (strcmp(name, "fo") == 0) {
		published(&rec->fo, value);
	}
}

/* record_defaults - a record with every tag at its default */
static void
record_defaults(struct dmarc_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->psd = 'u';
	rec->pct = 100;
	rec->pct_published = -1;
}

/* dmarc_record_free - the published strings */
void
dmarc_record_free(struct dmarc_record *rec)
{
	free(rec->rua);
	free(rec->ruf);
	free(rec->fo);
	rec->rua = rec->ruf = rec->fo = NULL;
}

/* dmarc_record_parse - see the file comment; why says what was wrong or
 * read differently, also when the record is usable */
bool
dmarc_record_parse(const char *txt, enum dmarc_mode mode, struct dmarc_record *rec,
		   struct buf *why)
{
	char *copy, *save = NULL, *tag;
	struct record_scan scan = { .bad = NULL };
	bool first = true;

	record_defaults(rec);
	if (!dmarc_record_is_dmarc(txt)) {
		buf_adds(why, "not a DMARC1 record");
		return false;
	}
	copy = xstrdup(txt);
	for (tag = strtok_r(copy, ";", &save); tag; tag = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(tag, '=');
		if (first) {	/* v=DMARC1, checked above */
			first = false;
			continue;
		}
		if (eq == NULL)
			continue;	/* "" between ";;" or junk: ignored */
		*eq = '\0';
		apply_tag(rec, mode, trim(tag), trim(eq + 1), &scan);
	}
	free(copy);
	if (!scan.p_seen && mode == DMARC_MODE_RFC7489 && scan.bad == NULL)
		scan.bad = "p";
	if (scan.bad) {
		bool missing = strcmp(scan.bad, "p") == 0 && !scan.p_seen;
		struct dmarc_record kept = *rec;	/* what was published stays told */
		buf_printf(why, "%s %s=", missing ? "no" : "invalid", scan.bad);
		if (!scan.rua_ok) {
			buf_adds(why, " and no valid rua=");
			dmarc_record_free(rec);
			return false;
		}
		buf_adds(why, " with a valid rua=: read as p=none");
		record_defaults(rec);
		rec->p = DMARC_POLICY_NONE;
		rec->rua = kept.rua, rec->ruf = kept.ruf, rec->fo = kept.fo;
		rec->pct_published = kept.pct_published;
		return true;
	}
	if (rec->p == DMARC_POLICY_UNSET)
		rec->p = DMARC_POLICY_NONE;	/* RFC 9989: a record without p= is p=none */
	return true;
}

/* dmarc_record_tag - the value of tag name in a DMARC record, split and
 * trimmed as dmarc_record_parse reads it (the last one when repeated, as
 * there); false when the record has no such tag. For the checker, which
 * needs the text of rua=, ruf= and pct= that the parsed form does not keep. */
bool
dmarc_record_tag(const char *txt, const char *name, struct buf *value)
{
	char *copy, *save = NULL, *tag;
	bool first = true, found = false;

	if (!dmarc_record_is_dmarc(txt))
		return false;
	copy = xstrdup(txt);
	for (tag = strtok_r(copy, ";", &save); tag; tag = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(tag, '=');
		if (first || eq == NULL) {
			first = false;
			continue;
		}
		*eq = '\0';
		if (strcmp(trim(tag), name) == 0) {
			buf_reset(value);
			buf_adds(value, trim(eq + 1));
			found = true;
		}
	}
	free(copy);
	return found;
}
