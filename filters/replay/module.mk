# filters/replay/ — jgw-replay: a pcap/pcapng capture judged by the engine as
# a configuration would judge it (docs/replay.md). pkt.c decodes packets,
# reasm.c reassembles TCP; the policy says which leg of the gateway a flow is.
DEBS          += libpcap-dev
REPLAY_SRCS   := filters/replay/pkt.c filters/replay/reasm.c
LIB_REPLAY    := $(B)/filters/replay/libreplay.a
LDLIBS_REPLAY := -lpcap

$(LIB_REPLAY): $(REPLAY_SRCS:%.c=$(B)/%.o)
	$(AR) rcs $@ $^

BINS += $(B)/jgw-replay
$(B)/jgw-replay: $(B)/filters/replay/jgw-replay.o $(LIB_REPLAY) $(LIB_POLICY) $(LIB_FIREWALL) \
		$(LIB_ENGINE) $(LIB_BASE)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_REPLAY) $(LDLIBS_POLICY) $(LDLIBS_ENGINE)
