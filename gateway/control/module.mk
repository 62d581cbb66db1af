# gateway/control/ — the control socket: its line protocol (proto.c), the
# client jgwctl calls (client.c), and the server jgwd runs (server.c, libev).
DEBS           += libev-dev
CONTROL_SRCS   := gateway/control/proto.c gateway/control/client.c gateway/control/server.c
LIB_CONTROL    := $(B)/gateway/control/libcontrol.a

$(LIB_CONTROL): $(CONTROL_SRCS:%.c=$(B)/%.o)
	$(AR) rcs $@ $^
