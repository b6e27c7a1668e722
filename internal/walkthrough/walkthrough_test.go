package walkthrough

import (
	"context"
	"testing"

	"github.com/medprov/medprov/internal/devnet"
)

func TestWalkthroughBehavesAsDescribed(t *testing.T) {
	net, err := devnet.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	var steps []Step
	if err := Run(context.Background(), net, func(s Step) { steps = append(steps, s) }); err != nil {
		t.Fatal(err)
	}
	if len(steps) != 16 {
		t.Fatalf("%d steps reported, want 16", len(steps))
	}
}
