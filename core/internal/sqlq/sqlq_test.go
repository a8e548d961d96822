package sqlq

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gue-go/gue/core/internal/lockplan"
)

// Each kind of lock query has its own statement, in each dialect, chosen by
// kind rather than looked up by its text.
func TestLockSQLOfKind(t *testing.T) {
	pg, citus := New("public", PostgreSQL, true), New("public", Citus, true)
	for _, l := range []LockSQL{pg.Lock, citus.Lock} {
		if l.Of(lockplan.Seek) != l.Seek || l.Of(lockplan.Hinted) != l.Hinted || l.Of(lockplan.Full) != l.Hinted {
			t.Error("a kind maps to the wrong statement")
		}
		if l.Seek == l.Hinted || l.Seek == "" {
			t.Error("control: the seek and the hinted query should differ")
		}
	}
	for _, sql := range []string{citus.Lock.Seek, citus.Lock.Hinted} {
		if strings.Contains(sql, readyNow) || !strings.Contains(sql, "$5::timestamptz") {
			t.Errorf("a Citus lock query does not compare run_at with the coordinator's clock:\n%s", sql)
		}
	}
	for _, sql := range []string{pg.Lock.Seek, pg.Lock.Hinted} {
		if !strings.Contains(sql, readyNow) || !strings.Contains(sql, "FOR UPDATE SKIP LOCKED") {
			t.Errorf("a lock query does not compare run_at with now() or does not skip locked rows:\n%s", sql)
		}
	}
}

// differing lists the fields of Set (and of its embedded sets) whose values
// differ between a and b.
func differing(a, b *Set) []string {
	var out []string
	var walk func(x, y reflect.Value, t reflect.Type)
	walk = func(x, y reflect.Value, t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Anonymous {
				walk(x.Field(i), y.Field(i), f.Type)
				continue
			}
			if !reflect.DeepEqual(x.Field(i).Interface(), y.Field(i).Interface()) {
				out = append(out, f.Name)
			}
		}
	}
	walk(reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem(), reflect.TypeFor[Set]())
	slices.Sort(out)
	return out
}

// The statements that differ on Citus are the ones Set's doc names as
// such: a caller may read any other from a Set of either dialect. And the
// endings are the only statements forget changes.
func TestOnlyDialectStatementsDiffer(t *testing.T) {
	for _, forget := range []bool{true, false} {
		got := differing(New(`a"b`, PostgreSQL, forget), New(`a"b`, Citus, forget))
		want := []string{"AsyncCommit", "ClockFirst", "DeleteAsync", "DeleteBatch", "Dialect", "Lock", "QueueList", "QueueStats", "QueueStatsAll", "SessionDeleteAsync", "SessionDeleteManyAsync"}
		if !slices.Equal(got, want) {
			t.Errorf("forget %v: the dialects differ in %v, want %v (hide each in gue's queries too)", forget, got, want)
		}
	}
	for _, d := range []Dialect{PostgreSQL, Citus} {
		got := differing(New("s", d, true), New("s", d, false))
		want := []string{"Delete", "DeleteBatch", "Die", "SessionDelete", "SessionDeleteMany", "SessionDie"}
		if d == PostgreSQL {
			want = []string{"Delete", "DeleteAsync", "DeleteBatch", "Die", "SessionDelete", "SessionDeleteAsync", "SessionDeleteMany", "SessionDeleteManyAsync", "SessionDie"}
		}
		if !slices.Equal(got, want) {
			t.Errorf("dialect %v: forget changes %v, want %v", d, got, want)
		}
	}
	// Control: two schemas differ in nearly every statement, so the walk
	// does see the fields.
	if n := len(differing(New("a", PostgreSQL, true), New("b", PostgreSQL, true))); n < 40 {
		t.Errorf("control: two schemas differ in only %d statements", n)
	}
}

