/*
 * policy.c — the admission policy of a configuration (policy.h). The relay
 * and replay ask the same questions here; neither carries its own copy of
 * the rules.
 */
#include "filters/policy/policy.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "filters/base/addr.h"

/* The engine's defaults when a configuration leaves them (it never does
 * through cfg_load, which sets its own; kept for other callers). */
#define DEFAULT_SKEW_MS     300000
#define DEFAULT_OUTSTANDING 1024

void policy_insp_params(const struct jgw_config *cfg, struct insp_params *out)
{
	memset(out, 0, sizeof(*out));
	out->catalog = cfg->catalog;
	memcpy(out->local, cfg->site, sizeof(out->local));
	out->skew_ms = cfg->limits.skew_ms ? cfg->limits.skew_ms : DEFAULT_SKEW_MS;
	out->max_outstanding = cfg->limits.outstanding ? cfg->limits.outstanding
						       : DEFAULT_OUTSTANDING;
}

const char *policy_lan_source(const struct jgw_config *cfg, const struct sockaddr *src)
{
	return cfg_server_allowed(cfg, src) ? NULL : "unknown-server";
}

const char *policy_egress_peer(const struct jgw_config *cfg, const char *receiver)
{
	const char *why = "unknown-peer";

	if (!receiver || !cfg_peer_allowed(cfg, receiver, &why))
		return why ? why : "unknown-peer";
	return NULL;
}

const char *policy_ingress_peer(const struct jgw_config *cfg, const char *node,
				const struct sockaddr *src)
{
	const char *why = policy_egress_peer(cfg, node);

	if (why)
		return why;
	if (src && !cfg_peer_source_ok(cfg, node, src))
		return "address-mismatch";
	return NULL;
}

const struct cfg_endpoint *policy_local_server(const struct jgw_config *cfg,
					       enum cat_system sys, bool framed,
					       enum cat_system *pin, const char **why)
{
	*why = NULL;
	*pin = 0;
	if (sys == CAT_SYS_JUKI && cfg->has_juki)
		return &cfg->juki_server;
	if (sys == CAT_SYS_FUHYO && cfg->has_fuhyo)
		return &cfg->fuhyo_server;
	if (sys) {
		*why = "no-local-server";
		return NULL;
	}
	/* Only system-less frames (keepalive) so far, and one server: from now
	 * on the connection is that server's system. */
	if (framed && cfg->has_juki != cfg->has_fuhyo) {
		*pin = cfg->has_juki ? CAT_SYS_JUKI : CAT_SYS_FUHYO;
		return cfg->has_juki ? &cfg->juki_server : &cfg->fuhyo_server;
	}
	return NULL;
}

/* ---- legs ---- */

static bool unspecified(const struct addr_prefix *p)
{
	static const uint8_t zero[16];

	return memcmp(p->addr, zero, addr_bytes(p->family)) == 0;
}

/* Is host:port the endpoint? A wildcard listener (any_ok) matches every
 * address of its family, and an IPv6 wildcard IPv4 too (Linux listens on
 * both unless v6only). */
static bool ep_match(const struct cfg_endpoint *ep, const struct addr_prefix *host,
		     uint16_t port, bool any_ok)
{
	struct addr_prefix e;
	const struct sockaddr *sa = (const struct sockaddr *)&ep->ss;

	if (addr_sockaddr_port(sa) != port || !addr_from_sockaddr(sa, &e))
		return false;
	if (any_ok && unspecified(&e))
		return e.family == host->family || ep->ss.ss_family == AF_INET6;
	return e.family == host->family && memcmp(e.addr, host->addr, addr_bytes(e.family)) == 0;
}

/* The peer whose directory entry holds host (and port, when port != 0). */
static const struct cfg_peer *peer_at(const struct jgw_config *cfg,
				      const struct addr_prefix *host, uint16_t port)
{
	for (size_t i = 0; i < cfg->n_peers; i++)
		for (size_t j = 0; j < cfg->peers[i].n_addrs; j++) {
			const struct cfg_endpoint *ep = &cfg->peers[i].addrs[j];
			uint16_t ep_port = addr_sockaddr_port((const struct sockaddr *)&ep->ss);

			if (ep_match(ep, host, ep_port, false) && (!port || ep_port == port))
				return &cfg->peers[i];
		}
	return NULL;
}

