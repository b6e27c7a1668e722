#!/usr/bin/env bash
# deploy.sh: deploys the medprov chaincode on the running test network as a
# chaincode-as-a-service: each organisation runs the chaincode binary built
# from chaincode/ as its own process, which its peer connects to over
# mutual TLS.
#
#   1. build chaincode/ (go build) into data/chaincode/medprov-chaincode
#   2. package it once: a ccaas package holds only metadata.json and a
#      connection.json whose fields the peer's builder fills in (see
#      network/peer.env), so the same package, with the same package ID,
#      is installed on every peer
#   3. install it on each peer (as the organisation's Admin)
#   4. start each organisation's chaincode service with that package ID;
#      restart it when the binary changed
#   5. approve the definition for each organisation and commit it (the
#      endorsement policy is the channel default: MAJORITY of the peer
#      organisations); skipped when the committed definition already names
#      this package for every organisation
#   6. wait until each peer reaches its chaincode service
#   7. wait until each peer's service discovery (which the peer's Gateway
#      service uses) offers endorsers of all three organisations
#
# Idempotent: run it again after changing chaincode/ and only the chaincode
# processes are rebuilt and restarted; no new lifecycle round is needed.
#
# Usage: test-network/deploy.sh    (after up.sh)

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 0 ] || die "usage: deploy.sh (no arguments; see the comment at the top of $0)"
find_fabric
need_tools go jq tar gzip
T0=$(now)

for msp in $PEER_ORGS; do
	running "$(peer_name "$msp")" || die "$(peer_name "$msp") is not running: run test-network/up.sh first"
done
[ -f "$DATA/channel/$CHANNEL.block" ] || die "no channel $CHANNEL: run test-network/up.sh first"
CC=$DATA/chaincode
mkdir -p "$CC"

# 1. Build.
step "build chaincode/ into $CC/medprov-chaincode"
(cd "$REPO/chaincode" && go build -o "$CC/medprov-chaincode.tmp" .)
mv "$CC/medprov-chaincode.tmp" "$CC/medprov-chaincode"
if command -v sha256sum >/dev/null 2>&1; then
	BIN_SUM=$(sha256sum "$CC/medprov-chaincode" | awk '{print $1}')
else
	BIN_SUM=$(shasum -a 256 "$CC/medprov-chaincode" | awk '{print $1}')
fi

# 2. Package, once per network.
PKG=$CC/$CHAINCODE.tar.gz
if [ ! -f "$PKG" ]; then
	step "package $CC_LABEL (chaincode as a service)"
	work=$CC/package
	rm -rf "$work"
	mkdir -p "$work/src"
	# Templates, filled per peer by the ccaas builder from the peer's
	# CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG.
	cat >"$work/src/connection.json" <<'EOF'
{
  "address": "{{.address}}",
  "dial_timeout": "10s",
  "tls_required": true,
  "client_auth_required": true,
  "root_cert": "{{.root_cert}}",
  "client_cert": "{{.client_cert}}",
  "client_key": "{{.client_key}}"
}
EOF
	printf '{"type":"ccaas","label":"%s"}\n' "$CC_LABEL" >"$work/metadata.json"
	tar -C "$work/src" -czf "$work/code.tar.gz" connection.json
	tar -C "$work" -czf "$PKG.tmp" metadata.json code.tar.gz
	mv "$PKG.tmp" "$PKG"
	rm -rf "$work"
fi
PKG_ID=$(env -i PATH="$PATH" FABRIC_CFG_PATH="$FABRIC_CONFIG" "$FABRIC_BIN_DIR/peer" lifecycle chaincode calculatepackageid "$PKG")
say "   package ID $PKG_ID"

