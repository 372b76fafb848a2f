/*
 * rhash - FNV-1a (64 bits) over strings; see rhash.h.
 */
#include "rhash.h"

#define FNV_OFFSET 14695981039346656037ULL
#define FNV_PRIME 1099511628211ULL

/* rhash_parts - the strings and a separator after each */
uint64_t
rhash_parts(const char *const *parts, size_t n)
{
	uint64_t h = FNV_OFFSET;

	for (size_t i = 0; i < n; i++) {
		for (const char *s = parts[i]; *s; s++)
			h = (h ^ (unsigned char)*s) * FNV_PRIME;
		h = (h ^ 0x1fU) * FNV_PRIME;
	}
	return h;
}
