package daemon

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/grpclog"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	"github.com/medprov/medprov/chaincode/contract"
	"github.com/medprov/medprov/gateway/embedded"
	"github.com/medprov/medprov/gateway/internal/anchor"
	"github.com/medprov/medprov/gateway/internal/config"
	"github.com/medprov/medprov/gateway/internal/exchange"
	"github.com/medprov/medprov/gateway/internal/follow"
	"github.com/medprov/medprov/gateway/internal/ledger"
	"github.com/medprov/medprov/gateway/internal/server"
	"github.com/medprov/medprov/gateway/internal/store"
	"github.com/medprov/medprov/gateway/internal/wallet"
	"github.com/medprov/medprov/internal/devca"
	"github.com/medprov/medprov/internal/patientproof"
)

// gRPC's own logger is silenced: grpc-gateway's generated REST handlers
// log request-decoding errors through it, and those errors quote the
// request text, which can be record content. The gateway's own slog
// logger reports every call.
func init() { grpclog.SetLoggerV2(grpclog.NewLoggerV2(io.Discard, io.Discard, io.Discard)) }

// ChallengeTTL is how long a patient challenge may be answered.
const ChallengeTTL = 5 * time.Minute

// Option configures New.
type Option func(*options)

type options struct {
	shared  *embedded.Ledger
	logger  *slog.Logger
	version string
	pin     string
}

// WithEmbeddedLedger makes the gateway use l, an embedded ledger the caller
// opened and closes, instead of opening ledger.embedded.dir itself: several
// gateways of a development consortium share one ledger this way.
func WithEmbeddedLedger(l *embedded.Ledger) Option { return func(o *options) { o.shared = l } }

// WithLogger sets the logger; the default discards logs.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithVersion sets the version reported by AdminService.Status.
func WithVersion(v string) Option { return func(o *options) { o.version = v } }

// WithPKCS11PIN sets the user PIN of the PKCS#11 token (main reads it from
// the variable named by store.keyring.pkcs11.pinEnv).
func WithPKCS11PIN(pin string) Option { return func(o *options) { o.pin = pin } }

// Addrs are the addresses a Gateway listens on, with the ports chosen when
// the configuration asked for port 0.
type Addrs struct {
	GRPC, REST, Metrics string
}

// Gateway is one assembled medprov gateway. New opens everything and
// binds the listeners; Run serves until its context ends.
type Gateway struct {
	cfg      config.Config
	logger   *slog.Logger
	closers  []func() error
	anchorer *anchor.Anchorer
	used     *exchange.BoltUsed
	checker  *exchange.Checker
	follower *follow.Follower

	grpcSrv, innerSrv   *grpc.Server
	health              *health.Server
	restSrv, metricsSrv *http.Server
	grpcLis, restLis    net.Listener
	metricsLis          net.Listener
	inner               *innerListener
	addrs               Addrs
}

