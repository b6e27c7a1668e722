#!/usr/bin/env bash
# node.sh: stops and restarts single processes of the running test network,
# keeping their data, for fault drills and the fault tests of
# make test-fabric.
#
#   names           the processes that have a PID file, one per line
#                   (orderer1, peer0.hospital-b.medprov.test,
#                   chaincode-HospitalAMSP, gateway-HospitalAMSP, ...)
#   leader          the orderer that leads the channel's consensus now
#   stop NAME...    SIGTERM (then SIGKILL after 15 s) to each NAME; its
#                   ledger and files stay. NAME "all" is every process.
#   start           start whatever of the network is not running, from its
#                   kept data: test-network/up.sh, then deploy.sh if a
#                   chaincode service is down (both skip what runs). It
#                   does not start gateways that were stopped: run
#                   test-network/gateways.sh up for them
#
# Usage: test-network/node.sh names|leader|stop NAME...|start

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

names() {
	local f
	for f in "$RUN"/*.pid; do
		[ -e "$f" ] && basename "$f" .pid
	done
	return 0
}

leader() {
	local i m
	[ -f "$DATA/consensus" ] || die "the test network is not up"
	case $(consensus) in
	raft) m=consensus_etcdraft_is_leader ;;
	bft) m=consensus_BFT_is_leader ;;
	esac
	for i in $(orderer_ids); do
		if running "orderer$i" && [ "$(metric "$(orderer_ops_port "$i")" "$m" "channel=\"$CHANNEL\"")" = 1 ]; then
			echo "orderer$i"
			return 0
		fi
	done
	die "no orderer leads $CHANNEL now"
}

case ${1:-} in
names) names ;;
leader) leader ;;
stop)
	shift
	[ $# -gt 0 ] || die "usage: node.sh stop NAME... (see node.sh names)"
	if [ "$*" = all ]; then
		# Gateways first, orderers last, as down.sh does.
		for pattern in 'gateway-*' 'chaincode-*' 'peer*' 'orderer*'; do
			list=
			for f in "$RUN"/$pattern.pid; do
				[ -e "$f" ] && list="$list $(basename "$f" .pid)"
			done
			# shellcheck disable=SC2086 # a list of names
			[ -z "$list" ] || stop $list
		done
		exit 0
	fi
	for name in "$@"; do
		[ -f "$RUN/$name.pid" ] || die "no process $name (see node.sh names)"
	done
	stop "$@"
	;;
start)
	"$TN/up.sh"
	for msp in $PEER_ORGS; do
		if ! running "chaincode-$msp"; then
			"$TN/deploy.sh"
			break
		fi
	done
	;;
*) die "usage: node.sh names|leader|stop NAME...|start" ;;
esac
