# refused-direction — a notice whose direction the catalog does not allow is
# refused at the sending site's gateway: the connection closes, nothing
# reaches any server, and the deny is audited with its reason.
source "$(dirname "$0")/lib.sh"
e2e_need
e2e_up chiyoda chuo

# 本人確認情報通知 goes to the own prefecture only, never CS to CS.
e2e_send_refused chiyoda --to 131024 --type honnin-tsuchi
# A prefecture-only notice sent by a municipality.
e2e_send_refused chiyoda --to 131024 --type tennyu-tsuchi --bad direction
[ "$(e2e_server_count chuo juki true)" = 0 ] || fail "a refused frame reached 中央区's server"
n=$(ns_audit chiyoda | jq -c 'select(.event == "message" and .verdict == "deny" and .reason == "direction-not-allowed")' | wc -l)
[ "$n" = 2 ] || fail "chiyoda audited $n direction-not-allowed denies, expected 2"
# The same connection type in the allowed direction still passes.
e2e_send_ok chiyoda --to 131024 --type tennyu-tsuchi >/dev/null
echo "wrong direction refused and audited"
