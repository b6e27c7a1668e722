#!/usr/bin/env bash
# bench.sh: measures AnchorRecord and RequestAccess through the gateways of
# the running test network against the raw-put baseline, in one run, with
# the medprov load tool (medprov bench). docs/BENCHMARKS.md records its
# output.
#
# For each of ROUNDS rounds, at concurrency 1 and then at the saturation
# concurrency: put (Baseline:Put submitted directly to HospitalA's peer
# with fabric-gateway, as HospitalA's gateway identity), anchor (AddRecord
# of 1 KiB through HospitalA's gateway, as its clinician), put-anchor (the
# same AnchorRecord transaction submitted directly to the peer as that
# clinician, without the gateway and its store: anchor ÷ put-anchor is the
# gateway's own cost, put-anchor ÷ put the transaction's weight), access
# (RequestAccess through HospitalB's gateway, as its clinician, on records
# HospitalA's officer anchored under a consent). Each runs WARMUP, then DURATION
# measured. Beside each result: the CPU the network's processes
# (orderers, peers, chaincode services, gateways) used inside the measured
# window, in all and by kind, per committed transaction (CPU seconds over
# the sampled span ÷ (throughput × span)).
#
# Needs: the network and its gateways (make network-up, make gateways-up),
# bin/medprov (make build), jq.
#
# Usage: test-network/bench.sh [-r ROUNDS] [-d DURATION] [-w WARMUP]
#                              [-c SATURATION] [-o DIR]
#   defaults: 1 round, 30s, 5s, 512 in flight, DIR test-network/data/bench

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

ROUNDS=1 DURATION=30s WARMUP=5s SAT=512 OUT=$DATA/bench
while getopts r:d:w:c:o: opt; do
	case $opt in
	r) ROUNDS=$OPTARG ;;
	d) DURATION=$OPTARG ;;
	w) WARMUP=$OPTARG ;;
	c) SAT=$OPTARG ;;
	o) OUT=$OPTARG ;;
	*) die "usage: bench.sh [-r ROUNDS] [-d DURATION] [-w WARMUP] [-c SATURATION] [-o DIR]" ;;
	esac
done
need_tools jq
case $DURATION in
*[!0-9]*s | s | *[!0-9s]*) die "-d $DURATION: give the duration in whole seconds, such as 30s" ;;
esac
SPAN=$((${DURATION%s} - 3))
[ "$SPAN" -ge 2 ] || die "-d $DURATION: at least 5s, the network's CPU is sampled over the window less 3 s"
CLI=${MEDPROV_BIN:-$REPO/bin/medprov}
[ -x "$CLI" ] || die "no medprov at $CLI: run make build (or set MEDPROV_BIN)"
for msp in HospitalAMSP HospitalBMSP; do
	running "gateway-$msp" || die "gateway-$msp is not running: run make gateways-up"
done
mkdir -p "$OUT"

