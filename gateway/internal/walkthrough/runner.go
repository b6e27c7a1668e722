package walkthrough

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// User is a wallet user of one organisation of the consortium. The zero
// User runs a command offline, with no connection settings at all.
type User struct {
	MSP, Name string
}

func (u User) String() string {
	if u == (User{}) {
		return "offline"
	}
	return u.MSP + "/" + u.Name
}

// Runner runs medprov commands as child processes.
type Runner struct {
	// Medprov is the path of the medprov binary.
	Medprov string
	// Dir is the working folder of every command.
	Dir string
	// Env holds each user's connection settings (MEDPROV_GATEWAY,
	// MEDPROV_TLS_CA, MEDPROV_IDENTITY as KEY=VALUE), from dev up's .env
	// files.
	Env map[User][]string
}

// Result is the outcome of one command.
type Result struct {
	Args           []string
	As             User
	Code           int
	Stdout, Stderr []byte
}

// CommandError is a command that did not exit as expected, or whose
// output was not what the step expected.
type CommandError struct {
	Args   []string
	As     User
	Code   int
	Stderr string
	// Why says what was wrong.
	Why string
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("medprov %s (as %s): %s", strings.Join(e.Args, " "), e.As, e.Why)
}

// Run runs `medprov args...` as user and returns its exit code and
// output. It returns an error only when the command could not run: an
// unknown user, a missing binary, or ctx done.
func (r *Runner) Run(ctx context.Context, as User, args ...string) (Result, error) {
	res := Result{Args: args, As: as, Code: -1}
	env := environ()
	if as != (User{}) {
		userEnv, ok := r.Env[as]
		if !ok {
			return res, fmt.Errorf("no connection settings for %s", as)
		}
		env = append(env, userEnv...)
	}
	cmd := exec.CommandContext(ctx, r.Medprov, args...)
	cmd.Dir = r.Dir
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res.Stdout, res.Stderr = stdout.Bytes(), stderr.Bytes()
	var exit *exec.ExitError
	switch {
	case err == nil:
		res.Code = 0
	case errors.As(err, &exit) && exit.ExitCode() >= 0 && ctx.Err() == nil:
		res.Code = exit.ExitCode()
	default:
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return res, fmt.Errorf("medprov %s (as %s): %w", strings.Join(args, " "), as, err)
	}
	return res, nil
}

// Expect runs a command and checks its exit code; when out is not nil,
// it decodes the command's JSON stdout into out.
func (r *Runner) Expect(ctx context.Context, as User, want int, out any, args ...string) (Result, error) {
	res, err := r.Run(ctx, as, args...)
	if err != nil {
		return res, err
	}
	if res.Code != want {
		return res, res.errorf("exit %d, want %d", res.Code, want)
	}
	if out != nil {
		if err := json.Unmarshal(res.Stdout, out); err != nil {
			return res, res.errorf("its output is not the JSON expected: %v", err)
		}
	}
	return res, nil
}

// errorf returns a CommandError about this result.
func (res Result) errorf(format string, args ...any) *CommandError {
	return &CommandError{Args: res.Args, As: res.As, Code: res.Code, Stderr: string(res.Stderr), Why: fmt.Sprintf(format, args...)}
}
