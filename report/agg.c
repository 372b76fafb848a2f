/*
 * agg - group history rows into the records of one aggregate report and
 * write the RFC 9990 XML.
 *
 * Each message is rendered once into its <record> XML with a marker where
 * <count> goes; that text is the grouping key, so two messages share a
 * record exactly when everything the report says about them is the same.
 * An open-addressing hash on the key keeps a large domain's day linear.
 */
#include "agg.h"
#include "rhash.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define COUNT_MARK '\001'	/* never in escaped XML text */

static const char *const dkim_results[] = {
	"none", "pass", "fail", "policy", "neutral", "temperror", "permerror", NULL
};
static const char *const spf_results[] = {
	"none", "pass", "fail", "softfail", "policy", "neutral", "temperror", "permerror", NULL
};
static const char *const overrides[] = {
	"local_policy", "mailing_list", "other", "policy_test_mode", "trusted_forwarder", NULL
};

/* agg_xml_escape - s as XML character data; control characters XML 1.0 forbids become '?' */
void
agg_xml_escape(struct buf *out, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		switch (*p) {
		case '<': buf_adds(out, "&lt;"); break;
		case '>': buf_adds(out, "&gt;"); break;
		case '&': buf_adds(out, "&amp;"); break;
		case '"': buf_adds(out, "&quot;"); break;
		case '\'': buf_adds(out, "&apos;"); break;
		default:
			if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
				buf_addc(out, '?');
			else
				buf_addc(out, (char)*p);
		}
	}
}

/* element - <name>escaped value</name> */
static void
element(struct buf *out, const char *indent, const char *name, const char *value)
{
	buf_printf(out, "%s<%s>", indent, name);
	agg_xml_escape(out, value);
	buf_printf(out, "</%s>\n", name);
}

/* in_set - is word one of set? */
static bool
in_set(const char *word, const char *const *set)
{
	for (; word && *set; set++)
		if (strcmp(word, *set) == 0)
			return true;
	return false;
}

/* pass_fail - the schema allows only pass|fail for policy_evaluated */
static const char *
pass_fail(const char *s)
{
	return s && strcmp(s, "pass") == 0 ? "pass" : "fail";
}

/* disposition - RFC 9990's action: "pass" is no action on a DMARC pass
 * under an enforcing policy; "none" the rest of the no-action cases */
static const char *
disposition(const struct agg_report *rep, const struct agg_msg *m)
{
	const char *d = m->disposition ? m->disposition : "none";

	if (strcmp(d, "quarantine") == 0 || strcmp(d, "reject") == 0)
		return d;
	const char *p = m->p ? m->p : rep->policy.p;
	if (m->dmarc_result && strcmp(m->dmarc_result, "pass") == 0 && p && strcmp(p, "none") != 0)
		return "pass";
	return "none";
}

/* render_auth - <auth_results>: every DKIM signature, the MAIL FROM SPF result
 * (the schema has no HELO scope, so a HELO result is left out) */
static void
render_auth(struct buf *x, const struct agg_msg *m)
{
	buf_adds(x, "    <auth_results>\n");
	for (size_t i = 0; i < m->n_dkim; i++) {
		const struct agg_dkim *d = &m->dkim[i];
		bool known = in_set(d->result, dkim_results);
		buf_adds(x, "      <dkim>\n");
		element(x, "        ", "domain", d->domain);
		element(x, "        ", "selector", d->selector);
		element(x, "        ", "result", known ? d->result : "permerror");
		if (!known || (d->human && *d->human)) {
			buf_adds(x, "        <human_result>");
			if (!known)
				buf_adds(x, "unknown result ");
			agg_xml_escape(x, known ? d->human : d->result);
			buf_adds(x, "</human_result>\n");
		}
		buf_adds(x, "      </dkim>\n");
	}
	if (m->spf_domain && m->spf_scope && strcmp(m->spf_scope, "mfrom") == 0) {
		buf_adds(x, "      <spf>\n");
		element(x, "        ", "domain", m->spf_domain);
		element(x, "        ", "scope", "mfrom");
		element(x, "        ", "result", in_set(m->spf_result, spf_results) ? m->spf_result
			: "permerror");
		buf_adds(x, "      </spf>\n");
	}
	buf_adds(x, "    </auth_results>\n");
}

