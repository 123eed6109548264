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
	if err := replicaOnline(r.Master); err != nil {
		tb.Fatal(err)
	}
	return r
}

// replicaOnline waits until the master at addr counts a replica as online:
// past its first sync and its first acknowledgement, so that WAIT counts it.
// (The replica's own master_link_status:up comes earlier: with a diskless
// sync the master may still list it as wait_bgsave.)
func replicaOnline(addr string) error {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	return until(20*time.Second, func(ctx context.Context) error {
		info, err := c.Info(ctx, "replication").Result()
		if err != nil {
			return err
		}
		for line := range strings.SplitSeq(info, "\n") {
			if strings.HasPrefix(line, "slave0:") && strings.Contains(line, "state=online") {
				// and WAIT 1 answers 1: the replica acknowledged
				if n, err := c.Do(ctx, "wait", 1, 100).Int64(); err == nil && n >= 1 {
					return nil
				}
			}
		}
		return errors.New("no replica online at " + addr)
	})
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
