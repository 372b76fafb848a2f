/*
 * ipaddr - parse, compare under a prefix, and print client addresses.
 */
#include "ipaddr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

static const uint8_t v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* ipaddr_parse - IPv4 or IPv6 text; IPv4-mapped IPv6 becomes IPv4 */
bool
ipaddr_parse(const char *text, struct ipaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (strncasecmp(text, "IPv6:", 5) == 0)	/* Sendmail's {client_addr} form */
		text += 5;
	if (inet_pton(AF_INET, text, out->bytes) == 1) {
		out->family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, text, out->bytes) != 1)
		return false;
	out->family = AF_INET6;
	if (memcmp(out->bytes, v4_mapped_prefix, sizeof(v4_mapped_prefix)) == 0) {
		memmove(out->bytes, out->bytes + 12, 4);
		memset(out->bytes + 4, 0, 12);
		out->family = AF_INET;
	}
	return true;
}

/* ipaddr_parse_net - "addr" or "addr/prefix", IPv4 or IPv6 */
bool
ipaddr_parse_net(const char *text, struct ipnet *out)
{
	char addr[IPADDR_TEXT_MAX + 8];
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : strlen(text);

	if (n == 0 || n >= sizeof(addr))
		return false;
	memcpy(addr, text, n);
	addr[n] = '\0';
	if (!ipaddr_parse(addr, &out->addr))
		return false;
	unsigned max = out->addr.family == AF_INET ? 32 : 128;
	out->prefix = max;
	if (slash) {
		char *end;
		unsigned long p = strtoul(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end != '\0' || p > max)
			return false;
		out->prefix = (unsigned)p;
	}
	return true;
}

/* ipaddr_in_nets - is a inside any of the networks? */
bool
ipaddr_in_nets(const struct ipaddr *a, const struct ipnet *nets, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ipaddr_match(a, &nets[i].addr, nets[i].prefix))
			return true;
	return false;
}

/* ipaddr_parse_ip4_strict - RFC 7208 ip4-network: four qnums, no leading zeros */
bool
ipaddr_parse_ip4_strict(const char *text, size_t len, struct ipaddr *out)
{
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	for (int part = 0; part < 4; part++) {
		unsigned v = 0, digits = 0;
		if (part > 0) {
			if (i >= len || text[i] != '.')
				return false;
			i++;
		}
		while (i < len && isdigit((unsigned char)text[i]) && digits < 4) {
			if (digits == 1 && v == 0)
				return false;	/* leading zero */
			v = v * 10 + (unsigned)(text[i] - '0');
			digits++;
			i++;
		}
		if (digits == 0 || v > 255)
			return false;
		out->bytes[part] = (uint8_t)v;
	}
	out->family = AF_INET;
	return i == len;
}

/* ipaddr_match - same family and the first prefix bits equal */
bool
ipaddr_match(const struct ipaddr *a, const struct ipaddr *b, unsigned prefix)
{
	unsigned full, rest;

	if (a->family != b->family)
		return false;
	full = prefix / 8;
	rest = prefix % 8;
	if (memcmp(a->bytes, b->bytes, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a->bytes[full] & mask) == (b->bytes[full] & mask);
}

/* ipaddr_format - the usual text form (RFC 5952 for IPv6) */
void
ipaddr_format(const struct ipaddr *a, char out[IPADDR_TEXT_MAX])
{
	if (inet_ntop(a->family, a->bytes, out, IPADDR_TEXT_MAX) == NULL)
		snprintf(out, IPADDR_TEXT_MAX, "?");
}

/* ipaddr_dotted - SPF's %{i}: dotted quad, or 32 dot-separated nibbles for IPv6
 * (upper case, as in RFC 7208's own examples and the test suite) */
void
ipaddr_dotted(const struct ipaddr *a, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	if (a->family == AF_INET) {
		snprintf(out, size, "%u.%u.%u.%u", a->bytes[0], a->bytes[1], a->bytes[2], a->bytes[3]);
		return;
	}
	for (int i = 0; i < 16 && o + 4 < size; i++) {
		out[o++] = hex[a->bytes[i] >> 4];
		out[o++] = '.';
		out[o++] = hex[a->bytes[i] & 15];
		out[o++] = '.';
	}
	out[o ? o - 1 : 0] = '\0';
}

/* ipaddr_reverse_name - the in-addr.arpa / ip6.arpa name for a PTR query */
void
ipaddr_reverse_name(const struct ipaddr *a, char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (a->family == AF_INET) {
		snprintf(out, size, "%u.%u.%u.%u.in-addr.arpa", a->bytes[3], a->bytes[2],
			 a->bytes[1], a->bytes[0]);
		return;
	}
	for (int i = 15; i >= 0 && o + 4 < size; i--) {
		out[o++] = hex[a->bytes[i] & 15];
		out[o++] = '.';
		out[o++] = hex[a->bytes[i] >> 4];
		out[o++] = '.';
	}
	snprintf(out + o, size - o, "ip6.arpa");
}
