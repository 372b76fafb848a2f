/*
 * fuzz_spf_tree - an SPF TXT record served as example.com (and as the
 * include target inc.example.com) into spf_tree_walk, the checker's static
 * walk of the include tree: the sums must equal the nodes' own counts.
 */
#include "spf_tree.h"
#include "fakedns.h"

#include <stdint.h>
#include <stdlib.h>

static struct dns dns;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fakedns_init(&dns);
	return 0;
}

/* sum - lookups over the nodes that were walked */
static int
sum(const struct spf_tree_node *n, size_t *nodes)
{
	int s = n->lookups;

	(*nodes)++;
	for (size_t i = 0; i < n->n_children; i++)
		s += sum(n->children[i], nodes);
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spf_tree t;
	size_t nodes = 0;

	fakedns_reset(&dns);
	fakedns_put_txt(&dns, "example.com", data, size);
	fakedns_put_txt(&dns, "inc.example.com", data, size);
	spf_tree_walk(&dns, "example.com", &t);
	if (sum(t.root, &nodes) != t.lookups || t.nodes > SPF_TREE_MAX_NODES + 1)
		abort();
	(void)spf_tree_status_name(t.root->status);
	spf_tree_free(&t);
	return 0;
}
