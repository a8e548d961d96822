package conformance

import (
	"fmt"
	"testing"

	gue "github.com/gue-go/gue/core"
)

// completionCases is the suite's Completion group.
var completionCases = []testCase{
	{"AsyncCompletionOnlyWithoutTxWrites", testAsyncCompletionOnlyWithoutTxWrites},
	{"AsyncCompletionCanBeTurnedOff", testAsyncCompletionCanBeTurnedOff},
}

// commitModes records, by a trigger deferred to commit time, the
// synchronous_commit setting each job's deleting transaction commits with.
func commitModes(t *testing.T, e *env) func() []string {
	if Citus() {
		t.Skip("Citus refuses triggers on distributed tables: the commit mode is checked on plain PostgreSQL")
	}
	e.exec(`CREATE TABLE deleted_with (job_id bigint, mode text)`)
	e.exec(`CREATE FUNCTION record_commit_mode() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO deleted_with VALUES (OLD.job_id, current_setting('synchronous_commit'));
  RETURN OLD;
END $$`)
	e.exec(`CREATE CONSTRAINT TRIGGER record_commit_mode AFTER DELETE ON gue_jobs DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION record_commit_mode()`)
	return func() []string {
		t.Helper()
		rows, err := e.pool.Query(e.ctx, `SELECT mode FROM deleted_with ORDER BY job_id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var modes []string
		for rows.Next() {
			var m string
			if err := rows.Scan(&m); err != nil {
				t.Fatal(err)
			}
			modes = append(modes, m)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return modes
	}
}

// A completion whose transaction holds nothing but the job's deletion
// commits asynchronously; one that the WorkFunc wrote through (Tx) keeps the
// session's setting, whether Tx came before or after Delete.
func testAsyncCompletionOnlyWithoutTxWrites(t *testing.T, e *env) {
	modes := commitModes(t, e)
	c := e.client()
	for range 3 {
		e.enqueue(c, &gue.Job{Type: "t"})
	}

	plain := e.lock(c, "")
	e.done(plain)

	before := e.lock(c, "")
	if _, err := before.Tx().Exec(e.ctx, `SELECT 1`); err != nil {
		t.Fatal(err)
	}
	e.done(before)

	after := e.lock(c, "")
	if err := after.Delete(e.ctx); err != nil {
		t.Fatal(err)
	}
	var mode string
	if err := after.Tx().QueryRow(e.ctx, `SHOW synchronous_commit`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "on" {
		t.Errorf("synchronous_commit seen through Tx after Delete = %q, want on", mode)
	}
	if err := after.Done(e.ctx); err != nil {
		t.Fatal(err)
	}

	got := modes()
	want := []string{"off", "on", "on"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("commit modes = %v, want %v (deletion only, Tx before Delete, Tx after Delete)", got, want)
	}
	if e.jobs() != 0 {
		t.Errorf("%d jobs left, want 0", e.jobs())
	}
}

// WithClientAsyncCompletion(false) keeps every completion synchronous.
func testAsyncCompletionCanBeTurnedOff(t *testing.T, e *env) {
	modes := commitModes(t, e)
	c := e.client(gue.WithClientAsyncCompletion(false))
	e.enqueue(c, &gue.Job{Type: "t"})
	e.done(e.lock(c, ""))
	if got := modes(); len(got) != 1 || got[0] != "on" {
		t.Fatalf("commit modes = %v, want [on]", got)
	}
}
