/*
 * mkcorpus — make the jgw-replay pcap corpus (tests/pcap/cases/) from
 * scenarios, deterministically: the same program writes the same bytes.
 *
 *   mkcorpus DIR          writes DIR/<case>/<case>.pcap (or .pcapng)
 *   mkcorpus -b FILE MB   writes a large capture for the benchmark
 *
 * Each case is traffic seen by the 千代田区 gateway (131016, netplan.md
 * addresses). The expect files beside the pcaps are written by hand from
 * docs/protocol.md and docs/catalog.md; this tool never writes them. Field values are
 * synthetic (tests/lib/jframe.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "filters/engine/jmsg.h"
#include "tests/lib/jframe.h"
#include "tests/pcap/pcapw.h"

#define FL_FIN 0x01
#define FL_SYN 0x02
#define FL_RST 0x04
#define FL_PSH 0x08
#define FL_ACK 0x10

/* 2026-11-22T00:00:00Z: every capture starts here; 1 ms per packet. */
#define BASE_US 1795305600000000ULL

#define SITE   "131016"   /* 千代田区 */
#define CHUO   "131024"
#define TOKYO  "130001"
#define JLIS   "000000"
#define OSAKA_M "271004"
#define OSAKA_P "270008"

#define T_ACK      0x0001
#define T_KEEP     0x0003
#define T_HONNIN   0x0101
#define T_TENSHUTSU 0x0103
#define T_TENNYU   0x0110
#define T_KOIKI    0x0112
#define T_KOIKI_K  0x0113
#define T_FUHYO    0x0201

static uint64_t now_us;
static bool failed;

struct conv {
	struct pw_file *pf;
	struct pw_ep ep[2];          /* 0 client, 1 server */
	uint32_t next[2];            /* next sequence number per side */
	uint64_t fseq[2];            /* next JMSG seq per side */
	uint16_t vlan[2];
	unsigned n_vlan;
};

static int64_t now_ms(void)
{
	return (int64_t)(now_us / 1000);
}

static void packet(struct conv *cv, int side, uint8_t flags, uint32_t seq,
		   const uint8_t *d, size_t n, bool advance_clock)
{
	struct pw_seg s = {
		.src = &cv->ep[side], .dst = &cv->ep[!side], .seq = seq,
		.ack = (flags & FL_ACK) ? cv->next[!side] : 0, .flags = flags,
		.payload = d, .len = n, .vlan = {cv->vlan[0], cv->vlan[1]}, .n_vlan = cv->n_vlan,
	};

	if (!pw_segment(cv->pf, now_us, &s))
		failed = true;
	if (advance_clock)
		now_us += 1000;
}

static void conv_init(struct conv *cv, struct pw_file *pf, const char *caddr, uint16_t cport,
		      const char *saddr, uint16_t sport)
{
	memset(cv, 0, sizeof(*cv));
	cv->pf = pf;
	if (!pw_ep_set(&cv->ep[0], caddr, cport) || !pw_ep_set(&cv->ep[1], saddr, sport))
		failed = true;
	/* Initial sequence numbers from the ports: stable, and one near the wrap. */
	cv->next[0] = 0xFFFFF800u + cport % 512u;
	cv->next[1] = 0x10000000u * (sport % 13) + cport;
	cv->fseq[0] = cv->fseq[1] = 1;
}

static void conv_open(struct conv *cv)
{
	packet(cv, 0, FL_SYN, cv->next[0]++, NULL, 0, true);
	packet(cv, 1, FL_SYN | FL_ACK, cv->next[1]++, NULL, 0, true);
	packet(cv, 0, FL_ACK, cv->next[0], NULL, 0, true);
}

static void conv_close(struct conv *cv)
{
	packet(cv, 0, FL_FIN | FL_ACK, cv->next[0]++, NULL, 0, true);
	packet(cv, 1, FL_FIN | FL_ACK, cv->next[1]++, NULL, 0, true);
	packet(cv, 0, FL_ACK, cv->next[0], NULL, 0, true);
}

/* Send n bytes from side, cut into segments of sizes[] (cycled; 0 ends the
 * list; NULL: 1448-byte segments). */
static void send_bytes(struct conv *cv, int side, const uint8_t *d, size_t n, const size_t *sizes)
{
	size_t i = 0;

	while (n) {
		size_t len = sizes ? sizes[i] : 1448;

		if (sizes && !sizes[++i])
			i = 0;
		if (len > n)
			len = n;
		packet(cv, side, FL_ACK | FL_PSH, cv->next[side], d, len, true);
		cv->next[side] += (uint32_t)len;
		d += len;
		n -= len;
	}
}

/* A valid frame of `type` from side, with the conversation's next seq. */
static void frame(struct conv *cv, struct jf_buf *out, int side, uint16_t type, uint64_t ref,
		  const char *snd, const char *rcv, const struct jf_buf *body)
{
	struct jf_hdr h = {
		.type = type, .seq = cv->fseq[side]++, .ref = ref, .time_ms = now_ms(),
		.sender = snd, .receiver = rcv, .body_len_override = -1,
		.flags = ref ? JMSG_FLAG_RESPONSE : 0,
	};

	jf_frame(out, &h, body ? body->data : NULL, body ? body->len : 0);
}