// New assembles a gateway from cfg, which must have passed config.Load (or
// Validate). It checks the files cfg names, loads the wallet (the service
// identity must be a records officer with clearance V), opens the ledger,
// keyring and store, and binds the three listeners. Errors name the
// configuration key at fault where there is one. On error everything
// opened so far is closed.
func New(ctx context.Context, cfg config.Config, opts ...Option) (_ *Gateway, err error) {
	o := options{logger: slog.New(slog.DiscardHandler), version: "dev"}
	for _, opt := range opts {
		opt(&o)
	}
	g := &Gateway{cfg: cfg, logger: o.logger}
	defer func() {
		if err != nil {
			g.close()
		}
	}()
	if err := cfg.CheckFiles(); err != nil {
		return nil, err
	}
	tlsCfg, err := serverTLS(cfg.TLS)
	if err != nil {
		return nil, err
	}
	w, err := wallet.Load(cfg.Wallet.Dir, cfg.Org.MSPID)
	if err != nil {
		return nil, fmt.Errorf("wallet.dir: %w", err)
	}
	svc, err := w.ByName(cfg.Wallet.ServiceIdentity)
	if err != nil {
		return nil, fmt.Errorf("wallet.serviceIdentity: %w", err)
	}
	if svc.Role != "records-officer" || svc.Clearance != "V" {
		return nil, fmt.Errorf("wallet.serviceIdentity: identity %s has role %q and clearance %q; want a records-officer with clearance V", svc.Name, svc.Role, svc.Clearance)
	}

	// The event checkpoint is read before anything is opened: a corrupt
	// one stops the start with nothing changed.
	cpFile := cfg.EventCheckpointFile()
	start, haveCheckpoint, err := follow.ReadCheckpoint(cpFile)
	if err != nil {
		return nil, fmt.Errorf("events.checkpointFile: %w (restore it from the backup of the store, or delete it to follow events from the current ledger height)", err)
	}

	led, height, err := g.openLedger(cfg, o.shared, svc)
	if err != nil {
		return nil, err
	}
	keys, rotate, active, err := g.openKeyring(cfg.Store.Keyring, o.pin)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(cfg.Store.Dir, keys)
	if err != nil {
		return nil, fmt.Errorf("store.dir: %w", err)
	}
	g.closers = append(g.closers, st.Close)
	if g.anchorer, err = anchor.New(st, led, g.logger.With(slog.String("component", "anchor"))); err != nil {
		return nil, err
	}
	if g.used, err = exchange.OpenUsed(filepath.Join(cfg.Store.Dir, "used-tickets.db")); err != nil {
		return nil, fmt.Errorf("store.dir: used tickets: %w", err)
	}
	g.closers = append(g.closers, g.used.Close)
	if g.checker, err = exchange.New(exchange.Config{
		Fetch: exchange.LedgerFetcher(led, svc.Ledger()),
		MSPID: cfg.Org.MSPID,
		Used:  g.used,
		TTL:   cfg.Exchange.AccessTicketTTL,
	}); err != nil {
		return nil, err
	}
	client, err := exchange.NewClient(exchange.LedgerDirectory(led, svc.Ledger()),
		exchange.WithLogger(g.logger.With(slog.String("component", "exchange"))))
	if err != nil {
		return nil, err
	}
	challenges, err := patientproof.New(cfg.Org.MSPID, ChallengeTTL)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics, err := server.NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	if err := g.newFollower(ctx, cpFile, start, haveCheckpoint, height, led, st, reg); err != nil {
		return nil, err
	}
	srv, err := server.New(server.Deps{
		MSPID:           cfg.Org.MSPID,
		Backend:         cfg.Ledger.Backend,
		Channel:         channelOf(cfg),
		Version:         o.version,
		Ledger:          led,
		Height:          height,
		Store:           st,
		Anchorer:        g.anchorer,
		RotateKEK:       rotate,
		ActiveKEK:       active,
		Wallet:          w,
		Service:         svc,
		Tickets:         g.checker,
		Exchange:        client,
		ExchangeTimeout: cfg.Exchange.Timeout,
		Challenges:      challenges,
		Metrics:         metrics,
		Logger:          g.logger.With(slog.String("component", "server")),
	})
	if err != nil {
		return nil, err
	}

	if err := g.listen(ctx, cfg, tlsCfg, srv, w, reg); err != nil {
		return nil, err
	}
	return g, nil
}

