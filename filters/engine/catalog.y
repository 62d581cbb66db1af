/* catalog.y — the catalog grammar (docs/catalog.md). The actions only record
 * declarations; catalog.c checks them all in one place afterwards. */
%define api.pure full
%define api.prefix {catyy}
%define api.location.type {struct cat_loc}
%define parse.error verbose
%locations
%param {void *scanner}
%parse-param {struct cat_build *b}

%code requires {
#include <stdint.h>
#include "filters/engine/catalog_parse.h"
}

%code provides {
int catyylex(CATYYSTYPE *lval, struct cat_loc *lloc, void *scanner);
}

%code {
#include <stdlib.h>
#include <string.h>

static void catyyerror(struct cat_loc *loc, void *scanner, struct cat_build *b, const char *msg)
{
	(void)scanner;
	cat_build_error(b, loc, "%s", msg);
}
}

%union {
	uint64_t num;
	char *str;
	struct cat_strlist list;
	struct { uint32_t min, max; } mult;
	struct { char *name; struct cat_loc loc; } ref;
}

%token FIELD "field" KIND "kind" SHAPE "shape" OPTIONAL "optional" OF "of"
%token TYPE "type" NAME_JA "name-ja" BASIS "basis" PATTERN "pattern" FROM "from"
%token TO "to" ANSWERS "answers" BODY "body" MAX_BODY "max-body" SYSTEM "system"
%token DOTDOT ".." ERROR "invalid token"
%token <num> NUMBER "number"
%token <str> IDENT "identifier" STRING "string"
%type <str> opt_string
%type <list> strings refs
%type <mult> mult
%type <ref> opt_of
%type <num> size

/* Mid-rule actions hand names to the builder and leave NULL behind, so
 * error recovery never frees them twice. */
%destructor { free($$); } <str>
%destructor { cat_strlist_free(&$$); } <list>
%destructor { free($$.name); } <ref>

%%

file:
	  %empty
	| file stmt
	;

stmt:
	  field
	| shape
	| type
	| error ';'
	| error '}'
	;

field:
	  FIELD NUMBER IDENT opt_string KIND IDENT ';'
		{ cat_build_field(b, &@1, (uint32_t)$2, $3, $4, $6, &@6, false, 0, NULL); }
	| FIELD NUMBER IDENT opt_string KIND IDENT ':' NUMBER ';'
		{ cat_build_field(b, &@1, (uint32_t)$2, $3, $4, $6, &@6, true, (uint32_t)$8, NULL); }
	| FIELD NUMBER IDENT opt_string KIND IDENT ':' strings ';'
		{ cat_build_field(b, &@1, (uint32_t)$2, $3, $4, $6, &@6, false, 0, &$8); }
	;

opt_string:
	  %empty	{ $$ = NULL; }
	| STRING	{ $$ = $1; }
	;

strings:
	  STRING		{ $$ = (struct cat_strlist){ 0 }; cat_strlist_add(&$$, $1, &@1); }
	| strings ',' STRING	{ $$ = $1; cat_strlist_add(&$$, $3, &@3); }
	;

shape:
	  SHAPE IDENT '{'	{ cat_build_shape_begin(b, &@1, $2); $2 = NULL; }
	  items '}'		{ cat_build_shape_end(b); }
	;

items:
	  %empty
	| items item
	;

item:
	  IDENT mult opt_of ';'
		{ cat_build_shape_item(b, &@1, $1, 0, $2.min, $2.max, $3.name, &$3.loc); }
	| NUMBER mult opt_of ';'
		{ cat_build_shape_item(b, &@1, NULL, (uint32_t)$1, $2.min, $2.max, $3.name, &$3.loc); }
	| error ';'
	;

mult:
	  %empty			{ $$.min = 1; $$.max = 1; }
	| OPTIONAL			{ $$.min = 0; $$.max = 1; }
	| NUMBER DOTDOT NUMBER		{ $$.min = (uint32_t)$1; $$.max = (uint32_t)$3; }
	| NUMBER DOTDOT '*'		{ $$.min = (uint32_t)$1; $$.max = UINT32_MAX; }
	;

opt_of:
	  %empty	{ $$.name = NULL; $$.loc = @$; }
	| OF IDENT	{ $$.name = $2; $$.loc = @2; }
	;

type:
	  TYPE NUMBER IDENT '{'	{ cat_build_type_begin(b, &@1, (uint32_t)$2, $3); $3 = NULL; }
	  props '}'		{ cat_build_type_end(b); }
	;

props:
	  %empty
	| props prop
	;

prop:
	  NAME_JA STRING ';'	{ cat_build_type_prop(b, &@1, "name-ja", $2); }
	| BASIS STRING ';'	{ cat_build_type_prop(b, &@1, "basis", $2); }
	| PATTERN IDENT ';'	{ cat_build_type_prop(b, &@1, "pattern", $2); }
	| BODY IDENT ';'	{ cat_build_type_prop(b, &@1, "body", $2); }
	| SYSTEM IDENT ';'	{ cat_build_type_prop(b, &@1, "system", $2); }
	| FROM IDENT TO IDENT ';'	{ cat_build_type_dir(b, &@1, $2, $4); }
	| ANSWERS refs ';'	{ cat_build_type_answers(b, &@1, &$2); }
	| MAX_BODY size ';'	{ cat_build_type_max_body(b, &@1, $2); }
	| error ';'
	;

refs:
	  IDENT			{ $$ = (struct cat_strlist){ 0 }; cat_strlist_add(&$$, $1, &@1); }
	| refs ',' IDENT	{ $$ = $1; cat_strlist_add(&$$, $3, &@3); }
	;

size:
	  NUMBER	{ $$ = $1; }
	| NUMBER IDENT
		{
			uint64_t unit = 0;
			if (strcmp($2, "KiB") == 0)
				unit = 1024;
			else if (strcmp($2, "MiB") == 0)
				unit = 1024 * 1024;
			else
				cat_build_error(b, &@2, "unknown size unit '%s' (KiB or MiB)", $2);
			free($2);
			$$ = $1 * unit;
		}
	;

%%
