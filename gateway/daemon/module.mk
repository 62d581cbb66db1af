# gateway/daemon/ — jgwd: configuration generations (gen.c: also what
# jgwctl check builds), the relay (relay.c, its buffers and counts), the
# operators and the configuration history, the metrics glue, the crypto
# self-test, and the daemon itself (jgwd.c: start and stop; jgwd_config.c,
# jgwd_firewall.c, jgwd_control.c: its other parts, jgwd.h).
DEBS          += libev-dev libsystemd-dev libcap-ng-dev
DAEMON_SRCS   := gateway/daemon/gen.c gateway/daemon/relay.c gateway/daemon/relay_buf.c \
                 gateway/daemon/relay_count.c gateway/daemon/relay_addr.c gateway/daemon/relay_tally.c \
                 gateway/daemon/selftest.c gateway/daemon/operator.c gateway/daemon/history.c \
                 gateway/daemon/monitor.c gateway/daemon/ha.c
JGWD_SRCS     := gateway/daemon/jgwd.c gateway/daemon/jgwd_config.c gateway/daemon/jgwd_firewall.c \
                 gateway/daemon/jgwd_control.c
LIB_DAEMON    := $(B)/gateway/daemon/libdaemon.a

$(LIB_DAEMON): $(DAEMON_SRCS:%.c=$(B)/%.o)
	$(AR) rcs $@ $^

# Everything the daemon links, in dependency order (tests link it too).
JGWD_LIBS   = $(LIB_DAEMON) $(LIB_METRICS) $(LIB_CONTROL) $(LIB_AUDIT) $(LIB_POLICY) $(LIB_FIREWALL) \
              $(LIB_TUNNELS) $(LIB_ENGINE) $(LIB_BASE)
JGWD_LDLIBS = -lev -lsystemd -lcap-ng $(LDLIBS_METRICS) $(LDLIBS_AUDIT) $(LDLIBS_POLICY) $(LDLIBS_FIREWALL) \
              $(LDLIBS_TUNNELS) $(LDLIBS_ENGINE)

SBINS += $(B)/jgwd
$(B)/jgwd: $(JGWD_SRCS:%.c=$(B)/%.o) $(JGWD_LIBS)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(JGWD_LDLIBS)
