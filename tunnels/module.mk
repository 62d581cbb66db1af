# tunnels/ — TLS 1.3 mutual authentication.
TUNNELS_SRCS += tunnels/tls.c
LIBS_TUNNELS += -lssl -lcrypto
TUNNELS_OBJS = $(TUNNELS_SRCS:%.c=$(B)/%.o)
$(LIB_TUNNELS): $(TUNNELS_OBJS)
	$(AR) rcs $@ $^
