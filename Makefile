# jgw — top-level build. Each folder adds its part through its module.mk;
# this file holds what they share: flags, the build tree, and the phony goals.
#
#   make            all binaries            make check       every test
#   make check SAN=1  tests under ASan+UBSan (SAN=thread: TSan) make bench     measurements
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

# One version for every program (--version) and the package (image/mkdeb.sh).
JGW_VERSION ?= 0.1.0+$(shell git log -1 --format=%cd --date=format:%Y%m%d.%H%M%S 2>/dev/null || echo 0)
export JGW_VERSION

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
ifeq ($(SAN),thread)
B       := build-tsan
OPT     := -O1 -g -fno-omit-frame-pointer
HARDEN  := -fsanitize=thread
LDSAN   := -fsanitize=thread
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
TEST_SRCS :=

# Each folder's module.mk builds that folder and nothing else: its library
# (LIB_<FOLDER>, with the system libraries it needs in LDLIBS_<FOLDER>) and
# its programs, which name exactly the libraries they link. The order is
# the layering: a folder uses only folders included before it.
#
#   filters/base      node codes, addresses, log lines, JSON, UTF-8
#   filters/engine    JMSG wire format, catalog, value checks, inspection
#   filters/firewall  the nftables table, drop summaries, quarantine decisions
#   filters/policy    the configuration and the admission policy it states
#   filters/replay    jgw-replay: captures judged as a configuration would
#   tunnels           TLS 1.3 mutual authentication
#   gateway/audit     audit records, chain, spool, mirror, verify
#   gateway/control   the control socket's protocol, client and server
#   gateway/sessions  sshd's sessions into the audit trail, operator accounts
#   gateway/metrics   metrics exposition, HTTP, textfile, jgw-snmp
#   gateway/daemon    jgwd: generations, relay, firewall and audit glue
#   gateway/ctl       jgwctl
all: binaries

include filters/base/module.mk
include filters/engine/module.mk
include filters/firewall/module.mk
include filters/policy/module.mk
include filters/replay/module.mk
include tunnels/module.mk
include gateway/audit/module.mk
include gateway/control/module.mk
include gateway/sessions/module.mk
include gateway/metrics/module.mk
include gateway/daemon/module.mk
include gateway/ctl/module.mk
include tests/module.mk
include image/module.mk

binaries: $(BINS) $(SBINS)

$(B)/%.o: %.c | $(B)/jgw_version.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

# Rewritten only when the version changes (what includes it is rebuilt then).
$(B)/jgw_version.h: FORCE
	@mkdir -p $(B)
	@printf '#define JGW_VERSION "%s"\n' '$(JGW_VERSION)' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
FORCE:

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

.PHONY: FORCE all binaries deps check check-clean-results bench fuzz install clean
.DELETE_ON_ERROR:

-include $(patsubst %.o,%.d,$(shell find $(B) -name '*.o' -type f 2>/dev/null))