/* render - one message's <record> with COUNT_MARK where the count goes */
static void
render(const struct agg_report *rep, const struct agg_msg *m, struct buf *x)
{
	buf_adds(x, "  <record>\n    <row>\n");
	element(x, "      ", "source_ip", m->source_ip);
	buf_printf(x, "      <count>%c</count>\n", COUNT_MARK);
	buf_adds(x, "      <policy_evaluated>\n");
	element(x, "        ", "disposition", disposition(rep, m));
	element(x, "        ", "dkim", pass_fail(m->dkim_aligned));
	element(x, "        ", "spf", pass_fail(m->spf_aligned));
	if (m->override_type && *m->override_type) {
		buf_adds(x, "        <reason>\n");
		element(x, "          ", "type", in_set(m->override_type, overrides)
			? m->override_type : "other");
		if (m->override_comment && *m->override_comment)
			element(x, "          ", "comment", m->override_comment);
		buf_adds(x, "        </reason>\n");
	}
	buf_adds(x, "      </policy_evaluated>\n    </row>\n    <identifiers>\n");
	element(x, "      ", "header_from", m->header_from);
	if (m->envelope_from)
		element(x, "      ", "envelope_from", m->envelope_from);
	if (m->envelope_to && *m->envelope_to)
		element(x, "      ", "envelope_to", m->envelope_to);
	buf_adds(x, "    </identifiers>\n");
	render_auth(x, m);
	buf_adds(x, "  </record>\n");
}

/* agg_init - an empty report for [begin, end] */
void
agg_init(struct agg_report *rep, long begin, long end)
{
	memset(rep, 0, sizeof(*rep));
	rep->begin = begin;
	rep->end = end;
}

static void
policy_free(struct agg_policy *p)
{
	char **f[] = { &p->domain, &p->p, &p->sp, &p->np, &p->adkim, &p->aspf, &p->testing,
		       &p->discovery, &p->fo, &p->rua, &p->ruf };
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		free(*f[i]);
		*f[i] = NULL;
	}
}

/* agg_free - release everything */
void
agg_free(struct agg_report *rep)
{
	policy_free(&rep->policy);
	for (size_t i = 0; i < rep->n_records; i++)
		free(rep->records[i].xml);
	free(rep->records);
	free(rep->slots);
	memset(rep, 0, sizeof(*rep));
}

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* agg_set_policy - policy_published, copied */
void
agg_set_policy(struct agg_report *rep, const struct agg_policy *pol)
{
	policy_free(&rep->policy);
	rep->policy.domain = dup_or_null(pol->domain);
	rep->policy.p = dup_or_null(pol->p);
	rep->policy.sp = dup_or_null(pol->sp);
	rep->policy.np = dup_or_null(pol->np);
	rep->policy.adkim = dup_or_null(pol->adkim);
	rep->policy.aspf = dup_or_null(pol->aspf);
	rep->policy.testing = dup_or_null(pol->testing);
	rep->policy.discovery = dup_or_null(pol->discovery);
	rep->policy.fo = dup_or_null(pol->fo);
	rep->policy.rua = dup_or_null(pol->rua);
	rep->policy.ruf = dup_or_null(pol->ruf);
}

/* rehash - grow the slot table to keep it under half full */
static void
rehash(struct agg_report *rep)
{
	size_t n = rep->n_slots ? rep->n_slots * 2 : 64;

	free(rep->slots);
	rep->slots = xcalloc(n, sizeof(*rep->slots));
	rep->n_slots = n;
	for (size_t i = 0; i < rep->n_records; i++) {
		size_t s = rep->records[i].hash & (n - 1);
		while (rep->slots[s])
			s = (s + 1) & (n - 1);
		rep->slots[s] = i + 1;
	}
}

