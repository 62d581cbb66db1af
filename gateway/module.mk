# gateway/ — jgwd and jgwctl (owner: daemon), the configuration grammar
# (gateway/config.mk) and the audit spool and mirror (gateway/audit.mk).
GATEWAY_SRCS += gateway/log.c gateway/relay.c gateway/control.c
LIBS_GATEWAY += -lev -lsystemd -lcap-ng
DEBS         += libev-dev libsystemd-dev libcap-ng-dev

-include gateway/config.mk
-include gateway/audit.mk

GATEWAY_OBJS = $(GATEWAY_SRCS:%.c=$(B)/%.o) $(GATEWAY_GEN:%.c=$(B)/%.o)
$(LIB_GATEWAY): $(GATEWAY_OBJS)
	$(AR) rcs $@ $^

# The daemon and its control tool.
SBINS += $(B)/jgwd $(B)/jgwctl

$(B)/jgwd: $(B)/gateway/jgwd.o $(JGW_LIBS)
	$(CC) $(LDFLAGS_ALL) -o $@ $(B)/gateway/jgwd.o $(JGW_LIBS) $(JGW_LDLIBS)

$(B)/jgwctl: $(B)/gateway/jgwctl.o $(JGW_LIBS)
	$(CC) $(LDFLAGS_ALL) -o $@ $(B)/gateway/jgwctl.o $(JGW_LIBS) $(JGW_LDLIBS)