// newFollower builds the ledger event follower: from the checkpoint start
// when the file held one, otherwise from the ledger's current height,
// which is saved at once.
func (g *Gateway) newFollower(ctx context.Context, file string, start ledger.Checkpoint, found bool, height func(context.Context) (uint64, error), led ledger.Ledger, st *store.Store, reg prometheus.Registerer) error {
	logger := g.logger.With(slog.String("component", "follow"))
	if found {
		logger.Info("following ledger events from the checkpoint", slog.String("file", file), slog.Uint64("block", start.Block), slog.String("txID", start.TxID))
	} else {
		h, err := height(ctx)
		if err != nil {
			return fmt.Errorf("events.checkpointFile: no checkpoint yet, and the ledger height is unknown: %w", err)
		}
		start = ledger.Checkpoint{Block: h}
		if err := follow.WriteCheckpoint(file, start); err != nil {
			return fmt.Errorf("events.checkpointFile: %w", err)
		}
		logger.Info("no event checkpoint: following ledger events from the current height", slog.String("file", file), slog.Uint64("block", h))
	}
	fm, err := follow.NewMetrics(reg)
	if err != nil {
		return err
	}
	acts, err := follow.NewActions(g.cfg.Org.MSPID, g.anchorer, st, fm, logger)
	if err != nil {
		return err
	}
	g.follower, err = follow.New(led, file, start, acts, follow.WithMetrics(fm), follow.WithLogger(logger))
	return err
}

// Addrs returns the addresses the gateway listens on.
func (g *Gateway) Addrs() Addrs { return g.addrs }

func channelOf(cfg config.Config) string {
	if cfg.Ledger.Backend == config.BackendFabric {
		return cfg.Ledger.Fabric.Channel
	}
	return ""
}

// serverTLS loads the server's TLS identity and the client CAs. Each error
// names the one key at fault: tls.certFile for a certificate file that
// cannot be read or holds no certificate, tls.keyFile for a key file that
// cannot be read, holds no usable key or a key that does not match the
// certificate, tls.clientCAFile for the CA file.
func serverTLS(c config.TLS) (*tls.Config, error) {
	certPEM, err := os.ReadFile(c.CertFile)
	if err != nil {
		return nil, fmt.Errorf("tls.certFile: %w", err)
	}
	if !holdsCertificate(certPEM) {
		return nil, fmt.Errorf("tls.certFile: %s holds no PEM certificate", c.CertFile)
	}
	keyPEM, err := os.ReadFile(c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls.keyFile: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// The certificate is there, so the key is what failed: no PEM
		// key, a malformed one, or one of another certificate.
		return nil, fmt.Errorf("tls.keyFile: %s is not the private key of tls.certFile: %w", c.KeyFile, err)
	}
	pemCAs, err := os.ReadFile(c.ClientCAFile)
	if err != nil {
		return nil, fmt.Errorf("tls.clientCAFile: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemCAs) {
		return nil, errors.New("tls.clientCAFile: holds no PEM certificate")
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
	}, nil
}

// holdsCertificate reports whether b holds a PEM CERTIFICATE block that
// parses.
func holdsCertificate(b []byte) bool {
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return false
		}
		if block.Type == "CERTIFICATE" {
			if _, err := x509.ParseCertificate(block.Bytes); err == nil {
				return true
			}
		}
	}
}

// openLedger returns the ledger client: the shared embedded ledger, or one
// opened in ledger.embedded.dir, wrapped with retries.
func (g *Gateway) openLedger(cfg config.Config, shared *embedded.Ledger, svc *wallet.Identity) (ledger.Ledger, func(context.Context) (uint64, error), error) {
	switch cfg.Ledger.Backend {
	case config.BackendEmbedded:
	case config.BackendFabric:
		return g.openFabric(cfg, svc)
	default:
		return nil, nil, fmt.Errorf("ledger.backend: want one of %v", config.Backends)
	}
	el := shared
	if el == nil {
		var err error
		if el, err = openEmbedded(cfg.Ledger.Embedded.Dir); err != nil {
			return nil, nil, fmt.Errorf("ledger.embedded.dir: %w", err)
		}
	}
	height := func(context.Context) (uint64, error) { return el.Height(), nil }
	l := ledger.NewRetrying(ledger.NewEmbedded(el), ledger.WithCommitTimeout(cfg.Ledger.CommitTimeout))
	if shared == nil {
		// Closing the client closes the embedded ledger; a shared one is
		// its opener's to close.
		g.closers = append(g.closers, l.Close)
	}
	return l, height, nil
}

