# lib.sh: what up.sh, deploy.sh, down.sh, status.sh and smoke.sh share:
# the topology and ports of the test network, where its files live, how to
# find the Fabric binaries, and how to start, find and stop its processes.
# Sourced, never run. Written for bash 3.2 and later; run with bash 5.2 on
# Linux.
# shellcheck shell=bash disable=SC2034 # the settings are used by the scripts that source this
#
# Environment:
#   FABRIC_BIN          folder with peer, orderer, configtxgen, osnadmin
#                       (default: found on PATH)
#   FABRIC_CFG_PATH     folder with the release's core.yaml and orderer.yaml
#                       (default: $FABRIC_BIN/../config, then $FABRIC_BIN/config)
#   FABRIC_CCAAS_BUILDER  the release's chaincode-as-a-service builder folder
#                       (default: $FABRIC_BIN/../builders/ccaas, then
#                       $FABRIC_BIN/builders/ccaas)
#   MEDPROV_CONSENSUS   raft (3 orderers, default) or bft (4 orderers), read
#                       by up.sh when it creates the channel

set -euo pipefail

TN=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$TN/.." && pwd)
NETWORK=$REPO/network

# Generated, git-ignored; down.sh removes them all.
CRYPTO=$TN/crypto     # CAs, node and admin identities (netca)
DATA=$TN/data         # ledgers, channel block, chaincode build and package
LOGS=$TN/logs         # one log per process
RUN=$TN/run           # one PID file per process
GATEWAYS=$TN/gateways # per organisation: wallet, gateway server TLS, gateway.yaml
GENERATED="$CRYPTO $DATA $LOGS $RUN $GATEWAYS"

HOST=127.0.0.1
CHANNEL=medprov
CHAINCODE=medprov
CC_LABEL=medprov_1.0
CC_VERSION=1.0

PEER_ORGS="HospitalAMSP HospitalBMSP HealthAuthorityMSP"
ORDERER_ORG=OrdererMSP

# domain MSPID: the organisation's DNS domain (as in internal/devnet).
domain() {
	case $1 in
	OrdererMSP) echo orderer.medprov.test ;;
	HospitalAMSP) echo hospital-a.medprov.test ;;
	HospitalBMSP) echo hospital-b.medprov.test ;;
	HealthAuthorityMSP) echo health-authority.medprov.test ;;
	*) die "unknown organisation $1" ;;
	esac
}

# Ports, all on 127.0.0.1. Peer of organisation k (0, 1, 2): 9051+100k
# listener, +1 chaincode listener, +2 operations, +3 the organisation's
# chaincode service, +9/+10/+11 its gateway's gRPC/REST/metrics (in
# gateway.yaml only: no gateway is started). Orderer i (1..4): 7050+100(i-1)
# listener, +3 admin, +4 operations. network/configtx.yaml names the
# orderer and anchor peer ports too: keep both in step.
org_index() {
	case $1 in
	HospitalAMSP) echo 0 ;;
	HospitalBMSP) echo 1 ;;
	HealthAuthorityMSP) echo 2 ;;
	*) die "unknown peer organisation $1" ;;
	esac
}
peer_port() { echo $((9051 + 100 * $(org_index "$1"))); }
peer_cc_port() { echo $(($(peer_port "$1") + 1)); }
peer_ops_port() { echo $(($(peer_port "$1") + 2)); }
ccaas_port() { echo $(($(peer_port "$1") + 3)); }
gateway_port() { echo $(($(peer_port "$1") + $2)); } # MSP, 9 (gRPC) 10 (REST) 11 (metrics)
orderer_port() { echo $((7050 + 100 * ($1 - 1))); }
orderer_admin_port() { echo $(($(orderer_port "$1") + 3)); }
orderer_ops_port() { echo $(($(orderer_port "$1") + 4)); }

