/*
 * fuzz_nft — libFuzzer on what the firewall module parses from outside:
 * NFLOG datagrams (packet headers are attacker-controlled) and address
 * prefixes (configuration, control socket). First byte picks the target.
 */
#include "filters/nftlog.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct nft_log *fuzz_log;

static void sink(void *arg, const struct nft_drop *d)
{
	uint64_t *n = arg;
	*n += d->packets;
	if (strnlen(d->rule, sizeof d->rule) == sizeof d->rule)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1) {
		/* An NFLOG message: the kernel frames it (trusted), the
		 * attributes and packet headers inside come from fuzz data. */
		char buf[8192] __attribute__((aligned(4)));
		struct nlmsghdr *nlh;
		struct nfgenmsg *nfg;
		uint64_t n = 0;
		size_t room = sizeof buf - MNL_NLMSG_HDRLEN - MNL_ALIGN(sizeof *nfg);

		if (size < 2 || (!fuzz_log && !(fuzz_log = calloc(1, sizeof *fuzz_log))))
			return 0;
		size -= 1;
		data += 1;
		if (size > room)
			size = room;
		memset(buf, 0, sizeof buf);
		nlh = mnl_nlmsg_put_header(buf);
		nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET;
		nfg = mnl_nlmsg_put_extra_header(nlh, sizeof *nfg);
		nfg->nfgen_family = (data[0] & 2) ? NFPROTO_IPV6 : NFPROTO_IPV4;
		if (data[0] & 4) {
			/* raw attribute bytes */
			memcpy((char *)nlh + nlh->nlmsg_len, data, size);
			nlh->nlmsg_len += (uint32_t)size;
		} else if (size >= 1) {
			/* a well-formed prefix and payload, fuzzed contents */
			size_t plen = data[0] >> 3;
			if (plen > size - 1)
				plen = size - 1;
			mnl_attr_put(nlh, NFULA_PREFIX, plen, data + 1);
			mnl_attr_put(nlh, NFULA_PAYLOAD, size - 1 - plen, data + 1 + plen);
		}
		(void)mnl_cb_run(buf, nlh->nlmsg_len, 0, 0, packet_cb, fuzz_log);
		nft_log_flush(fuzz_log, sink, &n);
	} else {
		char s[128], back[64];
		struct nft_prefix p, q;
		size = size - 1 >= sizeof s ? sizeof s - 1 : size - 1;
		memcpy(s, data + 1, size);
		s[size] = '\0';
		if (nft_prefix_parse(s, &p)) {
			/* what we print, we read back as the same prefix */
			if (!nft_prefix_parse(nft_prefix_str(&p, back, sizeof back), &q) ||
			    memcmp(&p, &q, sizeof p) != 0)
				__builtin_trap();
		}
	}
	return 0;
}
