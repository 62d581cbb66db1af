/*
 * metrics_parse.c — reading a text exposition back into samples, for
 * jgw-snmp, which gets jgwd's counters as `jgwctl metrics` prints them: one
 * form for every consumer, so SNMP can never count differently from HTTP.
 *
 * The grammar is the sample line of the text format: a name, optional
 * {label="value",...} with \\, \" and \n escapes, a value, an optional
 * timestamp. Comment lines (# HELP, # TYPE) are skipped.
 */
#include "gateway/metrics/metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static bool name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	       (!first && c >= '0' && c <= '9');
}

/* A name at *p; NUL-terminated in place only by the caller's next step. */
static char *take_name(char **p)
{
	char *start = *p;

	if (!name_char(**p, true))
		return NULL;
	while (name_char(**p, false))
		(*p)++;
	return start;
}

/* A quoted value at *p (past the quote), unescaped in place. */
static char *take_quoted(char **p)
{
	char *r = *p, *w = *p, *start = *p;

	for (;;) {
		if (*r == '\0' || *r == '\n')
			return NULL;
		if (*r == '"')
			break;
		if (*r == '\\') {
			r++;
			if (*r == 'n')
				*w++ = '\n';
			else if (*r == '\\' || *r == '"')
				*w++ = *r;
			else
				return NULL;
			r++;
			continue;
		}
		*w++ = *r++;
	}
	*w = '\0';
	*p = r + 1;
	return start;
}

static void skip_blanks(char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
}

static bool parse_labels(char **p, struct metrics_sample *s)
{
	(*p)++;                       /* '{' */
	for (;;) {
		char *name, *value;

		skip_blanks(p);
		if (**p == '}')
			break;
		if (s->n_labels == METRICS_LABELS_MAX || !(name = take_name(p)))
			return false;
		skip_blanks(p);
		if (**p != '=')
			return false;
		**p = '\0';
		(*p)++;
		skip_blanks(p);
		if (**p != '"')
			return false;
		(*p)++;
		if (!(value = take_quoted(p)))
			return false;
		/* The name ended at '=' or a blank: cut it there. */
		name[strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:")] = '\0';
		s->label[s->n_labels] = name;
		s->value[s->n_labels++] = value;
		skip_blanks(p);
		if (**p == ',')
			(*p)++;
		else if (**p != '}')
			return false;
	}
	(*p)++;                       /* '}' */
	return true;
}

static bool parse_value(char *text, struct metrics_sample *s)
{
	char *end;

	errno = 0;
	s->d = strtod(text, &end);
	if (end == text || errno == ERANGE)
		return false;
	s->negative = text[0] == '-';
	s->integer = strspn(text + s->negative, "0123456789") == strlen(text + s->negative);
	if (!s->integer)
		return true;
	errno = 0;
	if (s->negative)
		s->i = strtoll(text, &end, 10);
	else
		s->u = strtoull(text, &end, 10);
	return errno == 0;
}

static bool parse_line(char *line, struct metrics_sample *s)
{
	char *p = line, *name, *value;

	memset(s, 0, sizeof(*s));
	if (!(name = take_name(&p)))
		return false;
	if (*p == '{') {
		char *brace = p;

		if (!parse_labels(&p, s))
			return false;
		*brace = '\0';
	}
	if (*p != ' ' && *p != '\t')
		return false;
	*p++ = '\0';
	skip_blanks(&p);
	value = p;
	p += strcspn(p, " \t");
	if (*p)
		*p = '\0';        /* a timestamp may follow: not used */
	s->name = name;
	return parse_value(value, s);
}

int metrics_parse(char *text, metrics_sample_fn fn, void *arg, char *err, size_t errlen)
{
	unsigned lineno = 0;

	while (text && *text) {
		char *nl = strchr(text, '\n'), *line = text;
		struct metrics_sample s;

		if (nl)
			*nl = '\0';
		text = nl ? nl + 1 : NULL;
		lineno++;
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (!parse_line(line, &s)) {
			snprintf(err, errlen, "exposition line %u is not a sample", lineno);
			return -1;
		}
		fn(arg, &s);
	}
	return 0;
}
