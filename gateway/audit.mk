# gateway/audit.mk — the audit spool, chain, mirror and verifier (audit.md).
GATEWAY_SRCS += gateway/audit.c gateway/audit_chain.c gateway/audit_spool.c \
                gateway/audit_mirror.c gateway/audit_verify.c gateway/ctl_audit.c
LIBS_GATEWAY += -lrelp -lpthread -lcrypto
DEBS += librelp-dev rsyslog rsyslog-relp openssl libssl-dev libcmocka-dev
