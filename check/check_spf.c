/*
 * check_spf - spf.* checks from lib/spf_tree (which fetches and parses with
 * lib/spf's own rules): one record, syntax, DNS lookups through the include
 * tree, void lookups, the all qualifier, ptr, length, missing include targets.
 */
#include "check.h"
#include "../lib/spf.h"
#include "../lib/spf_tree.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SPF_MAX_RECORD_LEN 450	/* RFC 7208 3.4: keeps the answer in 512-byte UDP */

/* tree_json - one node and its children as JSON */
static void
tree_json(const struct spf_tree_node *n, struct buf *b)
{
	buf_adds(b, "{\"domain\": ");
	json_string(b, n->domain);
	buf_printf(b, ", \"status\": \"%s\", \"lookups\": %d", spf_tree_status_name(n->status),
		   n->lookups);
	if (n->via_redirect)
		buf_adds(b, ", \"redirect\": true");
	buf_adds(b, ", \"includes\": [");
	for (size_t i = 0; i < n->n_children; i++) {
		if (i)
			buf_adds(b, ", ");
		tree_json(n->children[i], b);
	}
	buf_adds(b, "]}");
}

/* tree_text - the include tree, indented, with each record's own lookups */
static void
tree_text(const struct spf_tree_node *n, int depth, struct buf *b)
{
	buf_printf(b, "%*s%s%s", 24 + 2 * depth, "", n->via_redirect ? "redirect=" : depth ? "include:" : "",
		   n->domain);
	if (n->status == SPF_TREE_OK)
		buf_printf(b, " (%d lookup%s)\n", n->lookups, n->lookups == 1 ? "" : "s");
	else
		buf_printf(b, " [%s]\n", spf_tree_status_name(n->status));
	for (size_t i = 0; i < n->n_children; i++)
		tree_text(n->children[i], depth + 1, b);
}

/* walk_nodes - call fn on every node below (and with) n */
static void
walk_nodes(const struct spf_tree_node *n, void (*fn)(const struct spf_tree_node *, void *),
	   void *arg)
{
	fn(n, arg);
	for (size_t i = 0; i < n->n_children; i++)
		walk_nodes(n->children[i], fn, arg);
}

struct findings {
	struct buf missing, syntax, ptr, tempfail;
	size_t n_missing, n_syntax, n_ptr, n_tempfail;
};

static void
add_name(struct buf *b, size_t *count, const char *name)
{
	if ((*count)++)
		buf_adds(b, ", ");
	buf_adds(b, name);
}

/* collect - below the root: targets with no record, records that do not parse */
static void
collect(const struct spf_tree_node *n, void *arg)
{
	struct findings *f = arg;

	if (n->status == SPF_TREE_NONE || n->status == SPF_TREE_NXDOMAIN)
		add_name(&f->missing, &f->n_missing, n->domain);
	else if (n->status == SPF_TREE_SYNTAX || n->status == SPF_TREE_SEVERAL
		 || n->status == SPF_TREE_LOOP)
		add_name(&f->syntax, &f->n_syntax, n->domain);
	else if (n->status == SPF_TREE_TEMPFAIL)
		add_name(&f->tempfail, &f->n_tempfail, n->domain);
	if (n->has_ptr)
		add_name(&f->ptr, &f->n_ptr, n->domain);
}

/* effective_all - the all of the record, or of its redirect target */
static char
effective_all(const struct spf_tree_node *n)
{
	for (size_t i = 0; n->all == 0 && i < n->n_children; i++)
		if (n->children[i]->via_redirect)
			return effective_all(n->children[i]);
	return n->all;
}

/* root_record - spf.record and spf.syntax for the domain's own record; false
 * when there is no record to look further into */
static bool
root_record(struct check_ctx *cx, const struct spf_tree_node *root)
{
	struct check_item *c;

	switch (root->status) {
	case SPF_TREE_TEMPFAIL:
		report_add(cx->rep, "spf.record", CHECK_ERROR, "The TXT lookup for %s failed (%s).",
			   cx->domain, root->why);
		return false;
	case SPF_TREE_NONE:
	case SPF_TREE_NXDOMAIN:
		c = report_add(cx->rep, "spf.record", CHECK_FAIL, "%s publishes no SPF record.",
			       cx->domain);
		item_advice(c, "Publish one TXT record \"v=spf1 ... -all\" listing your senders "
			    "(\"v=spf1 -all\" if the domain sends no mail).");
		return false;
	case SPF_TREE_SEVERAL:
		c = report_add(cx->rep, "spf.record", CHECK_FAIL,
			       "%s has more than one v=spf1 TXT record: every receiver sees permerror.",
			       cx->domain);
		item_advice(c, "Merge them into one record; a provider guide's record is added to "
			    "yours, not published beside it.");
		return false;
	default:
		break;
	}
	c = report_add(cx->rep, "spf.record", CHECK_OK, "One SPF record: %s", root->record);
	item_str(c, "record", root->record);
	if (root->status == SPF_TREE_SYNTAX) {
		c = report_add(cx->rep, "spf.syntax", CHECK_FAIL, "The record does not parse: %s.",
			       root->why);
		item_str(c, "error", root->why);
		item_advice(c, "Fix the term named; receivers treat the whole record as permerror.");
		return false;
	}
	report_add(cx->rep, "spf.syntax", CHECK_OK, "The record parses.");
	return true;
}

