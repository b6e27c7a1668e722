package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/gateway/internal/anchor"
	"github.com/medprov/medprov/gateway/internal/exchange"
	"github.com/medprov/medprov/gateway/internal/ledger"
	"github.com/medprov/medprov/gateway/internal/store"
	"github.com/medprov/medprov/gateway/internal/wallet"
	"github.com/medprov/medprov/internal/patientproof"
)

// Deps are the parts a Server is built from. Every field is required
// unless its comment says otherwise.
type Deps struct {
	// MSPID is this gateway's organisation.
	MSPID string
	// Backend and Channel describe the ledger for Status ("embedded" or
	// "fabric"; the channel name, empty for embedded).
	Backend, Channel string
	// Version is the gateway's build version, for Status.
	Version string
	// Ledger is the ledger client (with retries).
	Ledger ledger.Ledger
	// Height returns the number of blocks of the ledger, for Status.
	Height func(ctx context.Context) (uint64, error)
	// Store is the encrypted record store; Anchorer anchors into it.
	Store    *store.Store
	Anchorer *anchor.Anchorer
	// RotateKEK makes a new key-encryption key active and returns the IDs
	// of the previous and the new one; RotateKeys then rewraps every data
	// key under the new one.
	RotateKEK func(ctx context.Context) (previous, current string, err error)
	// ActiveKEK returns the ID of the active key-encryption key.
	ActiveKEK func(ctx context.Context) (string, error)
	// Wallet holds the enrolled users callers are matched against.
	Wallet *wallet.Wallet
	// Service is the gateway's own identity (a records officer of MSPID
	// with clearance V, in the wallet): it reads access events to check
	// tickets, looks up the directory, and answers patients' own queries.
	Service *wallet.Identity
	// Tickets checks access tickets other gateways present.
	Tickets *exchange.Checker
	// Exchange fetches records from other gateways.
	Exchange *exchange.Client
	// ExchangeTimeout bounds one fetch from another gateway.
	ExchangeTimeout time.Duration
	// Challenges are the outstanding patient challenges.
	Challenges *patientproof.Challenges
	// Metrics are registered by the caller (NewMetrics).
	Metrics *Metrics
	// Logger receives access logs and errors; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Server implements the gateway's gRPC services on top of its Deps.
type Server struct {
	d     Deps
	start time.Time
}

// New returns a Server, or an error naming the first missing dependency.
func New(d Deps) (*Server, error) {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	missing := func(name string) error { return fmt.Errorf("server: %s is required", name) }
	switch {
	case d.MSPID == "":
		return nil, missing("MSPID")
	case d.Ledger == nil:
		return nil, missing("Ledger")
	case d.Height == nil:
		return nil, missing("Height")
	case d.Store == nil:
		return nil, missing("Store")
	case d.Anchorer == nil:
		return nil, missing("Anchorer")
	case d.RotateKEK == nil:
		return nil, missing("RotateKEK")
	case d.ActiveKEK == nil:
		return nil, missing("ActiveKEK")
	case d.Wallet == nil:
		return nil, missing("Wallet")
	case d.Service == nil:
		return nil, missing("Service")
	case d.Tickets == nil:
		return nil, missing("Tickets")
	case d.Exchange == nil:
		return nil, missing("Exchange")
	case d.ExchangeTimeout <= 0:
		return nil, errors.New("server: ExchangeTimeout must be positive")
	case d.Challenges == nil:
		return nil, missing("Challenges")
	case d.Metrics == nil:
		return nil, missing("Metrics")
	}
	return &Server{d: d, start: d.Now()}, nil
}

// ServerOptions returns the interceptors of a grpc.Server serving s: the
// observer (request ID, status mapping, recovery, access log, metrics)
// around the authenticator. trusted is for the in-memory listener behind
// the REST front end only: there the caller's certificate fingerprint is
// taken from the RESTFingerprintHeader metadata that the front end sets
// after verifying the client's certificate itself.
func (s *Server) ServerOptions(trusted bool) []grpc.ServerOption {
	o := observer{logger: s.d.Logger, metrics: s.d.Metrics, now: s.d.Now}
	a := authenticator{wallet: s.d.Wallet, trusted: trusted}
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(o.unary, a.unary),
		grpc.ChainStreamInterceptor(o.stream, a.stream),
	}
}

// Register registers the eight medprov services on r.
func (s *Server) Register(r grpc.ServiceRegistrar) {
	gatewayv1.RegisterRecordServiceServer(r, &recordService{s: s})
	gatewayv1.RegisterVerificationServiceServer(r, &verificationService{s: s})
	gatewayv1.RegisterConsentServiceServer(r, &consentService{s: s})
	gatewayv1.RegisterAccessServiceServer(r, &accessService{s: s})
	gatewayv1.RegisterAuditServiceServer(r, &auditService{s: s})
	gatewayv1.RegisterPatientServiceServer(r, &patientService{s: s})
	gatewayv1.RegisterExchangeServiceServer(r, &exchangeService{s: s})
	gatewayv1.RegisterAdminServiceServer(r, &adminService{s: s})
}

// log returns the call's logger.
func (s *Server) log(ctx context.Context) *slog.Logger { return logFrom(ctx, s.d.Logger) }
