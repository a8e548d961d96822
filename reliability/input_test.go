package reliability_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gue-go/gue/conformance"
	gue "github.com/gue-go/gue/core"
	"github.com/gue-go/gue/driver-pgxv5"
)

// Scenario 6: bad and hostile input gets a clear error and leaves the table
// untouched; odd but valid input round-trips exactly.

func TestBadInputLeavesTableUntouched(t *testing.T) {
	d := newDatabase(t, conformance.ServerDSN(t))
	c := gue.NewClient(pgxv5.NewConnPool(d.pool))
	cases := []struct {
		name string
		job  *gue.Job
		want error
	}{
		{"nil job", nil, gue.ErrNilJob},
		{"empty type", &gue.Job{Args: []byte(`{}`)}, gue.ErrMissingType},
		{"truncated JSON", &gue.Job{Type: "t", Args: []byte(`{"a": [1, 2`)}, gue.ErrInvalidArgs},
		{"two JSON values", &gue.Job{Type: "t", Args: []byte(`{} {}`)}, gue.ErrInvalidArgs},
		{"invalid UTF-8 in JSON string", &gue.Job{Type: "t", Args: []byte("[\"\xff\"]")}, gue.ErrInvalidArgs},
		{"NUL in type", &gue.Job{Type: "x\x00"}, gue.ErrInvalidType},
		{"invalid UTF-8 queue", &gue.Job{Type: "t", Queue: "\xc3\x28"}, gue.ErrInvalidType},
	}
	for _, tc := range cases {
		if err := c.Enqueue(d.ctx, tc.job); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := gue.Migrate(d.ctx, pgxv5.NewConnPool(d.pool), "bad\x00schema"); !errors.Is(err, gue.ErrInvalidSchema) {
		t.Errorf("Migrate with NUL in schema: %v, want ErrInvalidSchema", err)
	}
	if err := gue.NewClient(pgxv5.NewConnPool(d.pool), gue.WithClientSchema(strings.Repeat("s", 64))).
		Enqueue(d.ctx, &gue.Job{Type: "t"}); !errors.Is(err, gue.ErrInvalidSchema) {
		t.Errorf("schema over 63 bytes: %v, want ErrInvalidSchema", err)
	}
	if n := d.count(`SELECT count(*) FROM gue_jobs`); n != 0 {
		t.Errorf("%d jobs stored by bad input, want 0", n)
	}
}

// Args have no limit of their own (PostgreSQL's 1 GB per json value applies);
// a 16 MiB argument and JSON's odd corners come back byte for byte.
func TestArgsRoundTripExactly(t *testing.T) {
	d := newDatabase(t, conformance.ServerDSN(t))
	c := gue.NewClient(pgxv5.NewConnPool(d.pool))
	big := append(append([]byte(`{"blob":"`), bytes.Repeat([]byte("x"), 16<<20)...), []byte(`"}`)...)
	for _, args := range [][]byte{
		big,
		[]byte(`"\u0000 escaped NUL, \"quotes\", ü, 🚀"`),
		[]byte(` [ 1 ,  2.50e+3 , -0 , true , null ] `),
		[]byte(`{"dup":1,"dup":2}`),
	} {
		if err := c.Enqueue(d.ctx, &gue.Job{Type: "t", Args: args}); err != nil {
			t.Fatalf("enqueue %d bytes: %v", len(args), err)
		}
		j, err := c.LockJob(d.ctx, "")
		if err != nil || j == nil {
			t.Fatalf("lock: %v, %v", j, err)
		}
		if !bytes.Equal(j.Args, args) {
			t.Errorf("args of %d bytes came back as %d different bytes", len(args), len(j.Args))
		}
		if err := j.Delete(d.ctx); err != nil {
			t.Fatal(err)
		}
		if err := j.Done(d.ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzQueueAndArgs enqueues and locks arbitrary queue names and args: valid
// input round-trips exactly, invalid input is refused with a sentinel and
// writes nothing.
func FuzzQueueAndArgs(f *testing.F) {
	for _, seed := range []struct{ queue, args string }{
		{"", "[]"}, {`q"; DROP TABLE gue_jobs; --`, `{"a":1}`}, {"队列 🚀", `"x"`}, {`\`, `null`},
		{"'", `{"a":`}, {"\x00", "[]"}, {"ok", "\xff"}, {"ok", ""}, {" ", "1e999"},
	} {
		f.Add(seed.queue, []byte(seed.args))
	}
	d := newDatabase(f, conformance.ServerDSN(f))
	c := gue.NewClient(pgxv5.NewConnPool(d.pool))
	f.Fuzz(func(t *testing.T, queue string, args []byte) {
		d := d.on(t)
		ctx := context.Background()
		before := d.count(`SELECT count(*) FROM gue_jobs`)
		err := c.Enqueue(ctx, &gue.Job{Type: "fuzz", Queue: queue, Args: args})
		if err != nil {
			if !errors.Is(err, gue.ErrInvalidArgs) && !errors.Is(err, gue.ErrInvalidType) {
				t.Fatalf("Enqueue(queue %q, args %q): unexpected error %v", queue, args, err)
			}
			if after := d.count(`SELECT count(*) FROM gue_jobs`); after != before {
				t.Fatalf("refused input changed the table: %d -> %d jobs", before, after)
			}
			return
		}
		j, err := c.LockJob(ctx, queue)
		if err != nil || j == nil {
			t.Fatalf("LockJob(%q) = %v, %v", queue, j, err)
		}
		want := args
		if len(want) == 0 {
			want = []byte("[]")
		}
		if j.Queue != queue || !bytes.Equal(j.Args, want) {
			t.Errorf("round trip: queue %q args %q, want %q %q", j.Queue, j.Args, queue, want)
		}
		if err := j.Delete(ctx); err != nil {
			t.Fatal(err)
		}
		if err := j.Done(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzSchemaName migrates, enqueues into and locks from arbitrary schema
// names: identifiers are always quoted, so any storable name works and
// nothing else is touched.
func FuzzSchemaName(f *testing.F) {
	for _, seed := range []string{`public`, `a"b`, `x"; DROP SCHEMA public CASCADE; --`, "ünï 🚀", `'`, `\`, "", "a\x00", "\xff"} {
		f.Add(seed)
	}
	d := newDatabase(f, conformance.ServerDSN(f))
	pool := pgxv5.NewConnPool(d.pool)
	f.Fuzz(func(t *testing.T, schema string) {
		d := d.on(t)
		ctx := context.Background()
		if err := gue.Migrate(ctx, pool, schema); err != nil {
			if !errors.Is(err, gue.ErrInvalidSchema) {
				t.Fatalf("Migrate(%q): %v", schema, err)
			}
			return
		}
		c := gue.NewClient(pool, gue.WithClientSchema(schema))
		if err := c.Enqueue(ctx, &gue.Job{Type: "t"}); err != nil {
			t.Fatalf("Enqueue in %q: %v", schema, err)
		}
		j, err := c.LockJob(ctx, "")
		if err != nil || j == nil {
			t.Fatalf("LockJob in %q = %v, %v", schema, j, err)
		}
		if err := j.Delete(ctx); err != nil {
			t.Fatal(err)
		}
		if err := j.Done(ctx); err != nil {
			t.Fatal(err)
		}
		if d.count(`SELECT count(*) FROM pg_namespace WHERE nspname = 'public'`) != 1 {
			t.Fatalf("schema %q damaged public", schema)
		}
	})
}
