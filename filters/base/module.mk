# filters/base/ — what every part may use: node codes, addresses, log
# lines, the JSON string writer, the UTF-8 checker. Depends on nothing.
BASE_SRCS   := filters/base/node.c filters/base/addr.c filters/base/log.c filters/base/duration.c filters/base/fdio.c \
               filters/base/json.c filters/base/utf8.c
LIB_BASE    := $(B)/filters/base/libbase.a
LDLIBS_BASE :=

$(LIB_BASE): $(BASE_SRCS:%.c=$(B)/%.o)
	$(AR) rcs $@ $^
