# filters/ — the JMSG engine and catalog (owner: engine), the nftables
# builder (filters/nft.mk) and pcap replay (filters/replay/module.mk).
# Objects go into $(B)/libfilters.a; programs link gateway → tunnels → filters.

FILTERS_SRCS := filters/jmsg.c
FILTERS_GEN  :=
LIB_FILTERS  := $(B)/libfilters.a
LIBS_FILTERS :=

-include filters/nft.mk
-include filters/replay/module.mk

FILTERS_OBJS = $(FILTERS_SRCS:%.c=$(B)/%.o) $(FILTERS_GEN:%.c=$(B)/%.o)
$(LIB_FILTERS): $(FILTERS_OBJS)
	$(AR) rcs $@ $^
