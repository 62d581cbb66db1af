# gateway/audit/ — the audit trail (docs/audit.md): records and the writer
# (spool with group commit, key epochs, recovery, disk policy), the chain
# (line format, macs, key files), the spool on disk (listing, following),
# the RELP/TLS mirror to the collector, and verify.
DEBS         += librelp-dev rsyslog rsyslog-relp openssl libssl-dev
AUDIT_SRCS   := gateway/audit/audit.c gateway/audit/audit_rec.c gateway/audit/audit_epoch.c \
                gateway/audit/audit_recover.c gateway/audit/chain.c gateway/audit/spool.c \
                gateway/audit/follow.c gateway/audit/mirror.c gateway/audit/verify.c \
                gateway/audit/retain.c gateway/audit/audit_time.c gateway/audit/archive.c
LIB_AUDIT    := $(B)/gateway/audit/libaudit.a
# The writer's programs (jgwd) link librelp for the mirror; a program that
# only reads or verifies (jgwctl) needs libcrypto alone.
LDLIBS_AUDIT := -lrelp -lpthread -lcrypto
LDLIBS_AUDIT_READ := -lcrypto

$(LIB_AUDIT): $(AUDIT_SRCS:%.c=$(B)/%.o)
	$(AR) rcs $@ $^
