/*
 * pcapw.h — write pcap and pcapng files of TCP segments for the replay
 * corpus, the unit tests, the fuzz seeds and the benchmark. Links:
 * Ethernet (optionally one or two VLAN tags), Linux cooked v1 and v2, raw
 * IP; IPv4 and IPv6. Output is deterministic: the caller gives every
 * timestamp, and nothing else varies.
 */
#ifndef JGW_TESTS_PCAPW_H
#define JGW_TESTS_PCAPW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pw_format { PW_PCAP, PW_PCAPNG };
enum pw_link { PW_ETH, PW_SLL, PW_SLL2, PW_RAW };

struct pw_ep {
	int family;              /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint16_t port;
};

struct pw_seg {
	const struct pw_ep *src, *dst;
	uint32_t seq, ack;
	uint8_t flags;           /* PKT_TCP_* values: FIN 1 SYN 2 RST 4 PSH 8 ACK 16 */
	const uint8_t *payload;
	size_t len;
	uint16_t vlan[2];        /* Ethernet only: outer first */
	unsigned n_vlan;         /* 0, 1 (802.1Q) or 2 (802.1ad + 802.1Q) */
};

struct pw_file;

/* Parse "10.0.0.1" or "fd00::1" into ep (port set separately). */
bool pw_ep_set(struct pw_ep *ep, const char *addr, uint16_t port);

/* Build one packet of link `link` into out (cap bytes); returns its length, 0 if it does not fit. */
size_t pw_build(enum pw_link link, const struct pw_seg *seg, uint8_t *out, size_t cap);

/* snaplen 0: 262144. Captured bytes are cut at snaplen like tcpdump -s. */
struct pw_file *pw_open(const char *path, enum pw_format format, enum pw_link link,
			uint32_t snaplen);
bool pw_write(struct pw_file *f, uint64_t ts_us, const uint8_t *pkt, size_t len);
bool pw_segment(struct pw_file *f, uint64_t ts_us, const struct pw_seg *seg);
enum pw_link pw_link_of(const struct pw_file *f);
/* Flushes and closes; false if any write failed. */
bool pw_close(struct pw_file *f);

#endif
