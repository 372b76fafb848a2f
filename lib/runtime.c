/*
 * runtime - build, share and retire configuration snapshots.
 */
#include "runtime.h"

#include <stdlib.h>
#include <string.h>

#define RESOLV_CONF "/etc/resolv.conf"

/* runtime_new - a snapshot with one reference, owned by the caller */
struct runtime *
runtime_new(struct config *cfg, struct dns_cache *cache, char *why, size_t size)
{
	struct runtime *rt = xcalloc(1, sizeof(*rt));
	struct dns_server servers[DNS_MAX_SERVERS];
	const struct dns_server *use;
	int n;

	rt->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	use = rt->cfg.nameservers;
	n = rt->cfg.n_nameservers;
	if (n == 0) {
		n = dns_servers_from_resolv_conf(RESOLV_CONF, servers, DNS_MAX_SERVERS);
		use = servers;
	}
	dns_init(&rt->dns, use, n, rt->cfg.dns_timeout, rt->cfg.dns_retries, cache);
	rt->dkim.min_key_bits = (unsigned)rt->cfg.dkim_min_key_bits;
	rt->dkim.max_signatures = (unsigned)rt->cfg.dkim_max_signatures;
	rt->dkim.dns = &rt->dns;
	if (!dmarc_ctx_init(&rt->dmarc, &rt->dns, (enum dmarc_mode)rt->cfg.dmarc_mode,
			    rt->cfg.psl_file, why, size)) {
		config_free(&rt->cfg);
		free(rt);
		return NULL;
	}
	atomic_init(&rt->refs, 1);
	return rt;
}

/* runtime_release - drop a reference; the last one frees the snapshot */
void
runtime_release(struct runtime *rt)
{
	if (rt == NULL || atomic_fetch_sub(&rt->refs, 1) != 1)
		return;
	dmarc_ctx_free(&rt->dmarc);
	config_free(&rt->cfg);
	free(rt);
}

/* runtime_slot_init - the slot takes over rt's reference */
void
runtime_slot_init(struct runtime_slot *slot, struct runtime *rt)
{
	pthread_mutex_init(&slot->lock, NULL);
	slot->current = rt;
}

/* runtime_acquire - the current snapshot, with a reference for the caller */
struct runtime *
runtime_acquire(struct runtime_slot *slot)
{
	struct runtime *rt;

	pthread_mutex_lock(&slot->lock);
	rt = slot->current;
	atomic_fetch_add(&rt->refs, 1);
	pthread_mutex_unlock(&slot->lock);
	return rt;
}

/* runtime_swap - install rt (its reference moves to the slot), retire the old one */
void
runtime_swap(struct runtime_slot *slot, struct runtime *rt)
{
	struct runtime *old;

	pthread_mutex_lock(&slot->lock);
	old = slot->current;
	slot->current = rt;
	pthread_mutex_unlock(&slot->lock);
	runtime_release(old);
}

/* runtime_slot_destroy - release the current snapshot */
void
runtime_slot_destroy(struct runtime_slot *slot)
{
	runtime_release(slot->current);
	slot->current = NULL;
	pthread_mutex_destroy(&slot->lock);
}