// Every statement names the schema quoted, whatever the name holds.
func TestStatementsQuoteTheSchema(t *testing.T) {
	s := New(`we"ird; DROP`, Citus, true)
	if !strings.Contains(s.Delete, `"we""ird; DROP".gue_jobs`) || strings.Contains(s.Delete, `"we"ird`) {
		t.Errorf("schema not quoted: %s", s.Delete)
	}
}

// statements lists the text of every statement of s by field name.
func statements(s *Set) map[string]string {
	out := map[string]string{}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		for i := range v.NumField() {
			f, x := v.Type().Field(i), v.Field(i)
			switch {
			case f.Anonymous:
				walk(x)
			case x.Kind() == reflect.String && f.Name != "Schema":
				out[f.Name] = x.String()
			case f.Type == reflect.TypeFor[LockSQL]():
				out[f.Name+".Hinted"], out[f.Name+".Seek"] = x.Field(0).String(), x.Field(1).String()
			}
		}
	}
	walk(reflect.ValueOf(s).Elem())
	return out
}

// Every statement that reads or changes rows of the jobs tables names the
// queue (Citus distributes them by queue; a statement that does not goes
// to every shard). The exceptions insert rows that carry their queue, or
// list the queues themselves.
func TestJobStatementsFilterOnQueue(t *testing.T) {
	exempt := map[string]bool{
		"Enqueue": true, "InsertRows": true, "InsertRowsNotify": true, "DieRows": true, "ReserveIDs": true,
		"QueueList": true, "QueueStatsAll": true, "MayForget": true,
	}
	for _, d := range []Dialect{PostgreSQL, Citus} {
		checked := 0
		for name, sql := range statements(New("s", d, true)) {
			if exempt[name] || !strings.Contains(sql, `"s".gue_jobs`) {
				continue
			}
			checked++
			if !strings.Contains(sql, "queue = $1") && !strings.Contains(sql, "queue = ANY") && !strings.Contains(sql, byKeys) {
				t.Errorf("dialect %v: %s does not filter on the queue:\n%s", d, name, sql)
			}
		}
		// Control: the walk reaches the job statements.
		if checked < 15 {
			t.Errorf("dialect %v: only %d job statements checked", d, checked)
		}
	}
}

// Each session ending is its plain ending with one more parameter, the
// lock holder's name, and the proof of the lock wherever the plain one
// matches the job: the cancellation request it forgets too.
func TestSessionEndingsProveTheLock(t *testing.T) {
	s := New("s", PostgreSQL, true)
	for _, c := range []struct {
		name, plain, session, holder string
	}{
		{"Delete", s.Delete, s.SessionDelete, "$3::text"},
		{"DeleteAsync", s.DeleteAsync, s.SessionDeleteAsync, "$3::text"},
		{"Fail", s.Fail, s.SessionFail, "$5::text"},
		{"Snooze", s.Snooze, s.SessionSnooze, "$4::text"},
		{"Die", s.Die, s.SessionDie, "$6::text"},
		{"DeleteMany", "", s.SessionDeleteMany, "$3::text"},
	} {
		if c.plain != "" && strings.Contains(c.plain, "$"+c.holder[1:2]) {
			t.Errorf("%s: the plain ending already has parameter %s", c.name, c.holder)
		}
		proof := "a.pid = split_part(" + c.holder + ", ' ', 1)::int"
		matches := max(strings.Count(c.plain, jobMatch), 1)
		if strings.Count(c.session, proof) != matches {
			t.Errorf("%s: %d matches of the job, the session ending proves the lock %d times:\n%s",
				c.name, matches, strings.Count(c.session, proof), c.session)
		}
		if strings.Contains(c.plain, "pg_stat_get_activity") {
			t.Errorf("%s: control: the plain ending names pg_stat_get_activity", c.name)
		}
	}
	// Both of Die's matches: the job and its cancellation request.
	if n := strings.Count(s.SessionDie, "pg_stat_get_activity"); n != 2 {
		t.Errorf("SessionDie proves the lock %d times, want 2", n)
	}
	if New("s", Citus, true).SessionDeleteAsync != "" {
		t.Error("SessionDeleteAsync on Citus, where DeleteAsync is empty")
	}
}
