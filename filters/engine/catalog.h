/*
 * catalog.h — the message catalog (docs/catalog.md) as data.
 *
 * The catalog is read from a text file (conf/catalog.jcat) by a bison/flex
 * parser; adding a message type is an edit of that file, never of C code.
 * A loaded catalog is immutable and may be shared by every connection of a
 * configuration generation. Its structs are exposed read-only so that the
 * inspection engine can walk them without a call per field.
 */
#ifndef JGW_CATALOG_H
#define JGW_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "filters/engine/jmsg.h"

#define CAT_TAG_CONTAINER 0x8000

enum cat_kind {
	CAT_DIGITS,       /* digits:N */
	CAT_NODECODE,     /* nodecode */
	CAT_LGCODE,       /* lgcode */
	CAT_RESIDENT,     /* resident-code */
	CAT_INDIVIDUAL,   /* individual-number */
	CAT_DATE,         /* date */
	CAT_TEXT,         /* text:N */
	CAT_ENUM,         /* enum:A,B,... */
	CAT_UINT,         /* uint:N */
	CAT_BYTES,        /* bytes:N */
	CAT_CONTAINER,    /* tag with bit 15 set */
};

struct cat_field {
	uint16_t tag;
	const char *name;
	enum cat_kind kind;
	uint32_t n;                 /* N of digits/text/uint/bytes */
	const char *const *enums;   /* enum values, n_enums of them */
	size_t n_enums;
	/* Bounds of a value's length, from the kind (set by cat_load), so the
	 * engine can refuse a value before reading it. */
	uint32_t len_min, len_max;
};

struct cat_shape;

/* One entry of a shape: a tag, how often it may appear, and for a container
 * the shape of its contents. Entries are sorted by ascending tag. */
struct cat_item {
	const struct cat_field *field;
	uint16_t tag;               /* field->tag, kept here for the engine's lookups */
	uint32_t min, max;          /* repeat bounds; optional = 0..1 */
	const struct cat_shape *inner;  /* containers only */
};

struct cat_shape {
	const char *name;
	const struct cat_item *items;
	size_t n_items;
};

enum cat_pattern { CAT_NOTICE, CAT_REQUEST, CAT_RESPONSE };

/* Direction rule of a type (docs/catalog.md "from → to"). */
enum cat_dir {
	CAT_DIR_ROLES,        /* from_role → to_role */
	CAT_DIR_OWN_PREF,     /* municipality → its own prefecture */
	CAT_DIR_ANY_TUNNEL,   /* any → the tunnel's other end (keepalive) */
	CAT_DIR_ANSWER,       /* responses: follow the request they answer */
};

enum cat_system { CAT_SYS_JUKI = 1, CAT_SYS_FUHYO = 2 };

struct cat_type {
	uint16_t code;
	const char *name;
	const char *name_ja;
	const char *basis;           /* legal basis, for auditors; may be "" */
	enum cat_pattern pattern;
	enum cat_dir dir;
	enum node_role from, to;     /* CAT_DIR_ROLES / CAT_DIR_OWN_PREF;
	                              * NODE_ROLE_INVALID here means any role */
	/* Responses: the request/notice codes this type may answer; answers_any
	 * means any request or notice (ack, nack). */
	bool answers_any;
	const uint16_t *answers;
	size_t n_answers;
	uint32_t max_body;
	const struct cat_shape *body; /* NULL: body must be empty */
	enum cat_system system;       /* from the code: 0x01xx juki, 0x02xx fuhyo */
};

struct cat_catalog;

/* Error sink: one call per error, with file:line:col already in msg. */
typedef void (*cat_error_fn)(void *arg, const char *msg);

/* Load and check a catalog file. Every error is reported (not only the
 * first) through err (stderr when NULL); NULL is returned if any was found. */
struct cat_catalog *cat_load(const char *path, cat_error_fn err, void *arg);
/* The same from memory; name is used in error positions. */
struct cat_catalog *cat_load_buffer(const char *name, const char *data, size_t len,
				    cat_error_fn err, void *arg);
void cat_free(struct cat_catalog *cat);

const struct cat_type *cat_type_by_code(const struct cat_catalog *cat, uint16_t code);
const struct cat_type *cat_type_by_name(const struct cat_catalog *cat, const char *name);
const struct cat_field *cat_field_by_tag(const struct cat_catalog *cat, uint16_t tag);
size_t cat_type_count(const struct cat_catalog *cat);
const struct cat_type *cat_type_at(const struct cat_catalog *cat, size_t i);

/* Can a response of type resp answer a request/notice of type req? */
bool cat_answers(const struct cat_type *resp, const struct cat_type *req);

/* SHA-256 (hex) of the file the catalog was loaded from, for audit records. */
const char *cat_sha256(const struct cat_catalog *cat);

#endif