# Names and folders of nodes and identities.
peer_name() { echo "peer0.$(domain "$1")"; }
peer_dir() { echo "$CRYPTO/$1/peers/$(peer_name "$1")"; }
orderer_name() { echo "orderer$1.$(domain $ORDERER_ORG)"; }
orderer_dir() { echo "$CRYPTO/$ORDERER_ORG/orderers/$(orderer_name "$1")"; }
admin_dir() { echo "$CRYPTO/$1/users/Admin@$(domain "$1")"; }
tls_ca() { echo "$CRYPTO/$1/tlsca/tlsca.$(domain "$1")-cert.pem"; }
wallet_dir() { echo "$GATEWAYS/$1/wallet"; }
orderer_ca() { tls_ca $ORDERER_ORG; }

# The consensus of this network: what up.sh recorded, else
# MEDPROV_CONSENSUS, else raft.
consensus() {
	if [ -f "$DATA/consensus" ]; then
		cat "$DATA/consensus"
	else
		echo "${MEDPROV_CONSENSUS:-raft}"
	fi
}
orderer_count() {
	case $(consensus) in
	raft) echo 3 ;;
	bft) echo 4 ;;
	*) die "MEDPROV_CONSENSUS: want raft or bft" ;;
	esac
}
orderer_ids() { seq 1 "$(orderer_count)"; }

say() { printf '%s\n' "$*" >&2; }
# step TEXT: a heading, with the seconds since T0 when the script set it.
step() {
	if [ -n "${T0:-}" ]; then
		printf '[%5ss] == %s\n' "$(elapsed "$T0")" "$*" >&2
	else
		printf '== %s\n' "$*" >&2
	fi
}
die() {
	printf 'test-network: %s\n' "$*" >&2
	exit 1
}

# need_tools TOOL...: stop with a message if a tool is missing.
need_tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || die "$t not found on PATH: test-network needs $*"
	done
}

# The message for a missing or unusable Fabric installation.
fabric_help() {
	cat >&2 <<EOF
test-network: $1

test-network runs Hyperledger Fabric 3.x (peer, orderer, configtxgen and
osnadmin, with the release's config/ and chaincode-as-a-service builder)
as local processes, without Docker. Install Fabric's official release
binaries, for example into ~/fabric:

  mkdir -p ~/fabric && cd ~/fabric
  curl -sSLO https://raw.githubusercontent.com/hyperledger/fabric/main/scripts/install-fabric.sh
  chmod +x install-fabric.sh
  ./install-fabric.sh --fabric-version 3.1.5 binary

or download hyperledger-fabric-<os>-<arch>-3.1.5.tar.gz from
https://github.com/hyperledger/fabric/releases/tag/v3.1.5 and unpack it.
Either way you get bin/, config/ and builders/ccaas/. Then:

  export FABRIC_BIN=~/fabric/bin
  make network-up

See docs/fabric-network.md and
https://hyperledger-fabric.readthedocs.io/en/latest/install.html
EOF
	exit 1
}

# find_fabric sets FABRIC_BIN_DIR, FABRIC_CONFIG, FABRIC_BUILDER and
# FABRIC_VERSION, or stops with fabric_help.
find_fabric() {
	local t p d
	if [ -n "${FABRIC_BIN:-}" ]; then
		[ -d "$FABRIC_BIN" ] || fabric_help "FABRIC_BIN=$FABRIC_BIN is not a folder."
		FABRIC_BIN_DIR=$(cd "$FABRIC_BIN" && pwd)
	else
		p=$(command -v peer 2>/dev/null) || fabric_help "no Fabric binaries: FABRIC_BIN is not set and peer is not on PATH."
		FABRIC_BIN_DIR=$(cd "$(dirname "$p")" && pwd)
	fi
	for t in peer orderer configtxgen osnadmin; do
		[ -x "$FABRIC_BIN_DIR/$t" ] || fabric_help "$FABRIC_BIN_DIR/$t is missing or not executable."
	done
	FABRIC_VERSION=$("$FABRIC_BIN_DIR/peer" version 2>/dev/null | sed -n 's/^ *Version: *v\{0,1\}//p' | head -n 1)
	case $FABRIC_VERSION in
	3.*) ;;
	*) fabric_help "$FABRIC_BIN_DIR/peer is Fabric '${FABRIC_VERSION:-unknown}'; the medprov channel needs Fabric 3.x." ;;
	esac
	FABRIC_CONFIG=
	for d in ${FABRIC_CFG_PATH:-} "$FABRIC_BIN_DIR/../config" "$FABRIC_BIN_DIR/config"; do
		if [ -f "$d/core.yaml" ] && [ -f "$d/orderer.yaml" ]; then
			FABRIC_CONFIG=$(cd "$d" && pwd)
			break
		fi
	done
	[ -n "$FABRIC_CONFIG" ] || fabric_help "no core.yaml and orderer.yaml of the release: looked in ${FABRIC_CFG_PATH:+$FABRIC_CFG_PATH, }$FABRIC_BIN_DIR/../config and $FABRIC_BIN_DIR/config (set FABRIC_CFG_PATH)."
	FABRIC_BUILDER=
	for d in ${FABRIC_CCAAS_BUILDER:-} "$FABRIC_BIN_DIR/../builders/ccaas" "$FABRIC_BIN_DIR/builders/ccaas"; do
		if [ -x "$d/bin/detect" ] && [ -x "$d/bin/build" ] && [ -x "$d/bin/release" ]; then
			FABRIC_BUILDER=$(cd "$d" && pwd)
			break
		fi
	done
	[ -n "$FABRIC_BUILDER" ] || fabric_help "no chaincode-as-a-service builder (bin/detect, bin/build, bin/release): looked in ${FABRIC_CCAAS_BUILDER:+$FABRIC_CCAAS_BUILDER, }$FABRIC_BIN_DIR/../builders/ccaas and $FABRIC_BIN_DIR/builders/ccaas (set FABRIC_CCAAS_BUILDER)."
}