# 3. Install.
step "install on each peer"
for msp in $PEER_ORGS; do
	if peer_admin "$msp" lifecycle chaincode queryinstalled --output json |
		jq -e --arg id "$PKG_ID" '.installed_chaincodes // [] | any(.package_id == $id)' >/dev/null; then
		say "   $(peer_name "$msp"): already installed"
	else
		peer_admin "$msp" lifecycle chaincode install "$PKG" 2>&1 | grep -v '^$' >&2 || true
		peer_admin "$msp" lifecycle chaincode queryinstalled --output json |
			jq -e --arg id "$PKG_ID" '.installed_chaincodes // [] | any(.package_id == $id)' >/dev/null ||
			die "$(peer_name "$msp"): install of $PKG_ID failed; see $LOGS/$(peer_name "$msp").log"
		say "   $(peer_name "$msp"): installed"
	fi
done

# 4. Chaincode services, one per organisation, from a clean environment.
step "chaincode services"
for msp in $PEER_ORGS; do
	name=chaincode-$msp
	info=$RUN/$name.info
	want="$PKG_ID $BIN_SUM"
	if running "$name" && [ "$(cat "$info" 2>/dev/null)" = "$want" ]; then
		say "   $name already running (PID $(pid_of "$name"))"
		continue
	fi
	if running "$name"; then
		say "   $name runs an older binary or package: restarting"
		stop "$name" || die "$name does not stop"
	fi
	need_ports "$name" "$(ccaas_port "$msp")"
	tlsdir=$CRYPTO/$msp/chaincode/tls
	start "$name" PATH="$PATH" HOME="${HOME:-/tmp}" \
		CHAINCODE_SERVER_ADDRESS="$HOST:$(ccaas_port "$msp")" CHAINCODE_ID="$PKG_ID" \
		CHAINCODE_TLS_KEY="$tlsdir/server.key" CHAINCODE_TLS_CERT="$tlsdir/server.crt" \
		CHAINCODE_CLIENT_CA_CERT="$tlsdir/ca.crt" \
		-- "$CC/medprov-chaincode"
	echo "$want" >"$info"
	say "   started $name on $HOST:$(ccaas_port "$msp") (PID $(pid_of "$name")), log $LOGS/$name.log"
done

# 5. Lifecycle: approve and commit unless the committed definition already
# has this package approved by every organisation.
step "chaincode definition"
committed=$(peer_admin HospitalAMSP lifecycle chaincode querycommitted --channelID "$CHANNEL" --name "$CHAINCODE" --output json 2>/dev/null || true)
SEQ=$(printf '%s' "$committed" | jq -r '.sequence // 0' 2>/dev/null || echo 0)
[ -n "$SEQ" ] || SEQ=0
approved_pkg() { # MSP SEQUENCE: the package ID the org approved at SEQUENCE
	peer_admin "$1" lifecycle chaincode queryapproved --channelID "$CHANNEL" --name "$CHAINCODE" \
		--sequence "$2" --output json 2>/dev/null | jq -r '.source.Type.LocalPackage.package_id // empty' 2>/dev/null
}
committed_is() { # MSP SEQUENCE: true if the org's peer has SEQUENCE committed
	peer_admin "$1" lifecycle chaincode querycommitted --channelID "$CHANNEL" --name "$CHAINCODE" \
		--output json 2>/dev/null | jq -e --argjson s "$2" '.sequence == $s' >/dev/null 2>&1
}
current=yes
if [ "$SEQ" -eq 0 ]; then
	current=no
else
	for msp in $PEER_ORGS; do
		[ "$(approved_pkg "$msp" "$SEQ")" = "$PKG_ID" ] || current=no
	done
fi
if [ $current = yes ]; then
	say "   $CHAINCODE sequence $SEQ is committed with this package for every organisation"
