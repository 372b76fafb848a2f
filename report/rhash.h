/*
 * rhash - one 64-bit FNV-1a over a list of strings, for the names that must
 * come out the same run after run: the report id, the spool file of a copy
 * (a rerun after a crash finds it by that name), and agg's grouping table.
 */
#ifndef AUTHMILTER_REPORT_RHASH_H
#define AUTHMILTER_REPORT_RHASH_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a of the strings, each followed by 0x1f (no domain or address holds
 * it), so ("ab", "c") and ("a", "bc") differ */
uint64_t rhash_parts(const char *const *parts, size_t n);

#endif