# ---------------------------------------------------------------------------
# Processes. Each is started in its own session with a clean environment;
# run/NAME.pid holds "PID START", where START is the process's start time,
# so that a PID the system reused for another process is never signalled.

# start_time PID: the process's start time, or nothing if it is gone.
start_time() {
	if [ -r "/proc/$1/stat" ]; then
		# Field 22 of /proc/PID/stat; the command name (field 2) may hold
		# spaces, so count from the closing parenthesis.
		sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $20}'
	else
		ps -o lstart= -p "$1" 2>/dev/null | tr -s ' ' '_'
	fi
}

# running NAME: true if NAME's recorded process is alive: the PID exists,
# has the recorded start time and is not a zombie.
running() {
	local f=$RUN/$1.pid pid start now
	[ -f "$f" ] || return 1
	read -r pid start <"$f" || return 1
	[ -n "$pid" ] && [ -n "$start" ] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	now=$(start_time "$pid")
	[ "$now" = "$start" ] || return 1
	# A process that has exited but is not reaped yet (a zombie) is gone.
	if [ -r "/proc/$pid/stat" ]; then
		[ "$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{print $1}')" != Z ] || return 1
	fi
}

# pid_of NAME: the recorded PID.
pid_of() { awk '{print $1}' "$RUN/$1.pid" 2>/dev/null; }

