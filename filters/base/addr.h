/*
 * addr.h — IP addresses and prefixes as every part of jgw uses them: the
 * configuration's lists, the firewall's sets, quarantine entries, the
 * relay's per-source counts, and the one way an address is written in a
 * log line, an audit record or a control answer.
 */
#ifndef JGW_ADDR_H
#define JGW_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct addr_prefix {
	int family;                  /* AF_INET or AF_INET6; 0: none */
	uint8_t addr[16];
	uint8_t len;                 /* prefix length; 32 or 128: one host */
};

/* "192.0.2.1", "2001:db8::/32"; host bits beyond the length are refused. */
bool addr_prefix_parse(const char *s, struct addr_prefix *out);
/* "192.0.2.1" for a host, "192.0.2.0/24" for a network; "?" when p is not
 * an address. Truncated to len, never overrun. Returns buf. */
const char *addr_prefix_str(const struct addr_prefix *p, char *buf, size_t len);
/* The host of a socket address; IPv4-mapped IPv6 is taken as IPv4. */
bool addr_from_sockaddr(const struct sockaddr *sa, struct addr_prefix *out);
/* Does net (any length) contain host (same family)? */
bool addr_contains(const struct addr_prefix *net, const struct addr_prefix *host);
/* Address bytes of a family: 4, 16, or 0 when it is neither. */
size_t addr_bytes(int family);

/* An endpoint as written everywhere: "192.0.2.1:7443", "[2001:db8::1]:7443";
 * "-" for a socket address of another family. Returns buf. */
const char *addr_endpoint_str(int family, const uint8_t *addr, uint16_t port,
			      char *buf, size_t len);
const char *addr_sockaddr_str(const struct sockaddr *sa, char *buf, size_t len);
/* The port of an IPv4 or IPv6 socket address, 0 for another family. */
uint16_t addr_sockaddr_port(const struct sockaddr *sa);

#endif
