# gateway/config.mk — the configuration grammar (bison + flex), its loader
# and `jgwctl check' (owner: config). Tests and the fuzz target live in
# tests/config/module.mk.
DEBS += bison flex libssl-dev

GATEWAY_SRCS += gateway/config.c gateway/ctl_check.c
GATEWAY_GEN  += gateway/config.tab.c gateway/config.lex.c
LIBS_GATEWAY += -lcrypto

CONFIG_GEN_H := $(B)/gateway/config.tab.h $(B)/gateway/config.lex.h

$(B)/gateway/config.tab.c $(B)/gateway/config.tab.h &: gateway/config.y
	@mkdir -p $(B)/gateway
	bison -Wall -Werror -o $(B)/gateway/config.tab.c --defines=$(B)/gateway/config.tab.h $<

$(B)/gateway/config.lex.c $(B)/gateway/config.lex.h &: gateway/config.l
	@mkdir -p $(B)/gateway
	flex -o $(B)/gateway/config.lex.c --header-file=$(B)/gateway/config.lex.h $<

# Generated headers exist before anything that includes them is compiled.
$(B)/gateway/config.o $(B)/gateway/config.tab.o $(B)/gateway/config.lex.o: $(CONFIG_GEN_H)

# The compiled-in default catalog is the one `make install' puts in DATADIR.
$(B)/gateway/config.o: CFLAGS_ALL += -DJGW_DATADIR='"$(DATADIR)"'
