package proc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary act as the child process (the helper-process
// pattern from Go's os/exec tests): PROC_HELPER selects a behaviour.
func TestMain(m *testing.M) {
	switch os.Getenv("PROC_HELPER") {
	case "":
		os.Exit(m.Run())
	case "exit3":
		fmt.Fprintln(os.Stderr, "first line\nsomething went wrong")
		os.Exit(3)
	case "echo":
		fmt.Print(strings.Join(os.Args[1:], " "))
		os.Exit(0)
	case "cat":
		buf := new(bytes.Buffer)
		buf.ReadFrom(os.Stdin)
		os.Stdout.Write(buf.Bytes())
		os.Exit(0)
	case "hang":
		time.Sleep(time.Hour)
		os.Exit(0)
	case "ignoreterm":
		signal.Ignore(syscall.SIGTERM)
		time.Sleep(time.Hour)
		os.Exit(0)
	case "spawn":
		// A grandchild in the same process group that ignores SIGTERM and
		// holds our stdout; this process dies of SIGTERM.
		c := exec.Command(os.Args[0])
		c.Env = append(os.Environ(), "PROC_HELPER=ignoreterm")
		c.Stdout = os.Stdout
		if err := c.Start(); err != nil {
			os.Exit(98)
		}
		fmt.Fprintf(os.Stderr, "grandchild %d\n", c.Process.Pid)
		time.Sleep(time.Hour)
		os.Exit(0)
	}
	os.Exit(99)
}

func helper(kind string, args ...string) Cmd {
	return Cmd{Argv: append([]string{os.Args[0]}, args...), Env: []string{"PROC_HELPER=" + kind}}
}

func TestExecSuccess(t *testing.T) {
	res, err := Exec{}.Run(context.Background(), helper("echo", "a b", "c"))
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Stdout) != "a b c" || res.ExitCode != 0 {
		t.Fatalf("got %q exit %d", res.Stdout, res.ExitCode)
	}
}

func TestExecStdinStdout(t *testing.T) {
	c := helper("cat")
	c.Stdin = strings.NewReader("streamed")
	var out bytes.Buffer
	c.Stdout = &out
	if _, err := (Exec{}).Run(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if out.String() != "streamed" {
		t.Fatalf("stdout %q", out.String())
	}
}

func TestExecFailureCarriesCommandAndStderr(t *testing.T) {
	_, err := Exec{}.Run(context.Background(), helper("exit3", "--flag"))
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("err %T %v", err, err)
	}
	if pe.ExitCode != 3 || !strings.Contains(err.Error(), "--flag") || !strings.Contains(err.Error(), "something went wrong") {
		t.Fatalf("error %q (exit %d)", err, pe.ExitCode)
	}
}

func TestExecTimeoutKillsGroup(t *testing.T) {
	c := helper("hang")
	c.Timeout = 200 * time.Millisecond
	start := time.Now()
	_, err := Exec{KillGrace: 200 * time.Millisecond}.Run(context.Background(), c)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %s to kill", d)
	}
	if !strings.Contains(err.Error(), "timeout 200ms") {
		t.Fatalf("message %q", err)
	}
}

func TestExecMissingProgram(t *testing.T) {
	_, err := Exec{}.Run(context.Background(), Cmd{Argv: []string{"no-such-program-xyz"}})
	if err == nil || !strings.Contains(err.Error(), "no-such-program-xyz") {
		t.Fatalf("err = %v", err)
	}
}

func TestQuote(t *testing.T) {
	got := Quote([]string{"docker", "compose", "exec", "-T", "db", "psql", "-c", "select 'x'", ""})
	want := `docker compose exec -T db psql -c 'select '\''x'\''' ''`
	if got != want {
		t.Fatalf("Quote = %s\nwant    %s", got, want)
	}
}

func TestFakeRecords(t *testing.T) {
	f := &Fake{Respond: func(c Cmd) (Result, error) {
		if c.Argv[0] == "bad" {
			return Fail(c, 2, "nope")
		}
		return Result{Stdout: []byte("ok")}, nil
	}}
	var out bytes.Buffer
	f.Run(context.Background(), Cmd{Argv: []string{"good", "x"}, Stdout: &out})
	_, err := f.Run(context.Background(), Cmd{Argv: []string{"bad"}})
	if err == nil || out.String() != "ok" {
		t.Fatalf("err %v out %q", err, out.String())
	}
	if got := strings.Join(f.Argvs(), ";"); got != "good x;bad" {
		t.Fatalf("calls %q", got)
	}
}
