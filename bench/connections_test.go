package main

import (
	"context"
	"strings"
	"testing"

	"github.com/gue-go/gue/conformance"
)

// TestConnectionsNeeded: a -producer run of 256 workers needs more than
// PostgreSQL's default max_connections (the default mode holds one per
// worker), so a server the bench starts gets it raised; smaller runs keep
// the defaults whole.
func TestConnectionsNeeded(t *testing.T) {
	sizes, err := parsePoolSizes("4, 16,256,64")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := connectionsNeeded(50, sizes), 256+4+connectionsSpare; got != want {
		t.Errorf("connectionsNeeded(50, %v) = %d, want %d", sizes, got, want)
	}
	if got := serverSettings(connectionsNeeded(50, sizes)); len(got) != 1 || got[0] != "max_connections=280" {
		t.Errorf("serverSettings for 256 workers = %q, want max_connections=280", got)
	}
	if got := serverSettings(connectionsNeeded(50, nil)); got != nil {
		t.Errorf("serverSettings for 50 workers = %q, want none (the defaults)", got)
	}
	for _, bad := range []string{"4,x", "0", "-3", "4,,8"} {
		if _, err := parsePoolSizes(bad); err == nil {
			t.Errorf("parsePoolSizes(%q): no error", bad)
		}
	}
}

// TestCheckConnections: a server of one's own whose max_connections is
// below the run's need is refused up front, with the numbers; one at the
// need passes (the control).
func TestCheckConnections(t *testing.T) {
	admin := conformance.ServerDSN(t)
	ctx := context.Background()
	if err := checkConnections(ctx, admin, 1); err != nil {
		t.Fatalf("a need of 1: %v", err)
	}
	have, err := maxConnections(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkConnections(ctx, admin, have); err != nil {
		t.Errorf("a need of max_connections (%d): %v", have, err)
	}
	err = checkConnections(ctx, admin, have+1)
	if err == nil || !strings.Contains(err.Error(), "max_connections is") {
		t.Errorf("a need of %d on a server of %d: %v, want a refusal naming max_connections", have+1, have, err)
	}
}
