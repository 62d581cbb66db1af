# filters/policy/ — the configuration (bison + flex grammar, its checks and
# loader) and the admission policy it states: who may connect on each side,
# which peer or local server a connection goes to, the engine's parameters
# and what is recorded of each frame. The relay and replay both use it.
DEBS          += bison flex libssl-dev
POLICY_SRCS   := filters/policy/config.c filters/policy/config_build.c \
                 filters/policy/config_check.c filters/policy/config_ha.c \
                 filters/policy/policy.c
POLICY_GEN    := $(B)/filters/policy/config.tab.c $(B)/filters/policy/config.lex.c
LIB_POLICY    := $(B)/filters/policy/libpolicy.a
LDLIBS_POLICY := -lcrypto

$(LIB_POLICY): $(POLICY_SRCS:%.c=$(B)/%.o) $(POLICY_GEN:%.c=%.o)
	$(AR) rcs $@ $^

CONFIG_GEN_H := $(B)/filters/policy/config.tab.h $(B)/filters/policy/config.lex.h
$(B)/filters/policy/config.tab.c $(B)/filters/policy/config.tab.h &: filters/policy/config.y
	@mkdir -p $(B)/filters/policy
	bison -Wall -Werror -o $(B)/filters/policy/config.tab.c \
		--defines=$(B)/filters/policy/config.tab.h $<
$(B)/filters/policy/config.lex.c $(B)/filters/policy/config.lex.h &: filters/policy/config.l
	@mkdir -p $(B)/filters/policy
	flex -o $(B)/filters/policy/config.lex.c --header-file=$(B)/filters/policy/config.lex.h $<
# Generated headers exist before anything that includes them is compiled.
$(POLICY_SRCS:%.c=$(B)/%.o) $(POLICY_GEN:%.c=%.o): $(CONFIG_GEN_H)
# The compiled-in default catalog is the one `make install' puts in DATADIR.
$(B)/filters/policy/config.o: CFLAGS_ALL += -DJGW_DATADIR='"$(DATADIR)"'