# cpu_seconds: CPU time (user + system) used so far by the network's
# processes that have a PID file, as JSON: in all, and by kind (orderer,
# peer, chaincode, gateway).
cpu_seconds() {
	local f pid name ticks
	for f in "$RUN"/*.pid; do
		[ -e "$f" ] || continue
		pid=$(awk '{print $1}' "$f")
		name=$(basename "$f" .pid)
		ticks=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{print $12 + $13}') || continue
		echo "${name%%[0-9.-]*} ${ticks:-0}"
	done | awk -v hz="$(getconf CLK_TCK)" '
		{ by[$1] += $2; all += $2 }
		END {
			printf "{\"all\": %.2f", all / hz
			for (k in by) printf ", \"%s\": %.2f", k, by[k] / hz
			print "}"
		}'
}

# conn MSP USER: the medprov CLI's connection flags for USER of MSP's
# gateway (what gateways/MSP/USER.env sets).
conn() {
	echo "--gateway $HOST:$(gateway_port "$1" 9) --identity $GATEWAYS/$1/wallet/$2 --tls-ca $GATEWAYS/$1/server/tls/ca.crt"
}

# run NAME WORKLOAD CONCURRENCY ARGS...: one measurement, its JSON in
# OUT/NAME.json with the network's CPU added: sampled inside the measured
# window (from the tool's first progress line after the warm-up, for the
# window's length less 3 s), so that set-up, warm-up and the drain after
# the window do not count.
run() {
	local name=$1 workload=$2 c=$3 log pid before after t0 t1 i
	shift 3
	say "   $name: $workload at $c in flight, $WARMUP + $DURATION"
	log=$OUT/$name.progress
	"$CLI" bench "$workload" "$@" --concurrency "$c" --duration "$DURATION" --warmup "$WARMUP" \
		--json "$OUT/$name.raw.json" >/dev/null 2>"$log" &
	pid=$!
	for i in $(seq 1 1200); do
		grep -v '(warm-up)' "$log" 2>/dev/null | grep -q ' committed ' && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	before=$(cpu_seconds)
	t0=$(now)
	sleep "$((SPAN))"
	after=$(cpu_seconds)
	t1=$(now)
	wait "$pid" || die "$name: medprov bench $workload failed; see $log"
	jq --argjson a "$after" --argjson b "$before" --argjson span "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')" \
		'. + {networkCpuSpanSeconds: $span, networkCpuSeconds: ($a.all - $b.all),
		      networkCpuSecondsBy: ($a | with_entries(select(.key != "all") | .value -= ($b[.key] // 0)))}' \
		"$OUT/$name.raw.json" >"$OUT/$name.json"
	rm -f "$OUT/$name.raw.json"
}

step "orderer batching (network/configtx.yaml): $(awk '/^ *BatchTimeout:/ {print "BatchTimeout", $2} /^ *MaxMessageCount:/ {print "MaxMessageCount", $2}' "$NETWORK/configtx.yaml" | paste -sd ' ')"
for r in $(seq 1 "$ROUNDS"); do
	step "round $r of $ROUNDS"
	for c in 1 "$SAT"; do
		run "r$r-put-c$c" put "$c" --gateway-config "$GATEWAYS/HospitalAMSP/gateway.yaml"
		# shellcheck disable=SC2046 # conn prints separate flags
		run "r$r-anchor-c$c" anchor "$c" $(conn HospitalAMSP clinician)
		run "r$r-put-anchor-c$c" put "$c" --gateway-config "$GATEWAYS/HospitalAMSP/gateway.yaml" --transaction anchor --identity clinician
		# shellcheck disable=SC2046
		run "r$r-access-c$c" access "$c" $(conn HospitalBMSP clinician) --grantee HospitalBMSP --custodian-env "$GATEWAYS/HospitalAMSP/officer.env"
	done
done

step "results in $OUT"
printf '%-6s %-10s %6s %10s %8s %8s %8s %10s %12s %12s\n' round workload c "tx/s" "p50 ms" "p95 ms" "p99 ms" "cpu ms/tx" "tx/s ÷ put" "p50 ÷ put"
for r in $(seq 1 "$ROUNDS"); do
	for c in 1 "$SAT"; do
		for w in put anchor put-anchor access; do
			jq -r --arg r "$r" --arg w "$w" --arg c "$c" --slurpfile put "$OUT/r$r-put-c$c.json" '
				def f(x): (x * 100 | round) / 100;
				[$r, $w, $c, f(.throughputTxPerSec), f(.latencyMs.p50), f(.latencyMs.p95), f(.latencyMs.p99),
				 (if .throughputTxPerSec > 0 then f(.networkCpuSeconds * 1000 / (.throughputTxPerSec * .networkCpuSpanSeconds)) else "-" end),
				 f(.throughputTxPerSec / $put[0].throughputTxPerSec), f(.latencyMs.p50 / $put[0].latencyMs.p50)]
				| @tsv' "$OUT/r$r-$w-c$c.json"
		done
	done
done | awk -F'\t' '{ printf "%-6s %-10s %6s %10s %8s %8s %8s %10s %12s %12s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 }'

printf '\nnetwork CPU per committed transaction, ms, by kind of process\n'
printf '%-6s %-10s %6s %9s %9s %9s %9s\n' round workload c orderer peer chaincode gateway
for r in $(seq 1 "$ROUNDS"); do
	for c in 1 "$SAT"; do
		for w in put anchor put-anchor access; do
			jq -r --arg r "$r" --arg w "$w" --arg c "$c" '
				def per(k): if .throughputTxPerSec > 0 then ((.networkCpuSecondsBy[k] // 0) * 1000 / (.throughputTxPerSec * .networkCpuSpanSeconds) * 10 | round) / 10 else "-" end;
				[$r, $w, $c, per("orderer"), per("peer"), per("chaincode"), per("gateway")] | @tsv' "$OUT/r$r-$w-c$c.json"
		done
	done
done | awk -F'\t' '{ printf "%-6s %-10s %6s %9s %9s %9s %9s\n", $1, $2, $3, $4, $5, $6, $7 }'
