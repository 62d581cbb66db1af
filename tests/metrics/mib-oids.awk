# mib-oids.awk — the numeric OID of every object a MIB module defines, from
# its `::= { parent n }` lines (enterprises as the root), one line each:
#   OID NAME KIND ACCESS
# KIND is OBJECT-TYPE, OBJECT-IDENTIFIER, ...; ACCESS is the MAX-ACCESS of an
# OBJECT-TYPE ("-" otherwise). A test's own reading of JGW-MIB.txt, so that
# the numbers jgw-snmp serves are checked against the MIB, not against
# themselves.
function resolve(n,    p) {
	if (n == "enterprises")
		return "1.3.6.1.4.1"
	if (!(n in parent))
		return ""
	p = resolve(parent[n])
	return p == "" ? "" : p "." sub_id[n]
}
/^[ \t]*--/ { next }
/^[a-z][A-Za-z0-9-]* +(OBJECT-TYPE|OBJECT IDENTIFIER|MODULE-IDENTITY|OBJECT-GROUP|MODULE-COMPLIANCE)/ {
	name = $1
	kind[name] = $2 == "OBJECT" ? "OBJECT-IDENTIFIER" : $2
	access[name] = "-"
}
/MAX-ACCESS/ { access[name] = $2 }
/::= *\{ *[a-zA-Z][A-Za-z0-9-]* +[0-9]+ *\}/ {
	line = $0
	sub(/.*::= *\{ */, "", line)
	sub(/ *\}.*/, "", line)
	split(line, w, / +/)
	parent[name] = w[1]
	sub_id[name] = w[2]
}
END {
	for (n in parent)
		if ((o = resolve(n)) != "")
			print o, n, kind[n], access[n]
}
