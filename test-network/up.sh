#!/usr/bin/env bash
# up.sh: starts the medprov Fabric test network on this machine, without
# Docker: three Raft orderers (or four BFT orderers with
# MEDPROV_CONSENSUS=bft) and one peer for each of HospitalAMSP,
# HospitalBMSP and HealthAuthorityMSP, every one a local process on
# 127.0.0.1 with TLS, and the channel `medprov` joined by all of them.
#
#   1. crypto: CAs, node, admin and user identities with internal/devca
#      (test-network/netca); users carry medprov.role/medprov.clearance
#   2. the channel's genesis block from network/configtx.yaml (configtxgen)
#   3. the orderers, with network/orderer.env over the release's orderer.yaml
#   4. the peers, with network/peer.env over the release's core.yaml
#   5. each orderer joins the channel (osnadmin); wait for a consensus leader
#   6. each peer joins the channel; anchor peers come with the genesis block
#   7. wait until every peer's gossip sees the other organisations' peers
#   8. a medprov-gateway configuration file for each organisation
#
# Idempotent: whatever exists is kept and whatever runs is left running, so
# running it again restarts only what has stopped (ledgers are kept).
# Then run deploy.sh. Stop and remove everything with down.sh.
#
# Usage: test-network/up.sh    (FABRIC_BIN=/path/to/fabric/bin, see lib.sh)

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 0 ] || die "usage: up.sh (no arguments; see the comment at the top of $0)"
find_fabric
need_tools go curl jq awk sed
T0=$(now)
say "Fabric $FABRIC_VERSION from $FABRIC_BIN_DIR (config $FABRIC_CONFIG, builder $FABRIC_BUILDER)"

# The consensus is chosen once, when the channel is created.
mkdir -p "$DATA"
if [ -f "$DATA/consensus" ]; then
	have=$(cat "$DATA/consensus")
	if [ -n "${MEDPROV_CONSENSUS:-}" ] && [ "$MEDPROV_CONSENSUS" != "$have" ]; then
		die "the network was created with MEDPROV_CONSENSUS=$have; run test-network/down.sh before switching to $MEDPROV_CONSENSUS"
	fi
else
	case ${MEDPROV_CONSENSUS:-raft} in
	raft | bft) echo "${MEDPROV_CONSENSUS:-raft}" >"$DATA/consensus" ;;
	*) die "MEDPROV_CONSENSUS=$MEDPROV_CONSENSUS: want raft or bft" ;;
	esac
fi
CONSENSUS=$(consensus)

# 1. Crypto.
step "crypto: $CRYPTO, wallets under $GATEWAYS"
(cd "$REPO" && go build -o "$DATA/bin/netca" ./test-network/netca)
"$DATA/bin/netca" -crypto "$CRYPTO" -gateways "$GATEWAYS" -orderers "$(orderer_count)" >&2

# 2. Channel genesis block, made once: the orderers' and peers' ledgers
# start from it, so it must not change while they exist.
BLOCK=$DATA/channel/$CHANNEL.block
if [ ! -f "$BLOCK" ]; then
	case $CONSENSUS in
	raft) profile=MedprovRaft ;;
	bft) profile=MedprovBFT ;;
	esac
	step "channel $CHANNEL: genesis block with profile $profile"
	for i in $(orderer_ids); do
		grep -q "Port: $(orderer_port "$i")\$" "$NETWORK/configtx.yaml" ||
			die "network/configtx.yaml names no consenter on port $(orderer_port "$i"), where test-network runs orderer$i"
	done
	for msp in $PEER_ORGS; do
		grep -q "Port: $(peer_port "$msp")\$" "$NETWORK/configtx.yaml" ||
			die "network/configtx.yaml names no anchor peer on port $(peer_port "$msp"), where test-network runs $(peer_name "$msp")"
	done
	cp "$NETWORK/configtx.yaml" "$CRYPTO/configtx.yaml"
	mkdir -p "$DATA/channel"
	env -i PATH="$PATH" HOME="${HOME:-/tmp}" FABRIC_LOGGING_SPEC=warn \
		"$FABRIC_BIN_DIR/configtxgen" -configPath "$CRYPTO" -profile "$profile" \
		-channelID "$CHANNEL" -outputBlock "$BLOCK.tmp"
	mv "$BLOCK.tmp" "$BLOCK"