// openFabric connects to the peer's Gateway service at
// ledger.fabric.peerEndpoint over TLS, trusting ledger.fabric.peerTLSCAFile
// (the peer's certificate must name the endpoint's host), and returns the
// Fabric ledger client wrapped with retries. The service identity svc
// signs event streams, look-ups and the chain height (qscc GetChainInfo).
func (g *Gateway) openFabric(cfg config.Config, svc *wallet.Identity) (ledger.Ledger, func(context.Context) (uint64, error), error) {
	f := cfg.Ledger.Fabric
	caPEM, err := os.ReadFile(f.PeerTLSCAFile)
	if err != nil {
		return nil, nil, fmt.Errorf("ledger.fabric.peerTLSCAFile: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, nil, fmt.Errorf("ledger.fabric.peerTLSCAFile: %s holds no PEM certificate", f.PeerTLSCAFile)
	}
	conn, err := grpc.NewClient(f.PeerEndpoint, grpc.WithTransportCredentials(
		credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool})))
	if err != nil {
		return nil, nil, fmt.Errorf("ledger.fabric.peerEndpoint: %w", err)
	}
	fl, err := ledger.NewFabric(conn, f.Channel, f.Chaincode, svc.Ledger())
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("ledger.fabric: %w", err)
	}
	l := ledger.NewRetrying(fl, ledger.WithCommitTimeout(cfg.Ledger.CommitTimeout))
	g.closers = append(g.closers, l.Close)
	return l, fl.Height, nil
}

// openEmbedded opens the embedded ledger in dir. Its blocks are signed by
// a development orderer identity kept in dir/orderer-ca (created on first
// use): the embedded ledger is for one machine, so its orderer is local.
func openEmbedded(dir string) (*embedded.Ledger, error) {
	caDir := filepath.Join(dir, "orderer-ca")
	var org *devca.Org
	var err error
	if _, statErr := os.Stat(filepath.Join(caDir, "devca.json")); statErr == nil {
		org, err = devca.LoadOrg(caDir)
	} else {
		if org, err = devca.NewOrg("OrdererMSP", "orderer.medprov.local"); err == nil {
			err = org.WriteOrg(caDir)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("orderer CA: %w", err)
	}
	orderer, err := org.Issue(devca.IdentityRequest{Name: "orderer0", NodeOU: devca.NodeOUOrderer})
	if err != nil {
		return nil, fmt.Errorf("orderer identity: %w", err)
	}
	cc, err := contract.New()
	if err != nil {
		return nil, err
	}
	return embedded.Open(embedded.Config{
		Dir:            dir,
		OrdererMSPID:   "OrdererMSP",
		OrdererCertPEM: orderer.CertPEM,
		OrdererSigner:  orderer.Key,
	}, cc)
}

func (g *Gateway) openKeyring(c config.Keyring, pin string) (store.Keyring, func(context.Context) (string, string, error), func(context.Context) (string, error), error) {
	active := func(k store.Keyring) func(ctx context.Context) (string, error) {
		return func(ctx context.Context) (string, error) {
			kek, err := k.Active(ctx)
			if err != nil {
				return "", err
			}
			return kek.ID(), nil
		}
	}
	switch c.Type {
	case config.KeyringFile:
		k, err := store.NewFileKeyring(c.File.Dir)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("store.keyring.file.dir: %w", err)
		}
		act := active(k)
		rotate := func(ctx context.Context) (string, string, error) {
			prev, err := act(ctx)
			if err != nil {
				return "", "", err
			}
			next, err := k.Generate()
			return prev, next, err
		}
		return k, rotate, act, nil
	case config.KeyringPKCS11:
		k, err := store.OpenPKCS11Keyring(c.PKCS11.Module, c.PKCS11.TokenLabel, pin)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("store.keyring.pkcs11: %w", err)
		}
		g.closers = append(g.closers, k.Close)
		act := active(k)
		rotate := func(ctx context.Context) (string, string, error) {
			prev, err := act(ctx)
			if err != nil {
				return "", "", err
			}
			next, err := k.Generate(ctx)
			return prev, next, err
		}
		return k, rotate, act, nil
	}
	return nil, nil, nil, fmt.Errorf("store.keyring.type: want one of %v", config.KeyringTypes)
}

