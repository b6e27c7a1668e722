package bench_test

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/medprov/medprov/gateway/bench"
	"github.com/medprov/medprov/gateway/devup"
	"github.com/medprov/medprov/internal/devnet"
)

// startConsortium starts a development consortium on the embedded ledger
// for one test.
func startConsortium(t *testing.T) *devup.Consortium {
	t.Helper()
	c, err := devup.Start(t.Context(), t.TempDir())
	if err != nil {
		t.Fatalf("start the consortium: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close the consortium: %v", err)
		}
	})
	return c
}

// gateways dials n connections to msp's gateway as user.
func gateways(t *testing.T, c *devup.Consortium, msp, user string, n int) []bench.Gateway {
	t.Helper()
	var out []bench.Gateway
	for range n {
		conn, err := c.Dial(t.Context(), msp, user)
		if err != nil {
			t.Fatalf("dial %s as %s: %v", msp, user, err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		out = append(out, bench.NewGateway(conn))
	}
	return out
}

func TestWorkloadsOnTheEmbeddedLedger(t *testing.T) {
	c := startConsortium(t)
	const conc = 8

	t.Run("anchor commits records through the gateway", func(t *testing.T) {
		gws := gateways(t, c, devnet.HospitalA, "clinician", 2)
		w, err := bench.NewAnchor(t.Context(), gws, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		res, err := bench.Run(t.Context(), bench.Options{Name: "anchor", Workload: w, Concurrency: conc, Duration: time.Second, Warmup: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if res.Committed == 0 || len(res.Errors) != 0 || res.MaxInFlight != conc {
			t.Errorf("committed %d, errors %v, at most %d in flight", res.Committed, res.Errors, res.MaxInFlight)
		}
	})

	t.Run("access is granted on the synthetic consents", func(t *testing.T) {
		w, err := bench.NewAccess(t.Context(), bench.AccessOptions{
			Custodian:  gateways(t, c, devnet.HospitalA, "officer", 1)[0],
			Requesters: gateways(t, c, devnet.HospitalB, "clinician", 1),
			Grantee:    devnet.HospitalB, Records: 8, Patients: 2, Rand: rand.Reader,
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(w.Records()); n != 8 {
			t.Errorf("%d records, want 8", n)
		}
		res, err := bench.Run(t.Context(), bench.Options{Name: "access", Workload: w, Concurrency: conc, Duration: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if res.Committed == 0 || len(res.Errors) != 0 {
			t.Errorf("committed %d, errors %v", res.Committed, res.Errors)
		}
	})

	t.Run("access setup fails when the grantee is not the requester", func(t *testing.T) {
		_, err := bench.NewAccess(t.Context(), bench.AccessOptions{
			Custodian:  gateways(t, c, devnet.HospitalA, "officer", 1)[0],
			Requesters: gateways(t, c, devnet.HospitalB, "clinician", 1),
			Grantee:    devnet.HealthAuthority, Records: 2, Patients: 1, Rand: rand.Reader,
		})
		if !errors.Is(err, bench.ErrSetup) || bench.Code(err) != bench.LabelDenied || !strings.Contains(err.Error(), devnet.HealthAuthority) {
			t.Errorf("err = %v, want a setup error: DENIED, naming the grantee", err)
		}
	})

	t.Run("access setup refuses bad options", func(t *testing.T) {
		req := gateways(t, c, devnet.HospitalB, "clinician", 1)
		cust := gateways(t, c, devnet.HospitalA, "officer", 1)[0]
		tests := map[string]struct {
			o    bench.AccessOptions
			want string
		}{
			"a bad grantee is refused":           {bench.AccessOptions{Custodian: cust, Requesters: req, Grantee: "not an msp", Rand: rand.Reader}, "grantee"},
			"more patients than records":         {bench.AccessOptions{Custodian: cust, Requesters: req, Grantee: devnet.HospitalB, Records: 2, Patients: 3, Rand: rand.Reader}, "patients"},
			"no requester connection is refused": {bench.AccessOptions{Custodian: cust, Grantee: devnet.HospitalB, Rand: rand.Reader}, "requesting gateway"},
			"no custodian connection is refused": {bench.AccessOptions{Requesters: req, Grantee: devnet.HospitalB, Rand: rand.Reader}, "custodian"},
		}
		for name, tc := range tests {
			t.Run(name, func(t *testing.T) {
				_, err := bench.NewAccess(context.Background(), tc.o)
				if !errors.Is(err, bench.ErrSetup) || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("err = %v, want a setup error naming %s", err, tc.want)
				}
			})
		}
	})

	t.Run("a caller who may not anchor fails the setup", func(t *testing.T) {
		_, err := bench.NewAnchor(t.Context(), gateways(t, c, devnet.HospitalA, "auditor", 1), rand.Reader)
		if !errors.Is(err, bench.ErrSetup) || bench.Code(err) != "PERMISSION_DENIED" {
			t.Errorf("err = %v, want a setup error: PERMISSION_DENIED", err)
		}
	})
}
