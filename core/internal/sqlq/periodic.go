package sqlq

// Periodic are the statements of periodic jobs (gue_periodic), for
// one schema.
type Periodic struct {
	// PeriodicClock is the database's clock: schedules run by it alone.
	PeriodicClock string
	// PeriodicAdd records schedule $1 with its first run $2 unless a row
	// Exists.
	PeriodicAdd string
	// PeriodicLock locks schedule $1's row and returns its next run.
	PeriodicLock string
	// PeriodicRan records a tick: next run $2, ran at $3, job $4 of queue $5
	// (NULL when the tick enqueued nothing).
	PeriodicRan string
	// PeriodicMove moves schedule $1's next run to $2 without a tick.
	PeriodicMove string
	// PeriodicList and PeriodicDelete are Client.ListPeriodic's and
	// Client.DeletePeriodic's.
	PeriodicList, PeriodicDelete string
}

func newPeriodic(schema string) Periodic {
	t := Ident(schema) + ".gue_periodic"
	return Periodic{
		PeriodicClock: `SELECT clock_timestamp()`,
		PeriodicAdd:   `INSERT INTO ` + t + ` (name, next_run_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
		PeriodicLock:  `SELECT next_run_at FROM ` + t + ` WHERE name = $1 FOR UPDATE`,
		PeriodicRan: `UPDATE ` + t + ` SET next_run_at = $2, last_run_at = $3, last_job_id = COALESCE($4, last_job_id),
  last_queue = COALESCE($5, last_queue), updated_at = statement_timestamp() WHERE name = $1`,
		PeriodicMove:   `UPDATE ` + t + ` SET next_run_at = $2, updated_at = statement_timestamp() WHERE name = $1`,
		PeriodicList:   `SELECT name, next_run_at, last_run_at, last_job_id, last_queue FROM ` + t + ` ORDER BY name`,
		PeriodicDelete: `DELETE FROM ` + t + ` WHERE name = $1`,
	}
}
