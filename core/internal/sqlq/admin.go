package sqlq

// Admin are the statements of the pool registry and the admin API,
// for one schema. None of them locks a job row the way workers do (no
// FOR UPDATE on reads), so a reader never makes a worker skip a job.
type Admin struct {
	// PoolBeat upserts a pool's row: $1 id, $2 host, $3 pid, $4 queues, $5
	// workers, $6 in-flight IDs and $7 their queues, $8 worked, $9 failed;
	// the lists as array literals (pgArray): a subquery turning JSON into
	// an array would be refused by Citus in an INSERT, and not every
	// driver binds Go slices.
	PoolBeat string
	// ThroughputAdd adds the counts in JSON array $1 to the current minute.
	ThroughputAdd string
	// PoolSweep deletes expired pools and old per-minute counts.
	PoolSweep  string
	PoolDelete string
	PoolList   string
	// QueueList lists the queues (see Client.Queues). Dialect, as are
	// QueueStats and QueueStatsAll (see newAdmin).
	QueueList string
	// QueueStats counts queue $1's jobs, each count bounded by $2 (NULL:
	// exact); see Client.Stats.
	QueueStats string
	// QueueStatsAll is QueueStats for every queue of QueueList, the
	// bound in $1; "" on Citus, which cannot run that join.
	QueueStatsAll string
	// ThroughputList is the per-minute counts of the last $1 microseconds.
	ThroughputList string
}

// newAdmin builds the admin statements of schema in dialect d. On Citus,
// which runs a recursive CTE only with a filter on the distribution column
// that it can see, the queues are grouped on every shard instead of found
// by loose index scans (in parallel, but reading every row), and the
// oldest ready job is read from the queue's ready range.
func newAdmin(schema string, d Dialect) Admin {
	q := Ident(schema)
	pools, tp := q+".gue_pools", q+".gue_throughput"
	t, dead, paused := q+".gue_jobs", q+".gue_jobs_dead", q+".gue_queues_paused"
	fresh := `heartbeat_at >= now() - interval '1 minute'`
	// Loose index scans: one probe per distinct queue.
	queueListSQL := `WITH RECURSIVE lq AS (
  (SELECT queue FROM ` + t + ` ORDER BY queue LIMIT 1)
  UNION ALL
  SELECT (SELECT j.queue FROM ` + t + ` j WHERE j.queue > lq.queue ORDER BY j.queue LIMIT 1) FROM lq WHERE lq.queue IS NOT NULL
), dq AS (
  (SELECT queue FROM ` + dead + ` ORDER BY queue LIMIT 1)
  UNION ALL
  SELECT (SELECT j.queue FROM ` + dead + ` j WHERE j.queue > dq.queue ORDER BY j.queue LIMIT 1) FROM dq WHERE dq.queue IS NOT NULL
)
SELECT queue FROM lq WHERE queue IS NOT NULL
UNION SELECT queue FROM dq WHERE queue IS NOT NULL
UNION SELECT queue FROM ` + paused + `
UNION SELECT unnest(queues) FROM ` + pools + ` WHERE ` + fresh
	queueListCitusSQL := `SELECT queue FROM ` + t + ` GROUP BY queue
UNION SELECT queue FROM ` + dead + ` GROUP BY queue
UNION SELECT queue FROM ` + paused + `
UNION SELECT unnest(queues) FROM ` + pools + ` WHERE ` + fresh
	queueStatsAll := `WITH queues AS (` + queueListSQL + `)
SELECT q.queue, s.* FROM queues q, LATERAL (` + queueStatsSQL(t, dead, paused, pools, tp, fresh, "q.queue", "$1", true) + `) s ORDER BY q.queue`
	if d == Citus {
		queueListSQL, queueStatsAll = queueListCitusSQL, ""
	}
	return Admin{
		// The heartbeat's time is a value of the row, set from excluded:
		// Citus allows only immutable functions in DO UPDATE SET.
		PoolBeat: `INSERT INTO ` + pools + ` AS p (pool_id, host, pid, queues, workers, in_flight_ids, in_flight_queues, worked, failed, heartbeat_at)
VALUES ($1, $2, $3, $4::text::text[], $5, $6::text::bigint[], $7::text::text[], $8, $9, now())
ON CONFLICT (pool_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, host = excluded.host, pid = excluded.pid, queues = excluded.queues,
  workers = excluded.workers, in_flight_ids = excluded.in_flight_ids, in_flight_queues = excluded.in_flight_queues,
  worked = excluded.worked, failed = excluded.failed`,
		ThroughputAdd: `INSERT INTO ` + tp + ` AS t (queue, minute, worked, failed)
SELECT x.queue, date_trunc('minute', now()), x.worked, x.failed FROM json_to_recordset($1::json) AS x(queue text, worked bigint, failed bigint)
ON CONFLICT (queue, minute) DO UPDATE SET worked = t.worked + excluded.worked, failed = t.failed + excluded.failed`,
		PoolSweep: `WITH p AS (DELETE FROM ` + pools + ` WHERE heartbeat_at < now() - interval '1 minute')
DELETE FROM ` + tp + ` WHERE minute < now() - interval '2 hours'`,
		PoolDelete: `DELETE FROM ` + pools + ` WHERE pool_id = $1`,
		PoolList: `SELECT pool_id, host, pid, array_to_json(queues)::text, workers, started_at, heartbeat_at,
  array_to_json(in_flight_ids)::text, array_to_json(in_flight_queues)::text, worked, failed
FROM ` + pools + ` WHERE ` + fresh + ` ORDER BY started_at, pool_id`,
		QueueList:  queueListSQL + ` ORDER BY 1`,
		QueueStats: queueStatsSQL(t, dead, paused, pools, tp, fresh, "$1", "$2", d == Citus),
		// One statement for every queue (the gueotel gauges' one query per
		// collection): the queue list's loose scans, then QueueStats per queue.
		QueueStatsAll: queueStatsAll,
		ThroughputList: `SELECT queue, minute, worked, failed FROM ` + tp + `
WHERE minute >= date_trunc('minute', now() - $1::bigint * interval '1 microsecond') ORDER BY minute, queue`,
	}
}

