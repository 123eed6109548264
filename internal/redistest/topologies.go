package redistest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The Cluster, the Sentinel setup and the TLS server below are made of the
// same redis-server binary as Addr's, each process on a free port. A
// process the test binary starts dies with it (Pdeathsig): the shared
// ones live until the binary exits.

// proc starts redis-server with args, in dir, and returns it running.
func proc(dir string, args ...string) (*exec.Cmd, error) {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server not found on PATH")
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	return cmd, nil
}

// until calls f until it returns nil or d passes, and returns f's last error.
func until(d time.Duration, f func(ctx context.Context) error) error {
	deadline := time.Now().Add(d)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		err := f(ctx)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ping(addr string, tlsConf *tls.Config) error {
	c := redis.NewClient(&redis.Options{Addr: addr, TLSConfig: tlsConf, MaxRetries: -1})
	defer c.Close()
	return until(10*time.Second, func(ctx context.Context) error { return c.Ping(ctx).Err() })
}

func prefix() string {
	return fmt.Sprintf("test:%d:%d:%d:", os.Getpid(), time.Now().UnixNano(), seq.Add(1))
}

var (
	clusterOnce  sync.Once
	clusterAddrs []string
	clusterErr   error
)

// ClusterAddrs returns the host:port of each master of a Redis Cluster of
// three masters and no replicas, started once per test binary. The slots are
// spread by redis-cli --cluster create; a test fails if it cannot start.
func ClusterAddrs(tb testing.TB) []string {
	tb.Helper()
	clusterOnce.Do(func() { clusterAddrs, clusterErr = startCluster() })
	if clusterErr != nil {
		tb.Fatalf("no Redis Cluster for tests: %v", clusterErr)
	}
	return clusterAddrs
}

// ClusterClient returns a cluster client of ClusterAddrs and a key prefix no
// other test uses.
func ClusterClient(tb testing.TB) (*redis.ClusterClient, string) {
	tb.Helper()
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: ClusterAddrs(tb)})
	tb.Cleanup(func() { _ = c.Close() })
	return c, prefix()
}

func startCluster() ([]string, error) {
	dir, err := os.MkdirTemp("", "redis-cluster-")
	if err != nil {
		return nil, err
	}
	var addrs []string
	for i := 0; i < 3; i++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		bus, err := freePort()
		if err != nil {
			return nil, err
		}
		p := strconv.Itoa(port)
		if _, err := proc(dir, "--port", p, "--bind", "127.0.0.1", "--cluster-enabled", "yes",
			"--cluster-port", strconv.Itoa(bus), "--cluster-config-file", "nodes-"+p+".conf",
			"--cluster-node-timeout", "2000", "--save", "", "--appendonly", "no",
			"--daemonize", "no", "--loglevel", "warning", "--dbfilename", "dump-"+p+".rdb"); err != nil {
			return nil, err
		}
		addr := "127.0.0.1:" + p
		if err := ping(addr, nil); err != nil {
			return nil, fmt.Errorf("cluster node %s: %w", addr, err)
		}
		addrs = append(addrs, addr)
	}
	args := append(append([]string{"--cluster", "create"}, addrs...), "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("redis-cli --cluster create: %v: %s", err, out)
	}
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
		err := until(20*time.Second, func(ctx context.Context) error {
			info, err := c.ClusterInfo(ctx).Result()
			if err != nil {
				return err
			}
			if !strings.Contains(info, "cluster_state:ok") {
				return fmt.Errorf("node %s: cluster_state not ok", a)
			}
			return nil
		})
		_ = c.Close()
		if err != nil {
			return nil, err
		}
	}
	return addrs, nil
}

// SlotOwner returns the address of the Cluster master that owns key's slot,
// and of one that does not.
func SlotOwner(tb testing.TB, key string) (owner, other string) {
	tb.Helper()
	addrs := ClusterAddrs(tb)
	c := redis.NewClient(&redis.Options{Addr: addrs[0]})
	defer c.Close()
	ctx := context.Background()
	slot, err := c.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		tb.Fatal(err)
	}
	slots, err := c.ClusterSlots(ctx).Result()
	if err != nil {
		tb.Fatal(err)
	}
	for _, s := range slots {
		if int64(s.Start) <= slot && slot <= int64(s.End) {
			owner = s.Nodes[0].Addr
		}
	}
	for _, a := range addrs {
		if a != owner {
			other = a
		}
	}
	if owner == "" || other == "" {
		tb.Fatalf("slot %d of %q: no owner among %v", slot, key, addrs)
	}
	return owner, other
}

// Sentinel is a Sentinel setup: a master and one replica, watched by three
// sentinels (quorum 2). The master refuses writes while no replica is
// connected (min-replicas-to-write 1), so that a write it acknowledges has
// left for the replica: that is what a failover keeps.
type Sentinel struct {
	Master    string   // the name the sentinels know it by
	Sentinels []string // their host:port
	Data      []string // the master's and the replica's host:port, at the start
	procs     []*exec.Cmd
	dir       string
}

var (
	sentinelOnce sync.Once
	sentinel     *Sentinel
	sentinelErr  error
)

