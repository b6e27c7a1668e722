// Command medprov-demo plays medprov's on-chain walkthrough on a fresh
// development consortium (embedded ledger, development CAs) and prints one
// line per step. It exits 0 only if every step behaved as expected.
//
// Usage:
//
//	medprov-demo [-dir DIR] [-keep]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/medprov/medprov/internal/devnet"
	"github.com/medprov/medprov/internal/walkthrough"
)

func main() {
	dir := flag.String("dir", "", "directory for the consortium's CAs and ledger (default: a new temporary directory)")
	keep := flag.Bool("keep", false, "keep the directory afterwards")
	flag.Parse()
	if err := run(*dir, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL", err)
		os.Exit(1)
	}
}

func run(dir string, keep bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if dir == "" {
		d, err := os.MkdirTemp("", "medprov-demo-")
		if err != nil {
			return err
		}
		dir = d
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	net, err := devnet.Start(dir)
	if err != nil {
		return err
	}
	defer net.Close()
	fmt.Printf("medprov walkthrough on the embedded ledger (data in %s)\n", dir)
	n := 0
	err = walkthrough.Run(ctx, net, func(s walkthrough.Step) {
		n++
		fmt.Printf("ok %2d  %-18s %s\n", n, s.Name, s.Detail)
	})
	if err != nil {
		return err
	}
	fmt.Printf("all %d steps behaved as expected\n", n)
	return nil
}
