/*
 * spf_tree - a static walk of a domain's SPF record and every record it
 * includes or redirects to, for the checker (authmilter-check).
 *
 * The evaluator (spf.c) answers for one client address and stops at the
 * first match; an audit needs the whole tree: how many DNS-querying terms a
 * receiver may have to spend in the worst case, which include targets are
 * missing, which mechanisms are deprecated. Records are fetched and parsed
 * exactly as check_host() does (spf_record_is_spf, spf_record_parse).
 * Targets with macros cannot be known without a message and are not followed.
 */
#ifndef AUTHMILTER_SPF_TREE_H
#define AUTHMILTER_SPF_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include "dns.h"

#define SPF_TREE_MAX_DEPTH 10	/* include/redirect levels followed */
#define SPF_TREE_MAX_NODES 64	/* records fetched per walk; past it: not followed */

enum spf_tree_status {
	SPF_TREE_OK,		/* one record, parsed */
	SPF_TREE_NONE,		/* no SPF record (the name may exist) */
	SPF_TREE_NXDOMAIN,	/* the name does not exist */
	SPF_TREE_SEVERAL,	/* more than one v=spf1 record: permerror */
	SPF_TREE_SYNTAX,	/* the record does not parse: permerror */
	SPF_TREE_TEMPFAIL,	/* DNS trouble */
	SPF_TREE_LOOP,		/* the domain is already on the path */
	SPF_TREE_MACRO,		/* target has macros: not followed */
	SPF_TREE_LIMIT,		/* depth or node limit: not followed */
};

struct spf_tree_node {
	char *domain;
	bool via_redirect;		/* reached by redirect= (else include:) */
	enum spf_tree_status status;
	char *record;			/* the v=spf1 text when found */
	char *why;			/* syntax error or DNS reason, or NULL */
	int lookups;			/* DNS-querying terms of this record itself */
	int voids;			/* a/mx/exists targets of this record with no answer */
	char all;			/* qualifier of "all": '+', '-', '~', '?', or 0 */
	bool has_ptr;
	struct spf_tree_node **children;	/* include: and redirect= targets, in order */
	size_t n_children;
};

struct spf_tree {
	struct spf_tree_node *root;
	int lookups;			/* sum over the tree: RFC 7208 4.6.4 counts them all */
	int voids;
	size_t nodes;
};

void spf_tree_walk(struct dns *dns, const char *domain, struct spf_tree *tree);
void spf_tree_free(struct spf_tree *tree);
const char *spf_tree_status_name(enum spf_tree_status s);

#endif
