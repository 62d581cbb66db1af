/* addr.c — addresses, prefixes and how they are written. */
#include "filters/base/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

size_t addr_bytes(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

bool addr_prefix_parse(const char *s, struct addr_prefix *out)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash;
	size_t alen;
	struct addr_prefix p;
	int maxlen;

	if (!s || !out)
		return false;
	memset(&p, 0, sizeof p);
	slash = strchr(s, '/');
	alen = slash ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= INET6_ADDRSTRLEN)
		return false;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, p.addr) == 1)
		p.family = AF_INET;
	else if (inet_pton(AF_INET6, buf, p.addr) == 1)
		p.family = AF_INET6;
	else
		return false;
	maxlen = (int)addr_bytes(p.family) * 8;
	p.len = (uint8_t)maxlen;
	if (slash) {
		const char *d = slash + 1;
		unsigned v = 0;

		if (*d == '\0' || strlen(d) > 3)
			return false;
		for (; *d; d++) {
			if (*d < '0' || *d > '9')
				return false;
			v = v * 10 + (unsigned)(*d - '0');
		}
		if (v > (unsigned)maxlen)
			return false;
		p.len = (uint8_t)v;
	}
	/* Host bits set means the writer meant something else: refuse. */
	for (int bit = p.len; bit < maxlen; bit++)
		if (p.addr[bit / 8] & (0x80 >> (bit % 8)))
			return false;
	*out = p;
	return true;
}

const char *addr_prefix_str(const struct addr_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	int maxlen;

	if (!buf || len == 0)
		return "";
	if (!p || (maxlen = (int)addr_bytes(p->family) * 8) == 0 ||
	    !inet_ntop(p->family, p->addr, a, sizeof a)) {
		snprintf(buf, len, "?");
		return buf;
	}
	if (p->len >= maxlen)
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, "%s/%u", a, p->len);
	return buf;
}

bool addr_from_sockaddr(const struct sockaddr *sa, struct addr_prefix *out)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (!sa || !out)
		return false;
	memset(out, 0, sizeof *out);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

		out->family = AF_INET;
		memcpy(out->addr, &in->sin_addr, 4);
		out->len = 32;
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;

		if (memcmp(in6->sin6_addr.s6_addr, mapped, 12) == 0) {
			out->family = AF_INET;
			memcpy(out->addr, in6->sin6_addr.s6_addr + 12, 4);
			out->len = 32;
		} else {
			out->family = AF_INET6;
			memcpy(out->addr, in6->sin6_addr.s6_addr, 16);
			out->len = 128;
		}
		return true;
	}
	return false;
}

bool addr_contains(const struct addr_prefix *net, const struct addr_prefix *host)
{
	unsigned full = net->len / 8, rest = net->len % 8;

	if (net->family != host->family || !net->family)
		return false;
	if (memcmp(net->addr, host->addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (net->addr[full] & mask) == (host->addr[full] & mask);
}

const char *addr_endpoint_str(int family, const uint8_t *addr, uint16_t port,
			      char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (!buf || len == 0)
		return "";
	if (!addr_bytes(family) || !inet_ntop(family, addr, a, sizeof(a))) {
		snprintf(buf, len, "-");
		return buf;
	}
	snprintf(buf, len, family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, (unsigned)port);
	return buf;
}

uint16_t addr_sockaddr_port(const struct sockaddr *sa)
{
	if (sa && sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port);
	if (sa && sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
	return 0;
}

const char *addr_sockaddr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	if (sa && sa->sa_family == AF_INET)
		return addr_endpoint_str(AF_INET,
			(const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr,
			addr_sockaddr_port(sa), buf, len);
	if (sa && sa->sa_family == AF_INET6)
		return addr_endpoint_str(AF_INET6,
			((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr,
			addr_sockaddr_port(sa), buf, len);
	return addr_endpoint_str(0, NULL, 0, buf, len);
}
