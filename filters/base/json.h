/*
 * json.h — the one JSON string writer of jgw: audit records, replay's and
 * jgw-inspect's verdict lines and the control socket's --json answers all
 * escape through it, so every line they write is valid JSON. Invalid UTF-8
 * becomes U+FFFD; controls become \n, \r, \t or \u00XX.
 */
#ifndef JGW_JSON_H
#define JGW_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Write the escaped body of a JSON string (no quotes) for s into dst, at
 * most room bytes. Returns the bytes written, or (size_t)-1 when they do
 * not fit (dst then holds a partial body the caller must discard). */
size_t json_escape(char *dst, size_t room, const char *s);
/* The same, quoted, to a stdio stream (bounded by nothing: the caller's
 * strings are its own names and codes). */
void json_put_str(FILE *out, const char *s);

#endif
