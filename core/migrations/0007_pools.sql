-- Running worker pools, one row each, written by the pool itself every few
-- seconds (never once per job): what it runs and how much it worked. A
-- stopped pool deletes its row; a dead one stops beating and expires (rows
-- whose heartbeat is older than a minute are ignored and swept).
CREATE TABLE IF NOT EXISTS {{schema}}.gue_pools
(
    pool_id          TEXT        NOT NULL PRIMARY KEY,
    host             TEXT        NOT NULL,
    pid              INTEGER     NOT NULL,
    queues           TEXT[]      NOT NULL,
    workers          INTEGER     NOT NULL,
    started_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    heartbeat_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    in_flight_ids    BIGINT[]    NOT NULL DEFAULT '{}',
    in_flight_queues TEXT[]      NOT NULL DEFAULT '{}',
    worked           BIGINT      NOT NULL DEFAULT 0,
    failed           BIGINT      NOT NULL DEFAULT 0
);

-- Jobs worked and failed per queue and minute, added by each pool's
-- heartbeat; rows older than two hours are swept. The dashboard's throughput
-- chart and `gue stats` read it.
CREATE TABLE IF NOT EXISTS {{schema}}.gue_throughput
(
    queue  TEXT        NOT NULL,
    minute TIMESTAMPTZ NOT NULL,
    worked BIGINT      NOT NULL DEFAULT 0,
    failed BIGINT      NOT NULL DEFAULT 0,
    PRIMARY KEY (queue, minute)
);
