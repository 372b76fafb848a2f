/*
 * dnscache - the shared, bounded DNS answer cache keyed by (name, type).
 *
 * It stores reply packets in wire format with an absolute expiry time: the
 * smallest TTL of the answer, the SOA minimum for NXDOMAIN/NODATA (RFC 2308;
 * no SOA, no caching), and a few seconds at most for temporary failures so a
 * DNS outage does not cost every message a full timeout. When full, the least
 * recently used entry goes. All functions are thread-safe.
 */
#ifndef AUTHMILTER_DNSCACHE_H
#define AUTHMILTER_DNSCACHE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define DNSCACHE_TEMPFAIL_TTL 5
#define DNSCACHE_MAX_TTL 86400

struct dns_cache;

enum dnscache_hit {
	DNSCACHE_MISS,		/* nothing live under (name, type) */
	DNSCACHE_REPLY,		/* a reply packet: an answer, NXDOMAIN or NODATA */
	DNSCACHE_FAILURE,	/* a recent temporary failure */
};

struct dns_cache *dnscache_new(size_t max_entries);
void dnscache_free(struct dns_cache *cache);
/* wire NULL with len 0 stores a temporary failure */
void dnscache_put(struct dns_cache *cache, const char *name, uint16_t type,
		  const uint8_t *wire, size_t len, uint32_t ttl, time_t now);
/* DNSCACHE_REPLY sets *wire (malloc'd) and *len */
enum dnscache_hit dnscache_get(struct dns_cache *cache, const char *name, uint16_t type,
		 uint8_t **wire, size_t *len, time_t now);
size_t dnscache_count(struct dns_cache *cache);
/* the cache's clock: time(NULL) unless a test set its own */
void dnscache_set_clock(struct dns_cache *cache, time_t (*clock)(void));
time_t dnscache_now(const struct dns_cache *cache);

#endif
