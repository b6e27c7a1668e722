#!/usr/bin/env bash
# smoke.sh: checks the deployed network end to end with the peer CLI, as
# HospitalAMSP's clinician (role clinician, clearance N, from its wallet):
#
#   1. RegisterPatient with a fresh synthetic Ed25519 key, endorsed by the
#      peers of HospitalAMSP and HospitalBMSP (a MAJORITY), waiting for the
#      commit: it must commit VALID
#   2. GetPatient for the pseudonym it returned: the patient must be there
#   3. the block that holds the transaction (qscc GetBlockByTxID): its
#      endorsers' MSP IDs and validation code, decoded with configtxlator
#      when the release has it
#   4. RegisterPatient of another key endorsed by HospitalAMSP's peer only:
#      the commit must fail with ENDORSEMENT_POLICY_FAILURE, and GetPatient
#      must then answer NOT_FOUND
#   5. RegisterPatient as HospitalAMSP's researcher: the chaincode must
#      refuse it with PERMISSION_DENIED (the role attribute is read)
#
# Exits 0 only if every check holds. Leaves the registered synthetic
# patient on the ledger.
#
# Usage: test-network/smoke.sh    (after up.sh and deploy.sh)

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 0 ] || die "usage: smoke.sh (no arguments)"
find_fabric
need_tools openssl base64 jq od cut
peer_admin HospitalAMSP lifecycle chaincode querycommitted --channelID "$CHANNEL" --name "$CHAINCODE" >/dev/null 2>&1 ||
	die "$CHAINCODE is not deployed on $CHANNEL: run test-network/deploy.sh first"

A=HospitalAMSP
B=HospitalBMSP
CLINICIAN=$(wallet_dir $A)/clinician/msp
RESEARCHER=$(wallet_dir $A)/researcher/msp
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail() { die "smoke: $*"; }

# A synthetic patient key: base64 of a PKIX Ed25519 public key, as
# internal/devnet.NewPatient makes them.
new_key() { openssl genpkey -algorithm ed25519 2>/dev/null | openssl pkey -pubout -outform DER | base64 | tr -d '\n'; }
# pseudonym_of KEY: the patient pseudonym the chaincode derives from KEY
# (docs/chaincode-api.md, Pseudonym).
pseudonym_of() {
	local sum
	sum=$({ printf 'medprov.patient.pseudonym.v1\000'; printf '%s' "$1" | base64 -d; } | sha256)
	echo "pt-$(printf '%s' "$sum" | cut -c1-40)"
}
sha256() {
	if command -v sha256sum >/dev/null 2>&1; then sha256sum | awk '{print $1}'; else shasum -a 256 | awk '{print $1}'; fi
}
peers_of() {
	local msp
	for msp in "$@"; do
		printf -- '--peerAddresses %s --tlsRootCertFiles %s ' "$HOST:$(peer_port "$msp")" "$(tls_ca "$msp")"
	done
}
# register MSPDIR KEY ORG...: RegisterPatient as the identity in MSPDIR,
# endorsed by the peers of ORG..., waiting for the commit; prints the CLI's
# output, returns its status.
register() {
	local mspdir=$1 key=$2
	shift 2
	# shellcheck disable=SC2046
	PEER_CLI_LOGGING="info:grpc=error" peer_cli $A "$mspdir" chaincode invoke $(orderer_args) \
		--channelID "$CHANNEL" --name "$CHAINCODE" $(peers_of "$@") \
		-c "{\"Args\":[\"RegisterPatient\",\"$key\"]}" --waitForEvent 2>&1 | sed 's/\x1b\[[0-9;]*m//g'
	return "${PIPESTATUS[0]}"
}
get_patient() {
	peer_cli $A "$CLINICIAN" chaincode query --channelID "$CHANNEL" --name "$CHAINCODE" \
		-c "{\"Args\":[\"GetPatient\",\"$1\"]}" 2>&1
}

step "1. RegisterPatient as $A clinician, endorsed by $A and $B"
KEY=$(new_key)
out=$(register "$CLINICIAN" "$KEY" $A $B) || fail "RegisterPatient failed: $out"
printf '%s\n' "$out" | grep -E 'committed with status|invoke successful' >&2
TXID=$(printf '%s\n' "$out" | sed -n 's/.*txid \[\([0-9a-f]*\)\] committed with status (VALID).*/\1/p' | head -n 1)
[ -n "$TXID" ] || fail "no VALID commit in the output"
PSEUDONYM=$(pseudonym_of "$KEY")
printf '%s\n' "$out" | grep -q "$PSEUDONYM" || fail "the result does not name the pseudonym $PSEUDONYM"

