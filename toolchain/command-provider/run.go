package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// result is what one run of a command produced.
type result struct {
	stdout, stderr string
}

// lineLogger receives each line a command writes, for the engine's log.
type lineLogger func(stream, line string)

// run runs command with the interpreter, directory, environment and stdin of s. prev, when not nil, is the
// output of the previous run, passed as PULUMI_COMMAND_STDOUT and PULUMI_COMMAND_STDERR when s asks for it.
// A command that exits with a non-zero code fails with its exit code and the tail of its stderr; quiet
// leaves the output out of that message (when it may hold secrets).
func run(ctx context.Context, s *spec, command string, prev *result, log lineLogger, quiet bool) (*result, error) {
	args := append(append([]string{}, s.interpreter[1:]...), command)
	cmd := exec.CommandContext(ctx, s.interpreter[0], args...)
	cmd.Dir = s.dir
	cmd.Env = os.Environ()
	if prev != nil && s.addPrevious {
		cmd.Env = append(cmd.Env, "PULUMI_COMMAND_STDOUT="+prev.stdout, "PULUMI_COMMAND_STDERR="+prev.stderr)
	}
	cmd.Env = append(cmd.Env, s.env...)
	if s.stdin != nil {
		cmd.Stdin = strings.NewReader(*s.stdin)
	}
	// A child that keeps the pipes open after the command exits must not hang the provider.
	cmd.WaitDelay = 10 * time.Second

	var stdout, stderr bytes.Buffer
	var mu sync.Mutex
	outLog := &lineWriter{buf: &stdout, mu: &mu}
	errLog := &lineWriter{buf: &stderr, mu: &mu}
	if log != nil && (s.logging == "stdout" || s.logging == "stdoutAndStderr") {
		outLog.log = func(l string) { log("stdout", l) }
	}
	if log != nil && (s.logging == "stderr" || s.logging == "stdoutAndStderr") {
		errLog.log = func(l string) { log("stderr", l) }
	}
	cmd.Stdout, cmd.Stderr = outLog, errLog

	err := cmd.Run()
	outLog.flush()
	errLog.flush()
	res := &result{
		stdout: strings.TrimSuffix(stdout.String(), "\n"),
		stderr: strings.TrimSuffix(stderr.String(), "\n"),
	}
	if err == nil {
		return res, nil
	}
	var exitErr *exec.ExitError
	what := err.Error()
	if errors.As(err, &exitErr) && exitErr.ExitCode() >= 0 {
		what = fmt.Sprintf("exit code %d", exitErr.ExitCode())
	}
	if ctx.Err() != nil {
		what += " (" + ctx.Err().Error() + ")"
	}
	msg := fmt.Sprintf("command failed with %s: %s %q", what, strings.Join(s.interpreter, " "), shorten(command, 200))
	switch {
	case quiet:
		msg += "\n(output withheld because an input is secret)"
	case res.stderr != "":
		msg += "\nstderr (tail):\n" + tail(res.stderr, 20, 4000)
	case res.stdout != "":
		msg += "\nstdout (tail):\n" + tail(res.stdout, 20, 4000)
	}
	return res, errors.New(msg)
}

// lineWriter keeps everything written to it and hands complete lines to log.
type lineWriter struct {
	buf     *bytes.Buffer
	mu      *sync.Mutex
	log     func(string)
	pending []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.log == nil {
		return len(p), nil
	}
	w.pending = append(w.pending, p...)
	for {
		i := bytes.IndexByte(w.pending, '\n')
		if i < 0 {
			break
		}
		w.log(strings.TrimSuffix(string(w.pending[:i]), "\r"))
		w.pending = w.pending[i+1:]
	}
	return len(p), nil
}

func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.log != nil && len(w.pending) > 0 {
		w.log(string(w.pending))
	}
	w.pending = nil
}

func tail(s string, lines, chars int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	s = strings.Join(parts, "\n")
	if len(s) > chars {
		s = "…" + s[len(s)-chars:]
	}
	return s
}

func shorten(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
