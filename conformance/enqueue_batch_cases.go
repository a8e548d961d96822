package conformance

import (
	"errors"
	"fmt"
	"testing"
	"time"

	gue "github.com/gue-go/gue/core"
)

// enqueueBatchCases is the suite's EnqueueBatch group.
var enqueueBatchCases = []testCase{
	{"EnqueueBatch", testEnqueueBatch},
	{"AllOrNothing", testEnqueueBatchAllOrNothing},
	{"Large", testEnqueueBatchLarge},
}

func testEnqueueBatch(t *testing.T, e *env) {
	c := e.client()
	runAt := time.Now().Add(-time.Minute).UTC().Truncate(time.Microsecond)
	jobs := []*gue.Job{
		{Type: "a"},
		{Type: "b", Queue: "q", Priority: -2, RunAt: runAt, Args: []byte(`{"x": [1, 2]}`), Metadata: map[string]string{"k": "v"}},
	}
	for i := 0; i < 98; i++ {
		jobs = append(jobs, &gue.Job{Type: "many", Args: []byte(fmt.Sprintf(`%d`, i))})
	}
	if err := c.EnqueueBatch(e.ctx, jobs); err != nil {
		t.Fatalf("EnqueueBatch: %v", err)
	}
	ids := map[int64]bool{}
	for _, j := range jobs {
		if j.ID <= 0 || ids[j.ID] || j.RunAt.IsZero() {
			t.Fatalf("job after EnqueueBatch: ID %d (duplicate %v), RunAt %v", j.ID, ids[j.ID], j.RunAt)
		}
		ids[j.ID] = true
	}
	got := e.lock(c, "q")
	if got == nil || got.ID != jobs[1].ID || got.Priority != -2 || !got.RunAt.Equal(runAt) ||
		string(got.Args) != `{"x": [1, 2]}` || got.Metadata["k"] != "v" {
		t.Fatalf("locked %+v, want job %+v", got, jobs[1])
	}
	e.done(got)
	first := e.lock(c, "")
	if first == nil || first.ID != jobs[0].ID || string(first.Args) != "[]" {
		t.Fatalf("first job of queue \"\" = %+v, want job %d with args []", first, jobs[0].ID)
	}
	e.done(first)
	if n := e.jobs(); n != 98 {
		t.Errorf("%d jobs left, want 98", n)
	}
}

// Batches past 1,000 jobs take another path (COPY where the adapter has it).
func testEnqueueBatchLarge(t *testing.T, e *env) {
	c := e.client()
	jobs := make([]*gue.Job, 2500)
	for i := range jobs {
		jobs[i] = &gue.Job{Type: "t", Queue: fmt.Sprint("q", i%3), Args: []byte(fmt.Sprint(i))}
	}
	if err := c.EnqueueBatch(e.ctx, jobs); err != nil {
		t.Fatalf("EnqueueBatch: %v", err)
	}
	ids := map[int64]bool{}
	for _, j := range jobs {
		ids[j.ID] = true
	}
	if len(ids) != len(jobs) || e.jobs() != int64(len(jobs)) {
		t.Fatalf("%d distinct IDs, %d rows; want %d of each", len(ids), e.jobs(), len(jobs))
	}
	if n := e.count(`SELECT count(*) FROM gue_jobs WHERE args::text = (job_id - $1)::text AND queue = 'q' || ((job_id - $1) % 3)`, jobs[0].ID); n != int64(len(jobs)) {
		t.Errorf("%d rows match their job's ID, queue and args, want %d", n, len(jobs))
	}
}

func testEnqueueBatchAllOrNothing(t *testing.T, e *env) {
	c := e.client()
	bad := []*gue.Job{{Type: "ok"}, {Type: "ok"}, {Type: "bad", Args: []byte("{")}}
	if err := c.EnqueueBatch(e.ctx, bad); !errors.Is(err, gue.ErrInvalidArgs) {
		t.Errorf("batch with invalid args: %v, want ErrInvalidArgs", err)
	}
	if err := c.EnqueueBatch(e.ctx, []*gue.Job{{Type: "ok"}, nil}); !errors.Is(err, gue.ErrNilJob) {
		t.Errorf("batch with a nil job: %v, want ErrNilJob", err)
	}
	tx, err := e.pool.Begin(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.EnqueueBatchTx(e.ctx, []*gue.Job{{Type: "a"}, {Type: "b"}}, tx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(e.ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.jobs(); n != 0 {
		t.Errorf("%d jobs stored, want 0", n)
	}
}