fi

# start_node NAME SETTINGS-FILE VAR=VALUE... -- COMMAND ARG...: starts a
# peer or an orderer with the settings of SETTINGS-FILE, evaluated with the
# node's VAR=VALUE, unless it runs.
start_node() {
	local name=$1 file=$2 envfile
	shift 2
	if running "$name"; then
		say "   $name already running (PID $(pid_of "$name"))"
		return
	fi
	local vars=()
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		vars+=("$1")
		shift
	done
	shift
	mkdir -p "$RUN"
	envfile=$RUN/$name.env.tmp
	node_env "$file" "${vars[@]}" >"$envfile" || die "$file: cannot evaluate it for $name"
	local envs=(PATH="$PATH" HOME="${HOME:-/tmp}" FABRIC_CFG_PATH="$FABRIC_CONFIG")
	while IFS= read -r -d '' kv; do
		envs+=("$kv")
	done <"$envfile"
	rm -f "$envfile"
	start "$name" "${envs[@]}" -- "$@"
	say "   started $name (PID $(pid_of "$name")), log $LOGS/$name.log"
}

# 3. Orderers.
step "orderers ($CONSENSUS)"
for i in $(orderer_ids); do
	if ! running "orderer$i"; then
		need_ports "orderer$i" "$(orderer_port "$i")" "$(orderer_admin_port "$i")" "$(orderer_ops_port "$i")"
	fi
	mkdir -p "$DATA/orderer$i"
	start_node "orderer$i" "$NETWORK/orderer.env" \
		NODE_NAME="$(orderer_name "$i")" NODE_MSPID=$ORDERER_ORG NODE_DIR="$(orderer_dir "$i")" \
		NODE_DATA="$DATA/orderer$i" NODE_HOST=$HOST ORDERER_PORT="$(orderer_port "$i")" \
		ORDERER_ADMIN_PORT="$(orderer_admin_port "$i")" ORDERER_OPS_PORT="$(orderer_ops_port "$i")" \
		ORDERER_ADMIN_CA="$(orderer_ca)" -- "$FABRIC_BIN_DIR/orderer"
done

# 4. Peers.
step "peers"
for msp in $PEER_ORGS; do
	name=$(peer_name "$msp")
	pd=$(peer_dir "$msp")
	if ! running "$name"; then
		need_ports "$name" "$(peer_port "$msp")" "$(peer_cc_port "$msp")" "$(peer_ops_port "$msp")"
	fi
	# What the ccaas builder writes into connection.json for this peer:
	# its organisation's chaincode service, that service's TLS CA, and the
	# peer's own TLS key pair as client certificate.
	ccaas_config=$(jq -cn --arg address "$HOST:$(ccaas_port "$msp")" \
		--rawfile root_cert "$CRYPTO/$msp/chaincode/tls/ca.crt" \
		--rawfile client_cert "$pd/tls/server.crt" --rawfile client_key "$pd/tls/server.key" \
		'{address: $address, root_cert: $root_cert, client_cert: $client_cert, client_key: $client_key}')
	mkdir -p "$DATA/$name"
	start_node "$name" "$NETWORK/peer.env" \
		NODE_NAME="$name" NODE_MSPID="$msp" NODE_DIR="$pd" NODE_DATA="$DATA/$name" NODE_HOST=$HOST \
		PEER_PORT="$(peer_port "$msp")" PEER_CC_PORT="$(peer_cc_port "$msp")" \
		PEER_OPS_PORT="$(peer_ops_port "$msp")" CCAAS_BUILDER="$FABRIC_BUILDER" CCAAS_CONFIG="$ccaas_config" \
		-- "$FABRIC_BIN_DIR/peer" node start
done

step "waiting for /healthz"
for i in $(orderer_ids); do
	wait_for "orderer$i /healthz" 60 "orderer$i" healthy "$(orderer_ops_port "$i")"
done
for msp in $PEER_ORGS; do
	wait_for "$(peer_name "$msp") /healthz" 60 "$(peer_name "$msp")" healthy "$(peer_ops_port "$msp")"
done

