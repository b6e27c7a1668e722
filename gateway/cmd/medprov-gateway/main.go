// Command medprov-gateway is a hospital's medprov gateway: it loads its
// configuration (docs/gateway-config.md), assembles the gateway
// (gateway/daemon) and serves until SIGINT or SIGTERM, then shuts down
// gracefully. It is the only place of the gateway that exits.
//
// Exit codes: 0 after a clean stop, 1 when the gateway failed while
// running, 2 for a bad configuration or command line.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/medprov/medprov/gateway/daemon"
	"github.com/medprov/medprov/gateway/internal/config"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	cfg, err := config.Load("", os.LookupEnv, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(os.Stdout, config.Usage)
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "medprov-gateway: configuration:")
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintln(os.Stderr, "  "+line)
		}
		return 2
	}
	if err := cfg.CheckFiles(); err != nil {
		fmt.Fprintln(os.Stderr, "medprov-gateway: configuration:")
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintln(os.Stderr, "  "+line)
		}
		return 2
	}
	logger := newLogger(cfg.Log)
	logger.Info("configuration loaded", slog.Any("config", cfg))

	opts := []daemon.Option{daemon.WithLogger(logger), daemon.WithVersion(version)}
	if cfg.Store.Keyring.Type == config.KeyringPKCS11 {
		pin, ok := os.LookupEnv(cfg.Store.Keyring.PKCS11.PINEnv)
		if !ok {
			fmt.Fprintf(os.Stderr, "medprov-gateway: configuration:\n  store.keyring.pkcs11.pinEnv: the variable it names is not set\n")
			return 2
		}
		opts = append(opts, daemon.WithPKCS11PIN(pin))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// After the first signal, a second one ends the process at once
		// instead of waiting out shutdown.grace.
		<-ctx.Done()
		stop()
	}()
	g, err := daemon.New(ctx, cfg, opts...)
	if err != nil {
		logger.Error("start-up failed", slog.String("error", err.Error()))
		fmt.Fprintln(os.Stderr, "medprov-gateway:", err)
		return 2
	}
	if err := g.Run(ctx); err != nil {
		logger.Error("gateway failed", slog.String("error", err.Error()))
		return 1
	}
	return 0
}

func newLogger(c config.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}
