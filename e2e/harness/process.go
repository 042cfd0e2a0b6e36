package harness

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// BuildGateway compiles the real gateway binary, as an operator runs it, into t's temp dir.
func BuildGateway(t testing.TB) string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "airflow-prefect-gateway")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/airflow-prefect-gateway")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// FreeLoopbackAddr is a loopback address nothing listens on right now.
func FreeLoopbackAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Process is a gateway binary running in its own process.
type Process struct {
	Addr   string      // host:port it serves on
	Stderr *SyncBuffer // its log
	cmd    *exec.Cmd
	exited chan struct{} // closed once the process is gone; exitErr is then its status
	exitEr error
}

// StartProcess runs bin on a free loopback address with args and the extra environment env,
// waits until /api/v1/version answers, and kills it when t ends if it is still running.
func StartProcess(t testing.TB, bin string, env []string, args ...string) *Process {
	t.Helper()
	p := &Process{Addr: FreeLoopbackAddr(t), Stderr: &SyncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"--listen", p.Addr}, args...)...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stderr = p.Stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exitEr = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, err := http.Get("http://" + p.Addr + "/api/v1/version")
		if err == nil {
			res.Body.Close()
			return p
		}
		select {
		case <-p.exited:
			t.Fatalf("the gateway exited during start: %v\nlog:\n%s", p.exitEr, p.Stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway did not serve on %s\nlog:\n%s", p.Addr, p.Stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Signal sends sig to the process.
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Wait waits at most d for the process to exit and returns its exit status (nil for 0).
func (p *Process) Wait(d time.Duration) error {
	select {
	case <-p.exited:
		return p.exitEr
	case <-time.After(d):
		return fmt.Errorf("still running after %s", d)
	}
}

// WaitForServing waits until a gateway at addr answers /api/v1/version.
func WaitForServing(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get("http://" + addr + "/api/v1/version"); err == nil {
			res.Body.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the gateway did not serve on %s", addr)
}
