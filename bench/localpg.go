package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// localServer is a disposable PostgreSQL run from the machine's own server
// binaries (Debian's postgresql-NN package) in a temporary directory, with
// the default settings, on loopback: the setup of the reference
// figures. A container's network path (veth, bridge, NAT) costs every round
// trip more than loopback does, and the systems compared here differ
// mostly in how much work the server does per round trip.
type localServer struct {
	dir, bin string
	asUser   []string // command prefix to drop root, or nil
}

// findServerBin returns the bin directory of the newest installed
// PostgreSQL, or "".
func findServerBin() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	return ""
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// startLocalServer initialises and starts a server and returns its admin
// DSN. PostgreSQL refuses to run as root, so as root it runs as the
// "postgres" user that the package creates. opts are more server options
// (postgres -c name=value), as for -pressure's pg_stat_statements.
func startLocalServer(ctx context.Context, bin string, opts ...string) (*localServer, string, error) {
	s := &localServer{bin: bin}
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			return nil, "", fmt.Errorf("running as root and no postgres user: %w", err)
		}
		s.asUser = []string{"setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"}
	}
	dir, err := os.MkdirTemp("", "guebench-pg-")
	if err != nil {
		return nil, "", err
	}
	s.dir = dir
	if s.asUser != nil {
		if err := exec.Command("chown", "postgres:postgres", dir).Run(); err != nil {
			s.stop()
			return nil, "", fmt.Errorf("chown %s: %w", dir, err)
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := s.command(ctx, "initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync").CombinedOutput(); err != nil {
		s.stop()
		return nil, "", fmt.Errorf("initdb: %w: %s", err, out)
	}
	port, err := freePort()
	if err != nil {
		s.stop()
		return nil, "", err
	}
	o := strings.Join(append([]string{fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", port, dir)}, opts...), " ")
	if out, err := s.command(ctx, "pg_ctl", "-D", data, "-w", "-l", filepath.Join(dir, "log"), "-o", o, "start").CombinedOutput(); err != nil {
		s.stop()
		return nil, "", fmt.Errorf("pg_ctl start: %w: %s", err, out)
	}
	return s, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port), nil
}

func (s *localServer) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	argv := append(append(append([]string{}, s.asUser...), filepath.Join(s.bin, name)), args...)
	return exec.CommandContext(ctx, argv[0], argv[1:]...)
}

// stop shuts the server down and removes its directory.
func (s *localServer) stop() {
	data := filepath.Join(s.dir, "data")
	if _, err := os.Stat(filepath.Join(data, "postmaster.pid")); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = s.command(ctx, "pg_ctl", "-D", data, "-w", "-m", "immediate", "stop").Run()
	}
	_ = os.RemoveAll(s.dir)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
