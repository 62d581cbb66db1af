# tests/ — shared test plumbing. Each module.mk adds its groups to CHECKS;
# a group writes $(RES)/GROUP.res with "GROUP: P passed, F failed, S skipped".
RES := $(B)/results
LIB_TEST := $(B)/tests/libjgwtest.a
DEBS += iproute2 nftables openssl libcap2-bin
-include $(wildcard tests/*/module.mk)

TEST_OBJS = $(TEST_SRCS:%.c=$(B)/%.o)
$(LIB_TEST): $(TEST_OBJS)
	$(AR) rcs $@ $^
