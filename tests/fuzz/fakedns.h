/*
 * fakedns - a struct dns for the fuzz harnesses that never touches the
 * network: no nameservers, and answers planted in lib/dnscache beforehand,
 * so every planted (name, type) is a cache hit and everything else is an
 * immediate temporary failure ("no nameserver").
 */
#ifndef AUTHMILTER_FUZZ_FAKEDNS_H
#define AUTHMILTER_FUZZ_FAKEDNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dns.h"

void fakedns_init(struct dns *dns);
void fakedns_reset(struct dns *dns);
/* a NOERROR reply holding one TXT record (split into 255-byte strings) */
bool fakedns_txt_wire(const char *name, const void *txt, size_t len, uint8_t **wire,
		      size_t *wire_len);
void fakedns_put_txt(struct dns *dns, const char *name, const void *txt, size_t len);
/* a raw wire-format reply, stored as is */
void fakedns_put_wire(struct dns *dns, const char *name, uint16_t type, const uint8_t *wire,
		      size_t len);

#endif
