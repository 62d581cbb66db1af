# filters/ — the JMSG engine and catalog (owner: engine), the nftables
# builder (filters/nft.mk) and pcap replay (filters/replay/module.mk).
FILTERS_SRCS += filters/jmsg.c

-include filters/nft.mk
-include filters/replay/module.mk

FILTERS_OBJS = $(FILTERS_SRCS:%.c=$(B)/%.o) $(FILTERS_GEN:%.c=$(B)/%.o)
$(LIB_FILTERS): $(FILTERS_OBJS)
	$(AR) rcs $@ $^
