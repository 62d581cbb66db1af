# tests/tools/ — jgw-node, the JMSG site server / client / load generator
# used by the demo, the end-to-end tests and the relay benchmark. It needs
# only the frame builder and the wire constants, so it links no more.
BINS += $(B)/jgw-node

$(B)/jgw-node: $(B)/tests/tools/jgw-node.o $(LIB_TEST) $(LIB_BASE)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ -lcrypto