/* lookups - spf.lookups with the tree, and spf.void */
static void
lookups(struct check_ctx *cx, const struct spf_tree *t)
{
	struct check_item *c;
	struct buf b;
	enum check_status st = t->lookups > SPF_MAX_DNS_MECHS ? CHECK_FAIL
			       : t->lookups >= SPF_MAX_DNS_MECHS - 1 ? CHECK_WARN : CHECK_OK;

	c = report_add(cx->rep, "spf.lookups", st, "%d DNS lookups through the include tree "
		       "(limit %d).", t->lookups, SPF_MAX_DNS_MECHS);
	item_int(c, "count", t->lookups);
	item_int(c, "limit", SPF_MAX_DNS_MECHS);
	buf_init(&b);
	tree_json(t->root, &b);
	item_raw(c, "tree", b.data);
	buf_reset(&b);
	tree_text(t->root, 0, &b);
	item_extra(c, b.data);
	buf_free(&b);
	if (st == CHECK_FAIL)
		item_advice(c, "Receivers return permerror past 10: replace includes you no longer "
			    "use, or a/mx terms, with ip4:/ip6: ranges.");
	else if (st == CHECK_WARN)
		item_advice(c, "One more include from a provider will pass the limit of 10.");
	c = report_add(cx->rep, "spf.void", t->voids > SPF_MAX_VOID_LOOKUPS ? CHECK_FAIL : CHECK_OK,
		       "%d a/mx/exists terms find no address (limit %d).", t->voids,
		       SPF_MAX_VOID_LOOKUPS);
	item_int(c, "count", t->voids);
	item_int(c, "limit", SPF_MAX_VOID_LOOKUPS);
	if (t->voids > SPF_MAX_VOID_LOOKUPS)
		item_advice(c, "Remove terms naming hosts that no longer exist: past 2 receivers "
			    "return permerror.");
}

/* all_term - spf.all: -all ok, ~all warn, ?all, +all or none fail */
static void
all_term(struct check_ctx *cx, const struct spf_tree_node *root)
{
	char q = effective_all(root);
	struct check_item *c;

	if (q == '-') {
		c = report_add(cx->rep, "spf.all", CHECK_OK, "The record ends in -all.");
	} else if (q == '~') {
		c = report_add(cx->rep, "spf.all", CHECK_WARN, "The record ends in ~all (softfail).");
		item_advice(c, "Once every sender is listed, change ~all to -all so forged mail fails.");
	} else {
		c = report_add(cx->rep, "spf.all", CHECK_FAIL, q ? "The record ends in %call: anyone "
			       "may send as the domain." : "The record has no all term: mail from "
			       "anywhere else is neutral.", q);
		item_advice(c, "End the record with -all (or ~all while you are still listing senders).");
	}
	item_str(c, "qualifier", q ? (char[]){ q, '\0' } : NULL);
}

/* spf_tree_findings - spf.ptr, spf.length, spf.include */
static void
tree_findings(struct check_ctx *cx, const struct spf_tree *t)
{
	struct findings f;
	struct check_item *c;
	size_t len = strlen(t->root->record);

	memset(&f, 0, sizeof(f));
	buf_init(&f.missing), buf_init(&f.syntax), buf_init(&f.ptr), buf_init(&f.tempfail);
	for (size_t i = 0; i < t->root->n_children; i++)
		walk_nodes(t->root->children[i], collect, &f);
	if (t->root->has_ptr)
		add_name(&f.ptr, &f.n_ptr, t->root->domain);
	c = report_add(cx->rep, "spf.ptr", f.n_ptr ? CHECK_WARN : CHECK_OK, f.n_ptr
		       ? "ptr is used (in %s): RFC 7208 says not to." : "No ptr term.%s",
		       f.n_ptr ? f.ptr.data : "");
	if (f.n_ptr)
		item_advice(c, "Replace ptr with the ip4:/ip6: ranges or a: names of your senders.");
	c = report_add(cx->rep, "spf.length", len > SPF_MAX_RECORD_LEN ? CHECK_WARN : CHECK_OK,
		       "The record is %zu bytes (RFC 7208 suggests at most %d).", len,
		       SPF_MAX_RECORD_LEN);
	item_int(c, "length", (long long)len);
	if (len > SPF_MAX_RECORD_LEN)
		item_advice(c, "Move ranges into an include: of your own so answers fit in 512 bytes.");
	if (f.n_tempfail) {
		c = report_add(cx->rep, "spf.include", CHECK_ERROR, "Could not fetch the records of "
			       "%s.", f.tempfail.data);
	} else if (f.n_missing || f.n_syntax) {
		c = report_add(cx->rep, "spf.include", CHECK_FAIL, "Included records are missing (%s) "
			       "or broken (%s): receivers return permerror when they reach them.",
			       f.n_missing ? f.missing.data : "none", f.n_syntax ? f.syntax.data : "none");
		item_advice(c, "Remove or correct the include: targets named; check the provider's "
			    "current guide for the right name.");
	} else {
		c = report_add(cx->rep, "spf.include", CHECK_OK, "Every include target has one valid "
			       "record.");
	}
	item_str(c, "missing", f.n_missing ? f.missing.data : "");
	item_str(c, "broken", f.n_syntax ? f.syntax.data : "");
	buf_free(&f.missing), buf_free(&f.syntax), buf_free(&f.ptr), buf_free(&f.tempfail);
}

/* check_spf - every spf.* check */
void
check_spf(struct check_ctx *cx)
{
	struct spf_tree t;

	spf_tree_walk(cx->dns, cx->domain, &t);
	if (root_record(cx, t.root)) {
		cx->spf_reject_all = strcasecmp(t.root->record, "v=spf1 -all") == 0;
		lookups(cx, &t);
		all_term(cx, t.root);
		tree_findings(cx, &t);
	}
	spf_tree_free(&t);
}
