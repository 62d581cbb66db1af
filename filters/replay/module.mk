# filters/replay/ — jgw-replay: captured traffic judged by the gateway's own
# engine (docs/replay.md). pkt.c decodes packets, reasm.c reassembles TCP.
FILTERS_SRCS += filters/replay/pkt.c filters/replay/reasm.c
LIBS_FILTERS += -lpcap
DEBS         += libpcap-dev tshark jq bc tcpdump
BINS         += $(B)/jgw-replay

$(B)/jgw-replay: $(B)/filters/replay/jgw-replay.o $(JGW_LIBS)
	$(CC) $(LDFLAGS_ALL) -o $@ $(B)/filters/replay/jgw-replay.o $(JGW_LIBS) $(JGW_LDLIBS)
