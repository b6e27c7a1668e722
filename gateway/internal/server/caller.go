package server

import (
	"context"
	"crypto/x509"
	"log/slog"
	"regexp"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/medprov/medprov/gateway/internal/exchange"
	"github.com/medprov/medprov/gateway/internal/wallet"
)

// Caller is the authenticated client of one call: the certificate it
// proved possession of in the TLS handshake and, for this organisation's
// users, the wallet identity the gateway submits transactions as.
type Caller struct {
	// Fingerprint is the SHA-256 of the client certificate's DER, in
	// lowercase hex (exchange.Fingerprint).
	Fingerprint string
	// User is the enrolled identity with that certificate, or nil for a
	// certificate the wallet does not hold (another organisation's user,
	// presented by its gateway), which only ExchangeService accepts.
	User *wallet.Identity
}

// LogValue identifies the caller in logs by a short fingerprint and, for a
// user, name and role; never the certificate itself.
func (c Caller) LogValue() slog.Value {
	fp := c.Fingerprint
	if len(fp) > 16 {
		fp = fp[:16]
	}
	if c.User == nil {
		return slog.GroupValue(slog.String("cert", fp), slog.Bool("foreign", true))
	}
	return slog.GroupValue(slog.String("cert", fp), slog.String("user", c.User.Name), slog.String("role", string(c.User.Role)))
}

type callerKey struct{}

// callerSlot is where the authenticator leaves the caller for the
// observer, which wraps it and so cannot see the context it derives.
type callerSlot struct{ c *Caller }

type callerSlotKey struct{}

// remember stores c in the observer's slot of ctx, if there is one.
func remember(ctx context.Context, c Caller) {
	if s, ok := ctx.Value(callerSlotKey{}).(*callerSlot); ok {
		s.c = &c
	}
}

// callerFrom returns the caller the authentication interceptor put in ctx.
func callerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// user returns the enrolled identity of the caller, or PERMISSION_DENIED.
// Every service but ExchangeService starts with it.
func user(ctx context.Context) (*wallet.Identity, error) {
	c, ok := callerFrom(ctx)
	if !ok || c.User == nil {
		return nil, status.Error(codes.PermissionDenied, "caller: the client certificate is not enrolled at this gateway")
	}
	return c.User, nil
}

// RESTFingerprintHeader is the metadata key by which the REST front end,
// which terminates the caller's mTLS connection itself, tells the
// in-process gRPC server which verified client certificate a request came
// with. Only the in-memory listener that the REST front end dials honours
// it; on the network listener it is ignored.
const RESTFingerprintHeader = "x-medprov-client-cert-sha256"

var fingerprintPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// authenticator identifies callers; trusted is true on the in-memory
// listener behind the REST front end.
type authenticator struct {
	wallet  *wallet.Wallet
	trusted bool
}

// openMethods need a verified client certificate but no wallet identity:
// health and reflection (for monitoring and tooling) and the exchange
// (another organisation's gateway, acting for its user).
func openMethod(fullMethod string) (foreignOK bool) {
	return strings.HasPrefix(fullMethod, "/grpc.health.v1.Health/") ||
		strings.HasPrefix(fullMethod, "/grpc.reflection.") ||
		strings.HasPrefix(fullMethod, "/medprov.gateway.v1.ExchangeService/")
}

// authenticate returns the caller of a call, or UNAUTHENTICATED when no
// verified client certificate came with it and PERMISSION_DENIED when its
// certificate is not enrolled and the method needs an enrolled user.
func (a authenticator) authenticate(ctx context.Context, fullMethod string) (Caller, error) {
	fp, err := a.fingerprint(ctx)
	if err != nil {
		return Caller{}, err
	}
	c := Caller{Fingerprint: fp}
	if id, ok := a.wallet.ByFingerprint(fp); ok {
		c.User = id
		return c, nil
	}
	if openMethod(fullMethod) {
		return c, nil
	}
	return Caller{}, status.Error(codes.PermissionDenied, "caller: the client certificate is not enrolled at this gateway")
}

func (a authenticator) fingerprint(ctx context.Context) (string, error) {
	if a.trusted {
		md, _ := metadata.FromIncomingContext(ctx)
		if v := md.Get(RESTFingerprintHeader); len(v) == 1 && fingerprintPattern.MatchString(v[0]) {
			return v[0], nil
		}
		return "", status.Error(codes.Unauthenticated, "caller: no verified client certificate")
	}
	p, ok := peer.FromContext(ctx)
	if !ok {
		return "", status.Error(codes.Unauthenticated, "caller: no verified client certificate")
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.VerifiedChains) == 0 || len(info.State.VerifiedChains[0]) == 0 {
		return "", status.Error(codes.Unauthenticated, "caller: no verified client certificate")
	}
	return leafFingerprint(info.State.VerifiedChains[0][0]), nil
}

func leafFingerprint(c *x509.Certificate) string { return exchange.Fingerprint(c.Raw) }

func (a authenticator) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	c, err := a.authenticate(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	remember(ctx, c)
	return handler(context.WithValue(ctx, callerKey{}, c), req)
}

func (a authenticator) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	c, err := a.authenticate(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	remember(ss.Context(), c)
	return handler(srv, &contextStream{ServerStream: ss, ctx: context.WithValue(ss.Context(), callerKey{}, c)})
}

// contextStream replaces a stream's context.
type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *contextStream) Context() context.Context { return s.ctx }
