/*
 * fuzz_replay.c — libFuzzer target for jgw-replay's packet decoder and TCP
 * reassembly. The input is a capture file (pcap or pcapng, read by libpcap
 * from memory), so the seeds are the replay corpus itself. Bounds are tight
 * so that every limit path runs; the callbacks check the promises of
 * reasm.h (bytes in order, no repeat, nothing after a gap or a close).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "filters/replay/pkt.h"
#include "filters/replay/reasm.h"

struct fflow {
	uint64_t next[2];
	int broken[2];
	int closed;
};

static void *f_open(void *arg, const struct reasm_flow_info *info)
{
	(void)arg;
	if (info->family != 2 && info->family != 10)
		abort();
	return calloc(1, sizeof(struct fflow));
}

static void f_data(void *arg, void *flow, int side, uint64_t off, const uint8_t *d, size_t n)
{
	struct fflow *f = flow;
	volatile uint8_t sink = 0;

	(void)arg;
	if (!f)
		return;
	if (f->closed || f->broken[side] || off != f->next[side] || n == 0)
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
	if (!f)
		return;
	if (f->closed)
		abort();
	if (ev == REASM_EV_GAP || ev == REASM_EV_OVERLAP_CONFLICT) {
		/* One end per direction; a gap is always at the next undelivered byte. */
		if (f->broken[side] || (ev == REASM_EV_GAP && off != f->next[side]))
			abort();
		f->broken[side] = 1;
	}
}

static void f_close(void *arg, void *flow, enum reasm_close why)
{
	(void)arg;
	(void)why;
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
	struct reasm *r;
	struct reasm_stats st;
	FILE *fp;
	pcap_t *pc;
	int linktype;

	if (size < 24)
		return 0;
	fp = fmemopen((void *)data, size, "rb");
	if (!fp)
		return 0;
	pc = pcap_fopen_offline(fp, errbuf);   /* owns fp from here on success */
	if (!pc) {
		fclose(fp);
		return 0;
	}
	linktype = pcap_datalink(pc);
	r = reasm_new(&lim, &ops, NULL);
	if (!r)
		abort();
	while (pcap_next_ex(pc, &h, &pkt) == 1) {
		struct pkt_tcp seg;

		if (pkt_decode(linktype, pkt, h->caplen, &seg, NULL) != PKT_OK)
			continue;
		if (seg.payload_len > seg.wire_len || (seg.payload_len && !seg.payload))
			abort();
		if (seg.payload_len && (seg.payload < pkt || seg.payload + seg.payload_len > pkt + h->caplen))
			abort();
		reasm_packet(r, &seg);
	}
	reasm_finish(r);
	reasm_get_stats(r, &st);
	if (st.held_bytes != 0 || st.held_peak > lim.total_bytes)
		abort();
	reasm_free(r);
	pcap_close(pc);
	return 0;
}