static void ack_frame(struct conv *cv, struct jf_buf *out, int side, uint64_t ref,
		      const char *snd, const char *rcv)
{
	struct jf_buf a;

	jf_init(&a);
	jf_body_A(&a, 0);
	frame(cv, out, side, T_ACK, ref, snd, rcv, &a);
	jf_free(&a);
}

/*
 * The standard egress exchange of the corpus, on a LAN connection: the site
 * server sends two 本人確認情報通知 (3 records, then 2) to 東京都; each is
 * acknowledged. Four frames, all allowed. (One system per connection: a
 * 附票 notice here would be system-mismatch, case system-mismatch.)
 */
static void lan_exchange(struct conv *cv, const size_t *sizes, uint64_t index)
{
	struct jf_buf body, out;

	jf_init(&body);
	jf_init(&out);
	jf_body_R(&body, 3, index, SITE);
	frame(cv, &out, 0, T_HONNIN, 0, SITE, TOKYO, &body);
	send_bytes(cv, 0, out.data, out.len, sizes);
	jf_reset(&out);
	ack_frame(cv, &out, 1, cv->fseq[0] - 1, TOKYO, SITE);
	send_bytes(cv, 1, out.data, out.len, sizes);
	jf_reset(&out);
	jf_reset(&body);
	jf_body_R(&body, 2, index + 10, SITE);
	frame(cv, &out, 0, T_HONNIN, 0, SITE, TOKYO, &body);
	send_bytes(cv, 0, out.data, out.len, sizes);
	jf_reset(&out);
	ack_frame(cv, &out, 1, cv->fseq[0] - 1, TOKYO, SITE);
	send_bytes(cv, 1, out.data, out.len, sizes);
	jf_free(&out);
	jf_free(&body);
}

