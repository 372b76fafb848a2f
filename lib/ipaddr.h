/*
 * ipaddr - client IP addresses as SPF sees them.
 *
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are IPv4 (RFC 7208 section 5),
 * so parsing folds them to AF_INET once and nothing downstream has to care.
 */
#ifndef AUTHMILTER_IPADDR_H
#define AUTHMILTER_IPADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IPADDR_TEXT_MAX 46

struct ipaddr {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t bytes[16];	/* network order; 4 used for AF_INET */
};

struct ipnet {
	struct ipaddr addr;
	unsigned prefix;
};

bool ipaddr_parse(const char *text, struct ipaddr *out);
bool ipaddr_parse_net(const char *text, struct ipnet *out);
bool ipaddr_in_nets(const struct ipaddr *a, const struct ipnet *nets, size_t n);
bool ipaddr_parse_ip4_strict(const char *text, size_t len, struct ipaddr *out);
bool ipaddr_match(const struct ipaddr *a, const struct ipaddr *b, unsigned prefix);
void ipaddr_format(const struct ipaddr *a, char out[IPADDR_TEXT_MAX]);
void ipaddr_reverse_name(const struct ipaddr *a, char *out, size_t size);
void ipaddr_dotted(const struct ipaddr *a, char *out, size_t size);

#endif
