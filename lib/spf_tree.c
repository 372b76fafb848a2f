/*
 * spf_tree - walk a domain's SPF include/redirect tree without a client (see
 * spf_tree.h). Every record is fetched with the rules of check_host(): exactly
 * one "v=spf1" TXT string, parsed by spf_record_parse().
 */
#include "spf_tree.h"
#include "spf_record.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct walk {
	struct dns *dns;
	struct spf_tree *tree;
	const char *path[SPF_TREE_MAX_DEPTH + 1];	/* domains from the root down */
	size_t depth;
};

static void walk_node(struct walk *w, struct spf_tree_node *node);

static const char *const status_names[] = {
	"ok", "none", "nxdomain", "several", "syntax", "tempfail", "loop", "macro", "limit"
};

/* spf_tree_status_name - a short word for each status */
const char *
spf_tree_status_name(enum spf_tree_status s)
{
	return status_names[s];
}

/* node_new - a child of parent (or the root) for domain */
static struct spf_tree_node *
node_new(struct spf_tree_node *parent, const char *domain, size_t len, bool redirect)
{
	struct spf_tree_node *n = xcalloc(1, sizeof(*n));

	n->domain = xstrndup(domain, len);
	n->via_redirect = redirect;
	if (parent) {
		parent->children = xrealloc(parent->children,
					    (parent->n_children + 1) * sizeof(*parent->children));
		parent->children[parent->n_children++] = n;
	}
	return n;
}

/* fetch - the one v=spf1 record at node->domain, or a status saying why not */
static void
fetch(struct walk *w, struct spf_tree_node *node)
{
	struct dns_result res;
	char **strings = NULL;
	size_t n = 0, found = 0;

	dns_query(w->dns, node->domain, LDNS_RR_TYPE_TXT, &res);
	if (res.status == DNS_TEMPFAIL) {
		node->status = SPF_TREE_TEMPFAIL;
		node->why = xstrdup(res.reason ? res.reason : "DNS error");
		dns_result_free(&res);
		return;
	}
	if (res.status == DNS_ANSWER)
		n = dns_txt_strings(&res, &strings);
	for (size_t i = 0; i < n; i++)
		if (spf_record_is_spf(strings[i]) && found++ == 0)
			node->record = xstrdup(strings[i]);
	if (found > 1)
		node->status = SPF_TREE_SEVERAL;
	else if (found == 0)
		node->status = res.status == DNS_NXDOMAIN ? SPF_TREE_NXDOMAIN : SPF_TREE_NONE;
	dns_strings_free(strings, n);
	dns_result_free(&res);
}

/* is_void - no answer of type for name (NXDOMAIN or NODATA); DNS trouble is not void */
static bool
is_void(struct walk *w, const char *name, ldns_rr_type type)
{
	struct dns_result res;
	bool v;

	dns_query(w->dns, name, type, &res);
	v = res.status == DNS_NXDOMAIN || res.status == DNS_NODATA;
	dns_result_free(&res);
	return v;
}

/* count_void - would this a/mx/exists term be a void lookup for every client? */
static void
count_void(struct walk *w, struct spf_tree_node *node, const struct spf_term *t,
	   const char *target)
{
	bool v;

	if (t->type == SPF_MECH_MX)
		v = is_void(w, target, LDNS_RR_TYPE_MX);
	else if (t->type == SPF_MECH_EXISTS)
		v = is_void(w, target, LDNS_RR_TYPE_A);
	else
		v = is_void(w, target, LDNS_RR_TYPE_A) && is_void(w, target, LDNS_RR_TYPE_AAAA);
	if (v)
		node->voids++;
}

/* on_path - is domain already between the root and here? */
static bool
on_path(const struct walk *w, const char *domain)
{
	for (size_t i = 0; i < w->depth; i++)
		if (strcasecmp(w->path[i], domain) == 0)
			return true;
	return false;
}

/* follow - a child for an include or redirect target, walked when it can be */
static void
follow(struct walk *w, struct spf_tree_node *node, const char *spec, size_t len, bool redirect)
{
	struct spf_tree_node *child = node_new(node, spec, len, redirect);

	if (memchr(spec, '%', len))
		child->status = SPF_TREE_MACRO;
	else if (on_path(w, child->domain))
		child->status = SPF_TREE_LOOP;
	else if (w->depth >= SPF_TREE_MAX_DEPTH || w->tree->nodes >= SPF_TREE_MAX_NODES)
		child->status = SPF_TREE_LIMIT;
	else
		walk_node(w, child);
}

/* term - account for one mechanism of node's record */
static void
term(struct walk *w, struct spf_tree_node *node, const struct spf_term *t)
{
	char *target;

	switch (t->type) {
	case SPF_MECH_ALL:
		node->all = t->qualifier == SPF_FAIL ? '-' : t->qualifier == SPF_SOFTFAIL ? '~'
			    : t->qualifier == SPF_NEUTRAL ? '?' : '+';
		return;
	case SPF_MECH_IP4:
	case SPF_MECH_IP6:
		return;
	case SPF_MECH_INCLUDE:
		node->lookups++;
		follow(w, node, t->domain, t->domain_len, false);
		return;
	case SPF_MECH_PTR:
		node->has_ptr = true;
		node->lookups++;
		return;
	default:	/* a, mx, exists */
		node->lookups++;
		if (t->domain && memchr(t->domain, '%', t->domain_len))
			return;
		target = t->domain ? xstrndup(t->domain, t->domain_len) : xstrdup(node->domain);
		count_void(w, node, t, target);
		free(target);
	}
}

/* walk_node - fetch, parse and account for one record, then its children */
static void
walk_node(struct walk *w, struct spf_tree_node *node)
{
	struct spf_record rec;
	struct buf why;

	w->tree->nodes++;
	fetch(w, node);
	if (node->record == NULL || node->status != SPF_TREE_OK)
		return;
	buf_init(&why);
	if (!spf_record_parse(node->record, &rec, &why)) {
		node->status = SPF_TREE_SYNTAX;
		node->why = buf_steal(&why);
		spf_record_free(&rec);
		return;
	}
	buf_free(&why);
	w->path[w->depth++] = node->domain;
	for (size_t i = 0; i < rec.n_terms; i++)
		term(w, node, &rec.terms[i]);
	/* RFC 7208 6.1: redirect is ignored when the record has an "all" */
	if (rec.redirect && node->all == 0) {
		node->lookups++;
		follow(w, node, rec.redirect, rec.redirect_len, true);
	}
	w->depth--;
	w->tree->lookups += node->lookups;
	w->tree->voids += node->voids;
	spf_record_free(&rec);
}

/* spf_tree_walk - the whole tree below domain */
void
spf_tree_walk(struct dns *dns, const char *domain, struct spf_tree *tree)
{
	struct walk w = { .dns = dns, .tree = tree };

	memset(tree, 0, sizeof(*tree));
	tree->root = node_new(NULL, domain, strlen(domain), false);
	walk_node(&w, tree->root);
}

static void
node_free(struct spf_tree_node *n)
{
	for (size_t i = 0; i < n->n_children; i++)
		node_free(n->children[i]);
	free(n->children);
	free(n->domain);
	free(n->record);
	free(n->why);
	free(n);
}

/* spf_tree_free - release the walk's nodes */
void
spf_tree_free(struct spf_tree *tree)
{
	if (tree->root)
		node_free(tree->root);
	memset(tree, 0, sizeof(*tree));
}