// listen binds the three listeners and builds the servers.
func (g *Gateway) listen(ctx context.Context, cfg config.Config, tlsCfg *tls.Config, srv *server.Server, w *wallet.Wallet, reg *prometheus.Registry) error {
	var err error
	if g.grpcLis, err = net.Listen("tcp", cfg.Listen.GRPC); err != nil {
		return fmt.Errorf("listen.grpc: %w", err)
	}
	g.closers = append(g.closers, ignoreClosed(g.grpcLis.Close))
	if g.restLis, err = net.Listen("tcp", cfg.Listen.REST); err != nil {
		return fmt.Errorf("listen.rest: %w", err)
	}
	g.closers = append(g.closers, ignoreClosed(g.restLis.Close))
	if g.metricsLis, err = net.Listen("tcp", cfg.Listen.Metrics); err != nil {
		return fmt.Errorf("listen.metrics: %w", err)
	}
	g.closers = append(g.closers, ignoreClosed(g.metricsLis.Close))
	g.addrs = Addrs{GRPC: g.grpcLis.Addr().String(), REST: g.restLis.Addr().String(), Metrics: g.metricsLis.Addr().String()}

	g.health = health.NewServer()
	g.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)

	// A chunk may be up to 4 MiB (the API's limit); allow its framing.
	maxMsg := grpc.MaxRecvMsgSize(4<<20 + 64<<10)
	limits := []grpc.ServerOption{
		maxMsg,
		// Bound what one connection can hold open, and drop peers that
		// ping too often or hold idle connections forever.
		grpc.MaxConcurrentStreams(1024),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: 15 * time.Minute}),
	}
	g.grpcSrv = grpc.NewServer(append(append(srv.ServerOptions(false), grpc.Creds(credentials.NewTLS(tlsCfg))), limits...)...)
	srv.Register(g.grpcSrv)
	healthpb.RegisterHealthServer(g.grpcSrv, g.health)
	reflection.Register(g.grpcSrv)

	g.inner = newInnerListener()
	g.innerSrv = grpc.NewServer(append(srv.ServerOptions(true), limits...)...)
	srv.Register(g.innerSrv)
	healthpb.RegisterHealthServer(g.innerSrv, g.health)
	rest, closeREST, err := newREST(ctx, g.inner, func(fp string) bool {
		_, ok := w.ByFingerprint(fp)
		return ok
	})
	if err != nil {
		return err
	}
	g.closers = append(g.closers, closeREST)
	g.restSrv = &http.Server{Handler: rest, TLSConfig: tlsCfg.Clone(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(g.logger.Handler(), slog.LevelWarn)}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	g.metricsSrv = &http.Server{Handler: mux, TLSConfig: tlsCfg.Clone(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(g.logger.Handler(), slog.LevelWarn)}
	return nil
}

// Run reconciles pending work once, then serves every port, follows the
// ledger's events (see package follow), reconciles on the configured
// interval and prunes used access tickets, until ctx ends. Then it stops accepting calls, lets in-flight calls finish for at
// most shutdown.grace (cancelling the rest), and closes everything. It
// returns nil after a clean stop; a failing listener stops the gateway
// the same way and its error is returned.
func (g *Gateway) Run(ctx context.Context) error {
	defer g.close()
	rep, err := g.anchorer.Reconcile(ctx)
	g.logger.Info("reconciled pending records at start", slog.Int("pending", rep.Pending), slog.Int("anchored", rep.Anchored+rep.Recommitted), slog.Int("discarded", rep.Discarded), slog.Int("failed", rep.Failed))
	if err != nil && ctx.Err() == nil {
		g.logger.Warn("some pending records stay pending", slog.String("error", err.Error()))
	}
	grp, gctx := errgroup.WithContext(ctx)
	// Background work stops with bg, which outlives gctx until in-flight
	// calls are drained.
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBG()
	grp.Go(func() error { return serveGRPC(g.grpcSrv, g.grpcLis) })
	grp.Go(func() error { return serveGRPC(g.innerSrv, g.inner) })
	grp.Go(func() error { return serveHTTP(g.restSrv, g.restLis) })
	grp.Go(func() error { return serveHTTP(g.metricsSrv, g.metricsLis) })
	bgDone := make(chan struct{})
	go func() {
		defer close(bgDone)
		g.background(bg)
	}()
	g.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	g.logger.Info("gateway serving", slog.String("msp", g.cfg.Org.MSPID),
		slog.String("grpc", g.addrs.GRPC), slog.String("rest", g.addrs.REST), slog.String("metrics", g.addrs.Metrics))

	<-gctx.Done()
	g.logger.Info("gateway stopping", slog.Duration("grace", g.cfg.Shutdown.Grace))
	g.health.Shutdown()
	g.shutdown()
	stopBG()
	<-bgDone
	err = grp.Wait()
	g.logger.Info("gateway stopped")
	return err
}

// background follows the ledger's events, and runs the reconciler on its
// interval and prunes used tickets, until ctx ends; it returns once the
// follower saved its checkpoint.
func (g *Gateway) background(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		if err := g.follower.Run(ctx); err != nil {
			g.logger.Warn("could not save the event checkpoint at stop; the events since the last save will be handled again", slog.String("error", err.Error()))
		}
	})
	// The first run happened in Run before serving; wait an interval.
	t := time.NewTicker(g.cfg.Reconciler.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if rep, err := g.anchorer.Reconcile(ctx); err != nil && ctx.Err() == nil {
				g.logger.Warn("reconcile", slog.Int("failed", rep.Failed), slog.String("error", err.Error()))
			}
			if n, err := g.checker.Prune(); err != nil {
				g.logger.Warn("prune used access tickets", slog.String("error", err.Error()))
			} else if n > 0 {
				g.logger.Debug("pruned used access tickets", slog.Int("n", n))
			}
		}
	}
}

