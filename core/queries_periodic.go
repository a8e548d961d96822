package gue

// periodicQueries are the statements of periodic jobs (gue_periodic), for
// one schema.
type periodicQueries struct {
	// periodicClock is the database's clock: schedules run by it alone.
	periodicClock string
	// periodicAdd records schedule $1 with its first run $2 unless a row
	// exists.
	periodicAdd string
	// periodicLock locks schedule $1's row and returns its next run.
	periodicLock string
	// periodicRan records a tick: next run $2, ran at $3, job $4 of queue $5
	// (NULL when the tick enqueued nothing).
	periodicRan string
	// periodicMove moves schedule $1's next run to $2 without a tick.
	periodicMove string
	// periodicList and periodicDelete are Client.ListPeriodic's and
	// Client.DeletePeriodic's.
	periodicList, periodicDelete string
}

func newPeriodicQueries(schema string) periodicQueries {
	t := quoteIdent(schema) + ".gue_periodic"
	return periodicQueries{
		periodicClock: `SELECT clock_timestamp()`,
		periodicAdd:   `INSERT INTO ` + t + ` (name, next_run_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
		periodicLock:  `SELECT next_run_at FROM ` + t + ` WHERE name = $1 FOR UPDATE`,
		periodicRan: `UPDATE ` + t + ` SET next_run_at = $2, last_run_at = $3, last_job_id = COALESCE($4, last_job_id),
  last_queue = COALESCE($5, last_queue), updated_at = statement_timestamp() WHERE name = $1`,
		periodicMove:   `UPDATE ` + t + ` SET next_run_at = $2, updated_at = statement_timestamp() WHERE name = $1`,
		periodicList:   `SELECT name, next_run_at, last_run_at, last_job_id, last_queue FROM ` + t + ` ORDER BY name`,
		periodicDelete: `DELETE FROM ` + t + ` WHERE name = $1`,
	}
}
