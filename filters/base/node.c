/* node.c — node codes (docs/protocol.md §1). */
#include "filters/base/node.h"

char node_check_digit(const uint8_t first5[5])
{
	static const int weight[5] = { 6, 5, 4, 3, 2 };
	int sum = 0;

	for (int i = 0; i < 5; i++)
		sum += (first5[i] - '0') * weight[i];
	return (char)('0' + (11 - sum % 11) % 10);
}

bool node_valid(const char *s)
{
	return s != NULL && strlen(s) == NODE_CODE_LEN &&
	       node_role((const uint8_t *)s) != NODE_ROLE_INVALID;
}

int node_prefecture(const uint8_t code[NODE_CODE_LEN])
{
	enum node_role role = node_role(code);

	if (role != NODE_ROLE_PREFECTURE && role != NODE_ROLE_MUNICIPALITY)
		return 0;
	return (code[0] - '0') * 10 + (code[1] - '0');
}

const char *node_role_name(enum node_role role)
{
	switch (role) {
	case NODE_ROLE_JLIS:         return "jlis";
	case NODE_ROLE_PREFECTURE:   return "prefecture";
	case NODE_ROLE_MUNICIPALITY: return "municipality";
	case NODE_ROLE_INVALID:      break;
	}
	return "invalid";
}
