package command

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/medprov/medprov/internal/devca"
	"github.com/medprov/medprov/internal/rpccode"
)

func TestGatewayErrorsMapToTheDocumentedExitCodes(t *testing.T) {
	tests := map[string]struct {
		code     codes.Code
		wantExit int
	}{
		"PERMISSION_DENIED is refused":      {code: codes.PermissionDenied, wantExit: ExitRefused},
		"UNAUTHENTICATED is refused":        {code: codes.Unauthenticated, wantExit: ExitRefused},
		"NOT_FOUND is not found":            {code: codes.NotFound, wantExit: ExitNotFound},
		"UNAVAILABLE is unreachable":        {code: codes.Unavailable, wantExit: ExitUnavailable},
		"DEADLINE_EXCEEDED is unreachable":  {code: codes.DeadlineExceeded, wantExit: ExitUnavailable},
		"INVALID_ARGUMENT is an error":      {code: codes.InvalidArgument, wantExit: ExitError},
		"FAILED_PRECONDITION is an error":   {code: codes.FailedPrecondition, wantExit: ExitError},
		"ALREADY_EXISTS is an error":        {code: codes.AlreadyExists, wantExit: ExitError},
		"RESOURCE_EXHAUSTED is an error":    {code: codes.ResourceExhausted, wantExit: ExitError},
		"DATA_LOSS is an error":             {code: codes.DataLoss, wantExit: ExitError},
		"INTERNAL is an error":              {code: codes.Internal, wantExit: ExitError},
		"UNIMPLEMENTED is an error as well": {code: codes.Unimplemented, wantExit: ExitError},
	}
	e := startFake(t)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e.fake.set(func(f *fakeGateway) { f.failWith["Status"] = status.Error(tc.code, "synthetic failure") })
			r := e.run(t, "gateway", "status")
			if r.code != tc.wantExit {
				t.Fatalf("exit %d (%v), want %d", r.code, r.err, tc.wantExit)
			}
			want := "medprov gateway status: " + rpccode.Name(tc.code) + ": synthetic failure"
			if r.line != want {
				t.Errorf("error line = %q, want %q", r.line, want)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
		})
	}
}

func TestErrorLineNamesTheCommandThatFailed(t *testing.T) {
	root := NewRoot(DefaultDeps())
	cmd, _, err := root.Find([]string{"record", "get"})
	if err != nil {
		t.Fatal(err)
	}
	got := ErrorLine(cmd, &RPCError{Code: codes.NotFound, Message: "record r-1"})
	if got != "medprov record get: NOT_FOUND: record r-1" {
		t.Errorf("ErrorLine = %q", got)
	}
}

func TestADeniedAccessRequestExitsWithTheRefusedCode(t *testing.T) {
	e := startFake(t)
	e.fake.set(func(f *fakeGateway) { f.decision = 2 }) // DENIED
	r := e.run(t, "access", "request", "r-remote-0001", "--purpose", "TREAT", "-o", "json")
	if r.code != ExitRefused || !errors.Is(r.err, ErrAccessDenied) {
		t.Fatalf("exit %d (%v), want %d", r.code, r.err, ExitRefused)
	}
	out := decode[accessDecision](t, r.stdout)
	if out.Event.Decision != "DENIED" || out.Event.DenialReason != "NO_CONSENT" || out.BlockNumber != 42 {
		t.Errorf("output = %+v, want the denial printed with its reason", out)
	}
	if !strings.Contains(r.err.Error(), "NO_CONSENT") {
		t.Errorf("error %q does not give the reason", r.err)
	}
}

func TestTheTimeoutBoundsUnaryCalls(t *testing.T) {
	e := startFake(t)
	e.fake.set(func(f *fakeGateway) { f.delay = 5 * time.Second })
	start := time.Now()
	r := e.run(t, "gateway", "status", "--timeout", "200ms")
	if r.code != ExitUnavailable || !strings.Contains(r.err.Error(), "DEADLINE_EXCEEDED") {
		t.Fatalf("exit %d (%v), want %d with DEADLINE_EXCEEDED", r.code, r.err, ExitUnavailable)
	}
	if time.Since(start) > 4*time.Second {
		t.Errorf("the call was not cut off by --timeout")
	}
}

func TestCancellingTheContextStopsATransfer(t *testing.T) {
	e := startFake(t)
	e.fake.seed("r-0001", 1, []byte("synthetic"))
	e.fake.set(func(f *fakeGateway) { f.delay = 5 * time.Second })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(200*time.Millisecond, cancel)
	out := filepath.Join(t.TempDir(), "out.txt")
	r := runWith(t, runEnv{env: e.env(), ctx: ctx}, "record", "get", "r-0001", "--out", out)
	if r.code != ExitError || !strings.Contains(r.err.Error(), "CANCELED") {
		t.Fatalf("exit %d (%v), want %d for a cancelled call", r.code, r.err, ExitError)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a cancelled download left a file")
	}
}

