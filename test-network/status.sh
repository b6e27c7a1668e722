#!/usr/bin/env bash
# status.sh: what runs and how it is doing. For each process of the test
# network: its PID and whether it runs; for orderers and peers the
# /healthz answer and, from their Prometheus metrics, the channel's block
# height, the consensus leader and the gossip membership; for chaincode
# services the package they serve. Then the committed chaincode
# definition (with the peer CLI, when Fabric binaries are found).
#
# Exit status: 0 when every process the network should have runs and is
# healthy, 1 otherwise (including when the network is not up).
#
# Usage: test-network/status.sh

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 0 ] || die "usage: status.sh (no arguments)"
ok=yes

if [ ! -f "$DATA/consensus" ]; then
	echo "test-network is not up (no $DATA); start it with make network-up"
	exit 1
fi
CONSENSUS=$(consensus)
fabric=no
if (find_fabric) >/dev/null 2>&1; then
	find_fabric
	fabric=yes
fi
echo "test-network: channel $CHANNEL, $(orderer_count) $CONSENSUS orderers, 3 peers, on $HOST"
[ $fabric = yes ] && echo "Fabric $FABRIC_VERSION from $FABRIC_BIN_DIR"
echo

row() { printf '%-38s %-8s %-9s %s\n' "$@"; }
row PROCESS PID STATE DETAILS

# proc NAME DETAILS-IF-RUNNING: one row; a process that is not running
# makes the status fail.
proc() {
	local name=$1 details=$2
	if running "$name"; then
		row "$name" "$(pid_of "$name")" running "$details"
	else
		row "$name" - stopped "log: $LOGS/$name.log"
		ok=no
	fi
}

health() { # PORT: prints OK or FAILING, returns 1 on failure
	if healthy "$1"; then echo "healthz OK"; else
		echo "healthz FAILING"
		return 1
	fi
}

case $CONSENSUS in
raft) leader_metric=consensus_etcdraft_is_leader ;;
bft) leader_metric=consensus_BFT_is_leader ;;
esac
for i in $(orderer_ids); do
	ops=$(orderer_ops_port "$i")
	d="$HOST:$(orderer_port "$i") (admin $(orderer_admin_port "$i"), operations $ops)"
	if running "orderer$i"; then
		h=$(health "$ops") || ok=no
		height=$(metric "$ops" ledger_blockchain_height "channel=\"$CHANNEL\"")
		leader=$(metric "$ops" "$leader_metric" "channel=\"$CHANNEL\"")
		d="$d, $h, height ${height:-?}"
		[ "$leader" != 1 ] || d="$d, leader"
	fi
	proc "orderer$i" "$d"
done
for msp in $PEER_ORGS; do
	name=$(peer_name "$msp")
	ops=$(peer_ops_port "$msp")
	d="$HOST:$(peer_port "$msp") (operations $ops)"
	if running "$name"; then
		h=$(health "$ops") || ok=no
		height=$(metric "$ops" ledger_blockchain_height "channel=\"$CHANNEL\"")
		known=$(metric "$ops" gossip_membership_total_peers_known "channel=\"$CHANNEL\"")
		d="$d, $h, height ${height:-?}, gossip knows ${known:-0} other peer(s)"
		[ "${known:-0}" -ge 2 ] || ok=no
	fi
	proc "$name" "$d"
done
deployed=no
[ -f "$DATA/chaincode/$CHAINCODE.tar.gz" ] && deployed=yes
for msp in $PEER_ORGS; do
	name=chaincode-$msp
	if [ $deployed = yes ] || [ -f "$RUN/$name.pid" ]; then
		pkg=$(awk '{print $1}' "$RUN/$name.info" 2>/dev/null || true)
		proc "$name" "$HOST:$(ccaas_port "$msp"), package ${pkg:-?}"
	fi
done
echo

if [ $deployed = no ]; then
	echo "chaincode: not deployed (run test-network/deploy.sh)"
	ok=no
elif [ $fabric = yes ]; then
	def=$(peer_admin HospitalAMSP lifecycle chaincode querycommitted --channelID "$CHANNEL" --name "$CHAINCODE" --output json 2>&1) || def=
	if [ -n "$def" ]; then
		echo "chaincode $CHAINCODE: $(printf '%s' "$def" | jq -r '"version \(.version), sequence \(.sequence), approved by \(.approvals | to_entries | map(select(.value)) | map(.key) | join(", "))"')"
	else
		echo "chaincode $CHAINCODE: no committed definition"
		ok=no
	fi
else
	echo "chaincode $CHAINCODE: Fabric binaries not found (set FABRIC_BIN) to query the definition"
fi
for msp in $PEER_ORGS; do
	[ -f "$GATEWAYS/$msp/gateway.yaml" ] || continue
	if running "gateway-$msp"; then
		echo "gateway $msp: running (PID $(pid_of "gateway-$msp")) on $HOST:$(gateway_port "$msp" 9), config $GATEWAYS/$msp/gateway.yaml"
	else
		echo "gateway $msp: not running (test-network/gateways.sh up), config $GATEWAYS/$msp/gateway.yaml"
	fi
done

[ $ok = yes ]