// SharedSentinel returns a Sentinel setup started once per test binary.
// Tests that force a failover start their own with StartSentinel.
func SharedSentinel(tb testing.TB) *Sentinel {
	tb.Helper()
	sentinelOnce.Do(func() { sentinel, sentinelErr = startSentinel() })
	if sentinelErr != nil {
		tb.Fatalf("no Sentinel setup for tests: %v", sentinelErr)
	}
	return sentinel
}

// StartSentinel starts a Sentinel setup of the test's own, stopped when the
// test ends.
func StartSentinel(tb testing.TB) *Sentinel {
	tb.Helper()
	s, err := startSentinel()
	if err != nil {
		tb.Fatalf("no Sentinel setup for tests: %v", err)
	}
	tb.Cleanup(s.stop)
	return s
}

// Client returns a failover client of s (go-redis's own) and a key prefix no
// other test uses.
func (s *Sentinel) Client(tb testing.TB) (*redis.Client, string) {
	tb.Helper()
	c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: s.Master, SentinelAddrs: s.Sentinels})
	tb.Cleanup(func() { _ = c.Close() })
	return c, prefix()
}

func (s *Sentinel) stop() {
	for _, p := range s.procs {
		_ = p.Process.Kill()
		_ = p.Wait()
	}
	_ = os.RemoveAll(s.dir)
}

func startSentinel() (s *Sentinel, err error) {
	dir, err := os.MkdirTemp("", "redis-sentinel-")
	if err != nil {
		return nil, err
	}
	s = &Sentinel{Master: "mymaster", dir: dir}
	defer func() {
		if err != nil {
			s.stop()
		}
	}()
	ports := make([]int, 5)
	for i := range ports {
		if ports[i], err = freePort(); err != nil {
			return nil, err
		}
	}
	master := "127.0.0.1:" + strconv.Itoa(ports[0])
	for i, port := range ports[:2] {
		p := strconv.Itoa(port)
		args := []string{"--port", p, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--daemonize", "no", "--loglevel", "warning", "--dbfilename", "dump-" + p + ".rdb",
			"--min-replicas-to-write", "1", "--min-replicas-max-lag", "10",
			"--repl-diskless-sync-delay", "0"}
		if i == 1 {
			args = append(args, "--replicaof", "127.0.0.1", strconv.Itoa(ports[0]))
		}
		cmd, err := proc(dir, args...)
		if err != nil {
			return nil, err
		}
		s.procs = append(s.procs, cmd)
		addr := "127.0.0.1:" + p
		if err := ping(addr, nil); err != nil {
			return nil, err
		}
		s.Data = append(s.Data, addr)
	}
	for _, port := range ports[2:] {
		conf := filepath.Join(dir, "sentinel-"+strconv.Itoa(port)+".conf")
		text := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\n"+
			"sentinel monitor mymaster 127.0.0.1 %d 2\n"+
			// long enough that a loaded machine (the suite under -race on
			// two cores) does not look like a dead master: a spurious
			// failover under the other tests refuses their writes; the
			// failover test forces its own
			"sentinel down-after-milliseconds mymaster 10000\n"+
			"sentinel failover-timeout mymaster 10000\n"+
			"sentinel parallel-syncs mymaster 1\n", port, dir, ports[0])
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			return nil, err
		}
		cmd, err := proc(dir, conf, "--sentinel", "--loglevel", "warning")
		if err != nil {
			return nil, err
		}
		s.procs = append(s.procs, cmd)
		s.Sentinels = append(s.Sentinels, "127.0.0.1:"+strconv.Itoa(port))
	}
	// Ready: the master counts the replica online, and every sentinel
	// knows it and the two other sentinels (a failover needs all of that).
	if err := replicaOnline(master); err != nil {
		return nil, err
	}
	for _, a := range s.Sentinels {
		if err := s.waitSentinel(a, s.Data[0]); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// waitSentinel waits until the sentinel at addr sees master as the master,
// one replica and two other sentinels.
func (s *Sentinel) waitSentinel(addr, master string) error {
	c := redis.NewSentinelClient(&redis.Options{Addr: addr})
	defer c.Close()
	return until(30*time.Second, func(ctx context.Context) error {
		m, err := c.GetMasterAddrByName(ctx, s.Master).Result()
		if err != nil {
			return fmt.Errorf("sentinel %s: %w", addr, err)
		}
		if got := net.JoinHostPort(m[0], m[1]); got != master {
			return fmt.Errorf("sentinel %s: master is %s, want %s", addr, got, master)
		}
		reps, err := c.Replicas(ctx, s.Master).Result()
		if err != nil {
			return err
		}
		if len(reps) != 1 || strings.Contains(fmt.Sprint(reps[0]), "s_down") || strings.Contains(fmt.Sprint(reps[0]), "disconnected") {
			return fmt.Errorf("sentinel %s: replicas %v, want one, up", addr, reps)
		}
		sents, err := c.Sentinels(ctx, s.Master).Result()
		if err != nil {
			return err
		}
		if len(sents) != 2 {
			return fmt.Errorf("sentinel %s: knows %d other sentinels, want 2", addr, len(sents))
		}
		return nil
	})
}

// Failover forces a failover (SENTINEL FAILOVER) and returns at once,
// with the address the master had.
func (s *Sentinel) Failover(tb testing.TB) (old string) {
	tb.Helper()
	c := redis.NewSentinelClient(&redis.Options{Addr: s.Sentinels[0]})
	defer c.Close()
	ctx := context.Background()
	m, err := c.GetMasterAddrByName(ctx, s.Master).Result()
	if err != nil {
		tb.Fatal(err)
	}
	if err := c.Failover(ctx, s.Master).Err(); err != nil {
		tb.Fatalf("SENTINEL FAILOVER: %v", err)
	}
	return net.JoinHostPort(m[0], m[1])
}

// MasterNow is the master's address as the first sentinel names it.
func (s *Sentinel) MasterNow(tb testing.TB) string {
	tb.Helper()
	c := redis.NewSentinelClient(&redis.Options{Addr: s.Sentinels[0]})
	defer c.Close()
	m, err := c.GetMasterAddrByName(context.Background(), s.Master).Result()
	if err != nil {
		tb.Fatal(err)
	}
	return net.JoinHostPort(m[0], m[1])
}

// WaitMaster waits until every sentinel names a master other than old, and
// returns it.
func (s *Sentinel) WaitMaster(tb testing.TB, old string) string {
	tb.Helper()
	var now string
	for _, a := range s.Sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: a})
		err := until(30*time.Second, func(ctx context.Context) error {
			m, err := c.GetMasterAddrByName(ctx, s.Master).Result()
			if err != nil {
				return err
			}
			if now = net.JoinHostPort(m[0], m[1]); now == old {
				return fmt.Errorf("sentinel %s still names %s", a, old)
			}
			return nil
		})
		_ = c.Close()
		if err != nil {
			tb.Fatal(err)
		}
	}
	return now
}

