# gateway/ — jgwd and jgwctl (owner: daemon), the configuration grammar
# (gateway/config.mk) and the audit spool and mirror (gateway/audit.mk).
GATEWAY_SRCS += gateway/log.c

-include gateway/config.mk
-include gateway/audit.mk

GATEWAY_OBJS = $(GATEWAY_SRCS:%.c=$(B)/%.o) $(GATEWAY_GEN:%.c=$(B)/%.o)
$(LIB_GATEWAY): $(GATEWAY_OBJS)
	$(AR) rcs $@ $^
