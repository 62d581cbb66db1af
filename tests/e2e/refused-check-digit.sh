# refused-check-digit — a 住民票コード with a wrong check digit is a bad-value
# deny naming the field's tag (0x0010), never its content.
source "$(dirname "$0")/lib.sh"
e2e_need
e2e_up chiyoda chuo

e2e_send_refused chiyoda --to 131024 --type tennyu-tsuchi --bad check-digit
e2e_send_refused chiyoda --to 131024 --type tennyu-tsuchi --count 3 --bad check-digit >/dev/null
# Frames before the bad one went through; the bad ones did not.
got=$(e2e_server_count chuo juki '.type_name == "tennyu-tsuchi"')
[ "$got" = 2 ] || fail "中央区 got $got tennyu-tsuchi frames, expected the 2 good ones"
rec=$(e2e_audit_wait chiyoda '.event == "message" and .verdict == "deny" and .reason == "bad-value"') ||
	fail "no bad-value deny audited"
field=$(head -1 <<<"$rec" | jq -r '.field')
case $field in 0x0010|16) ;; *) fail "bad-value names field '$field', expected 0x0010";; esac
echo "bad check digit refused (field $field)"