else
	SEQ=$((SEQ + 1))
	# shellcheck disable=SC2046
	for msp in $PEER_ORGS; do
		if [ "$(approved_pkg "$msp" "$SEQ")" = "$PKG_ID" ]; then
			say "   $msp: already approved sequence $SEQ"
			continue
		fi
		peer_admin "$msp" lifecycle chaincode approveformyorg $(orderer_args) \
			--channelID "$CHANNEL" --name "$CHAINCODE" --version "$CC_VERSION" \
			--package-id "$PKG_ID" --sequence "$SEQ" --waitForEvent 2>&1 | grep -v '^$' >&2 || true
		[ "$(approved_pkg "$msp" "$SEQ")" = "$PKG_ID" ] || die "$msp: approval of sequence $SEQ failed"
		say "   $msp: approved sequence $SEQ"
	done
	peer_admin HospitalAMSP lifecycle chaincode checkcommitreadiness --channelID "$CHANNEL" \
		--name "$CHAINCODE" --version "$CC_VERSION" --sequence "$SEQ" --output json |
		jq -c '.approvals' >&2
	peers=()
	for msp in $PEER_ORGS; do
		peers+=(--peerAddresses "$HOST:$(peer_port "$msp")" --tlsRootCertFiles "$(tls_ca "$msp")")
	done
	# shellcheck disable=SC2046
	peer_admin HospitalAMSP lifecycle chaincode commit $(orderer_args) \
		--channelID "$CHANNEL" --name "$CHAINCODE" --version "$CC_VERSION" --sequence "$SEQ" \
		"${peers[@]}" --waitForEvent 2>&1 | grep -v '^$' >&2 || true
	for msp in $PEER_ORGS; do
		wait_for "$(peer_name "$msp") to see $CHAINCODE sequence $SEQ committed" 30 "$(peer_name "$msp")" \
			committed_is "$msp" "$SEQ"
	done
	say "   committed $CHAINCODE version $CC_VERSION sequence $SEQ"
fi

# 6. Each peer reaches its organisation's chaincode service: the contract's
# metadata transaction, which needs no medprov role, answers through it.
step "waiting for each peer to reach its chaincode service"
reaches() {
	peer_admin "$1" chaincode query --channelID "$CHANNEL" --name "$CHAINCODE" \
		-c '{"Args":["org.hyperledger.fabric:GetMetadata"]}' >/dev/null 2>&1
}
for msp in $PEER_ORGS; do
	wait_for "$(peer_name "$msp") to reach chaincode-$msp" 60 "chaincode-$msp" reaches "$msp"
	say "   $(peer_name "$msp") -> chaincode-$msp: OK"
done

# 7. Service discovery, which each peer's Gateway service uses to choose
# endorsers, learns through gossip which peers run the chaincode; until
# it knows all three organisations' peers, a Gateway submit may fail with
# "no combination of peers can be derived which satisfy the endorsement
# policy". Fabric's discover tool asks each peer for its endorsement plan.
if [ -x "$FABRIC_BIN_DIR/discover" ]; then
	step "waiting for service discovery to offer every organisation's endorsers"
	# discovers MSP: true if MSP's peer knows endorsers of all three
	# organisations for the chaincode.
	discovers() {
		local admin n
		admin=$(admin_dir "$1")/msp
		n=$(env -i PATH="$PATH" HOME="${HOME:-/tmp}" FABRIC_LOGGING_SPEC=error \
			"$FABRIC_BIN_DIR/discover" endorsers --channel "$CHANNEL" --chaincode "$CHAINCODE" \
			--server "$HOST:$(peer_port "$1")" --peerTLSCA "$(tls_ca "$1")" --MSP "$1" \
			--userKey "$admin/keystore/priv_sk" --userCert "$(ls "$admin"/signcerts/*.pem)" 2>/dev/null |
			jq -r '[.[0].EndorsersByGroups[][].MSPID] | unique | length' 2>/dev/null) || return 1
		[ "$n" = 3 ]
	}
	for msp in $PEER_ORGS; do
		wait_for "$(peer_name "$msp")'s discovery to offer endorsers of every organisation" 60 "$(peer_name "$msp")" discovers "$msp"
	done
	say "   every peer's discovery offers endorsers of all three organisations"
else
	say "   $FABRIC_BIN_DIR/discover not found: not waiting for service discovery"
fi

step "deployed in $(elapsed "$T0")s: $CHAINCODE $CC_VERSION (sequence $SEQ, package $PKG_ID) on channel $CHANNEL"
