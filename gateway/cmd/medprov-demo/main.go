// Command medprov-demo plays medprov's walkthrough: it starts a fresh
// development consortium with `medprov dev up` (three organisations, each
// with its own gateway, on one embedded ledger) and drives it with the
// medprov CLI, printing one line per step. It exits 0 only if every step
// behaved as expected; otherwise it prints "[FAIL] step: why" with the
// failing command's stderr and exits 1.
//
// Usage:
//
//	medprov-demo [-medprov PATH] [-keep] [-gateways DIR]
//
// With -gateways it plays on three gateways that already run on a Fabric
// network instead: DIR holds their <MSP>/<user>.env files
// (test-network/gateways.sh writes them; `make demo-fabric` does it all).
//
// The medprov binary is looked for next to medprov-demo unless -medprov
// names it; `make demo` builds both into bin/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/medprov/medprov/gateway/internal/walkthrough"
)

func main() {
	medprov := flag.String("medprov", "", "path of the medprov binary (default: medprov next to this program)")
	keep := flag.Bool("keep", false, "keep the temporary folder (consortium, keys, documents) afterwards")
	gateways := flag.String("gateways", "", "play on running gateways: a folder of their <MSP>/<user>.env files (test-network/gateways)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "medprov-demo: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, *medprov, *keep, *gateways)
	stop()
	if err != nil {
		if !errors.Is(err, walkthrough.ErrFailed) {
			fmt.Fprintln(os.Stderr, "medprov-demo:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, medprov string, keep bool, gateways string) error {
	if medprov == "" {
		self, err := os.Executable()
		if err != nil {
			return fmt.Errorf("finding medprov next to this program (or pass -medprov): %w", err)
		}
		medprov = filepath.Join(filepath.Dir(self), "medprov")
	}
	if _, err := os.Stat(medprov); err != nil {
		return fmt.Errorf("the medprov binary (build it with make build, or pass -medprov): %w", err)
	}
	dir, err := os.MkdirTemp("", "medprov-demo-")
	if err != nil {
		return err
	}
	if keep {
		defer fmt.Printf("kept %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	if gateways != "" {
		if gateways, err = filepath.Abs(gateways); err != nil {
			return err
		}
		fmt.Printf("medprov demo: the gateways of %s (two hospitals and a health authority on the Fabric network); files in %s; every step runs %s\n", gateways, dir, medprov)
	} else {
		fmt.Printf("medprov demo: `medprov dev up` in %s (two hospitals and a health authority, a gateway each, one embedded ledger); every step runs %s\n", dir, medprov)
	}
	return walkthrough.Run(ctx, walkthrough.Config{Medprov: medprov, Dir: dir, Out: os.Stdout, Gateways: gateways})
}
