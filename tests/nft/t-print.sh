# nft_print's ruleset is accepted by `nft -c -f`, and after nft_apply the
# kernel's listing of the table is that same ruleset; `nft -f` of the print
# gives the same table too.
source "$(dirname "$0")/lib.sh"
NS=${NS_PREFIX}print
ip netns add "$NS" || fail "netns"

"$TOOL" print $(policy) >"$WORK/print.nft" || fail "print"
ip netns exec "$NS" nft -c -f "$WORK/print.nft" || fail "nft -c -f rejects the printed ruleset"
echo "ok: nft -c -f accepts the print"

ip netns exec "$NS" "$TOOL" apply $(policy) || fail "apply"
ip netns exec "$NS" nft list table inet jgw >"$WORK/list.nft" || fail "list"
sed -n '/^table inet jgw {/,$p' "$WORK/print.nft" | normalise >"$WORK/a"
normalise <"$WORK/list.nft" >"$WORK/b"
diff -u "$WORK/a" "$WORK/b" || fail "kernel listing differs from nft_print"
echo "ok: listing after nft_apply equals nft_print ($(wc -l <"$WORK/a") lines)"

# Replace by nft itself (the print starts with create+delete: it replaces).
ip netns exec "$NS" nft -f "$WORK/print.nft" || fail "nft -f"
ip netns exec "$NS" nft list table inet jgw | normalise >"$WORK/c"
diff -u "$WORK/b" "$WORK/c" || fail "nft -f of the print differs from nft_apply"
echo "ok: nft -f of the print gives the same table"

# Applying again replaces, never duplicates.
ip netns exec "$NS" "$TOOL" apply $(policy) || fail "second apply"
ip netns exec "$NS" nft list table inet jgw | normalise >"$WORK/d"
diff -u "$WORK/b" "$WORK/d" || fail "second apply differs"
[ "$(ip netns exec "$NS" nft list tables | grep -c 'inet jgw')" = 1 ] || fail "table count"

# A failed replace leaves the table in force: here the kernel refuses a
# caller without CAP_NET_ADMIN.
if command -v setpriv >/dev/null; then
	out=$(ip netns exec "$NS" setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$TOOL" apply -t jgw --peer 192.0.2.1 2>&1) && fail "unprivileged apply succeeded"
	echo "$out" | grep -q "Operation not permitted" || fail "error not reported: $out"
	ip netns exec "$NS" nft list table inet jgw | normalise >"$WORK/e"
	diff -u "$WORK/b" "$WORK/e" || fail "a failed apply changed the table"
	echo "ok: failed apply ($out) left the table as it was"
fi

# Delete (what jgwd calls on stop when told not to fail closed), twice.
ip netns exec "$NS" "$TOOL" delete -t jgw || fail "delete"
ip netns exec "$NS" "$TOOL" delete -t jgw || fail "delete when absent"
ip netns exec "$NS" nft list tables | grep -q 'inet jgw' && fail "table still there"
echo "ok: delete"
exit 0
