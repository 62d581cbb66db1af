# gateway/ctl/ — jgwctl, the operator's tool: check, nft print and audit
# work on files; the other verbs ask the running jgwd over the control
# socket. It links no event loop, no mirror: only what its verbs use.
JGWCTL_SRCS := gateway/ctl/jgwctl.c gateway/ctl/ctl_check.c gateway/ctl/ctl_nft.c \
               gateway/ctl/ctl_audit.c gateway/ctl/ctl_config.c
JGWCTL_LIBS  = $(LIB_DAEMON) $(LIB_CONTROL) $(LIB_AUDIT) $(LIB_POLICY) $(LIB_FIREWALL) \
               $(LIB_TUNNELS) $(LIB_ENGINE) $(LIB_BASE)
JGWCTL_LDLIBS = $(LDLIBS_AUDIT_READ) $(LDLIBS_POLICY) $(LDLIBS_FIREWALL) $(LDLIBS_TUNNELS) \
                $(LDLIBS_ENGINE)

SBINS += $(B)/jgwctl
$(B)/jgwctl: $(JGWCTL_SRCS:%.c=$(B)/%.o) $(JGWCTL_LIBS)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(JGWCTL_LDLIBS)
