/* jmsg.c — node codes (wire.md §1). */
#include "filters/jmsg.h"

#include <stdio.h>
#include <string.h>

static bool all_digits(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return true;
}

char jmsg_lg_check_digit(const uint8_t first5[5])
{
	static const int weight[5] = { 6, 5, 4, 3, 2 };
	int sum = 0;

	for (int i = 0; i < 5; i++)
		sum += (first5[i] - '0') * weight[i];
	return (char)('0' + (11 - sum % 11) % 10);
}

enum jmsg_role jmsg_node_role(const uint8_t code[JMSG_NODE_LEN])
{
	if (!all_digits(code, JMSG_NODE_LEN))
		return JMSG_ROLE_INVALID;
	if (memcmp(code, "000000", JMSG_NODE_LEN) == 0)
		return JMSG_ROLE_JLIS;
	int pp = (code[0] - '0') * 10 + (code[1] - '0');
	if (pp < 1 || pp > 47 || jmsg_lg_check_digit(code) != (char)code[5])
		return JMSG_ROLE_INVALID;
	return memcmp(code + 2, "000", 3) == 0 ? JMSG_ROLE_PREFECTURE : JMSG_ROLE_MUNICIPALITY;
}

bool jmsg_node_valid(const char *s)
{
	return s != NULL && strlen(s) == JMSG_NODE_LEN &&
	       jmsg_node_role((const uint8_t *)s) != JMSG_ROLE_INVALID;
}

int jmsg_node_prefecture(const uint8_t code[JMSG_NODE_LEN])
{
	enum jmsg_role role = jmsg_node_role(code);

	if (role != JMSG_ROLE_PREFECTURE && role != JMSG_ROLE_MUNICIPALITY)
		return 0;
	return (code[0] - '0') * 10 + (code[1] - '0');
}

bool jmsg_prefecture_node(int pp, jmsg_node out)
{
	if (pp < 1 || pp > 47)
		return false;
	snprintf(out, sizeof(jmsg_node), "%02d000", pp);
	out[5] = jmsg_lg_check_digit((const uint8_t *)out);
	out[6] = '\0';
	return true;
}

const char *jmsg_role_name(enum jmsg_role role)
{
	switch (role) {
	case JMSG_ROLE_JLIS:         return "jlis";
	case JMSG_ROLE_PREFECTURE:   return "prefecture";
	case JMSG_ROLE_MUNICIPALITY: return "municipality";
	case JMSG_ROLE_INVALID:      break;
	}
	return "invalid";
}
