// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* CIDRs, address sets, protocol and ICMP type names. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "policy.h"

static int addr_bits(uint8_t family)
{
	return family == WARD_FAM_V4 ? 32 : family == WARD_FAM_V6 ? 128 : 0;
}

int cidr__parse(const char *s, struct cidr *ret, const char **why)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	long len;
	char *end;
	int bits;

	memset(ret, 0, sizeof(*ret));
	if (alen == 0 || alen >= INET6_ADDRSTRLEN) {
		*why = "not an IPv4 or IPv6 CIDR";
		return -EINVAL;
	}
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, ret->addr) == 1) {
		ret->family = WARD_FAM_V4;
	} else if (inet_pton(AF_INET6, buf, ret->addr) == 1) {
		ret->family = WARD_FAM_V6;
	} else {
		*why = "not an IPv4 or IPv6 CIDR";
		return -EINVAL;
	}
	bits = addr_bits(ret->family);
	if (!slash) {
		ret->len = bits;
		return 0;
	}
	errno = 0;
	len = strtol(slash + 1, &end, 10);
	if (slash[1] < '0' || slash[1] > '9' || *end || errno || len < 0 || len > bits) {
		*why = ret->family == WARD_FAM_V4 ? "prefix length must be 0-32"
						  : "prefix length must be 0-128";
		return -EINVAL;
	}
	ret->len = len;
	for (int i = len; i < bits; i++) {
		if (ret->addr[i / 8] & (0x80 >> (i % 8))) {
			*why = "host bits set (address is not the first of its prefix)";
			return -EINVAL;
		}
	}
	return 0;
}

/* Is the first len bits of a equal to those of b? */
static bool prefix_eq(const uint8_t *a, const uint8_t *b, int len)
{
	int full = len / 8, rest = len % 8;

	if (memcmp(a, b, full))
		return false;
	if (!rest)
		return true;
	return ((a[full] ^ b[full]) & (0xff << (8 - rest))) == 0;
}

bool cidr__contains(const struct cidr *outer, const struct cidr *inner)
{
	if (outer->family == WARD_FAM_ANY)
		return true;
	if (outer->family != inner->family || outer->len > inner->len)
		return false;
	return prefix_eq(outer->addr, inner->addr, outer->len);
}

static bool cidr_has_addr(const struct cidr *c, uint8_t family, const uint8_t *addr)
{
	if (c->family == WARD_FAM_ANY)
		return true;
	return c->family == family && prefix_eq(c->addr, addr, c->len);
}

bool addrset__contains(const struct addrset *s, uint8_t family, const uint8_t *addr)
{
	bool in = false;

	for (size_t i = 0; i < s->nincl && !in; i++)
		in = cidr_has_addr(&s->incl[i], family, addr);
	for (size_t i = 0; i < s->nexcl && in; i++)
		in = !cidr_has_addr(&s->excl[i], family, addr);
	return in;
}

static const struct {
	const char *name;
	int proto;
} protos[] = {
	{ "tcp", IPPROTO_TCP },   { "udp", IPPROTO_UDP },
	{ "icmp", IPPROTO_ICMP }, { "icmpv6", IPPROTO_ICMPV6 },
	{ "any", -1 },
};

int proto__from_name(const char *s)
{
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (!strcmp(s, protos[i].name))
			return protos[i].proto;
	return -2;
}

const char *proto__name(int proto)
{
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (protos[i].proto == proto)
			return protos[i].name;
	return NULL;
}

static const struct {
	const char *name;
	uint8_t type;
	bool v6;
} icmp_names[] = {
	{ "echo-reply", 0, false },
	{ "destination-unreachable", 3, false },
	{ "redirect", 5, false },
	{ "echo-request", 8, false },
	{ "router-advertisement", 9, false },
	{ "router-solicitation", 10, false },
	{ "time-exceeded", 11, false },
	{ "parameter-problem", 12, false },
	{ "timestamp-request", 13, false },
	{ "timestamp-reply", 14, false },
	{ "destination-unreachable", 1, true },
	{ "packet-too-big", 2, true },
	{ "time-exceeded", 3, true },
	{ "parameter-problem", 4, true },
	{ "echo-request", 128, true },
	{ "echo-reply", 129, true },
	{ "router-solicitation", 133, true },
	{ "router-advertisement", 134, true },
	{ "neighbor-solicitation", 135, true },
	{ "neighbor-advertisement", 136, true },
};

int icmp_type__from_name(const char *s, bool v6)
{
	for (size_t i = 0; i < sizeof(icmp_names) / sizeof(icmp_names[0]); i++)
		if (icmp_names[i].v6 == v6 && !strcmp(s, icmp_names[i].name))
			return icmp_names[i].type;
	return -1;
}