step "2. GetPatient $PSEUDONYM as $A clinician"
got=$(get_patient "$PSEUDONYM") || fail "GetPatient failed: $got"
printf '%s\n' "$got" >&2
[ "$(printf '%s' "$got" | jq -r .pseudonym)" = "$PSEUDONYM" ] || fail "GetPatient returned another patient"
[ "$(printf '%s' "$got" | jq -r .publicKey)" = "$KEY" ] || fail "GetPatient returned another key"
[ "$(printf '%s' "$got" | jq -r .registeredBy)" = "$A" ] || fail "registeredBy is not $A"

step "3. the block holding transaction $TXID"
peer_admin $A chaincode query --channelID "$CHANNEL" --name qscc --hex \
	-c "{\"Args\":[\"GetBlockByTxID\",\"$CHANNEL\",\"$TXID\"]}" >"$WORK/block.hex"
if [ -x "$FABRIC_BIN_DIR/configtxlator" ] && command -v xxd >/dev/null 2>&1; then
	xxd -r -p "$WORK/block.hex" >"$WORK/block.pb"
	"$FABRIC_BIN_DIR/configtxlator" proto_decode --type common.Block --input "$WORK/block.pb" >"$WORK/block.json"
	idx=$(jq --arg tx "$TXID" '[.data.data[].payload.header.channel_header.tx_id] | index($tx)' "$WORK/block.json")
	# The validation code of each transaction is one byte of the
	# TRANSACTIONS_FILTER metadata; 0 is VALID.
	code=$(jq -r '.metadata.metadata[2]' "$WORK/block.json" | base64 -d | od -An -tu1 -j "$idx" -N1 | tr -d ' ')
	endorsers=
	n=$(jq --argjson i "$idx" '.data.data[$i].payload.data.actions[0].payload.action.endorsements | length' "$WORK/block.json")
	for e in $(seq 0 $((n - 1))); do
		jq -r --argjson i "$idx" --argjson e "$e" \
			'.data.data[$i].payload.data.actions[0].payload.action.endorsements[$e].endorser' "$WORK/block.json" |
			base64 -d >"$WORK/endorser.pb"
		msp=$("$FABRIC_BIN_DIR/configtxlator" proto_decode --type msp.SerializedIdentity --input "$WORK/endorser.pb" | jq -r .mspid)
		endorsers="$endorsers $msp"
	done
	say "   block $(jq -r .header.number "$WORK/block.json"), transaction $idx, validation code $code (0 = VALID), endorsed by:$endorsers"
	[ "$code" = 0 ] || fail "the transaction's validation code is $code, not VALID"
	[ "$n" -ge 2 ] || fail "$n endorsement(s); a MAJORITY needs 2"
else
	say "   configtxlator or xxd not found: block not decoded ($(wc -c <"$WORK/block.hex") hex digits fetched)"
fi

step "4. RegisterPatient endorsed by $A only: the endorsement policy must reject it"
KEY2=$(new_key)
if out=$(register "$CLINICIAN" "$KEY2" $A); then
	printf '%s\n' "$out" | grep -E 'committed with status' >&2 || true
	fail "a transaction endorsed by one organisation was accepted"
fi
printf '%s\n' "$out" | grep -E 'ENDORSEMENT_POLICY_FAILURE' >&2 || fail "expected ENDORSEMENT_POLICY_FAILURE: $out"
P2=$(pseudonym_of "$KEY2")
got=$(get_patient "$P2") && fail "the rejected patient $P2 is on the ledger: $got"
printf '%s\n' "$got" | grep -q NOT_FOUND || fail "GetPatient $P2: expected NOT_FOUND: $got"
say "   GetPatient $P2: NOT_FOUND, nothing was written"

step "5. RegisterPatient as $A researcher: the chaincode must refuse the role"
if out=$(register "$RESEARCHER" "$(new_key)" $A $B); then
	fail "a researcher registered a patient"
fi
printf '%s\n' "$out" | grep -o 'PERMISSION_DENIED[^"]*' | head -n 1 >&2 || fail "expected PERMISSION_DENIED: $out"

step "smoke: OK"
