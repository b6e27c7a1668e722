package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"regexp"
	"runtime/debug"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// RequestIDHeader is the metadata key of the request ID. The gateway makes
// a fresh one for every call and sends it back in the response header; a
// well-formed ID the caller sent under the same key is logged next to it
// as client_request_id, so that callers can correlate without being able
// to reuse another call's ID.
const RequestIDHeader = "x-request-id"

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

type requestIDKey struct{}
type loggerKey struct{}

// requestID returns the call's request ID.
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// logFrom returns the call's logger, which carries its request ID.
func logFrom(ctx context.Context, fallback *slog.Logger) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return fallback
}

func newRequestID() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "unavailable"
	}
	return hex.EncodeToString(b[:])
}

// observer is the outermost interceptor: it assigns the request ID, maps
// the handler's error to a status (mapStatus, the one place), recovers
// from a panic so that one bad call cannot stop the gateway, and writes one
// access-log line and the call's metrics. Log lines hold the method, the
// caller's certificate fingerprint, the status code and the duration;
// never request or response content.
type observer struct {
	logger  *slog.Logger
	metrics *Metrics
	now     func() time.Time
}

func (o observer) begin(ctx context.Context) (context.Context, string) {
	id := newRequestID()
	logger := o.logger.With(slog.String("request_id", id))
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(RequestIDHeader); len(v) == 1 && requestIDPattern.MatchString(v[0]) {
			logger = logger.With(slog.String("client_request_id", v[0]))
		}
	}
	ctx = context.WithValue(ctx, requestIDKey{}, id)
	ctx = context.WithValue(ctx, loggerKey{}, logger)
	ctx = context.WithValue(ctx, callerSlotKey{}, &callerSlot{})
	return ctx, id
}

func (o observer) end(ctx context.Context, method string, start time.Time, err error) error {
	err = mapStatus(ctx, o.logger, err)
	code := status.Code(err)
	d := o.now().Sub(start)
	o.metrics.observeRPC(method, code, d)
	attrs := []any{slog.String("method", method), slog.String("code", code.String()), slog.Duration("duration", d)}
	if s, ok := ctx.Value(callerSlotKey{}).(*callerSlot); ok && s.c != nil {
		attrs = append(attrs, slog.Any("caller", *s.c))
	}
	level := slog.LevelInfo
	if code == codes.Internal || code == codes.Unknown || code == codes.DataLoss {
		level = slog.LevelError
	}
	logFrom(ctx, o.logger).Log(ctx, level, "rpc", attrs...)
	return err
}

func (o observer) recovered(ctx context.Context, method string, p any) error {
	logFrom(ctx, o.logger).Error("rpc panicked", slog.String("method", method),
		slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
	return status.Error(codes.Internal, "internal error; request ID "+requestID(ctx))
}

func (o observer) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	start := o.now()
	ctx, id := o.begin(ctx)
	_ = grpc.SetHeader(ctx, metadata.Pairs(RequestIDHeader, id))
	o.metrics.inFlight.Inc()
	defer func() {
		o.metrics.inFlight.Dec()
		if p := recover(); p != nil {
			resp, err = nil, o.recovered(ctx, info.FullMethod, p)
		}
		err = o.end(ctx, info.FullMethod, start, err)
	}()
	return handler(ctx, req)
}

func (o observer) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	start := o.now()
	ctx, id := o.begin(ss.Context())
	_ = ss.SetHeader(metadata.Pairs(RequestIDHeader, id))
	o.metrics.inFlight.Inc()
	defer func() {
		o.metrics.inFlight.Dec()
		if p := recover(); p != nil {
			err = o.recovered(ctx, info.FullMethod, p)
		}
		err = o.end(ctx, info.FullMethod, start, err)
	}()
	return handler(srv, &contextStream{ServerStream: ss, ctx: ctx})
}
