package redistest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Replicated is a master and one replica, without sentinels, for tests of
// what the replica confirms: Stall stops the replica so that it confirms
// nothing until it is resumed.
type Replicated struct {
	Master, Replica string // host:port
	replica         *exec.Cmd
}

// StartReplicated starts a master and its replica on free ports, the
// replica in sync, stopped when the test ends.
func StartReplicated(tb testing.TB) *Replicated {
	tb.Helper()
	dir, err := os.MkdirTemp("", "redis-replicated-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = os.RemoveAll(dir) })
	r := &Replicated{}
	for i := range 2 {
		port, err := freePort()
		if err != nil {
			tb.Fatal(err)
		}
		p := strconv.Itoa(port)
		args := []string{"--port", p, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--daemonize", "no", "--loglevel", "warning", "--dbfilename", "dump-" + p + ".rdb",
			"--repl-diskless-sync-delay", "0"}
		if i == 1 {
			_, mport, _ := strings.Cut(r.Master, ":")
			args = append(args, "--replicaof", "127.0.0.1", mport)
		}
		cmd, err := proc(dir, args...)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		addr := "127.0.0.1:" + p
		if err := ping(addr, nil); err != nil {
			tb.Fatal(err)
		}
		if i == 0 {
			r.Master = addr
		} else {
			r.Replica, r.replica = addr, cmd
		}
	}
	c := redis.NewClient(&redis.Options{Addr: r.Replica})
	defer c.Close()
	if err := until(20*time.Second, func(ctx context.Context) error {
		info, err := c.Info(ctx, "replication").Result()
		if err != nil {
			return err
		}
		if !strings.Contains(info, "master_link_status:up") {
			return errors.New("the replica is not in sync with " + r.Master)
		}
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
	return r
}

// Stall stops the replica's process (SIGSTOP): its connection to the master
// stays open, and it confirms nothing, as a replica that lags far behind.
// The returned function resumes it; it also runs when the test ends.
func (r *Replicated) Stall(tb testing.TB) (resume func()) {
	tb.Helper()
	if err := r.replica.Process.Signal(syscall.SIGSTOP); err != nil {
		tb.Fatal(err)
	}
	resume = func() { _ = r.replica.Process.Signal(syscall.SIGCONT) }
	tb.Cleanup(resume)
	return resume
}