// queueStatsSQL is the counts of one queue (the SQL expression queue),
// each bounded by the expression limit (NULL: exact).
func queueStatsSQL(t, dead, paused, pools, tp, fresh, queue, limit string, citus bool) string {
	retrying := `(SELECT count(*) FROM (SELECT 1 FROM ` + t + ` WHERE queue = ` + queue + ` AND error_count > 0 AND run_at > now() LIMIT ` + limit + `) x)`
	rest := `(SELECT count(*) FROM (SELECT 1 FROM ` + dead + ` WHERE queue = ` + queue + ` LIMIT ` + limit + `) x),
  (SELECT count(*) FROM ` + pools + ` p, unnest(p.in_flight_queues) AS u(q) WHERE p.` + fresh + ` AND u.q = ` + queue + `),
  EXISTS (SELECT 1 FROM ` + paused + ` WHERE queue = ` + queue + `)`
	minute := `(SELECT COALESCE(sum(worked), 0)::bigint FROM ` + tp + ` WHERE queue = ` + queue + ` AND minute = date_trunc('minute', now()) - interval '1 minute'),
  (SELECT COALESCE(sum(failed), 0)::bigint FROM ` + tp + ` WHERE queue = ` + queue + ` AND minute = date_trunc('minute', now()) - interval '1 minute')`
	if citus {
		// Citus runs a recursive CTE only with a filter on the
		// distribution column that it can see: plain counts there.
		return `SELECT
  (SELECT count(*) FROM (SELECT 1 FROM ` + t + ` WHERE queue = ` + queue + ` AND run_at <= now() LIMIT ` + limit + `) x),
  (SELECT count(*) FROM (SELECT 1 FROM ` + t + ` WHERE queue = ` + queue + ` AND run_at > now() AND error_count = 0 LIMIT ` + limit + `) x),
  ` + retrying + `,
  ` + rest + `,
  (SELECT EXTRACT(EPOCH FROM now() - min(j.run_at))::float8 FROM ` + t + ` j WHERE j.queue = ` + queue + ` AND j.run_at <= now()),
  ` + minute
	}
	// One loose scan of the queue's priorities gives, per priority, the
	// ready and future jobs (each count bounded by the limit, so a huge
	// queue costs at most that many index entries per priority) and the
	// oldest ready run_at; retrying jobs are counted by their partial
	// index, and the scheduled ones are the future ones that are not.
	return `WITH RECURSIVE pr AS (
  (SELECT priority FROM ` + t + ` WHERE queue = ` + queue + ` ORDER BY priority LIMIT 1)
  UNION ALL
  SELECT (SELECT j.priority FROM ` + t + ` j WHERE j.queue = ` + queue + ` AND j.priority > pr.priority ORDER BY j.priority LIMIT 1)
  FROM pr WHERE pr.priority IS NOT NULL
), live AS (
  SELECT
    COALESCE(sum((SELECT count(*) FROM (SELECT 1 FROM ` + t + ` j WHERE j.queue = ` + queue + ` AND j.priority = pr.priority AND j.run_at <= now() LIMIT ` + limit + `) x)), 0) AS ready,
    COALESCE(sum((SELECT count(*) FROM (SELECT 1 FROM ` + t + ` j WHERE j.queue = ` + queue + ` AND j.priority = pr.priority AND j.run_at > now() LIMIT ` + limit + `) x)), 0) AS future,
    min((SELECT j.run_at FROM ` + t + ` j WHERE j.queue = ` + queue + ` AND j.priority = pr.priority AND j.run_at <= now() ORDER BY j.run_at LIMIT 1)) AS oldest
  FROM pr WHERE pr.priority IS NOT NULL
), r AS (SELECT ` + retrying + ` AS n)
SELECT
  LEAST(live.ready, ` + limit + `)::bigint,
  GREATEST(LEAST(live.future, ` + limit + `) - r.n, 0)::bigint,
  r.n,
  ` + rest + `,
  EXTRACT(EPOCH FROM now() - live.oldest)::float8,
  ` + minute + `
FROM live, r`
}
