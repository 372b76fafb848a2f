/*
 * agg - one RFC 9990 aggregate report in memory: the policy as published
 * and the records, grouped from history rows by identical (source IP,
 * disposition, aligned results, override, identifiers, auth results).
 *
 * agg_add() takes one message at a time, so the loader and the unit tests
 * feed it the same way; agg_finish() sorts and folds identical messages
 * into one record with a count.
 */
#ifndef AUTHMILTER_REPORT_AGG_H
#define AUTHMILTER_REPORT_AGG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct agg_dkim {
	const char *domain, *selector, *result, *human;
};

/* one evaluated message, as history_message + history_dkim hold it */
struct agg_msg {
	const char *source_ip, *header_from, *envelope_from, *envelope_to;
	const char *p;		/* the policy this message was evaluated under, NULL: the report's */
	const char *dmarc_result, *dkim_aligned, *spf_aligned, *disposition;
	const char *override_type, *override_comment;
	const char *spf_domain, *spf_scope, *spf_result;
	const struct agg_dkim *dkim;
	size_t n_dkim;
};

/* policy_published: from the newest row of the period */
struct agg_policy {
	char *domain, *p, *sp, *np, *adkim, *aspf, *testing, *discovery, *fo, *rua, *ruf;
};

struct agg_record {
	char *xml;		/* the <record> with a mark for <count>: also the grouping key */
	uint64_t hash;
	long count;
};

struct agg_report {
	struct agg_policy policy;
	long begin, end;	/* date_range, Unix seconds */
	struct agg_record *records;
	size_t n_records, cap_records;
	size_t *slots;		/* hash of records: index + 1, 0 empty */
	size_t n_slots;
	long n_messages;
	bool finished;
};

void agg_init(struct agg_report *rep, long begin, long end);
void agg_free(struct agg_report *rep);
/* set policy_published (copies every field; NULL: absent) */
void agg_set_policy(struct agg_report *rep, const struct agg_policy *pol);
void agg_add(struct agg_report *rep, const struct agg_msg *msg);
void agg_finish(struct agg_report *rep);

/* the XML document; org fields are the report_metadata */
struct agg_meta {
	const char *org_name, *email, *report_id, *generator;
};
void agg_xml(const struct agg_report *rep, const struct agg_meta *meta, struct buf *out);
void agg_xml_escape(struct buf *out, const char *s);

#endif
