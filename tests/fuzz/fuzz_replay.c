/*
 * fuzz_replay.c — libFuzzer target for jgw-replay's packet decoder and TCP
 * reassembly. The input is a capture file (pcap or pcapng, read by libpcap
 * from memory), so the seeds are the replay corpus itself. Bounds are tight
 * so that every limit path runs; the callbacks check the promises of
 * reasm.h (bytes in order, no repeat, nothing after a gap or a close, one
 * unverified report per direction at most, flow ids without holes) and,
 * like jgw-replay, charge state of their own to the total bound and refuse
 * some flows.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "filters/replay/pkt.h"
#include "filters/replay/reasm.h"

#define USER_STATE 200   /* bytes charged per flow, as jgw-replay charges its own */

struct fuzz {
	struct reasm *r;
	unsigned opens;
	uint64_t last_id;
};

struct fflow {
	uint64_t next[2];
	int broken[2];
	int unverified[2];
	int closed;
};

static void *f_open(void *arg, const struct reasm_flow_info *info)
{
	struct fuzz *z = arg;
	struct fflow *f;

	if (info->family != 2 && info->family != 10)
		abort();
	if (info->id != z->last_id + 1)
		abort();                        /* ids in order, a refused one reused */
	if (++z->opens % 7 == 0 || !reasm_charge(z->r, USER_STATE))
		return NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		abort();
	z->last_id = info->id;
	return f;
}

static void f_data(void *arg, void *flow, int side, uint64_t off, const uint8_t *d, size_t n)
{
	struct fflow *f = flow;
	volatile uint8_t sink = 0;

	(void)arg;
	if (!f || f->closed || f->broken[side] || off != f->next[side] || n == 0)
		abort();
	for (size_t i = 0; i < n; i++)   /* every delivered byte must be readable */
		sink ^= d[i];
	(void)sink;
	f->next[side] += n;
}

static void f_event(void *arg, void *flow, int side, enum reasm_event ev, uint64_t off)
{
	struct fflow *f = flow;

	(void)arg;
	if (!f || f->closed)
		abort();
	if (ev == REASM_EV_GAP || ev == REASM_EV_OVERLAP_CONFLICT) {
		/* One end per direction; a gap is always at the next undelivered byte. */
		if (f->broken[side] || (ev == REASM_EV_GAP && off != f->next[side]))
			abort();
		f->broken[side] = 1;
	}
	if (ev == REASM_EV_UNVERIFIED) {
		/* Once per direction, about bytes already delivered (or before
		 * the start), never after the direction broke. */
		if (f->unverified[side] || f->broken[side] || off > f->next[side])
			abort();
		f->unverified[side] = 1;
	}
}

static void f_close(void *arg, void *flow, enum reasm_close why)
{
	struct fuzz *z = arg;

	(void)why;
	if (!flow)
		abort();
	reasm_uncharge(z->r, USER_STATE);
	free(flow);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct reasm_ops ops = { f_open, f_data, f_event, f_close };
	struct reasm_limits lim = { .flow_bytes = 4096, .total_bytes = 65536, .history = 512,
				    .max_flows = 8 };
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *pkt;
	struct fuzz z = { 0 };
	struct reasm_stats st;
	FILE *fp;
	pcap_t *pc;
	int linktype;

	if (size < 24)
		return 0;
	/* The last byte picks a tighter total bound, so that flows, histories
	 * and pieces are refused in every order. */
	lim.total_bytes >>= data[size - 1] & 7;
	fp = fmemopen((void *)data, size, "rb");
	if (!fp)
		return 0;
	pc = pcap_fopen_offline(fp, errbuf);   /* owns fp from here on success */
	if (!pc) {
		fclose(fp);
		return 0;
	}
	linktype = pcap_datalink(pc);
	z.r = reasm_new(&lim, &ops, &z);
	if (!z.r)
		abort();
	while (pcap_next_ex(pc, &h, &pkt) == 1) {
		struct pkt_tcp seg;

		if (pkt_decode(linktype, pkt, h->caplen, &seg, NULL) != PKT_OK)
			continue;
		if (seg.payload_len > seg.wire_len || (seg.payload_len && !seg.payload))
			abort();
		if (seg.payload_len && (seg.payload < pkt || seg.payload + seg.payload_len > pkt + h->caplen))
			abort();
		reasm_packet(z.r, &seg);
		reasm_get_stats(z.r, &st);
		if (st.held_bytes > lim.total_bytes)
			abort();
	}
	reasm_finish(z.r);
	reasm_get_stats(z.r, &st);
	if (st.held_bytes != 0 || st.held_peak > lim.total_bytes)
		abort();
	reasm_free(z.r);
	pcap_close(pc);
	return 0;
}
