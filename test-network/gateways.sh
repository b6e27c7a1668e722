#!/usr/bin/env bash
# gateways.sh: runs a medprov-gateway for each organisation of the running
# test network, the way a hospital would run its own.
#
#   up    start each organisation's gateway (unless it runs) with the
#         gateway.yaml up.sh wrote (ledger.backend: fabric), its store and
#         keys under gateways/<MSP>/; wait until it serves; publish its
#         exchange endpoint in the on-chain directory (as the
#         organisation's admin); write gateways/<MSP>/<user>.env for every
#         user of its wallet, for the medprov CLI:
#             . test-network/gateways/HospitalAMSP/clinician.env
#             medprov record add ...
#   down  stop the gateways (by the PIDs in run/); their stores stay until
#         down.sh removes the network
#
# The binaries are medprov's own: bin/medprov-gateway and bin/medprov
# (make build), or MEDPROV_GATEWAY_BIN and MEDPROV_BIN. The gateways log to
# logs/gateway-<MSP>.log. down.sh stops them too.
#
# Usage: test-network/gateways.sh up|down

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

GATEWAY_BIN=${MEDPROV_GATEWAY_BIN:-$REPO/bin/medprov-gateway}
CLI_BIN=${MEDPROV_BIN:-$REPO/bin/medprov}

gateway_proc() { echo "gateway-$1"; }

# serving MSP: true once the gateway's log says it serves. A restarted
# gateway appends to the same log, so only lines after the recorded
# offset count.
serving() {
	local log from
	log=$LOGS/$(gateway_proc "$1").log
	from=$(cat "$RUN/$(gateway_proc "$1").logoffset" 2>/dev/null || echo 0)
	tail -c +"$((from + 1))" "$log" 2>/dev/null | grep -q 'gateway serving'
}

# write_env MSP USER: gateways/MSP/USER.env, the CLI's connection settings
# for USER of MSP's gateway.
write_env() {
	local msp=$1 user=$2 gw=$GATEWAYS/$1
	cat >"$gw/$user.env.tmp" <<EOF
# medprov CLI settings for $user of $msp on the test network
# (test-network/gateways.sh). Use: . $gw/$user.env
export MEDPROV_GATEWAY=$HOST:$(gateway_port "$msp" 9) MEDPROV_TLS_CA=$gw/server/tls/ca.crt MEDPROV_IDENTITY=$gw/wallet/$user
EOF
	mv "$gw/$user.env.tmp" "$gw/$user.env"
}

up() {
	local msp name started=
	[ -x "$GATEWAY_BIN" ] || die "no medprov-gateway at $GATEWAY_BIN: run make build (or set MEDPROV_GATEWAY_BIN)"
	[ -x "$CLI_BIN" ] || die "no medprov at $CLI_BIN: run make build (or set MEDPROV_BIN)"
	for msp in $PEER_ORGS; do
		[ -f "$GATEWAYS/$msp/gateway.yaml" ] || die "no $GATEWAYS/$msp/gateway.yaml: run test-network/up.sh and deploy.sh first"
		running "$(peer_name "$msp")" || die "$(peer_name "$msp") is not running: run test-network/up.sh first"
	done
	step "gateways"
	for msp in $PEER_ORGS; do
		name=$(gateway_proc "$msp")
		if running "$name"; then
			say "   $name already running (PID $(pid_of "$name"))"
			continue
		fi
		need_ports "$name" "$(gateway_port "$msp" 9)" "$(gateway_port "$msp" 10)" "$(gateway_port "$msp" 11)"
		mkdir -p "$LOGS" "$RUN"
		if [ -f "$LOGS/$name.log" ]; then
			wc -c <"$LOGS/$name.log" | tr -d ' ' >"$RUN/$name.logoffset"
		else
			echo 0 >"$RUN/$name.logoffset"
		fi
		start "$name" PATH="$PATH" HOME="${HOME:-/tmp}" -- "$GATEWAY_BIN" --config "$GATEWAYS/$msp/gateway.yaml"
		say "   started $name (PID $(pid_of "$name")), log $LOGS/$name.log"
		started="$started $msp"
	done
	for msp in $started; do
		wait_for "$(gateway_proc "$msp") to serve" 60 "$(gateway_proc "$msp")" serving "$msp"
	done
	for msp in $PEER_ORGS; do
		for dir in "$GATEWAYS/$msp"/wallet/*/; do
			write_env "$msp" "$(basename "$dir")"
		done
	done
	step "directory: each organisation's exchange endpoint, set by its admin"
	for msp in $PEER_ORGS; do
		"$CLI_BIN" --gateway "$HOST:$(gateway_port "$msp" 9)" --identity "$GATEWAYS/$msp/wallet/admin" \
			--tls-ca "$GATEWAYS/$msp/server/tls/ca.crt" directory set --endpoint "$HOST:$(gateway_port "$msp" 9)" >/dev/null ||
			die "$msp: medprov directory set failed; see $LOGS/$(gateway_proc "$msp").log"
		say "   $msp: $HOST:$(gateway_port "$msp" 9)"
	done
	step "gateways serving; CLI settings in $GATEWAYS/<MSP>/<user>.env"
}

down() {
	local names='' msp
	for msp in $PEER_ORGS; do
		names="$names $(gateway_proc "$msp")"
	done
	step "stopping gateways"
	# shellcheck disable=SC2086 # a list of names
	stop $names
}

case ${1:-} in
up) up ;;
down) down ;;
*) die "usage: gateways.sh up|down" ;;
esac
