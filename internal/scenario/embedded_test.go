package scenario_test

import (
	"context"
	"slices"
	"testing"

	"google.golang.org/grpc"

	"github.com/medprov/medprov/gateway/devup"
	"github.com/medprov/medprov/internal/devnet"
	"github.com/medprov/medprov/internal/scenario"
)

// devCluster is a development consortium (gateway/devup: three gateways
// on one embedded ledger, mTLS on loopback) as a scenario.Cluster.
type devCluster struct{ c *devup.Consortium }

func (d devCluster) Orgs() (string, string, string) {
	return devnet.HospitalA, devnet.HospitalB, devnet.HealthAuthority
}

func (d devCluster) Dial(ctx context.Context, msp, user string) (*grpc.ClientConn, error) {
	return d.c.Dial(ctx, msp, user)
}

func (d devCluster) Stranger(ctx context.Context, msp string) (*grpc.ClientConn, error) {
	return d.c.Stranger(ctx, msp)
}

// TestScenariosOnTheEmbeddedLedger runs the whole suite, each scenario on
// a consortium of its own, so that the scenarios run in parallel without
// seeing each other's entries.
func TestScenariosOnTheEmbeddedLedger(t *testing.T) {
	scenario.Run(t, func(t *testing.T) scenario.Cluster {
		c, err := devup.Start(t.Context(), t.TempDir())
		if err != nil {
			t.Fatalf("start the development consortium: %v", err)
		}
		t.Cleanup(func() {
			if err := c.Close(); err != nil {
				t.Errorf("close the development consortium: %v", err)
			}
		})
		return devCluster{c}
	})
}

// TestScenariosShareOneConsortium runs the whole suite again, every
// scenario on one shared consortium, as a runner for a costlier backend
// (Fabric) would: the scenarios must not disturb each other.
func TestScenariosShareOneConsortium(t *testing.T) {
	c, err := devup.Start(t.Context(), t.TempDir())
	if err != nil {
		t.Fatalf("start the development consortium: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close the development consortium: %v", err)
		}
	})
	scenario.Run(t, func(*testing.T) scenario.Cluster { return devCluster{c} })
}

// TestDevupEnrolsTheSuitesUsers keeps the suite's user names in step with
// the identities devup enrols.
func TestDevupEnrolsTheSuitesUsers(t *testing.T) {
	var names []string
	for _, u := range devup.Users {
		names = append(names, u.Name)
	}
	for _, u := range []string{scenario.UserClinician, scenario.UserClinicianL, scenario.UserOfficer,
		scenario.UserResearcher, scenario.UserAdmin, scenario.UserAuditor} {
		if !slices.Contains(names, u) {
			t.Errorf("devup enrols no user %q (it enrols %v)", u, names)
		}
	}
}
