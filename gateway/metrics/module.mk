# gateway/metrics/ — monitoring: the snapshot of jgwd's counters and its
# Prometheus text exposition, the textfile for node-exporter, GET /metrics
# over HTTP (libmicrohttpd on jgwd's libev loop), the reader of an
# exposition, and jgw-snmp, the AgentX subagent serving JGW-MIB.txt from
# `jgwctl metrics`. Uses filters/base and gateway/control (jgw-snmp).
DEBS           += libmicrohttpd-dev libev-dev libsnmp-dev
METRICS_SRCS   := gateway/metrics/metrics.c gateway/metrics/metrics_parse.c \
                  gateway/metrics/metrics_http.c
LIB_METRICS    := $(B)/gateway/metrics/libmetrics.a
# Programs that serve HTTP (jgwd) link libmicrohttpd; one that only reads
# an exposition (jgw-snmp) pulls in neither it nor libev.
LDLIBS_METRICS := -lmicrohttpd -lev

$(LIB_METRICS): $(METRICS_SRCS:%.c=$(B)/%.o)
	$(AR) rcs $@ $^

# jgw-snmp: an AgentX subagent of snmpd (net-snmp); the agent library and
# its core, nothing of snmpd's own MIB modules.
SBINS += $(B)/jgw-snmp
$(B)/jgw-snmp: $(B)/gateway/metrics/jgw-snmp.o $(LIB_METRICS) $(LIB_CONTROL) $(LIB_BASE)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ -lnetsnmpagent -lnetsnmp

MIBDIR ?= $(PREFIX)/share/snmp/mibs
install: install-metrics
install-metrics: binaries
	install -d $(DESTDIR)$(MIBDIR)
	install -m 0644 gateway/metrics/JGW-MIB.txt $(DESTDIR)$(MIBDIR)/JGW-MIB.txt

.PHONY: install-metrics
