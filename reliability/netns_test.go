package reliability_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
)

// netns is a network namespace of the test's own, joined to the machine by
// a veth pair: a host whose link to the database the test can break, by
// firewall rules inside the namespace (never on the machine's own
// interfaces).
type netns struct {
	t      *testing.T
	name   string
	hostIP string // the machine's end of the link
	nsIP   string
}

var netnsSeq atomic.Int32

// newNetns makes the namespace and its link; it needs root, as ip netns
// does.
func newNetns(t *testing.T) *netns {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a network namespace of the test's own needs root (ip netns); CI runs as root")
	}
	// Unique on the machine: per process and per namespace of the process
	// (tests run them in parallel), in names of at most 15 bytes.
	seq := netnsSeq.Add(1) % 4
	id := fmt.Sprintf("%d%d", os.Getpid()%100000, seq)
	octet := (os.Getpid()%60)*4 + int(seq)
	n := &netns{t: t, name: "gue-part-" + id,
		hostIP: fmt.Sprintf("10.231.%d.1", octet), nsIP: fmt.Sprintf("10.231.%d.2", octet)}
	host, peer := "gueh"+id, "guen"+id
	n.ip("netns", "add", n.name)
	t.Cleanup(func() {
		_ = exec.Command("ip", "link", "del", host).Run()
		_ = exec.Command("ip", "netns", "del", n.name).Run()
	})
	n.ip("link", "add", host, "type", "veth", "peer", "name", peer)
	n.ip("link", "set", peer, "netns", n.name)
	n.ip("addr", "add", n.hostIP+"/30", "dev", host)
	n.ip("link", "set", host, "up")
	n.inside("ip", "addr", "add", n.nsIP+"/30", "dev", peer)
	n.inside("ip", "link", "set", peer, "up")
	n.inside("ip", "link", "set", "lo", "up")
	return n
}

// exec is the command prefix that runs a program inside the namespace.
func (n *netns) exec() []string { return []string{"ip", "netns", "exec", n.name} }

// partition drops every packet in and out of the namespace: nothing is
// closed, nothing answers.
func (n *netns) partition() {
	n.t.Helper()
	n.inside("iptables", "-I", "INPUT", "-j", "DROP")
	n.inside("iptables", "-I", "OUTPUT", "-j", "DROP")
}

// heal removes the partition's rules.
func (n *netns) heal() {
	n.t.Helper()
	n.inside("iptables", "-F", "INPUT")
	n.inside("iptables", "-F", "OUTPUT")
}

func (n *netns) ip(args ...string) {
	n.t.Helper()
	run(n.t, "ip", args...)
}

func (n *netns) inside(name string, args ...string) {
	n.t.Helper()
	argv := append(n.exec(), name)
	run(n.t, argv[0], append(argv[1:], args...)...)
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}
