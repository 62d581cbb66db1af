# tunnels/ — TLS 1.3 mutual authentication (OpenSSL 3): contexts, peer
# identity from the certificate, CRLs, session resumption. Uses filters/base.
DEBS           += libssl-dev
TUNNELS_SRCS   := tunnels/tls.c
LIB_TUNNELS    := $(B)/tunnels/libtunnels.a
LDLIBS_TUNNELS := -lssl -lcrypto -lpthread

$(LIB_TUNNELS): $(TUNNELS_SRCS:%.c=$(B)/%.o)
	$(AR) rcs $@ $^
