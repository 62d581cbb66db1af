/*
 * jframe.h — build JMSG v1 frames for tests, fuzz seeds, pcap corpora, the
 * demo and the load generator. Values are synthetic (made from an index, with
 * valid check digits): never real personal data, but treated as if they were:
 * buffers are wiped on free and no tool prints them.
 */
#ifndef JGW_JFRAME_H
#define JGW_JFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jf_buf {
	uint8_t *data;
	size_t len, cap;
};

void jf_init(struct jf_buf *b);
void jf_free(struct jf_buf *b);                 /* wipes */
void jf_reset(struct jf_buf *b);                /* wipes, keeps capacity */
void jf_bytes(struct jf_buf *b, const void *p, size_t n);

/* One TLV field; containers: begin returns a mark that end closes. */
void jf_tlv(struct jf_buf *b, uint16_t tag, const void *value, size_t len);
void jf_tlv_str(struct jf_buf *b, uint16_t tag, const char *value);
size_t jf_container_begin(struct jf_buf *b, uint16_t tag);
void jf_container_end(struct jf_buf *b, size_t mark);

/* Synthetic values with valid check digits, made from an index. */
void jf_resident_code(uint64_t index, char out[12]);
void jf_individual_number(uint64_t index, char out[13]);

/* Bodies of the catalog's shapes (docs/catalog.md), valid, for a municipality
 * lgcode: R and F batches of n records, T, Q, G, N, D (doc_len bytes, at
 * most 65535: a TLV length is 16 bits; 0 leaves the document out), A
 * (result 0 = accepted; any other result adds a detail text). */
void jf_body_R(struct jf_buf *b, unsigned n, uint64_t index, const char *lgcode);
void jf_body_F(struct jf_buf *b, unsigned n, uint64_t index, const char *lgcode);
void jf_body_T(struct jf_buf *b, uint64_t index, const char *lgcode);
void jf_body_Q(struct jf_buf *b, uint64_t index, const char *lgcode);
void jf_body_G(struct jf_buf *b, uint64_t index, const char *lgcode);
void jf_body_N(struct jf_buf *b, uint64_t index);
void jf_body_D(struct jf_buf *b, size_t doc_len);
void jf_body_A(struct jf_buf *b, uint16_t result);

struct jf_hdr {
	uint8_t flags;
	uint16_t type;
	uint16_t reserved;
	uint64_t seq, ref;
	int64_t time_ms;
	const char *sender, *receiver;   /* 6 characters each */
	uint8_t magic0, magic1, version; /* 0: the correct value */
	int64_t body_len_override;       /* >= 0: header claims this length */
};

/* Append a frame (header + body) to out. Set body_len_override to -1 for
 * the real length (0 would claim an empty body). A NULL sender/receiver
 * is written as six spaces. */
void jf_frame(struct jf_buf *out, const struct jf_hdr *h, const uint8_t *body, size_t body_len);

#endif