# 5. Orderers join the channel.
step "orderers join $CHANNEL"
osn_joined() { osn "$1" channel list --channelID "$CHANNEL" 2>/dev/null | grep -q '"name": *"'"$CHANNEL"'"'; }
for i in $(orderer_ids); do
	if osn_joined "$i"; then
		say "   orderer$i already joined"
	else
		out=$(osn "$i" channel join --channelID "$CHANNEL" --config-block "$BLOCK" 2>&1) ||
			die "orderer$i: osnadmin channel join failed: $out"
		case $out in
		*"Status: 201"*) say "   orderer$i joined" ;;
		*) die "orderer$i: osnadmin channel join: $out" ;;
		esac
	fi
done
case $CONSENSUS in
raft) leader_metric=consensus_etcdraft_is_leader ;;
bft) leader_metric=consensus_BFT_is_leader ;;
esac
has_leader() {
	local i
	for i in $(orderer_ids); do
		[ "$(metric "$(orderer_ops_port "$i")" "$leader_metric" "channel=\"$CHANNEL\"")" = 1 ] && return 0
	done
	return 1
}
wait_for "a $CONSENSUS leader on $CHANNEL" 60 "" has_leader
say "   $CHANNEL has a $CONSENSUS leader"

# 6. Peers join the channel.
step "peers join $CHANNEL"
for msp in $PEER_ORGS; do
	if peer_admin "$msp" channel list 2>/dev/null | grep -qx "$CHANNEL"; then
		say "   $(peer_name "$msp") already joined"
	else
		peer_admin "$msp" channel join -b "$BLOCK" >/dev/null
		say "   $(peer_name "$msp") joined"
	fi
done
say "   anchor peers: set in the genesis block (network/configtx.yaml AnchorPeers)"

# 7. Gossip: each peer must know the two other organisations' peers before
# the peers' Gateway service can find endorsers for a MAJORITY.
step "waiting for cross-organisation gossip"
gossip_ready() {
	local n
	n=$(metric "$(peer_ops_port "$1")" gossip_membership_total_peers_known "channel=\"$CHANNEL\"")
	[ -n "$n" ] && [ "$n" -ge 2 ]
}
for msp in $PEER_ORGS; do
	wait_for "$(peer_name "$msp") to see the other organisations' peers" 90 "$(peer_name "$msp")" gossip_ready "$msp"
done
say "   every peer knows the other two"

# 8. Gateway configuration files.
step "gateway configuration files"
for msp in $PEER_ORGS; do
	gw=$GATEWAYS/$msp
	cat >"$gw/gateway.yaml.tmp" <<EOF
# medprov-gateway configuration for $msp on the local Fabric test network,
# written by test-network/up.sh (docs/fabric-network.md). Reference:
# docs/gateway-config.md.
#
# It points the gateway's Fabric backend at the org's peer, its TLS CA,
# the channel and the chaincode deployed by test-network/deploy.sh, and the
# wallet of identities test-network/up.sh issued (the users of
# gateway/devup, with medprov.role and medprov.clearance attributes).
# Run: medprov-gateway --config <this file> (make test-fabric does).
org:
  mspId: $msp
listen:
  grpc: $HOST:$(gateway_port "$msp" 9)
  rest: $HOST:$(gateway_port "$msp" 10)
  metrics: $HOST:$(gateway_port "$msp" 11)
tls:
  certFile: $gw/server/tls/server.crt
  keyFile: $gw/server/tls/server.key
  # The three peer organisations' signing CAs: users present their
  # signing certificate, and other gateways theirs.
  clientCAFile: $gw/client-cas.pem
wallet:
  dir: $gw/wallet
  serviceIdentity: gateway
ledger:
  backend: fabric
  fabric:
    peerEndpoint: $HOST:$(peer_port "$msp")
    peerTLSCAFile: $(tls_ca "$msp")
    channel: $CHANNEL
    chaincode: $CHAINCODE
store:
  dir: $gw/store
  keyring:
    type: file
    file:
      dir: $gw/keys
EOF
	mv "$gw/gateway.yaml.tmp" "$gw/gateway.yaml"
	say "   $gw/gateway.yaml"
done

step "network up in $(elapsed "$T0")s: channel $CHANNEL, $(orderer_count) $CONSENSUS orderers, 3 peers; next: test-network/deploy.sh"