static void set_peer(struct policy_flow *out, const struct cfg_peer *p)
{
	memcpy(out->peer, p->node, sizeof(out->peer));
}

void policy_classify(const struct jgw_config *cfg, const struct sockaddr *client,
		     const struct sockaddr *server, struct policy_flow *out)
{
	struct addr_prefix c, s;
	uint16_t sport = addr_sockaddr_port(server);
	const struct cfg_peer *peer;

	memset(out, 0, sizeof(*out));
	if (!addr_from_sockaddr(client, &c) || !addr_from_sockaddr(server, &s))
		return;
	if (ep_match(&cfg->lan_listen, &s, sport, true)) {
		out->leg = POLICY_LEG_LAN_EGRESS;
		out->client_dir = INSP_FROM_LAN;
		out->why = policy_lan_source(cfg, client);
		return;
	}
	bool juki = cfg->has_juki && ep_match(&cfg->juki_server, &s, sport, false);
	bool fuhyo = cfg->has_fuhyo && ep_match(&cfg->fuhyo_server, &s, sport, false);
	if (juki || fuhyo) {
		/* The relay sends a tunnel to the server of its system: on this
		 * leg only frames of that system can have come (one server for
		 * both: unknown). */
		out->leg = POLICY_LEG_LAN_INGRESS;
		out->client_dir = INSP_FROM_WAN;
		out->server_system = juki == fuhyo ? 0 : juki ? CAT_SYS_JUKI : CAT_SYS_FUHYO;
		return;
	}
	if (ep_match(&cfg->wan_listen, &s, sport, true)) {
		out->leg = POLICY_LEG_WAN_INGRESS;
		out->client_dir = INSP_FROM_WAN;
		if ((peer = peer_at(cfg, &c, 0)) != NULL)
			set_peer(out, peer);
		else
			out->why = "unknown-peer";
		return;
	}
	if ((peer = peer_at(cfg, &s, sport)) != NULL) {
		out->leg = POLICY_LEG_WAN_EGRESS;
		out->client_dir = INSP_FROM_LAN;
		set_peer(out, peer);
	}
}

/* ---- the message record ---- */

void policy_verdict_of(const struct insp_frame *f, struct policy_verdict *out)
{
	*out = (struct policy_verdict){
		.dir = f->dir,
		.has_type = f->length >= JMSG_OFF_TYPE + 2,
		.type = f->type,
		.type_name = f->type_name,
		.sender = f->sender,
		.receiver = f->receiver,
		.frame_seq = f->seq,
		.has_size = true,
		.bytes = f->length,
		.records = f->records,
		.verdict = f->allowed ? "allow" : "deny",
		.reason = f->allowed ? NULL : insp_reason_name(f->reason),
		.field = f->allowed ? 0 : f->field,
	};
}

/* "0x" and four lower-case hex digits: type and field codes in records.
 * Per frame, so not snprintf. */
static const char *hex16(uint16_t v, char out[7])
{
	static const char digits[] = "0123456789abcdef";

	out[0] = '0';
	out[1] = 'x';
	for (int i = 5; i >= 2; i--, v >>= 4)
		out[i] = digits[v & 15];
	out[6] = '\0';
	return out;
}

void policy_message_fields(const struct policy_verdict *v, const struct policy_sink *sink)
{
	char hex[8];

	sink->str(sink->arg, "dir", v->dir == INSP_FROM_WAN ? "in" : "out");
	if (v->has_type) {
		sink->str(sink->arg, "type", hex16(v->type, hex));
		if (v->type_name)
			sink->str(sink->arg, "type_name", v->type_name);
	}
	if (v->sender && v->sender[0])
		sink->str(sink->arg, "sender", v->sender);
	if (v->receiver && v->receiver[0])
		sink->str(sink->arg, "receiver", v->receiver);
	if (v->has_type)
		sink->u64(sink->arg, "frame_seq", v->frame_seq);
	if (v->has_size) {
		sink->u64(sink->arg, "bytes", v->bytes);
		sink->u64(sink->arg, "records", v->records);
	}
	sink->str(sink->arg, "verdict", v->verdict);
	if (v->reason)
		sink->str(sink->arg, "reason", v->reason);
	if (v->field)
		sink->str(sink->arg, "field", hex16(v->field, hex));
}
