/* jgwctl-audit — `jgwctl audit ...` as a program of its own, for the audit
 * scenarios: jgwctl-audit init|verify|tail ARGS. */
#include "gateway/ctl/jgwctl.h"

int main(int argc, char **argv)
{
	argv[0] = (char *)"audit";
	return ctl_audit_main(argc, argv);
}