// TLSServer is a redis-server that speaks TLS only, with a CA, a server
// certificate for 127.0.0.1 and "redis.test", and a client certificate,
// all made by the test.
type TLSServer struct {
	Addr     string
	CAFile   string // PEM of the CA that signed both certificates
	CertFile string // the client's certificate
	KeyFile  string // and key
}

// StartTLS starts a TLS server of the test's own. The server asks for a
// client certificate (tls-auth-clients yes).
func StartTLS(tb testing.TB) *TLSServer {
	tb.Helper()
	dir := tb.TempDir()
	ca, caKey, err := newCert(nil, nil, "resetbot test CA", true)
	if err != nil {
		tb.Fatal(err)
	}
	srv, srvKey, err := newCert(ca, caKey, "redis.test", false)
	if err != nil {
		tb.Fatal(err)
	}
	cli, cliKey, err := newCert(ca, caKey, "resetbot", false)
	if err != nil {
		tb.Fatal(err)
	}
	s := &TLSServer{CAFile: filepath.Join(dir, "ca.pem"), CertFile: filepath.Join(dir, "client.pem"), KeyFile: filepath.Join(dir, "client-key.pem")}
	for path, block := range map[string][]*pem.Block{
		s.CAFile:                             {{Type: "CERTIFICATE", Bytes: ca.Raw}},
		filepath.Join(dir, "server.pem"):     {{Type: "CERTIFICATE", Bytes: srv.Raw}},
		filepath.Join(dir, "server-key.pem"): {keyBlock(tb, srvKey)},
		s.CertFile:                           {{Type: "CERTIFICATE", Bytes: cli.Raw}},
		s.KeyFile:                            {keyBlock(tb, cliKey)},
	} {
		var b []byte
		for _, bl := range block {
			b = append(b, pem.EncodeToMemory(bl)...)
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	port, err := freePort()
	if err != nil {
		tb.Fatal(err)
	}
	cmd, err := proc(dir, "--port", "0", "--tls-port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--tls-cert-file", "server.pem", "--tls-key-file", "server-key.pem", "--tls-ca-cert-file", "ca.pem",
		"--tls-auth-clients", "yes", "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	s.Addr = "127.0.0.1:" + strconv.Itoa(port)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	pair, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
	if err != nil {
		tb.Fatal(err)
	}
	if err := ping(s.Addr, &tls.Config{RootCAs: pool, ServerName: "redis.test", Certificates: []tls.Certificate{pair}}); err != nil {
		tb.Fatalf("TLS redis-server on %s: %v (is redis-server built with TLS?)", s.Addr, err)
	}
	return s
}

func keyBlock(tb testing.TB, k *ecdsa.PrivateKey) *pem.Block {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		tb.Fatal(err)
	}
	return &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
}

// newCert makes a certificate for name (and 127.0.0.1), signed by parent
// (self-signed when nil), valid for an hour.
func newCert(parent *x509.Certificate, parentKey *ecdsa.PrivateKey, name string, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if isCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
		tmpl.ExtKeyUsage = nil
	} else {
		tmpl.DNSNames = []string{name}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent, parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}
