// Package lyingtest proves that the conformance suite fails an adapter that
// declares a capability it lacks.
package lyingtest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/gue-go/gue/conformance"
	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/driver-pgxv5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestMain(m *testing.M) {
	code := m.Run()
	conformance.Terminate()
	os.Exit(code)
}

// bare hides every optional capability of the pool it wraps: it is an
// adapter.ConnPool and nothing more.
type bare struct{ adapter.ConnPool }

// envLying makes TestLyingAdapterSuite run; only TestLyingAdapterFails
// sets it, in the process it starts.
const envLying = "GUE_CONFORMANCE_LYING_ADAPTER"

// TestLyingAdapterSuite is the suite against an adapter that declares every
// capability and implements none. It runs only inside
// TestLyingAdapterFails, which expects it to fail.
func TestLyingAdapterSuite(t *testing.T) {
	if os.Getenv(envLying) == "" {
		t.Skip("run by TestLyingAdapterFails, which expects it to fail")
	}
	open := func(t *testing.T, dsn string) adapter.ConnPool {
		pool, err := pgxpool.New(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		return bare{pgxv5.NewConnPool(pool)}
	}
	conformance.Run(t, open, conformance.WithFeatures(conformance.Features{CopyFrom: true, Listen: true, Pipeline: true, PipelineChain: true, Sizer: true, Session: true, QueryBatch: true}))
}

// An adapter that declares a capability it lacks fails the suite, once per
// missing capability, naming it.
func TestLyingAdapterFails(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run", "^TestLyingAdapterSuite$/^Capabilities$", "-test.v")
	cmd.Env = append(os.Environ(), envLying+"=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the suite passed an adapter that lacks every capability it declares:\n%s", out)
	}
	for _, c := range []string{"CopyFromer", "Listener", "Pipeliner", "PipelineChainer", "Sizer", "Sessioner", "QueryBatcher"} {
		if !strings.Contains(string(out), "declares adapter."+c) {
			t.Errorf("the suite did not report the missing %s:\n%s", c, out)
		}
	}
}
