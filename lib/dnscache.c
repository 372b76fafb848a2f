/*
 * dnscache - shared bounded (name, type) cache with TTLs and LRU eviction.
 *
 * A chained hash table finds entries; a doubly linked list keeps them in
 * use order so eviction is O(1). One mutex guards both: lookups are short
 * and copying a few hundred bytes under the lock costs less than a rwlock.
 */
#include "dnscache.h"
#include "buf.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct cache_entry {
	char *name;		/* lower case */
	uint16_t type;
	uint8_t *wire;		/* NULL: cached temporary failure */
	size_t len;
	time_t expires;
	struct cache_entry *hnext;	/* hash chain */
	struct cache_entry *prev, *next;	/* use order, most recent first */
};

struct dns_cache {
	pthread_mutex_t lock;
	struct cache_entry **table;
	size_t n_buckets;
	size_t count, max_entries;
	struct cache_entry *newest, *oldest;
	time_t (*clock)(void);		/* NULL: time(NULL); set once, before use */
};

static size_t
cache_hash(const char *name, uint16_t type, size_t n_buckets)
{
	size_t h = 5381u + type;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = h * 33u ^ (size_t)tolower(*p);
	return h % n_buckets;
}

/* dnscache_new - cache of at most max_entries answers; 0 makes a cache that keeps nothing */
struct dns_cache *
dnscache_new(size_t max_entries)
{
	struct dns_cache *c = xcalloc(1, sizeof(*c));

	pthread_mutex_init(&c->lock, NULL);
	c->max_entries = max_entries;
	c->n_buckets = max_entries / 2 + 1;
	c->table = xcalloc(c->n_buckets, sizeof(*c->table));
	return c;
}

static void
entry_free(struct cache_entry *e)
{
	free(e->name);
	free(e->wire);
	free(e);
}

static void
lru_unlink(struct dns_cache *c, struct cache_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->newest = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->oldest = e->prev;
	e->prev = e->next = NULL;
}

static void
lru_push_front(struct dns_cache *c, struct cache_entry *e)
{
	e->prev = NULL;
	e->next = c->newest;
	if (c->newest)
		c->newest->prev = e;
	c->newest = e;
	if (c->oldest == NULL)
		c->oldest = e;
}

static struct cache_entry **
find_slot(struct dns_cache *c, const char *name, uint16_t type)
{
	struct cache_entry **pp = &c->table[cache_hash(name, type, c->n_buckets)];

	for (; *pp; pp = &(*pp)->hnext)
		if ((*pp)->type == type && strcasecmp((*pp)->name, name) == 0)
			return pp;
	return pp;
}

static void
remove_entry(struct dns_cache *c, struct cache_entry **slot)
{
	struct cache_entry *e = *slot;

	*slot = e->hnext;
	lru_unlink(c, e);
	entry_free(e);
	c->count--;
}

/* dnscache_free - drop everything */
void
dnscache_free(struct dns_cache *c)
{
	if (c == NULL)
		return;
	while (c->oldest)
		remove_entry(c, find_slot(c, c->oldest->name, c->oldest->type));
	free(c->table);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* dnscache_put - store or replace; ttl 0 stores nothing */
void
dnscache_put(struct dns_cache *c, const char *name, uint16_t type,
	     const uint8_t *wire, size_t len, uint32_t ttl, time_t now)
{
	struct cache_entry **slot, *e;

	if (c == NULL || c->max_entries == 0 || ttl == 0)
		return;
	if (wire == NULL && ttl > DNSCACHE_TEMPFAIL_TTL)
		ttl = DNSCACHE_TEMPFAIL_TTL;
	if (ttl > DNSCACHE_MAX_TTL)
		ttl = DNSCACHE_MAX_TTL;
	e = xcalloc(1, sizeof(*e));
	e->name = xstrdup(name);
	e->type = type;
	e->wire = wire ? xmalloc(len) : NULL;
	if (wire)
		memcpy(e->wire, wire, len);
	e->len = wire ? len : 0;
	e->expires = now + (time_t)ttl;

	pthread_mutex_lock(&c->lock);
	slot = find_slot(c, name, type);
	if (*slot)
		remove_entry(c, slot);
	while (c->count >= c->max_entries && c->oldest)
		remove_entry(c, find_slot(c, c->oldest->name, c->oldest->type));
	slot = find_slot(c, name, type);
	*slot = e;
	lru_push_front(c, e);
	c->count++;
	pthread_mutex_unlock(&c->lock);
}

/* dnscache_get - copy out a live entry */
enum dnscache_hit
dnscache_get(struct dns_cache *c, const char *name, uint16_t type,
	     uint8_t **wire, size_t *len, time_t now)
{
	struct cache_entry **slot, *e;
	enum dnscache_hit hit = DNSCACHE_MISS;

	*wire = NULL;
	*len = 0;
	if (c == NULL)
		return DNSCACHE_MISS;
	pthread_mutex_lock(&c->lock);
	slot = find_slot(c, name, type);
	e = *slot;
	if (e && e->expires <= now) {
		remove_entry(c, slot);
		e = NULL;
	}
	if (e) {
		lru_unlink(c, e);
		lru_push_front(c, e);
		if (e->wire) {
			*wire = xmalloc(e->len);
			memcpy(*wire, e->wire, e->len);
			*len = e->len;
			hit = DNSCACHE_REPLY;
		} else {
			hit = DNSCACHE_FAILURE;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

/* dnscache_count - entries held (for tests and metrics) */
size_t
dnscache_count(struct dns_cache *c)
{
	size_t n;

	pthread_mutex_lock(&c->lock);
	n = c->count;
	pthread_mutex_unlock(&c->lock);
	return n;
}

/* dnscache_set_clock - tests move time instead of sleeping past TTLs */
void
dnscache_set_clock(struct dns_cache *c, time_t (*clock)(void))
{
	c->clock = clock;
}

/* dnscache_now - the time entries are stored and looked up at */
time_t
dnscache_now(const struct dns_cache *c)
{
	return c && c->clock ? c->clock() : time(NULL);
}