// shutdown stops the servers: every port stops accepting at once; in-flight
// calls get the grace period, then are cancelled. The REST front end stops
// before the in-memory gRPC server behind it, so that a REST call it
// accepted still reaches that server.
func (g *Gateway) shutdown() {
	grace := g.cfg.Shutdown.Grace
	deadline, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = g.restSrv.Shutdown(deadline)
		_ = g.restSrv.Close()
		graceful(deadline, g.innerSrv)
	})
	wg.Go(func() {
		_ = g.metricsSrv.Shutdown(deadline)
		_ = g.metricsSrv.Close()
	})
	wg.Go(func() { graceful(deadline, g.grpcSrv) })
	wg.Wait()
}

// graceful stops s, waiting for in-flight calls until ctx ends and then
// cancelling them.
func graceful(ctx context.Context, s *grpc.Server) {
	done := make(chan struct{})
	go func() {
		s.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.Stop()
		<-done
	}
}

func serveGRPC(s *grpc.Server, l net.Listener) error {
	if err := s.Serve(l); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return err
	}
	return nil
}

func serveHTTP(s *http.Server, l net.Listener) error {
	if err := s.ServeTLS(l, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func ignoreClosed(f func() error) func() error {
	return func() error {
		if err := f(); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	}
}

// close closes what New opened, in reverse order.
func (g *Gateway) close() {
	for i := len(g.closers) - 1; i >= 0; i-- {
		if err := g.closers[i](); err != nil {
			g.logger.Warn("close", slog.String("error", err.Error()))
		}
	}
	g.closers = nil
}
