package bench

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"

	"google.golang.org/grpc"

	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
)

// StreamsPerConnection is how many calls a gateway workload puts on one
// gRPC connection: half the 1024 concurrent streams a medprov gateway
// allows per connection, so that a connection never waits for a stream.
const StreamsPerConnection = 512

// Connections returns how many gRPC connections concurrency calls in
// flight need: ceil(concurrency / StreamsPerConnection), at least 1.
func Connections(concurrency int) int {
	return max(1, (concurrency+StreamsPerConnection-1)/StreamsPerConnection)
}

// Gateway is the clients of one gRPC connection to a medprov gateway, as
// one user.
type Gateway struct {
	Records  gatewayv1.RecordServiceClient
	Consents gatewayv1.ConsentServiceClient
	Access   gatewayv1.AccessServiceClient
}

// NewGateway returns the clients of conn.
func NewGateway(conn grpc.ClientConnInterface) Gateway {
	return Gateway{
		Records:  gatewayv1.NewRecordServiceClient(conn),
		Consents: gatewayv1.NewConsentServiceClient(conn),
		Access:   gatewayv1.NewAccessServiceClient(conn),
	}
}

// ErrSetup is wrapped by the errors of a workload's setup.
var ErrSetup = errors.New("bench setup")

// pick returns the gateway worker uses: workers are spread over the
// connections in blocks, so that each connection carries at most
// StreamsPerConnection of them when there are Connections(n) gateways.
func pick(gws []Gateway, worker int) Gateway {
	return gws[(worker/StreamsPerConnection)%len(gws)]
}

// syntheticPatient is a patient made up for a run: a generated Ed25519 key
// and the pseudonym the ledger derives from it.
type syntheticPatient struct {
	key       ed25519.PrivateKey
	pseudonym string
}

// registerPatient generates a patient key from random and registers it
// through gw. Errors wrap ErrSetup.
func registerPatient(ctx context.Context, gw Gateway, random io.Reader) (syntheticPatient, error) {
	key, err := newPatientKey(random)
	if err != nil {
		return syntheticPatient{}, err
	}
	return registerKey(ctx, gw, key)
}

// registerKey registers the patient whose key is key through gw. Errors
// wrap ErrSetup.
func registerKey(ctx context.Context, gw Gateway, key ed25519.PrivateKey) (syntheticPatient, error) {
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return syntheticPatient{}, fmt.Errorf("%w: encode a patient key: %w", ErrSetup, err)
	}
	resp, err := gw.Consents.RegisterPatient(ctx, &gatewayv1.RegisterPatientRequest{PublicKey: der})
	if err != nil {
		return syntheticPatient{}, fmt.Errorf("%w: RegisterPatient: %w", ErrSetup, err)
	}
	return syntheticPatient{key: key, pseudonym: resp.GetPatient().GetPseudonym()}, nil
}

// runID returns 6 random bytes in hex, which make the record and consent
// IDs of a run distinct from every other run's on the same ledger.
func runID(random io.Reader) (string, error) {
	b := make([]byte, 6)
	if _, err := io.ReadFull(random, b); err != nil {
		return "", fmt.Errorf("%w: make a run ID: %w", ErrSetup, err)
	}
	return hex.EncodeToString(b), nil
}

// seed reads a 32-byte seed for the content generator.
func seed(random io.Reader) ([32]byte, error) {
	var s [32]byte
	if _, err := io.ReadFull(random, s[:]); err != nil {
		return s, fmt.Errorf("%w: seed the content generator: %w", ErrSetup, err)
	}
	return s, nil
}

// content fills b with random bytes from a generator keyed by the run's
// seed and n, with n in the first 8 bytes, so that no two calls of a run
// send the same content.
func content(b []byte, s [32]byte, n uint64) {
	k := s
	for i := range 8 {
		k[i] ^= byte(n >> (8 * i))
	}
	_, _ = rand.NewChaCha8(k).Read(b)
	for i := 0; i < 8 && i < len(b); i++ {
		b[i] = byte(n >> (56 - 8*i))
	}
}
