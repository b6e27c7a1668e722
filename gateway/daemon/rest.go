package daemon

import (
	"context"
	"net"
	"net/http"
	"net/textproto"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	"github.com/medprov/medprov/api"
	gatewayv1 "github.com/medprov/medprov/api/gen/medprov/gateway/v1"
	"github.com/medprov/medprov/gateway/internal/exchange"
	"github.com/medprov/medprov/gateway/internal/server"
)

// innerListener is the in-memory listener between the REST front end and
// the gRPC server behind it. Nothing outside the process can reach it,
// which is why that server trusts the certificate fingerprint the front
// end forwards.
type innerListener struct{ *bufconn.Listener }

func newInnerListener() *innerListener { return &innerListener{bufconn.Listen(1 << 20)} }

type fingerprintKey struct{}

// newREST returns the REST/JSON front end: grpc-gateway's mux proxying to
// the in-memory gRPC server, with the caller's verified client certificate
// forwarded as server.RESTFingerprintHeader (a header of that name sent by
// the client is dropped), the caller's X-Request-Id forwarded as
// server.RequestIDHeader, the gateway's request ID sent back as
// X-Request-Id, and the OpenAPI document at /openapi.json.
// ExchangeService has no REST route. The returned function closes the
// in-memory connection.
func newREST(ctx context.Context, inner *innerListener, enrolled func(fingerprint string) bool) (http.Handler, func() error, error) {
	conn, err := grpc.NewClient("passthrough:///medprov-inner",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return inner.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, nil, err
	}
	mux := runtime.NewServeMux(
		runtime.WithIncomingHeaderMatcher(func(key string) (string, bool) {
			k := strings.ToLower(textproto.CanonicalMIMEHeaderKey(key))
			if k == server.RESTFingerprintHeader || k == "grpc-metadata-"+server.RESTFingerprintHeader {
				return "", false
			}
			if k == server.RequestIDHeader {
				return server.RequestIDHeader, true
			}
			if k == "grpc-metadata-"+server.RequestIDHeader {
				// A caller's request ID comes as X-Request-Id only.
				return "", false
			}
			return runtime.DefaultHeaderMatcher(key)
		}),
		// The gateway's request ID goes back as X-Request-Id, the header
		// a caller sends its own with; the rest of the header metadata as
		// grpc-gateway's Grpc-Metadata-* headers.
		runtime.WithOutgoingHeaderMatcher(func(key string) (string, bool) {
			if strings.EqualFold(key, server.RequestIDHeader) {
				return textproto.CanonicalMIMEHeaderKey(server.RequestIDHeader), true
			}
			return runtime.MetadataHeaderPrefix + key, true
		}),
		runtime.WithMetadata(func(ctx context.Context, _ *http.Request) metadata.MD {
			fp, _ := ctx.Value(fingerprintKey{}).(string)
			return metadata.Pairs(server.RESTFingerprintHeader, fp)
		}),
	)
	for _, register := range []func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error{
		gatewayv1.RegisterRecordServiceHandler,
		gatewayv1.RegisterVerificationServiceHandler,
		gatewayv1.RegisterConsentServiceHandler,
		gatewayv1.RegisterAccessServiceHandler,
		gatewayv1.RegisterAuditServiceHandler,
		gatewayv1.RegisterPatientServiceHandler,
		gatewayv1.RegisterAdminServiceHandler,
	} {
		if err := register(ctx, mux, conn); err != nil {
			conn.Close()
			return nil, nil, err
		}
	}
	top := http.NewServeMux()
	top.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(api.OpenAPI)
	})
	top.Handle("/", mux)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
			http.Error(w, "a verified client certificate is required", http.StatusUnauthorized)
			return
		}
		fp := exchange.Fingerprint(r.TLS.VerifiedChains[0][0].Raw)
		if !enrolled(fp) && r.URL.Path != "/openapi.json" {
			// No REST route serves other organisations' certificates
			// (ExchangeService has none), so they are refused before
			// anything reads the body.
			http.Error(w, "the client certificate is not enrolled at this gateway", http.StatusForbidden)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody(r))
		top.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), fingerprintKey{}, fp)))
	})
	return h, conn.Close, nil
}

// Body limits of the REST front end. Uploads carry a record as base64 in
// JSON (4 GiB of content is about 5.4 GiB of text); every other request is
// a small JSON object.
const (
	maxUploadBody = 6 << 30
	maxOtherBody  = 1 << 20
)

// maxBody returns the body limit of r's route.
func maxBody(r *http.Request) int64 {
	if r.Method == http.MethodPost {
		switch r.URL.Path {
		case "/v1/records", "/v1/records:amend", "/v1/documents:verify":
			return maxUploadBody
		}
	}
	return maxOtherBody
}

// Accept makes innerListener a net.Listener for grpc.Server.Serve.
func (l *innerListener) Accept() (net.Conn, error) { return l.Listener.Accept() }
