#!/usr/bin/env bash
# down.sh: stops every process the test network started (gateways,
# chaincode services, peers, orderers), each by the PID that up.sh,
# deploy.sh or gateways.sh recorded in run/, and removes everything they generated: crypto/, data/
# (ledgers, channel block, chaincode build), logs/, run/ and gateways/.
# No other process is signalled, and nothing outside test-network/ is
# touched. Needs no Fabric binaries.
#
# A process that does not stop after SIGTERM and then SIGKILL leaves the
# files in place and makes down.sh fail.
#
# Usage: test-network/down.sh

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 0 ] || die "usage: down.sh (no arguments)"
T0=$(now)

step "stopping test-network processes"
if [ -d "$RUN" ]; then
	# Gateways first, then chaincode services, then peers, then orderers,
	# then anything else with a PID file.
	for pattern in 'gateway-*' 'chaincode-*' 'peer*' 'orderer*' '*'; do
		names=
		for f in "$RUN"/$pattern.pid; do
			[ -e "$f" ] && names="$names $(basename "$f" .pid)"
		done
		# shellcheck disable=SC2086
		[ -z "$names" ] || stop $names || true
	done
	left=
	for f in "$RUN"/*.pid; do
		[ -e "$f" ] && left="$left $(basename "$f" .pid)"
	done
	[ -z "$left" ] || die "still running:$left; files kept"
fi

step "removing generated files"
for d in $GENERATED; do
	case $d in
	"$TN"/*) ;;
	*) die "refusing to remove $d: not under $TN" ;;
	esac
	if [ -e "$d" ]; then
		rm -rf "$d"
		say "   removed $d"
	fi
done
step "network down in $(elapsed "$T0")s"
