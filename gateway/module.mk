# gateway/ — jgwd and jgwctl (owner: daemon), the configuration grammar
# (gateway/config.mk) and the audit spool and mirror (gateway/audit.mk).
# Objects into $(B)/libgateway.a.
GATEWAY_SRCS := gateway/log.c
GATEWAY_GEN  :=
LIB_GATEWAY  := $(B)/libgateway.a
LIBS_GATEWAY :=

-include gateway/config.mk
-include gateway/audit.mk

GATEWAY_OBJS = $(GATEWAY_SRCS:%.c=$(B)/%.o) $(GATEWAY_GEN:%.c=$(B)/%.o)
$(LIB_GATEWAY): $(GATEWAY_OBJS)
	$(AR) rcs $@ $^

# Everything a program of the project links with, in dependency order.
JGW_LIBS = $(LIB_GATEWAY) $(LIB_TUNNELS) $(LIB_FILTERS)
JGW_LDLIBS = $(LIBS_GATEWAY) $(LIBS_TUNNELS) $(LIBS_FILTERS)
