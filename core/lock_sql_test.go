package gue

import (
	"strings"
	"testing"

	"github.com/gue-go/gue/core/internal/lockplan"
)

// Each kind of lock query has its own statement, plain and for Citus,
// chosen by kind rather than looked up by its text.
func TestLockSQLOfKind(t *testing.T) {
	q := newQueries("public")
	for _, l := range []lockSQL{q.lock, q.citusLock} {
		if l.of(lockplan.Seek) != l.seek || l.of(lockplan.Hinted) != l.hinted || l.of(lockplan.Full) != l.hinted {
			t.Error("a kind maps to the wrong statement")
		}
		if l.seek == l.hinted || l.seek == "" {
			t.Error("control: the seek and the hinted query should differ")
		}
	}
	for _, sql := range []string{q.citusLock.seek, q.citusLock.hinted} {
		if strings.Contains(sql, readyNow) || !strings.Contains(sql, "$5::timestamptz") {
			t.Errorf("a Citus lock query does not compare run_at with the coordinator's clock:\n%s", sql)
		}
	}
	for _, sql := range []string{q.lock.seek, q.lock.hinted} {
		if !strings.Contains(sql, readyNow) {
			t.Errorf("a lock query does not compare run_at with now():\n%s", sql)
		}
	}
}