# start NAME VAR=VALUE... -- COMMAND ARG...: starts COMMAND in the
# background with only the given environment, logs to logs/NAME.log and
# records its PID in run/NAME.pid.
start() {
	local name=$1 pidfile log i
	shift
	local envs=()
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		envs+=("$1")
		shift
	done
	[ $# -gt 1 ] || die "start $name: no command"
	shift
	mkdir -p "$RUN" "$LOGS"
	pidfile=$RUN/$name.pid
	log=$LOGS/$name.log
	rm -f "$pidfile"
	local detach=
	command -v setsid >/dev/null 2>&1 && detach=setsid
	# The inner shell records its own PID and start time, then execs the
	# command, which keeps both.
	# shellcheck disable=SC2016 # expanded by the inner shell
	$detach bash -c '
		if [ -r /proc/$$/stat ]; then s=$(sed "s/^.*) //" /proc/$$/stat | awk "{print \$20}")
		else s=$(ps -o lstart= -p $$ | tr -s " " "_"); fi
		echo "$$ $s" >"$0.tmp" && mv "$0.tmp" "$0"
		shift; exec "$@"' "$pidfile" _ env -i "${envs[@]}" "$@" >>"$log" 2>&1 </dev/null &
	for i in $(seq 1 100); do
		[ -s "$pidfile" ] && return 0
		sleep 0.05
	done
	die "start $name: no PID file after 5 s; see $log"
}

# stop NAME...: SIGTERM to each NAME's recorded process, SIGKILL to those
# that still run after 15 s (and 15 s more for them to go); then removes
# their PID files. Returns 1,
# keeping the PID files of those that still run, if any does.
stop() {
	local name pid i live=
	for name in "$@"; do
		if running "$name"; then
			kill -TERM "$(pid_of "$name")" 2>/dev/null || true
			live="$live $name"
		else
			rm -f "$RUN/$name.pid" "$RUN/$name.info"
		fi
	done
	[ -n "$live" ] || return 0
	# shellcheck disable=SC2086 # $live is a list of names
	for i in $(seq 1 150); do
		alive $live || break
		sleep 0.1
	done
	for name in $live; do
		if running "$name"; then
			say "   $name (PID $(pid_of "$name")) did not stop in 15 s: SIGKILL"
			kill -KILL "$(pid_of "$name")" 2>/dev/null || true
		fi
	done
	# A killed process can take a while to go on a machine whose disk is
	# busy (it may be blocked in a write).
	# shellcheck disable=SC2086
	for i in $(seq 1 150); do
		alive $live || break
		sleep 0.1
	done
	local failed=0
	for name in $live; do
		pid=$(pid_of "$name")
		if running "$name"; then
			say "   $name (PID $pid) still runs"
			failed=1
		else
			say "   stopped $name (PID $pid)"
			rm -f "$RUN/$name.pid" "$RUN/$name.info"
		fi
	done
	return $failed
}

# alive NAME...: true if any NAME runs.
alive() {
	local name
	for name in "$@"; do
		running "$name" && return 0
	done
	return 1
}

# port_free PORT: true if nothing listens on 127.0.0.1:PORT.
port_free() {
	if command -v ss >/dev/null 2>&1; then
		if ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; then return 1; fi
	elif command -v lsof >/dev/null 2>&1; then
		if lsof -nP -iTCP:"$1" -sTCP:LISTEN >/dev/null 2>&1; then return 1; fi
	else
		if (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; then return 1; fi
	fi
	return 0
}

# need_ports NAME PORT...: stop if a port that NAME is about to use is taken.
need_ports() {
	local name=$1 p
	shift
	for p in "$@"; do
		port_free "$p" || die "$name: port $HOST:$p is in use by another process (see docs/fabric-network.md, Ports)"
	done
}

# healthy PORT: true if the operations endpoint on PORT answers /healthz
# with 200.
healthy() { curl -fsS -o /dev/null --max-time 2 "http://$HOST:$1/healthz" 2>/dev/null; }

# metric PORT NAME LABEL: the value of a Prometheus metric with the given
# label text (such as channel="medprov"), or nothing. Always succeeds.
metric() {
	local body
	body=$(curl -fsS --max-time 2 "http://$HOST:$1/metrics" 2>/dev/null) || return 0
	printf '%s\n' "$body" |
		awk -v n="$2" -v l="$3" '!found && index($0, n "{") == 1 && index($0, l) { print $NF; found = 1 }'
}

# wait_for WHAT SECONDS PROCESS COMMAND...: retry COMMAND every 0.2 s until
# it succeeds; stop with the end of PROCESS's log if PROCESS dies or time
# runs out.
wait_for() {
	local what=$1 secs=$2 proc=$3 deadline
	shift 3
	deadline=$(($(date +%s) + secs))
	until "$@"; do
		if [ -n "$proc" ] && ! running "$proc"; then
			tail -n 20 "$LOGS/$proc.log" >&2 2>/dev/null || true
			die "$proc exited while waiting for $what; see $LOGS/$proc.log"
		fi
		if [ "$(date +%s)" -ge "$deadline" ]; then
			[ -n "$proc" ] && { tail -n 20 "$LOGS/$proc.log" >&2 2>/dev/null || true; }
			die "timed out after ${secs}s waiting for $what${proc:+; see $LOGS/$proc.log}"
		fi
		sleep 0.2
	done
}

# ---------------------------------------------------------------------------
# Clients.

# peer_cli MSP MSPDIR PEER-ARGS...: runs the peer CLI as the identity in
# MSPDIR of organisation MSP, against that organisation's peer.
peer_cli() {
	local msp=$1 mspdir=$2
	shift 2
	env -i PATH="$PATH" HOME="${HOME:-/tmp}" \
		FABRIC_CFG_PATH="$FABRIC_CONFIG" FABRIC_LOGGING_SPEC="${PEER_CLI_LOGGING:-warn:grpc=error}" \
		CORE_PEER_LOCALMSPID="$msp" CORE_PEER_MSPCONFIGPATH="$mspdir" \
		CORE_PEER_ADDRESS="$HOST:$(peer_port "$msp")" \
		CORE_PEER_TLS_ENABLED=true CORE_PEER_TLS_ROOTCERT_FILE="$(tls_ca "$msp")" \
		"$FABRIC_BIN_DIR/peer" "$@"
}

# peer_admin MSP PEER-ARGS...: the peer CLI as the organisation's Admin.
peer_admin() {
	local msp=$1
	shift
	peer_cli "$msp" "$(admin_dir "$msp")/msp" "$@"
}

# osn ORDERER-ID OSNADMIN-ARGS...: osnadmin against one orderer's admin
# endpoint, as the orderer organisation's Admin (mutual TLS).
osn() {
	local i=$1 admin
	shift
	admin=$(admin_dir $ORDERER_ORG)
	"$FABRIC_BIN_DIR/osnadmin" "$@" -o "$HOST:$(orderer_admin_port "$i")" \
		--ca-file "$(orderer_ca)" --client-cert "$admin/tls/client.crt" --client-key "$admin/tls/client.key"
}

# orderer_args: what peer CLI commands that submit need to reach an
# orderer: the first one that is running.
orderer_args() {
	local i
	for i in $(orderer_ids); do
		if running "orderer$i"; then
			echo "-o $HOST:$(orderer_port "$i") --tls --cafile $(orderer_ca)"
			return
		fi
	done
	die "no orderer is running; run test-network/up.sh"
}

# elapsed START: seconds since START (date +%s.%N where available).
now() { date +%s.%N 2>/dev/null | sed 's/N$/0/'; }
elapsed() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1f", e - s }'; }

# node_env FILE VAR=VALUE...: evaluates the settings file FILE (such as
# network/peer.env) with the given node variables and prints each setting
# it makes as VAR=VALUE, NUL-terminated. A variable the file uses but that
# is not given is an error.
node_env() {
	(
		file=$1
		shift
		for kv in "$@"; do
			export "${kv?}"
		done
		set -a
		# shellcheck disable=SC1090
		. "$file"
		set +a
		# shellcheck disable=SC2013 # the names have no spaces
		for k in $(sed -n 's/^\([A-Z_][A-Z0-9_]*\)=.*/\1/p' "$file"); do
			printf '%s=%s\0' "$k" "${!k}"
		done
	)
}