func TestAnUnreachableGatewayExitsWithTheUnavailableCode(t *testing.T) {
	e := startFake(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := lis.Addr().String()
	lis.Close()
	env := e.env()
	env[envGateway] = closed
	r := runWith(t, runEnv{env: env}, "gateway", "status", "--timeout", "5s")
	if r.code != ExitUnavailable || !strings.Contains(r.err.Error(), "UNAVAILABLE") {
		t.Errorf("exit %d (%v), want %d with UNAVAILABLE", r.code, r.err, ExitUnavailable)
	}
}

func TestTheClientRefusesAGatewayWhoseCertificateDoesNotChainToTheCA(t *testing.T) {
	e := startFake(t)
	other, err := devca.NewOrg("OtherMSP", "other.medprov.test")
	if err != nil {
		t.Fatal(err)
	}
	otherCA := filepath.Join(t.TempDir(), "other-tlsca.pem")
	writeFile(t, otherCA, other.TLSCACertPEM())
	r := e.run(t, "gateway", "status", "--tls-ca", otherCA)
	if r.code != ExitUnavailable || !strings.Contains(r.err.Error(), "certificate") {
		t.Fatalf("exit %d (%v), want %d naming the certificate", r.code, r.err, ExitUnavailable)
	}
	if n := e.fake.callCount(); n != 0 {
		t.Errorf("the gateway served %d calls over an unverified connection", n)
	}
}

func TestTheGatewayRefusesAClientOfAnotherCA(t *testing.T) {
	e := startFake(t)
	other, err := devca.NewOrg("OtherMSP", "other.medprov.test")
	if err != nil {
		t.Fatal(err)
	}
	mallory, err := other.Issue(devca.IdentityRequest{Name: "mallory", NodeOU: devca.NodeOUClient, Role: devca.RoleClinician, Clearance: devca.ClearanceN})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "mallory")
	if err := other.WriteIdentity(dir, mallory); err != nil {
		t.Fatal(err)
	}
	r := e.run(t, "gateway", "status", "--identity", dir)
	if r.code == ExitOK {
		t.Fatal("a client certificate of another CA was accepted")
	}
	if n := e.fake.callCount(); n != 0 {
		t.Errorf("the gateway served %d calls to an unknown client", n)
	}
}

func TestConnectionFlagsWinOverTheEnvironment(t *testing.T) {
	e := startFake(t)
	env := e.env()
	env[envGateway] = "127.0.0.1:1"
	env[envIdentity] = "/nonexistent"
	r := runWith(t, runEnv{env: env}, "gateway", "status", "--gateway", e.addr, "--identity", e.identity, "--tls-ca", e.tlsCA)
	if r.code != ExitOK {
		t.Fatalf("exit %d (%v); the flags should win over MEDPROV_*", r.code, r.err)
	}
	r = runWith(t, runEnv{}, "gateway", "status", "--gateway", e.addr, "--identity", e.identity, "--tls-ca", e.tlsCA)
	if r.code != ExitOK {
		t.Fatalf("with flags only: exit %d (%v)", r.code, r.err)
	}
}

func TestMissingOrBadConnectionSettingsAreUsageErrorsNamingFlagAndVariable(t *testing.T) {
	e := startFake(t)
	tests := map[string]struct {
		drop     string
		set      map[string]string
		wantCode int
		want     []string
	}{
		"no gateway":                     {drop: envGateway, wantCode: ExitUsage, want: []string{"--gateway", envGateway}},
		"no identity":                    {drop: envIdentity, wantCode: ExitUsage, want: []string{"--identity", envIdentity}},
		"no TLS CA":                      {drop: envTLSCA, wantCode: ExitUsage, want: []string{"--tls-ca", envTLSCA}},
		"a gateway without port":         {set: map[string]string{envGateway: "localhost"}, wantCode: ExitUsage, want: []string{"--gateway", "host:port"}},
		"an identity folder without msp": {set: map[string]string{envIdentity: t.TempDir()}, wantCode: ExitError, want: []string{"--identity", "msp"}},
		"a TLS CA that is not PEM":       {set: map[string]string{envTLSCA: e.identity + "/msp/keystore/priv_sk"}, wantCode: ExitError, want: []string{"--tls-ca"}},
		"a missing TLS CA file":          {set: map[string]string{envTLSCA: "/nonexistent/ca.pem"}, wantCode: ExitError, want: []string{"--tls-ca", "no such file"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			env := e.env()
			delete(env, tc.drop)
			for k, v := range tc.set {
				env[k] = v
			}
			r := runWith(t, runEnv{env: env}, "gateway", "status")
			if r.code != tc.wantCode {
				t.Fatalf("exit %d (%v), want %d", r.code, r.err, tc.wantCode)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.err.Error(), w) {
					t.Errorf("error %q does not name %s", r.err, w)
				}
			}
			if e.fake.callCount() != 0 {
				t.Error("a call reached the gateway")
			}
		})
	}
	if r := runWith(t, runEnv{env: e.env()}, "gateway", "status", "--timeout", "-1s"); r.code != ExitUsage || !strings.Contains(r.err.Error(), "--timeout") {
		t.Errorf("a negative timeout: exit %d (%v), want a usage error naming --timeout", r.code, r.err)
	}
}
