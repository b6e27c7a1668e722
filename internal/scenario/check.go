package scenario

import (
	"regexp"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
)

// Assertions. Each names the step it checks and stops the scenario at the
// first unexpected outcome, since later steps build on earlier ones.

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// must stops the scenario on an unexpected error.
func (e *env) must(err error, step string) {
	e.t.Helper()
	if err != nil {
		e.t.Fatalf("%s: %v", step, err)
	}
}

// wantCode stops the scenario unless err is a gRPC status with code want.
func (e *env) wantCode(err error, want codes.Code, step string) {
	e.t.Helper()
	if err == nil {
		e.t.Fatalf("%s: succeeded, want %s", step, want)
	}
	if got := status.Code(err); got != want {
		e.t.Fatalf("%s: %v, want code %s", step, err, want)
	}
}

// wantProto stops the scenario unless got equals want.
func (e *env) wantProto(got, want proto.Message, step string) {
	e.t.Helper()
	if !proto.Equal(got, want) {
		e.t.Fatalf("%s:\n got  %s\n want %s", step, text(got), text(want))
	}
}

// want stops the scenario unless ok, with a message built from format.
func (e *env) want(ok bool, format string, args ...any) {
	e.t.Helper()
	if !ok {
		e.t.Fatalf(format, args...)
	}
}

func text(m proto.Message) string {
	if m == nil {
		return "<nil>"
	}
	return prototext.MarshalOptions{}.Format(m)
}

// wantTxID stops the scenario unless id is a transaction ID.
func (e *env) wantTxID(id, step string) {
	e.t.Helper()
	if !hex64.MatchString(id) {
		e.t.Fatalf("%s: transaction ID %q, want 64 lowercase hex digits", step, id)
	}
}

// wantEvent checks an access event against the expected one. want carries
// every field but the transaction ID, time and the requester's certificate
// fingerprint, which are checked for their format; the fingerprint must
// also be the same for every event of the same user (named by who).
//
// A denial may carry DENIAL_BURST when the expected event does not: that
// alert counts the requester organisation's denials in the clock hour, and
// other scenarios sharing the cluster deny too.
func (e *env) wantEvent(got, want *gatewayv1.AccessEvent, who, step string) {
	e.t.Helper()
	if got == nil {
		e.t.Fatalf("%s: no access event", step)
	}
	e.wantTxID(got.GetTxId(), step+": tx_id")
	e.want(got.GetAt().IsValid(), "%s: at %v, want a time", step, got.GetAt())
	fp := got.GetRequester().GetCertFingerprint()
	e.want(hex64.MatchString(fp), "%s: requester.cert_fingerprint %q, want 64 lowercase hex digits", step, fp)
	e.fingerprint(who, fp, step)

	w := proto.Clone(want).(*gatewayv1.AccessEvent)
	w.TxId, w.At = got.GetTxId(), got.GetAt()
	if w.Requester != nil {
		w.Requester.CertFingerprint = fp
	}
	g := got
	if w.GetDecision() == gatewayv1.Decision_DECISION_DENIED && !slices.Contains(w.GetAlerts(), gatewayv1.Alert_ALERT_DENIAL_BURST) &&
		slices.Equal(got.GetAlerts(), []gatewayv1.Alert{gatewayv1.Alert_ALERT_DENIAL_BURST}) {
		g = proto.Clone(got).(*gatewayv1.AccessEvent)
		g.Alerts = nil
	}
	e.wantProto(g, w, step)
}

// fingerprint remembers the first certificate fingerprint seen for a user
// and stops the scenario if a later event of the same user has another.
func (e *env) fingerprint(who, fp, step string) {
	e.t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fps == nil {
		e.fps = map[string]string{}
	}
	if prev, ok := e.fps[who]; ok && prev != fp {
		e.t.Fatalf("%s: requester.cert_fingerprint of %s is %s, earlier %s", step, who, fp, prev)
	}
	e.fps[who] = fp
}

// txIDs returns the transaction IDs of events, in order.
func txIDs(events []*gatewayv1.AccessEvent) []string {
	out := make([]string, len(events))
	for i, ev := range events {
		out[i] = ev.GetTxId()
	}
	return out
}

// only returns the events whose transaction is one of ids, in their order:
// the scenario's own entries of a listing a shared ledger adds to.
func only(events []*gatewayv1.AccessEvent, ids ...string) []*gatewayv1.AccessEvent {
	var out []*gatewayv1.AccessEvent
	for _, ev := range events {
		if slices.Contains(ids, ev.GetTxId()) {
			out = append(out, ev)
		}
	}
	return out
}

// inTimeOrder reports whether events are in time order, then
// transaction-ID order, as the trail listings promise.
func inTimeOrder(events []*gatewayv1.AccessEvent) bool {
	return slices.IsSortedFunc(events, func(x, y *gatewayv1.AccessEvent) int {
		if c := x.GetAt().AsTime().Compare(y.GetAt().AsTime()); c != 0 {
			return c
		}
		return strings.Compare(x.GetTxId(), y.GetTxId())
	})
}

// wantSame stops the scenario unless two errors are the same refusal: the
// same code and, once each names its own record ID, the same message. It
// is how "hidden" is checked to be indistinguishable from "missing".
func (e *env) wantSame(hidden error, hiddenID string, missing error, missingID, step string) {
	e.t.Helper()
	h, m := status.Convert(hidden), status.Convert(missing)
	hm := strings.ReplaceAll(h.Message(), hiddenID, "<id>")
	mm := strings.ReplaceAll(m.Message(), missingID, "<id>")
	if h.Code() != m.Code() || hm != mm {
		e.t.Fatalf("%s: a hidden record gives %s %q, a missing one %s %q: want the same answer", step, h.Code(), hm, m.Code(), mm)
	}
}