static struct pw_file *case_open(const char *dir, const char *name, enum pw_format fmt,
				 enum pw_link link, uint32_t snaplen)
{
	char path[4096];
	struct pw_file *pf;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (mkdir(path, 0755) && errno != EEXIST) {
		fprintf(stderr, "mkcorpus: %s: %s\n", path, strerror(errno));
		failed = true;
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/%s/%s.%s", dir, name, name, fmt == PW_PCAP ? "pcap" : "pcapng");
	pf = pw_open(path, fmt, link, snaplen);
	if (!pf) {
		fprintf(stderr, "mkcorpus: %s: %s\n", path, strerror(errno));
		failed = true;
	}
	now_us = BASE_US;
	return pf;
}

static void case_close(struct pw_file *pf)
{
	if (!pw_close(pf))
		failed = true;
}

/* ---- cases ---- */

/* One allowed exchange on a LAN connection, on a given link and format. */
static void case_basic(const char *dir, const char *name, enum pw_format fmt, enum pw_link link,
		       unsigned n_vlan)
{
	struct pw_file *pf = case_open(dir, name, fmt, link, 0);
	struct conv cv;

	if (!pf)
		return;
	conv_init(&cv, pf, "10.16.0.10", 40001, "10.16.0.1", 7000);
	cv.n_vlan = n_vlan;
	cv.vlan[0] = 77;
	cv.vlan[1] = 16;
	conv_open(&cv);
	lan_exchange(&cv, NULL, 1);
	conv_close(&cv);
	case_close(pf);
}

/* Segments cut at odd places: inside the magic, the header, the TLVs. */
static void case_odd_segments(const char *dir)
{
	static const size_t sizes[] = { 1, 7, 47, 2, 48, 49, 13, 3, 0 };
	struct pw_file *pf = case_open(dir, "odd-segments", PW_PCAP, PW_ETH, 0);
	struct conv cv;

	if (!pf)
		return;
	conv_init(&cv, pf, "10.16.0.10", 40002, "10.16.0.1", 7000);
	conv_open(&cv);
	lan_exchange(&cv, sizes, 2);
	conv_close(&cv);
	case_close(pf);
}

/* A frame's segments: send order[i]-th chunk of size chunk; dup repeats one. */
static void send_chunks(struct conv *cv, int side, const uint8_t *d, size_t n, size_t chunk,
			const int *order, size_t n_order, const uint8_t *alt, int alt_chunk)
{
	uint32_t base = cv->next[side];

	for (size_t i = 0; i < n_order; i++) {
		size_t off = (size_t)order[i] * chunk, len;

		if (off >= n)
			continue;
		len = n - off < chunk ? n - off : chunk;
		packet(cv, side, FL_ACK | FL_PSH, base + (uint32_t)off,
		       order[i] == alt_chunk && alt ? alt : d + off, len, true);
	}
	cv->next[side] = base + (uint32_t)n;
}

static void one_frame(struct jf_buf *out, struct conv *cv, uint64_t index)
{
	struct jf_buf body;

	jf_init(&body);
	jf_body_R(&body, 4, index, SITE);
	frame(cv, out, 0, T_HONNIN, 0, SITE, TOKYO, &body);
	jf_free(&body);
}

/*
 * Out of order, retransmitted, overlapping, conflicting or missing bytes of
 * one notice (split in 100-byte chunks), then its acknowledgement.
 */
enum mangle { M_REORDER, M_RETRANSMIT, M_CONFLICT, M_GAP };

static void case_mangle(const char *dir, const char *name, enum mangle m, uint16_t port)
{
	static const int reorder[] = { 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 12, 13, 14 };
	static const int retrans[] = { 0, 1, 1, 2, 0, 3, 4, 5, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 };
	static const int gap[] = { 0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 };
	struct pw_file *pf = case_open(dir, name, PW_PCAP, PW_ETH, 0);
	struct jf_buf out;
	struct conv cv;
	uint8_t alt[100];

	if (!pf)
		return;
	jf_init(&out);
	conv_init(&cv, pf, "10.16.0.10", port, "10.16.0.1", 7000);
	conv_open(&cv);
	one_frame(&out, &cv, 3);
	switch (m) {
	case M_REORDER:
		send_chunks(&cv, 0, out.data, out.len, 100, reorder, 15, NULL, -1);
		break;
	case M_RETRANSMIT:
		send_chunks(&cv, 0, out.data, out.len, 100, retrans, 18, NULL, -1);
		break;
	case M_CONFLICT: {
		/* Chunk 2 held out of order, then a copy of it with one byte changed. */
		static const int order[] = { 0, 2, 2, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 };
		uint32_t base = cv.next[0];

		memcpy(alt, out.data + 200, 100);
		alt[10] ^= 0x20;
		packet(&cv, 0, FL_ACK | FL_PSH, base, out.data, 100, true);
		packet(&cv, 0, FL_ACK | FL_PSH, base + 200, out.data + 200, 100, true);
		packet(&cv, 0, FL_ACK | FL_PSH, base + 200, alt, 100, true);
		send_chunks(&cv, 0, out.data, out.len, 100, order + 3, 13, NULL, -1);
		explicit_bzero(alt, sizeof(alt));
		break;
	}
	case M_GAP:
		send_chunks(&cv, 0, out.data, out.len, 100, gap, 14, NULL, -1);
		break;
	}
	jf_reset(&out);
	ack_frame(&cv, &out, 1, 1, TOKYO, SITE);
	send_bytes(&cv, 1, out.data, out.len, NULL);
	conv_close(&cv);
	jf_free(&out);
	case_close(pf);
}

/* Captured with a 200-byte snaplen: the notice's segments are cut. */
static void case_snaplen(const char *dir)
{
	struct pw_file *pf = case_open(dir, "snaplen", PW_PCAP, PW_ETH, 200);
	struct jf_buf out;
	struct conv cv;

	if (!pf)
		return;
	jf_init(&out);
	conv_init(&cv, pf, "10.16.0.10", 40010, "10.16.0.1", 7000);
	conv_open(&cv);
	/* A keepalive (48 bytes) fits; the notice after it does not. */
	frame(&cv, &out, 0, T_KEEP, 0, SITE, TOKYO, NULL);
	send_bytes(&cv, 0, out.data, out.len, NULL);
	jf_reset(&out);
	one_frame(&out, &cv, 4);
	send_bytes(&cv, 0, out.data, out.len, NULL);
	conv_close(&cv);
	jf_free(&out);
	case_close(pf);
}

/* The capture starts in the middle of a connection, inside a frame. */
static void case_midstream(const char *dir)
{
	struct pw_file *pf = case_open(dir, "midstream", PW_PCAP, PW_ETH, 0);
	struct jf_buf a, b, out;
	struct conv cv;

	if (!pf)
		return;
	jf_init(&a);
	jf_init(&b);
	jf_init(&out);
	conv_init(&cv, pf, "10.16.0.10", 40011, "10.16.0.1", 7000);
	cv.fseq[0] = 7;
	cv.fseq[1] = 7;
	/* Not captured: the handshake and most of a first keepalive. */
	cv.next[0] += 1;
	cv.next[1] += 1;
	frame(&cv, &a, 0, T_KEEP, 0, SITE, TOKYO, NULL);
	cv.next[0] += 30;
	/* Captured: its last 18 bytes, then two more keepalives and a notice. */
	jf_bytes(&out, a.data + 30, 18);
	frame(&cv, &out, 0, T_KEEP, 0, SITE, TOKYO, NULL);
	frame(&cv, &out, 0, T_KEEP, 0, SITE, TOKYO, NULL);
	jf_body_R(&b, 2, 5, SITE);
	frame(&cv, &out, 0, T_HONNIN, 0, SITE, TOKYO, &b);
	send_bytes(&cv, 0, out.data, out.len, NULL);
	conv_close(&cv);
	jf_free(&a);
	jf_free(&b);
	jf_free(&out);
	case_close(pf);
}

/* Mid-connection again, but only the middle of one large frame is captured:
 * no boundary can be proven, so nothing is judged. */
static void case_midstream_unsynced(const char *dir)
{
	struct pw_file *pf = case_open(dir, "midstream-unsynced", PW_PCAP, PW_ETH, 0);
	struct jf_buf b, out;
	struct conv cv;

	if (!pf)
		return;
	jf_init(&b);
	jf_init(&out);
	conv_init(&cv, pf, "10.16.0.10", 40012, "10.16.0.1", 7000);
	jf_body_R(&b, 20, 6, SITE);
	frame(&cv, &out, 0, T_HONNIN, 0, SITE, TOKYO, &b);
	cv.next[0] += 1000;
	send_bytes(&cv, 0, out.data + 1000, 1500, NULL);
	packet(&cv, 0, FL_RST, cv.next[0], NULL, 0, true);
	jf_free(&b);
	jf_free(&out);
	case_close(pf);
}

/*
 * Several connections interleaved packet by packet: an egress exchange, an
 * ingress leg (the gateway relaying 東京都's notice to the local 住基 server),
 * and a connection with a bad magic.
 */
static void case_interleaved(const char *dir)
{
	struct pw_file *pf = case_open(dir, "interleaved", PW_PCAP, PW_ETH, 0);
	struct conv c1, c2, c3;
	struct jf_buf o1, o2, o3, body;
	size_t step = 37;

	if (!pf)
		return;
	jf_init(&o1);
	jf_init(&o2);
	jf_init(&o3);
	jf_init(&body);
	conv_init(&c1, pf, "10.16.0.10", 40020, "10.16.0.1", 7000);
	conv_init(&c2, pf, "10.16.0.1", 40021, "10.16.0.10", 7101);
	conv_init(&c3, pf, "10.16.0.10", 40022, "10.16.0.1", 7000);
	conv_open(&c1);
	conv_open(&c2);
	conv_open(&c3);
	one_frame(&o1, &c1, 6);
	/* 東京都 → 千代田区: 転出確定通知 is municipality → prefecture, so the
	 * ingress carries 広域交付 from 中央区 instead. */
	jf_body_Q(&body, 7, CHUO);
	frame(&c2, &o2, 0, T_KOIKI, 0, CHUO, SITE, &body);
	frame(&c3, &o3, 0, T_KEEP, 0, SITE, TOKYO, NULL);
	o3.data[0] = 'X';
	for (size_t off = 0; off < o1.len || off < o2.len || off < o3.len; off += step) {
		if (off < o1.len)
			send_bytes(&c1, 0, o1.data + off, o1.len - off < step ? o1.len - off : step, NULL);
		if (off < o2.len)
			send_bytes(&c2, 0, o2.data + off, o2.len - off < step ? o2.len - off : step, NULL);
		if (off < o3.len)
			send_bytes(&c3, 0, o3.data + off, o3.len - off < step ? o3.len - off : step, NULL);
	}
	jf_reset(&o1);
	jf_reset(&o2);
	ack_frame(&c1, &o1, 1, 1, TOKYO, SITE);
	jf_reset(&body);
	jf_body_D(&body, 300);
	frame(&c2, &o2, 1, T_KOIKI_K, 1, SITE, CHUO, &body);
	send_bytes(&c2, 1, o2.data, o2.len, NULL);
	send_bytes(&c1, 1, o1.data, o1.len, NULL);
	conv_close(&c2);
	conv_close(&c1);
	conv_close(&c3);
	jf_free(&o1);
	jf_free(&o2);
	jf_free(&o3);
	jf_free(&body);
	case_close(pf);
}

/* A tunnel: TLS on the WAN port is counted, not inspected. */
static void case_encrypted(const char *dir)
{
	static const uint8_t hello[] = { 0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x03 };
	struct pw_file *pf = case_open(dir, "encrypted", PW_PCAP, PW_ETH, 0);
	struct conv cv;

	if (!pf)
		return;
	conv_init(&cv, pf, "10.77.0.13", 40030, "10.77.0.16", 7443);
	conv_open(&cv);
	send_bytes(&cv, 0, hello, sizeof(hello), NULL);
	conv_close(&cv);
	case_close(pf);
}

/* Plain JMSG from 東京都's gateway on the WAN port, over IPv6: the peer comes
 * from the source address (peer directory). */
static void case_ipv6(const char *dir)
{
	struct pw_file *pf = case_open(dir, "ipv6", PW_PCAPNG, PW_ETH, 0);
	struct jf_buf out, body;
	struct conv cv;

	if (!pf)
		return;
	jf_init(&out);
	jf_init(&body);
	conv_init(&cv, pf, "fd00:77::13", 40040, "fd00:77::16", 7443);
	conv_open(&cv);
	frame(&cv, &out, 0, T_KEEP, 0, TOKYO, SITE, NULL);
	send_bytes(&cv, 0, out.data, out.len, NULL);
	jf_reset(&out);
	ack_frame(&cv, &out, 1, 1, SITE, TOKYO);
	send_bytes(&cv, 1, out.data, out.len, NULL);
	jf_reset(&out);
	/* Then a frame claiming to come from 中央区: not the peer. */
	frame(&cv, &out, 0, T_KEEP, 0, CHUO, SITE, NULL);
	send_bytes(&cv, 0, out.data, out.len, NULL);
	conv_close(&cv);
	jf_free(&out);
	jf_free(&body);
	case_close(pf);
}

/*
 * One system per connection, whichever side sends: a 住基 notice after a
 * keepalive, a 附票 notice and its ack (flow 1); a 住基 answer to a 附票
 * notice (flow 2); 中央区's 転入通知 relayed to the local 附票 server, where
 * the live gateway never sends a 住基 frame (flow 3).
 */
static void case_system_mismatch(const char *dir)
{
	struct pw_file *pf = case_open(dir, "system-mismatch", PW_PCAP, PW_ETH, 0);
	struct jf_buf body, out;
	struct conv cv;

	if (!pf)
		return;
	jf_init(&body);
	jf_init(&out);
	conv_init(&cv, pf, "10.16.0.10", 40060, "10.16.0.1", 7000);
	conv_open(&cv);
	frame(&cv, &out, 0, T_KEEP, 0, SITE, TOKYO, NULL);
	jf_body_F(&body, 2, 60, SITE);
	frame(&cv, &out, 0, T_FUHYO, 0, SITE, TOKYO, &body);
	send_bytes(&cv, 0, out.data, out.len, NULL);
	jf_reset(&out);
	ack_frame(&cv, &out, 1, 1, TOKYO, SITE);
	ack_frame(&cv, &out, 1, 2, TOKYO, SITE);
	send_bytes(&cv, 1, out.data, out.len, NULL);
	jf_reset(&out);
	jf_reset(&body);
	jf_body_T(&body, 61, SITE);
	frame(&cv, &out, 0, T_TENSHUTSU, 0, SITE, TOKYO, &body);
	send_bytes(&cv, 0, out.data, out.len, NULL);
	conv_close(&cv);

	jf_reset(&out);
	jf_reset(&body);
	conv_init(&cv, pf, "10.16.0.10", 40061, "10.16.0.1", 7000);
	conv_open(&cv);
	jf_body_F(&body, 1, 62, SITE);
	frame(&cv, &out, 0, T_FUHYO, 0, SITE, TOKYO, &body);
	send_bytes(&cv, 0, out.data, out.len, NULL);
	jf_reset(&out);
	jf_reset(&body);
	jf_body_D(&body, 100);
	frame(&cv, &out, 1, T_KOIKI_K, 1, TOKYO, SITE, &body);
	send_bytes(&cv, 1, out.data, out.len, NULL);
	conv_close(&cv);

	jf_reset(&out);
	jf_reset(&body);
	conv_init(&cv, pf, "10.16.0.1", 40062, "10.16.0.10", 7201);
	conv_open(&cv);
	jf_body_T(&body, 63, CHUO);
	frame(&cv, &out, 0, T_TENNYU, 0, CHUO, SITE, &body);
	send_bytes(&cv, 0, out.data, out.len, NULL);
	conv_close(&cv);
	jf_free(&body);
	jf_free(&out);
	case_close(pf);
}

/* The capture stops in the middle of a frame, the connection still open. */
static void case_open_at_end(const char *dir)
{
	struct pw_file *pf = case_open(dir, "open-at-end", PW_PCAP, PW_ETH, 0);
	struct jf_buf out;
	struct conv cv;

	if (!pf)
		return;
	jf_init(&out);
	conv_init(&cv, pf, "10.16.0.10", 40063, "10.16.0.1", 7000);
	conv_open(&cv);
	frame(&cv, &out, 0, T_KEEP, 0, SITE, TOKYO, NULL);
	send_bytes(&cv, 0, out.data, out.len, NULL);
	jf_reset(&out);
	one_frame(&out, &cv, 64);
	send_bytes(&cv, 0, out.data, 100, NULL);
	jf_free(&out);
	case_close(pf);
}

/*
 * A notice larger than the 32 KiB history, acknowledged; then its first
 * segment again, which nothing kept can be compared with.
 */
static void case_unverified_overlap(const char *dir)
{
	struct pw_file *pf = case_open(dir, "unverified-overlap", PW_PCAP, PW_ETH, 0);
	struct jf_buf body, out;
	struct conv cv;
	uint32_t start;

	if (!pf)
		return;
	jf_init(&body);
	jf_init(&out);
	conv_init(&cv, pf, "10.16.0.10", 40064, "10.16.0.1", 7000);
	conv_open(&cv);
	jf_body_R(&body, 300, 65, SITE);
	frame(&cv, &out, 0, T_HONNIN, 0, SITE, TOKYO, &body);
	start = cv.next[0];
	send_bytes(&cv, 0, out.data, out.len, NULL);
	packet(&cv, 0, FL_ACK | FL_PSH, start, out.data, 1448, true);
	jf_reset(&out);
	ack_frame(&cv, &out, 1, 1, TOKYO, SITE);
	send_bytes(&cv, 1, out.data, out.len, NULL);
	conv_close(&cv);
	jf_free(&body);
	jf_free(&out);
	case_close(pf);
}

/*
 * Mid-connection, both ways: 東京都 acknowledges a notice sent before the
 * capture began (ref 6, below the first seq seen from the CS, 7), then the
 * two notices it saw.
 */
static void case_midstream_answer(const char *dir)
{
	struct pw_file *pf = case_open(dir, "midstream-answer", PW_PCAP, PW_ETH, 0);
	struct jf_buf body, out;
	struct conv cv;

	if (!pf)
		return;
	jf_init(&body);
	jf_init(&out);
	conv_init(&cv, pf, "10.16.0.10", 40065, "10.16.0.1", 7000);
	cv.fseq[0] = 7;
	cv.fseq[1] = 5;
	cv.next[0] += 5000;
	cv.next[1] += 300;
	frame(&cv, &out, 0, T_KEEP, 0, SITE, TOKYO, NULL);
	jf_body_R(&body, 1, 66, SITE);
	frame(&cv, &out, 0, T_HONNIN, 0, SITE, TOKYO, &body);
	send_bytes(&cv, 0, out.data, out.len, NULL);
	jf_reset(&out);
	ack_frame(&cv, &out, 1, 6, TOKYO, SITE);
	ack_frame(&cv, &out, 1, 7, TOKYO, SITE);
	ack_frame(&cv, &out, 1, 8, TOKYO, SITE);
	send_bytes(&cv, 1, out.data, out.len, NULL);
	conv_close(&cv);
	jf_free(&body);
	jf_free(&out);
	case_close(pf);
}

/* The basic exchange, and a connection to a port the configuration does
 * not know (not inspected). */
static void case_unclassified(const char *dir)
{
	static const uint8_t banner[] = "SSH-2.0-test\r\n";
	struct pw_file *pf = case_open(dir, "unclassified", PW_PCAP, PW_ETH, 0);
	struct conv cv;

	if (!pf)
		return;
	conv_init(&cv, pf, "10.16.0.10", 40066, "10.16.0.1", 7000);
	conv_open(&cv);
	lan_exchange(&cv, NULL, 67);
	conv_close(&cv);
	conv_init(&cv, pf, "10.16.0.10", 40067, "10.16.0.1", 22);
	conv_open(&cv);
	send_bytes(&cv, 1, banner, sizeof(banner) - 1, NULL);
	conv_close(&cv);
	case_close(pf);
}

/* ---- one connection per deny reason (flow n = entry n of the table) ---- */

enum bad {
	B_MAGIC, B_VERSION, B_FLAGS, B_RESERVED, B_UNKNOWN_TYPE, B_DIRECTION, B_BODY_TOO_LARGE,
	B_SEQ, B_SKEW, B_SENDER, B_RECEIVER, B_SENDER_MISMATCH, B_RECEIVER_MISMATCH,
	B_PAIR, B_UNSOLICITED, B_DUPLICATE, B_TLV_TRUNCATED, B_TLV_ORDER, B_TLV_UNKNOWN,
	B_TLV_REPEAT, B_TLV_MISSING, B_TLV_TRAILING, B_BAD_VALUE, B_TRUNCATED_FRAME,
	B_UNKNOWN_PEER, B_RATE_LIMITED, B_BAD_REF, B_PEER_MISMATCH, B_SOURCE_NOT_ALLOWED,
	B_WRONG_PREFECTURE, B_SYSTEM_MISMATCH, B_COUNT
};

/* A notice of 1 record, or a 広域交付 request, broken as the case says. */
static void bad_frame(struct conv *cv, struct jf_buf *out, enum bad which)
{
	struct jf_buf body;
	char rc[12];
	struct jf_hdr h = {
		.type = T_HONNIN, .seq = cv->fseq[0]++, .time_ms = now_ms(),
		.sender = SITE, .receiver = TOKYO, .body_len_override = -1,
	};

	jf_init(&body);
	jf_body_R(&body, 1, 100 + which, SITE);
	switch (which) {
	case B_MAGIC: h.magic1 = 'Q'; break;
	case B_VERSION: h.version = 2; break;
	case B_FLAGS: h.flags = 0x04; break;
	case B_RESERVED: h.reserved = 1; break;
	case B_UNKNOWN_TYPE: h.type = 0x0999; break;
	case B_DIRECTION: h.receiver = JLIS; break;      /* 0x0101 goes to the prefecture */
	case B_BODY_TOO_LARGE: h.body_len_override = 5 << 20; break;
	case B_SKEW: h.time_ms -= 3600 * 1000; break;
	case B_BAD_REF: h.ref = 5; break;                 /* a notice answers nothing */
	case B_SENDER: h.sender = CHUO; break;            /* not served by this gateway */
	case B_RECEIVER: h.receiver = SITE; break;       /* a site does not talk to itself */
	case B_TLV_ORDER:
		/* 転入通知 (T) with the optional kana after the birth date. */
		h.type = T_TENNYU;
		h.receiver = CHUO;
		jf_reset(&body);
		jf_resident_code(200 + which, rc);
		jf_tlv_str(&body, 0x0010, rc);
		jf_tlv_str(&body, 0x0012, "試験 太郎");
		jf_tlv_str(&body, 0x0014, "19800101");
		jf_tlv_str(&body, 0x0013, "シケン タロウ");
		jf_tlv_str(&body, 0x0015, "1");
		jf_tlv_str(&body, 0x0016, "東京都千代田区試験町1-1");
		jf_tlv_str(&body, 0x0019, SITE);
		jf_tlv_str(&body, 0x001B, "20261101");
		explicit_bzero(rc, sizeof(rc));
		break;
	case B_TLV_TRUNCATED: case B_TLV_UNKNOWN: case B_TLV_REPEAT: case B_TLV_MISSING:
	case B_TLV_TRAILING: case B_BAD_VALUE: {
		/* 広域交付 (Q: 0x0010, 0x0019) to 中央区, a shape small enough to vary. */
		h.type = T_KOIKI;
		h.receiver = CHUO;
		jf_reset(&body);
		jf_resident_code(200 + which, rc);
		if (which == B_BAD_VALUE)
			rc[10] = rc[10] == '9' ? '0' : (char)(rc[10] + 1);   /* wrong check digit */
		{
			jf_tlv_str(&body, 0x0010, rc);
			if (which == B_TLV_REPEAT)
				jf_tlv_str(&body, 0x0010, rc);
			if (which == B_TLV_UNKNOWN)
				jf_tlv_str(&body, 0x0015, "1");
			if (which != B_TLV_MISSING)
				jf_tlv_str(&body, 0x0019, SITE);
			if (which == B_TLV_TRUNCATED)
				body.len -= 3;                       /* the last value is cut */
			if (which == B_TLV_TRAILING)
				jf_bytes(&body, "\x00\x20", 2);      /* half a TLV header */
		}
		explicit_bzero(rc, sizeof(rc));
		break;
	}
	default:
		break;
	}
	jf_frame(out, &h, body.data, which == B_BODY_TOO_LARGE ? 0 : body.len);
	jf_free(&body);
}

static void case_deny_reasons(const char *dir)
{
	struct pw_file *pf = case_open(dir, "deny-reasons", PW_PCAP, PW_ETH, 0);
	struct jf_buf out;

	if (!pf)
		return;
	jf_init(&out);
	for (int which = 0; which < B_COUNT; which++) {
		struct conv cv;
		uint16_t port = (uint16_t)(41000 + which);

		jf_reset(&out);
		if (which == B_PEER_MISMATCH) {
			/* An ingress leg (gateway -> local 住基 server) on which the
			 * server speaks first, to 東京都; then the gateway relays
			 * 中央区's frame: the tunnel peer is not the node the LAN
			 * side addresses. The capture clock is off the millisecond
			 * from here on, so `ts` shows its microseconds. */
			now_us += 123;
			conv_init(&cv, pf, "10.16.0.1", port, "10.16.0.10", 7101);
			conv_open(&cv);
			frame(&cv, &out, 1, T_KEEP, 0, SITE, TOKYO, NULL);
			send_bytes(&cv, 1, out.data, out.len, NULL);
			jf_reset(&out);
			frame(&cv, &out, 0, T_KEEP, 0, CHUO, SITE, NULL);
			send_bytes(&cv, 0, out.data, out.len, NULL);
			conv_close(&cv);
			continue;
		}
		if (which == B_WRONG_PREFECTURE) {
			/* An ingress leg relaying 大阪府's frame: a municipality
			 * of 東京都 has no tunnel to another prefecture. */
			conv_init(&cv, pf, "10.16.0.1", port, "10.16.0.10", 7101);
			conv_open(&cv);
			frame(&cv, &out, 0, T_KEEP, 0, OSAKA_P, SITE, NULL);
			send_bytes(&cv, 0, out.data, out.len, NULL);
			conv_close(&cv);
			continue;
		}
		if (which == B_SENDER_MISMATCH || which == B_RECEIVER_MISMATCH || which == B_UNKNOWN_PEER) {
			/* WAN side, plain: 東京都's gateway (a peer) or Osaka's (not). */
			conv_init(&cv, pf, which == B_UNKNOWN_PEER ? "10.77.0.27" : "10.77.0.13", port,
				  "10.77.0.16", 7443);
			conv_open(&cv);
			frame(&cv, &out, 0, T_KEEP, 0,
			      which == B_SENDER_MISMATCH ? CHUO : TOKYO,
			      which == B_RECEIVER_MISMATCH ? CHUO : SITE, NULL);
			send_bytes(&cv, 0, out.data, out.len, NULL);
			conv_close(&cv);
			continue;
		}
		/* A LAN host not in lan-allow, or the site's CS. */
		conv_init(&cv, pf, which == B_SOURCE_NOT_ALLOWED ? "10.16.0.99" : "10.16.0.10", port,
			  "10.16.0.1", 7000);
		conv_open(&cv);
		switch (which) {
		case B_SEQ:
			frame(&cv, &out, 0, T_KEEP, 0, SITE, TOKYO, NULL);
			cv.fseq[0]--;
			frame(&cv, &out, 0, T_KEEP, 0, SITE, TOKYO, NULL);
			break;
		case B_PAIR: {
			/* 転入通知 to 中央区, then one to an Osaka municipality: each
			 * allowed alone, not on one connection. */
			struct jf_buf t;

			jf_init(&t);
			jf_body_T(&t, 300, SITE);
			frame(&cv, &out, 0, T_TENNYU, 0, SITE, CHUO, &t);
			frame(&cv, &out, 0, T_TENNYU, 0, SITE, OSAKA_M, &t);
			jf_free(&t);
			break;
		}
		case B_UNSOLICITED:
			frame(&cv, &out, 0, T_KEEP, 0, SITE, TOKYO, NULL);
			send_bytes(&cv, 0, out.data, out.len, NULL);
			jf_reset(&out);
			ack_frame(&cv, &out, 1, 99, TOKYO, SITE);
			send_bytes(&cv, 1, out.data, out.len, NULL);
			jf_reset(&out);
			break;
		case B_DUPLICATE:
			frame(&cv, &out, 0, T_KEEP, 0, SITE, TOKYO, NULL);
			send_bytes(&cv, 0, out.data, out.len, NULL);
			jf_reset(&out);
			ack_frame(&cv, &out, 1, 1, TOKYO, SITE);
			ack_frame(&cv, &out, 1, 1, TOKYO, SITE);
			send_bytes(&cv, 1, out.data, out.len, NULL);
			jf_reset(&out);
			break;
		case B_TRUNCATED_FRAME:
			bad_frame(&cv, &out, which);
			out.len -= 10;
			break;
		case B_SOURCE_NOT_ALLOWED:
			frame(&cv, &out, 0, T_KEEP, 0, SITE, TOKYO, NULL);
			break;
		case B_RATE_LIMITED:
			/* Three notices, none answered: the case's configuration
			 * allows 2 outstanding, so the third finds no room. */
			for (int i = 0; i < 3; i++)
				frame(&cv, &out, 0, T_KEEP, 0, SITE, TOKYO, NULL);
			break;
		case B_SYSTEM_MISMATCH: {
			/* 本人確認情報通知 then 附票本人確認情報通知 on one
			 * connection: the far end relays it to one server. */
			struct jf_buf b;

			jf_init(&b);
			jf_body_R(&b, 1, 100 + which, SITE);
			frame(&cv, &out, 0, T_HONNIN, 0, SITE, TOKYO, &b);
			jf_reset(&b);
			jf_body_F(&b, 1, 100 + which, SITE);
			frame(&cv, &out, 0, T_FUHYO, 0, SITE, TOKYO, &b);
			jf_free(&b);
			break;
		}
		default:
			bad_frame(&cv, &out, (enum bad)which);
			break;
		}
		if (out.len)
			send_bytes(&cv, 0, out.data, out.len, NULL);
		conv_close(&cv);
	}
	jf_free(&out);
	case_close(pf);
}

/* ---- the benchmark capture ---- */

static int make_bench(const char *path, unsigned mb)
{
	struct pw_file *pf = pw_open(path, PW_PCAP, PW_ETH, 0);
	uint64_t target = (uint64_t)mb << 20, written = 0;
	struct jf_buf body, out;
	unsigned n = 0;

	if (!pf) {
		fprintf(stderr, "mkcorpus: %s: %s\n", path, strerror(errno));
		return 1;
	}
	now_us = BASE_US;
	jf_init(&body);
	jf_init(&out);
	/* Connections of 20 batches of 50 records each, back to back. */
	while (written < target) {
		struct conv cv;

		conv_init(&cv, pf, "10.16.0.10", (uint16_t)(20000 + n++ % 40000), "10.16.0.1", 7000);
		conv_open(&cv);
		for (int i = 0; i < 20; i++) {
			jf_reset(&body);
			jf_reset(&out);
			jf_body_R(&body, 50, (uint64_t)n * 100 + (uint64_t)i, SITE);
			frame(&cv, &out, 0, T_HONNIN, 0, SITE, TOKYO, &body);
			send_bytes(&cv, 0, out.data, out.len, NULL);
			written += out.len + (out.len / 1448 + 1) * 70;
			jf_reset(&out);
			ack_frame(&cv, &out, 1, cv.fseq[0] - 1, TOKYO, SITE);
			send_bytes(&cv, 1, out.data, out.len, NULL);
		}
		conv_close(&cv);
	}
	jf_free(&body);
	jf_free(&out);
	return pw_close(pf) && !failed ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *dir;

	if (argc == 4 && !strcmp(argv[1], "-b"))
		return make_bench(argv[2], (unsigned)strtoul(argv[3], NULL, 10));
	if (argc != 2) {
		fprintf(stderr, "usage: mkcorpus DIR | mkcorpus -b FILE MB\n");
		return 2;
	}
	dir = argv[1];
	if (mkdir(dir, 0755) && errno != EEXIST) {
		fprintf(stderr, "mkcorpus: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	case_basic(dir, "basic", PW_PCAP, PW_ETH, 0);
	case_basic(dir, "vlan", PW_PCAP, PW_ETH, 2);
	case_basic(dir, "sll", PW_PCAP, PW_SLL, 0);
	case_basic(dir, "sll2", PW_PCAPNG, PW_SLL2, 0);
	case_basic(dir, "raw-pcapng", PW_PCAPNG, PW_RAW, 0);
	case_odd_segments(dir);
	case_mangle(dir, "reorder", M_REORDER, 40003);
	case_mangle(dir, "retransmit", M_RETRANSMIT, 40004);
	case_mangle(dir, "overlap-conflict", M_CONFLICT, 40005);
	case_mangle(dir, "gap", M_GAP, 40006);
	case_snaplen(dir);
	case_midstream(dir);
	case_midstream_unsynced(dir);
	case_interleaved(dir);
	case_encrypted(dir);
	case_ipv6(dir);
	case_deny_reasons(dir);
	case_system_mismatch(dir);
	case_open_at_end(dir);
	case_unverified_overlap(dir);
	case_midstream_answer(dir);
	case_unclassified(dir);
	return failed ? 1 : 0;
}
