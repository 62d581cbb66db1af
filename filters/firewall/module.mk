# filters/firewall/ — the gateway's nftables table over netlink (libnftnl +
# libmnl): the ruleset, its nft text, quarantine elements, counters; the
# NFLOG drop summaries; the quarantine decisions (quar.c).
DEBS            += libnftnl-dev libmnl-dev nftables
FIREWALL_SRCS   := filters/firewall/nft.c filters/firewall/nft_rules.c \
                   filters/firewall/nftlog.c filters/firewall/quar.c filters/firewall/nft_ha.c
LIB_FIREWALL    := $(B)/filters/firewall/libfirewall.a
LDLIBS_FIREWALL := -lnftnl -lmnl

$(LIB_FIREWALL): $(FIREWALL_SRCS:%.c=$(B)/%.o)
	$(AR) rcs $@ $^
