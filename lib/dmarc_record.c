/*
 * dmarc_record - parse a DMARC TXT record (RFC 9989 section 4.7, RFC 7489 6.3).
 *
 * v=DMARC1 must come first; unknown tags are ignored; a bad value of a known
 * tag other than p is ignored too (the default stands). An invalid or missing
 * p makes the record p=none when it names a valid rua, as both RFCs say;
 * otherwise the record is unusable.
 */
#include "dmarc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DMARC_MAX_TAGS 64

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

/* apply_tag - store one tag; unknown tags and bad values of optional tags are ignored */
static void
apply_tag(struct dmarc_record *rec, enum dmarc_mode mode, const char *name, const char *value,
	  bool *p_seen, bool *p_bad, bool *rua_ok)
{
	if (strcmp(name, "p") == 0) {
		*p_seen = true;
		rec->p = parse_policy(value);
		*p_bad = rec->p == DMARC_POLICY_UNSET;
	} else if (strcmp(name, "sp") == 0) {
		rec->sp = parse_policy(value);
	} else if (strcmp(name, "np") == 0 && mode == DMARC_MODE_RFC9989) {
		rec->np = parse_policy(value);
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
	} else if (strcmp(name, "pct") == 0 && mode == DMARC_MODE_RFC7489) {
		char *end;
		long n = strtol(value, &end, 10);
		if (*value && *end == '\0' && n >= 0 && n <= 100)
			rec->pct = (int)n;
	} else if (strcmp(name, "rua") == 0) {
		*rua_ok = rua_valid(value);
	}
}

/* dmarc_record_parse - see the file comment */
bool
dmarc_record_parse(const char *txt, enum dmarc_mode mode, struct dmarc_record *rec,
		   struct buf *why)
{
	char *copy, *save = NULL, *tag;
	bool p_seen = false, p_bad = false, rua_ok = false, first = true;
	int n_tags = 0;

	memset(rec, 0, sizeof(*rec));
	rec->psd = 'u';
	rec->pct = 100;
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
		if (++n_tags > DMARC_MAX_TAGS)
			break;
		if (eq == NULL)
			continue;	/* "" between ";;" or junk: ignored */
		*eq = '\0';
		apply_tag(rec, mode, trim(tag), trim(eq + 1), &p_seen, &p_bad, &rua_ok);
	}
	free(copy);
	if (p_bad || (!p_seen && mode == DMARC_MODE_RFC7489)) {
		if (!rua_ok) {
			buf_adds(why, p_bad ? "invalid p= and no valid rua=" : "no p= and no valid rua=");
			return false;
		}
		rec->p = DMARC_POLICY_NONE;
	}
	if (rec->p == DMARC_POLICY_UNSET)
		rec->p = DMARC_POLICY_NONE;	/* RFC 9989: a record without p= is p=none */
	return true;
}
