// Package redistest gives tests a real redis-server. `make test` starts one on a
// free port and passes its address in RESETBOT_TEST_REDIS; without it, the
// first test that asks starts a server of its own (redis-server must be on
// PATH; scripts/with-redis.sh installs it).
//
// Tests stop Redis on purpose to check that the bot keeps serving; go-redis
// would log every failed dial of those moments to stderr. Importing this
// package silences go-redis's own log: what a test needs to know comes back
// as errors.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func init() { redis.SetLogger(quiet{}) }

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// EnvAddr names the variable holding a running test server's host:port.
const EnvAddr = "RESETBOT_TEST_REDIS"

var (
	once    sync.Once
	addr    string
	onceErr error
	seq     atomic.Int64
)

// Addr returns the address of a real redis-server, starting one if needed.
// Tests that cannot get one fail with a line that says how to install it.
func Addr(tb testing.TB) string {
	tb.Helper()
	once.Do(func() {
		if a := os.Getenv(EnvAddr); a != "" {
			addr = a
			return
		}
		var s *Server
		s, onceErr = Start()
		if onceErr == nil {
			addr = s.Addr
		}
	})
	if onceErr != nil {
		tb.Fatalf("no redis-server for tests: %v (install it: apt-get install redis-server, or run `make test`)", onceErr)
	}
	return addr
}

// Client returns a client of the shared test server and a key prefix that no
// other test uses, so tests can run side by side on one server.
func Client(tb testing.TB) (*redis.Client, string) {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: Addr(tb)})
	tb.Cleanup(func() { _ = c.Close() })
	prefix := fmt.Sprintf("test:%d:%d:%d:", os.Getpid(), time.Now().UnixNano(), seq.Add(1))
	return c, prefix
}

// Server is a redis-server process of a test's own, for tests that stop and
// restart it.
type Server struct {
	Addr string
	port int
	cmd  *exec.Cmd
}

// Start runs redis-server on a free port, keeping nothing on disk.
func Start() (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: "127.0.0.1:" + strconv.Itoa(port), port: port}
	return s, s.Restart()
}

// Restart starts the server again on the same port after Stop.
func (s *Server) Restart() error {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return fmt.Errorf("redis-server not found on PATH")
	}
	s.cmd = exec.Command(path, "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning")
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			_ = s.Stop()
			return fmt.Errorf("redis-server on %s did not answer: %w", s.Addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server and waits for it to exit.
func (s *Server) Stop() error {
	if s.cmd == nil || s.cmd.Process == nil {
		return nil
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