/* agg_add - count one message into its record */
void
agg_add(struct agg_report *rep, const struct agg_msg *msg)
{
	struct buf x;
	uint64_t h;
	size_t s;

	buf_init(&x);
	render(rep, msg, &x);
	h = rhash_parts((const char *const *)&x.data, 1);
	rep->n_messages++;
	if (rep->n_records * 2 >= rep->n_slots)
		rehash(rep);
	for (s = h & (rep->n_slots - 1); rep->slots[s]; s = (s + 1) & (rep->n_slots - 1)) {
		struct agg_record *r = &rep->records[rep->slots[s] - 1];
		if (r->hash == h && strcmp(r->xml, x.data) == 0) {
			r->count++;
			buf_free(&x);
			return;
		}
	}
	if (rep->n_records == rep->cap_records) {
		rep->cap_records = rep->cap_records ? rep->cap_records * 2 : 16;
		rep->records = xrealloc(rep->records, rep->cap_records * sizeof(*rep->records));
	}
	rep->records[rep->n_records] = (struct agg_record){ buf_steal(&x), h, 1 };
	rep->slots[s] = ++rep->n_records;
}

static int
by_count(const void *a, const void *b)
{
	const struct agg_record *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->xml, y->xml);
}

/* agg_finish - records in a stable order: most messages first */
void
agg_finish(struct agg_report *rep)
{
	if (rep->n_records > 1)
		qsort(rep->records, rep->n_records, sizeof(*rep->records), by_count);
	free(rep->slots);
	rep->slots = NULL;
	rep->n_slots = 0;
	rep->finished = true;
}

/* policy_xml - <policy_published>; absent tags are left out (their defaults apply) */
static void
policy_xml(const struct agg_policy *p, struct buf *out)
{
	const char *in = "    ";

	buf_adds(out, "  <policy_published>\n");
	element(out, in, "domain", p->domain);
	element(out, in, "p", p->p ? p->p : "none");
	if (p->sp)
		element(out, in, "sp", p->sp);
	if (p->np)
		element(out, in, "np", p->np);
	if (p->adkim)
		element(out, in, "adkim", p->adkim);
	if (p->aspf)
		element(out, in, "aspf", p->aspf);
	if (p->discovery)
		element(out, in, "discovery_method", p->discovery);
	if (p->fo)
		element(out, in, "fo", p->fo);
	if (p->testing)
		element(out, in, "testing", p->testing);
	buf_adds(out, "  </policy_published>\n");
}

/* agg_xml - the whole <feedback> document */
void
agg_xml(const struct agg_report *rep, const struct agg_meta *meta, struct buf *out)
{
	buf_adds(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		 "<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">\n"
		 "  <version>1.0</version>\n  <report_metadata>\n");
	element(out, "    ", "org_name", meta->org_name);
	element(out, "    ", "email", meta->email);
	element(out, "    ", "report_id", meta->report_id);
	buf_printf(out, "    <date_range>\n      <begin>%ld</begin>\n      <end>%ld</end>\n"
		   "    </date_range>\n", rep->begin, rep->end);
	if (meta->generator)
		element(out, "    ", "generator", meta->generator);
	buf_adds(out, "  </report_metadata>\n");
	policy_xml(&rep->policy, out);
	for (size_t i = 0; i < rep->n_records; i++) {
		const char *xml = rep->records[i].xml, *mark = strchr(xml, COUNT_MARK);
		buf_add(out, xml, (size_t)(mark - xml));
		buf_printf(out, "%ld", rep->records[i].count);
		buf_adds(out, mark + 1);
	}
	buf_adds(out, "</feedback>\n");
}
