# gateway/sessions/ — administrative sessions into the audit trail: the
# parser of sshd's log messages (sshlog.c) and jgw-sessions, which follows
# sshd in the journal (or on stdin) and sends each login, logout and failed
# attempt to jgwd as a root-only control note; jgw-operator, the script
# that makes and removes named operator accounts. Uses filters/base and
# gateway/control.
DEBS            += libsystemd-dev
SESSIONS_SRCS   := gateway/sessions/sshlog.c
LIB_SESSIONS    := $(B)/gateway/sessions/libsessions.a

$(LIB_SESSIONS): $(SESSIONS_SRCS:%.c=$(B)/%.o)
	$(AR) rcs $@ $^

SBINS += $(B)/jgw-sessions $(B)/jgw-operator
$(B)/jgw-sessions: $(B)/gateway/sessions/jgw-sessions.o $(LIB_SESSIONS) $(LIB_CONTROL) $(LIB_BASE)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ -lsystemd

# A shell script, installed with the programs.
$(B)/jgw-operator: gateway/sessions/jgw-operator
	@mkdir -p $(dir $@)
	sh -n $< && cp $< $@ && chmod 0755 $@
