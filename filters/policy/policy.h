/*
 * policy.h — the admission policy a configuration states, written once and
 * used by the relay (jgwd) and by replay (jgw-replay) alike: who may connect
 * on each side, which peer or local server a connection goes to, which leg
 * of the gateway a connection is, the engine's parameters, and what is
 * recorded of each frame verdict (the `message` record, docs/audit.md).
 *
 * Every refusal is named by its audit reason (docs/audit.md).
 */
#ifndef JGW_POLICY_H
#define JGW_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "filters/engine/inspect.h"
#include "filters/policy/config.h"

/* The engine's parameters under this configuration (site, catalog, clock
 * skew, outstanding requests), defaults included. */
void policy_insp_params(const struct jgw_config *cfg, struct insp_params *out);

/* LAN side: may src open a connection to the LAN listener? NULL, or
 * "unknown-server" (not in lan-allow). */
const char *policy_lan_source(const struct jgw_config *cfg, const struct sockaddr *src);

/* Egress: the first frame's receiver names the peer to dial. NULL when it
 * may be dialled, else "unknown-peer" or "wrong-prefecture". */
const char *policy_egress_peer(const struct jgw_config *cfg, const char *receiver);

/* Ingress: a peer proven by its certificate (node) tunnelling from src
 * (NULL: the address is not known). NULL, or "unknown-peer",
 * "wrong-prefecture", "address-mismatch" (tls source-check). */
const char *policy_ingress_peer(const struct jgw_config *cfg, const char *node,
				const struct sockaddr *src);

/* Ingress: the local server of a tunnel. sys is the system its frames have
 * fixed (0 while only system-less frames, keepalives, came); framed: such
 * frames came. Returns the server; NULL with *why NULL: wait for a frame
 * that decides; NULL with *why "no-local-server". When the site has one
 * server and only system-less frames came, that server is chosen and *pin
 * names its system (the connection is bound to it from then on). */
const struct cfg_endpoint *policy_local_server(const struct jgw_config *cfg,
					       enum cat_system sys, bool framed,
					       enum cat_system *pin, const char **why);

/* Which leg of the gateway a TCP connection from client to server is. */
enum policy_leg {
	POLICY_LEG_NONE = 0,      /* none of the gateway's */
	POLICY_LEG_LAN_EGRESS,    /* a site server to the LAN listener */
	POLICY_LEG_LAN_INGRESS,   /* the gateway to a local server */
	POLICY_LEG_WAN_INGRESS,   /* a peer gateway to the WAN listener */
	POLICY_LEG_WAN_EGRESS,    /* the gateway to a peer gateway */
};
struct policy_flow {
	enum policy_leg leg;
	enum insp_dir client_dir;         /* how the client's bytes are inspected */
	node_code peer;                   /* WAN legs: the peer its address names */
	enum cat_system server_system;    /* LAN ingress: the system of that server
	                                   * (0: the site has one server for both) */
	const char *why;                  /* refused at admission: its reason */
};
void policy_classify(const struct jgw_config *cfg, const struct sockaddr *client,
		     const struct sockaddr *server, struct policy_flow *out);

/* ---- The `message` record: what is written of each frame verdict ---- */

struct policy_verdict {
	enum insp_dir dir;
	bool has_type;                /* the header was read far enough */
	uint16_t type;
	const char *type_name;        /* NULL: not in the catalog */
	const char *sender, *receiver;   /* "" or NULL: not known */
	uint64_t frame_seq;
	bool has_size;
	uint64_t bytes;
	uint32_t records;
	const char *verdict;          /* "allow", "deny" (replay: "unverified") */
	const char *reason;           /* on deny */
	uint16_t field;               /* the tag on bad-value and TLV reasons; 0: none */
};
/* The verdict of an engine frame. */
void policy_verdict_of(const struct insp_frame *f, struct policy_verdict *out);

/* Where the fields go: the relay's sink adds them to an audit record,
 * replay's writes a JSON line. Keys are literals of [a-z0-9_]. */
struct policy_sink {
	void (*str)(void *arg, const char *key, const char *value);
	void (*u64)(void *arg, const char *key, uint64_t value);
	void *arg;
};
/* The fields of a `message` record after its tunnel_id, in their order:
 * dir, type, type_name, sender, receiver, frame_seq, bytes, records,
 * verdict, reason, field. No field value of the frame is among them. */
void policy_message_fields(const struct policy_verdict *v, const struct policy_sink *sink);

#endif
