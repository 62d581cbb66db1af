# jgw — top-level build. Each folder adds its part through its module.mk;
# this file holds what they share: flags, the build tree, and the phony goals.
#
#   make            all binaries            make check       every test
#   make check SAN=1  tests under ASan+UBSan make bench     measurements
#   make fuzz       bounded fuzz runs        make deps       install build deps
#   make demo       the live demo            make install    PREFIX / DESTDIR / MANDIR

PREFIX  ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
BINDIR  ?= $(PREFIX)/bin
SYSCONFDIR ?= /etc
DATADIR ?= $(PREFIX)/share/jgw
MANDIR  ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
DESTDIR ?=

CC      ?= cc
B       := build
SAN     ?=
WERROR  ?= $(if $(CI),-Werror,)

CSTD    := -std=c11 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
           -Wpointer-arith -Wformat=2 -Wno-format-nonliteral $(WERROR)
OPT     ?= -O2 -g
HARDEN  := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
ifeq ($(SAN),1)
B       := build-san
OPT     := -O1 -g -fno-omit-frame-pointer
HARDEN  := -fsanitize=address,undefined -fno-sanitize-recover=all
LDSAN   := -fsanitize=address,undefined
endif
INCS    := -I. -I$(B)
CFLAGS_ALL  = $(CSTD) $(WARN) $(OPT) $(HARDEN) $(INCS) -MMD -MP $(CFLAGS)
LDFLAGS_ALL = -pie -Wl,-z,relro,-z,now $(LDSAN) $(LDFLAGS)

# Filled in by the module.mk files.
BINS     :=
SBINS    :=
CHECKS   :=
BENCHES  :=
FUZZERS  :=
DEBS     := build-essential pkg-config clang libclang-rt-14-dev bison flex \
            libssl-dev libcmocka-dev

# Sources and link flags per library, appended to by every module.mk (any
# module may add to any library; e.g. filters/nft.mk adds gateway/quar.c).
FILTERS_SRCS :=
FILTERS_GEN  :=
LIBS_FILTERS :=
TUNNELS_SRCS :=
LIBS_TUNNELS :=
GATEWAY_SRCS :=
GATEWAY_GEN  :=
LIBS_GATEWAY :=
TEST_SRCS    :=
LIB_FILTERS  := $(B)/libfilters.a
LIB_TUNNELS  := $(B)/libtunnels.a
LIB_GATEWAY  := $(B)/libgateway.a
LIB_TEST     := $(B)/libjgwtest.a
# Everything a program of the project links with, in dependency order.
JGW_LIBS     := $(LIB_GATEWAY) $(LIB_TUNNELS) $(LIB_FILTERS)
JGW_LDLIBS    = $(LIBS_GATEWAY) $(LIBS_TUNNELS) $(LIBS_FILTERS)

all: binaries

include filters/module.mk
include tunnels/module.mk
include gateway/module.mk
include tests/module.mk
include image/module.mk

binaries: $(BINS) $(SBINS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

# Generated sources (bison/flex) are compiled from the build tree.
$(B)/%.o: $(B)/%.c
	$(CC) $(CFLAGS_ALL) -Wno-missing-prototypes -Wno-unused-function -c -o $@ $<

deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(sort $(DEBS))

check: check-clean-results
	@$(MAKE) --no-print-directory $(CHECKS)
	@tests/lib/tally.sh $(B)/results

check-clean-results:
	@rm -rf $(B)/results

bench: $(BENCHES)

fuzz: $(FUZZERS)

install: binaries
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR) $(DESTDIR)$(SYSCONFDIR)/jgw
	$(if $(SBINS),install -m 0755 $(SBINS) $(DESTDIR)$(SBINDIR))
	$(if $(BINS),install -m 0755 $(BINS) $(DESTDIR)$(BINDIR))
	install -m 0644 conf/catalog.jcat $(DESTDIR)$(DATADIR)/catalog.jcat
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(BASHCOMPDIR)
	install -m 0644 docs/man/*.1 $(DESTDIR)$(MANDIR)/man1
	install -m 0644 docs/man/*.5 $(DESTDIR)$(MANDIR)/man5
	install -m 0644 docs/man/*.8 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 image/bash-completion/jgwctl $(DESTDIR)$(BASHCOMPDIR)/jgwctl

clean:
	rm -rf build build-san

.PHONY: all binaries deps check check-clean-results bench fuzz install clean
.DELETE_ON_ERROR:

-include $(patsubst %.o,%.d,$(shell find $(B) -name '*.o' -type f 2>/dev/null))
