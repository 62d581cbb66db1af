# filters/engine/ — the JMSG inspection engine: wire format (jmsg.h), the
# message catalog (data, parsed with bison/flex), value checks, and the
# streaming inspection of both directions of a connection; jgw-inspect.
DEBS          += bison flex libssl-dev
ENGINE_SRCS   := filters/engine/values.c filters/engine/catalog.c filters/engine/inspect.c
ENGINE_GEN    := $(B)/filters/engine/catalog.tab.c $(B)/filters/engine/catalog.lex.c
LIB_ENGINE    := $(B)/filters/engine/libengine.a
LDLIBS_ENGINE := -lcrypto

$(LIB_ENGINE): $(ENGINE_SRCS:%.c=$(B)/%.o) $(ENGINE_GEN:%.c=%.o)
	$(AR) rcs $@ $^

# Make's built-in yacc/lex rules would regenerate X.c beside any X.y or X.l:
# cancel them for the whole tree (the grammars build into the build tree).
%.c: %.y
%.c: %.l

# The catalog grammar. Objects that include the generated header wait for it.
$(B)/filters/engine/catalog.tab.c $(B)/filters/engine/catalog.tab.h &: filters/engine/catalog.y
	@mkdir -p $(dir $@)
	bison -Wall -Werror --defines=$(B)/filters/engine/catalog.tab.h \
		-o $(B)/filters/engine/catalog.tab.c $<
$(B)/filters/engine/catalog.lex.c: filters/engine/catalog.l $(B)/filters/engine/catalog.tab.h
	@mkdir -p $(dir $@)
	flex -o $@ $<
$(B)/filters/engine/catalog.o $(B)/filters/engine/catalog.lex.o \
$(B)/filters/engine/catalog.tab.o: $(B)/filters/engine/catalog.tab.h

BINS += $(B)/jgw-inspect
$(B)/jgw-inspect: $(B)/filters/engine/jgw-inspect.o $(LIB_ENGINE) $(LIB_BASE)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ENGINE)
