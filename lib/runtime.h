/*
 * runtime - one configuration snapshot and everything built from it (DNS
 * servers, DMARC context, DKIM settings), reference-counted.
 *
 * A message takes a reference when it starts (MAIL FROM) and drops it when it
 * ends, so a reload (SIGHUP) never changes the rules under a message in
 * flight: the old snapshot lives until its last message is done. The DNS
 * cache is shared by all snapshots.
 */
#ifndef AUTHMILTER_RUNTIME_H
#define AUTHMILTER_RUNTIME_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include "config.h"
#include "dkimv.h"
#include "dmarc.h"
#include "dns.h"

struct runtime {
	struct config cfg;
	struct dns dns;
	struct dmarc_ctx dmarc;
	struct dkimv_settings dkim;
	atomic_int refs;
};

struct runtime_slot {
	pthread_mutex_t lock;
	struct runtime *current;
};

/* takes over *cfg (it is zeroed); NULL with why filled on failure */
struct runtime *runtime_new(struct config *cfg, struct dns_cache *cache, char *why, size_t size);
void runtime_release(struct runtime *rt);

void runtime_slot_init(struct runtime_slot *slot, struct runtime *rt);
struct runtime *runtime_acquire(struct runtime_slot *slot);
void runtime_swap(struct runtime_slot *slot, struct runtime *rt);
void runtime_slot_destroy(struct runtime_slot *slot);

#endif
