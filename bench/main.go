// Command bench measures gue-go against River and gue v5 on one PostgreSQL,
// in one run: enqueue rate, "pre-insert N then work down", "continuous
// insert + work for T", and pickup latency on an idle queue, each system on a
// database of its own, with the same job count, worker count and no-op
// handlers. It prints a progress line while it runs and a table with ratios
// against River at the end.
//
//	cd bench && go run . -jobs 200000 -workers 50 -duration 15s
//	cd bench && go run . -jobs 50000 -backlogs 10000,1000000   # flat cost against backlog
//
// PostgreSQL: DATABASE_URL when set (a role that may create databases);
// otherwise a throwaway server with PostgreSQL's default settings: from the
// machine's own server binaries on loopback when installed (-server local),
// else a container started like the tests do (-server container,
// GUE_TEST_POSTGRES_IMAGE).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/url"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gue-go/gue/conformance"
)

// result is what one system measured.
type result struct {
	name                 string
	enqueue, drain, cont float64 // jobs/s
	p50, p99             time.Duration
}

func main() {
	jobs := flag.Int("jobs", 200_000, "jobs to pre-insert and work down")
	workers := flag.Int("workers", 50, "concurrent workers (handler slots) per system")
	batch := flag.Int("batch", 250, "jobs per transaction in gue-go's batch mode")
	duration := flag.Duration("duration", 15*time.Second, "length of the continuous insert + work phase")
	samples := flag.Int("latency-samples", 200, "jobs enqueued one at a time on an idle queue for pickup latency")
	enqCallers := flag.Int("enqueue-callers", 16, "concurrent callers for gue-go's single-job Enqueue rate, ready against future jobs (0: skip it)")
	lateSamples := flag.Int("lateness-samples", 200, "future jobs and retries each for gue-go's on-time measurement (0: skip it)")
	only := flag.String("systems", "gue-go,gue-go-batch,river-own,river,gue-v5,limit-default,limit-batch",
		"systems to run, comma-separated (gue-go-session: session mode, not run by default; river-own: River at its own bench settings; river: at -workers; limit-default, limit-batch: the raw SQL limits of gue-go's two modes, work down only; limit-unchained: the default mode's statements without carrying the next lock in the commit's round trip)")
	sweep := flag.String("batch-sweep", "", "instead of the side-by-side run: gue-go's batch mode working -jobs jobs down at each of these pool sizes, e.g. 1,2,4,8,16,32,64, against the raw SQL limit")
	queueCounts := flag.String("queues", "", "instead of the side-by-side run: one pool of each gue-go mode on each of these numbers of queues, e.g. 1,20,200: the first queue's -jobs jobs worked down, a trickle queue's pickup, the idle pool's transactions a second")
	backlogs := flag.String("backlogs", "", "instead of the side-by-side run: gue-go's throughput working -jobs jobs on top of each backlog size, e.g. 10000,1000000")
	server := flag.String("server", "auto", "PostgreSQL when DATABASE_URL is unset: local (the machine's own server binaries, on loopback), container (as the tests), or auto (local when installed)")
	flag.IntVar(&chunk, "enqueue-batch", chunk, "jobs per bulk insert call, for every system (gue v5 takes at most 9,362: 7 parameters a job, 65,535 a statement)")
	ioSleeps := flag.String("io", "", "instead of the side-by-side run: I/O-bound jobs, each waiting each of these times (e.g. 50ms,500ms), every system on a 20-connection budget (River, and gue-go's default, batch and session modes)")
	ioJobs := flag.Int("io-jobs", 5000, "jobs per system and job time for -io; with -io-seconds, the most a system gets")
	ioSeconds := flag.Float64("io-seconds", 0, "with -io: each system gets the jobs it would work in this many seconds at its limit (slots ÷ job time), at least ten rounds of its slots and at most -io-jobs, so each runs long enough for its ramp and tail to weigh little (0: -io-jobs for every system)")
	ioOnly := flag.String("io-systems", "river-own,gue-go,gue-go-batch,gue-go-session", "systems to run with -io")
	producerSizes := flag.String("producer", "", "instead of the side-by-side run: a producer keeps the queue at -producer-depth jobs while a pool of each of these sizes works it (e.g. 4,16,64,256), every system of -producer-systems")
	producerOnly := flag.String("producer-systems", "gue-go,gue-go-batch,gue-go-session", "systems to run with -producer (also: river, at the same worker count)")
	producerDepth := flag.Int("producer-depth", 5000, "the backlog the -producer run keeps")
	producerWindow := flag.Duration("producer-window", 5*time.Second, "how long each -producer run is measured, after a warm-up of a fifth of it")
	vacuumWindow := flag.Duration("vacuum", 0, "instead of the side-by-side run: one job runs this long in each system of -vacuum-systems while the application updates a table of its own; VACUUM of that table then reports the dead rows it could not remove (e.g. 40s)")
	vacuumOnly := flag.String("vacuum-systems", "river-own,gue-go,gue-go-batch,gue-go-session", "systems to run with -vacuum")
	pressureHold := flag.Duration("pressure", 0, "instead of the side-by-side run: each system of -pressure-systems works a queue kept at -producer-depth jobs with -workers workers, before, during this long of each kind of -pressure-kinds, and after (e.g. 60s)")
	pressureOnly := flag.String("pressure-systems", "gue-go,gue-go-batch,gue-go-session", "systems to run with -pressure")
	pressureKindList := flag.String("pressure-kinds", "holder,readers", "kinds of pressure: holder (an idle transaction with an ID), readers (4 REPEATABLE READ readers of gue_jobs)")
	pressureWindow := flag.Duration("pressure-window", 10*time.Second, "how long -pressure measures before and after the pressure")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the bench process to this file")
	allocProfile := flag.String("allocprofile", "", "write a profile of the bench process's allocations (pprof's allocs) to this file at the end")
	flag.StringVar(&citusWorkers, "citus-workers", "", "DATABASE_URL is a Citus coordinator with these workers (comma-separated URLs, as scripts/citus-cluster.sh prints): each database is set up on them, and gue-go's tables distributed by queue")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	if *allocProfile != "" {
		defer func() {
			f, err := os.Create(*allocProfile)
			if err != nil {
				log.Fatal(err)
			}
			defer f.Close()
			if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
				log.Fatal(err)
			}
		}()
	}

	ctx := context.Background()
	sizes, err := parsePoolSizes(*producerSizes)
	if err != nil {
		log.Fatalf("-producer: %v", err)
	}
	needConns := connectionsNeeded(*workers, sizes)
	admin := os.Getenv("DATABASE_URL")
	switch {
	case admin != "":
		// Someone's server: leave it as it was.
		if err := checkConnections(ctx, admin, needConns); err != nil {
			log.Fatalf("DATABASE_URL: %v", err)
		}
		defer dropDatabases(admin)
		atExit = append(atExit, func() { dropDatabases(admin) })
	case *server == "local" || (*server == "auto" && findServerBin() != ""):
		bin := findServerBin()
		if bin == "" {
			log.Fatal("-server local: no /usr/lib/postgresql/*/bin/initdb on this machine")
		}
		// -pressure reports the lock statements' cost, which the server
		// counts with pg_stat_statements; the other runs keep the
		// default settings whole.
		opts := asServerOptions(serverSettings(needConns))
		settings := "default settings"
		if len(opts) > 0 {
			settings += fmt.Sprintf(" but max_connections=%d", needConns)
		}
		if *pressureHold > 0 && lockStatsAvailable(bin) {
			opts = append(opts, lockStatsPreload)
			settings += " but pg_stat_statements loaded"
		}
		s, dsn, err := startLocalServer(ctx, bin, opts...)
		if err != nil {
			log.Fatalf("local PostgreSQL from %s: %v", bin, err)
		}
		defer s.stop()
		atExit = append(atExit, s.stop)
		admin = dsn
		fmt.Fprintf(os.Stderr, "bench: PostgreSQL from %s on loopback, %s\n", bin, settings)
	case *server == "auto" || *server == "container":
		// PostgreSQL's default settings, as the comparison is about them,
		// not the tests' fsync=off.
		var err error
		if admin, err = conformance.StartServerWith(serverSettings(needConns)...); err != nil {
			log.Fatal(err)
		}
		defer conformance.Terminate()
		atExit = append(atExit, conformance.Terminate)
	default:
		log.Fatalf("-server %q: want auto, local or container", *server)
	}
	all := map[string]system{
		"gue-go":       &gueGo{name: "gue-go default (tx per job)", workers: *workers, poll: 100 * time.Millisecond},
		"gue-go-batch": &gueGo{name: fmt.Sprintf("gue-go batch=%d", *batch), workers: *workers, batch: *batch, poll: 100 * time.Millisecond},
		// Not in the default list: session mode is for jobs that wait
		// (-io); here it shows what it costs short jobs.
		"gue-go-session": &gueGo{name: "gue-go session", workers: *workers, session: true, poll: 100 * time.Millisecond},
		"river":          &riverSystem{workers: *workers, cooldown: time.Millisecond, pollEvery: 10 * time.Millisecond},
		"river-own":      &riverSystem{workers: 2000, own: true, cooldown: 2 * time.Millisecond, pollEvery: 20 * time.Millisecond},
		"gue-v5":         &gueV5{workers: *workers},
		// The statements of a default-mode job at the same client count,
		// and batch mode's DELETE … LIMIT at 2 clients (its best on 2 cores).
		"limit-default":   &limit{name: fmt.Sprintf("raw SQL limit: default mode's statements (DELETE+COMMIT+BEGIN+lock in one round trip) × %d clients", *workers), clients: *workers, perStatement: 1, chain: true},
		"limit-unchained": &limit{name: fmt.Sprintf("raw SQL limit: the same statements in two round trips (BEGIN+lock, DELETE+COMMIT) × %d clients", *workers), clients: *workers, perStatement: 1},
		"limit-batch":     &limit{name: fmt.Sprintf("raw SQL limit: DELETE … LIMIT %d × 2 clients", *batch), clients: 2, perStatement: *batch},
	}
	if *sweep != "" {
		var sizes []int
		for _, f := range strings.Split(*sweep, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				fatalf("-batch-sweep: %q is not a pool size", f)
			}
			sizes = append(sizes, n)
		}
		if err := measureSweep(ctx, os.Stdout, admin, sizes, *batch, *jobs); err != nil {
			fatalf("batch sweep: %v", err)
		}
		return
	}
	if *queueCounts != "" {
		var rs []queuesResult
		for _, key := range []string{"gue-go", "gue-go-batch"} {
			for _, f := range strings.Split(*queueCounts, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(f))
				if err != nil || n < 1 {
					fatalf("-queues: %q is not a number of queues", f)
				}
				r, err := measureQueues(ctx, admin, all[key].(*gueGo), n, *jobs)
				if err != nil {
					fatalf("%d queues: %v", n, err)
				}
				rs = append(rs, r)
			}
		}
		reportQueues(os.Stdout, rs, *jobs)
		return
	}
	if *producerSizes != "" {
		var rs []producerResult
		for _, key := range strings.Split(*producerOnly, ",") {
			for _, n := range sizes {
				sys, ok := producerSystems(n, *batch)[strings.TrimSpace(key)]
				if !ok {
					fatalf("-producer-systems: unknown system %q", key)
				}
				progress("%s, %d workers", sys.Name(), n)
				r, err := measureProducer(ctx, admin, sys, n, *producerDepth, *producerWindow/5, *producerWindow)
				if err != nil {
					fatalf("-producer %s, %d workers: %v", sys.Name(), n, err)
				}
				rs = append(rs, r)
			}
		}
		progress("")
		reportProducer(os.Stdout, rs, *producerDepth, *producerWindow)
		return
	}
	if *pressureHold > 0 {
		var rs []pressureResult
		for _, kind := range strings.Split(*pressureKindList, ",") {
			for _, key := range strings.Split(*pressureOnly, ",") {
				sys, ok := producerSystems(*workers, *batch)[strings.TrimSpace(key)]
				if !ok {
					fatalf("-pressure-systems: unknown system %q", key)
				}
				progress("%s, %s", sys.Name(), kind)
				r, err := measurePressure(ctx, admin, sys, strings.TrimSpace(kind), *workers, *producerDepth, *pressureWindow, *pressureHold)
				if err != nil {
					fatalf("-pressure %s, %s: %v", sys.Name(), kind, err)
				}
				rs = append(rs, r)
			}
		}
		progress("")
		reportPressure(os.Stdout, rs, *workers, *producerDepth, *pressureWindow, *pressureHold)
		return
	}
	if *vacuumWindow > 0 {
		var rs []vacuumResult
		for _, key := range strings.Split(*vacuumOnly, ",") {
			h := newJobHold()
			sys, ok := vacuumSystems(h, *batch)[strings.TrimSpace(key)]
			if !ok {
				fatalf("-vacuum-systems: unknown system %q", key)
			}
			progress("%s, one job of %s", sys.Name(), *vacuumWindow)
			r, err := measureVacuum(ctx, admin, sys, h, *vacuumWindow)
			if err != nil {
				fatalf("-vacuum %s: %v", sys.Name(), err)
			}
			rs = append(rs, r)
		}
		progress("")
		reportVacuum(os.Stdout, rs, *vacuumWindow)
		return
	}
	if *ioSleeps != "" {
		var rs []ioResult
		for _, f := range strings.Split(*ioSleeps, ",") {
			d, err := time.ParseDuration(strings.TrimSpace(f))
			if err != nil || d <= 0 {
				fatalf("-io: %q is not a job time", f)
			}
			systems := ioSystems(d, *batch)
			for _, key := range strings.Split(*ioOnly, ",") {
				sys, ok := systems[strings.TrimSpace(key)]
				if !ok {
					fatalf("-io-systems: unknown system %q", key)
				}
				n := ioJobCount(sys.slots, d, *ioSeconds, *ioJobs)
				progress("%s, %d jobs of %s", sys.s.Name(), n, d)
				r, err := measureIO(ctx, admin, sys.s, sys.slots, n, d)
				if err != nil {
					fatalf("-io %s, %s: %v", d, sys.s.Name(), err)
				}
				progress("")
				rs = append(rs, r)
			}
		}
		reportIO(os.Stdout, rs)
		return
	}
	if *backlogs != "" {
		var rs []backlogResult
		for _, key := range []string{"gue-go", "gue-go-batch"} {
			for _, b := range strings.Split(*backlogs, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(b))
				if err != nil {
					fatalf("-backlogs: %v", err)
				}
				r, err := measureBacklog(ctx, admin, all[key].(*gueGo), n, *jobs)
				if err != nil {
					fatalf("backlog %d: %v", n, err)
				}
				rs = append(rs, r)
			}
		}
		reportBacklog(os.Stdout, rs, *jobs)
		return
	}
	var results []result
	for _, key := range strings.Split(*only, ",") {
		s, ok := all[strings.TrimSpace(key)]
		if !ok {
			fatalf("unknown system %q", key)
		}
		r, err := measure(ctx, admin, s, *jobs, *workers, *duration, *samples)
		if err != nil {
			fatalf("%s: %v", s.Name(), err)
		}
		results = append(results, r)
	}
	report(os.Stdout, results, *jobs, *workers, *duration)
	if *enqCallers > 0 && strings.Contains(*only, "gue-go") {
		r, err := measureEnqueue(ctx, admin, *enqCallers, 5*time.Second)
		if err != nil {
			fatalf("enqueue rate: %v", err)
		}
		reportEnqueue(os.Stdout, r)
	}
	if *lateSamples > 0 && strings.Contains(*only, "gue-go") {
		var ls []lateness
		for _, busy := range []bool{false, true} {
			l, err := measureLateness(ctx, admin, *workers, *lateSamples, busy)
			if err != nil {
				fatalf("lateness: %v", err)
			}
			ls = append(ls, l)
		}
		fmt.Fprintln(os.Stderr)
		reportLateness(os.Stdout, ls)
	}
}

// atExit stops what main started (a local server, a container) when fatalf
// ends the process, which skips main's deferred calls.
var atExit []func()

// fatalf logs, runs atExit and exits with status 1.
func fatalf(format string, args ...any) {
	fmt.Fprintln(os.Stderr)
	log.Printf(format, args...)
	for i := len(atExit) - 1; i >= 0; i-- {
		atExit[i]()
	}
	os.Exit(1)
}

// progress prints a line that overwrites itself.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "\r\033[K"+format, args...)
}

func measure(ctx context.Context, adminDSN string, s system, jobs, workers int, duration time.Duration, samples int) (result, error) {
	r := result{name: s.Name()}
	pool, err := newDatabase(ctx, adminDSN, workers+10)
	if err != nil {
		return r, err
	}
	defer pool.Close()
	if err := s.Setup(ctx, pool); err != nil {
		return r, fmt.Errorf("setup: %w", err)
	}

	// 1. enqueue rate (bulk)
	progress("%s: enqueueing %d jobs", s.Name(), jobs)
	start := time.Now()
	if err := s.Enqueue(ctx, jobs); err != nil {
		return r, fmt.Errorf("enqueue: %w", err)
	}
	r.enqueue = float64(jobs) / time.Since(start).Seconds()

	// 2. work down the backlog
	var worked atomic.Int64
	start = time.Now()
	stop, err := s.Start(ctx, func() { worked.Add(1) })
	if err != nil {
		return r, err
	}
	for worked.Load() < int64(jobs) {
		time.Sleep(5 * time.Millisecond)
		if time.Since(start) > 10*time.Minute {
			stop()
			return r, fmt.Errorf("work down: %d of %d after 10 minutes", worked.Load(), jobs)
		}
		progress("%s: worked %d/%d (%.0f jobs/s)", s.Name(), worked.Load(), jobs, float64(worked.Load())/time.Since(start).Seconds())
	}
	r.drain = float64(jobs) / time.Since(start).Seconds()
	if _, ok := s.(drainOnly); ok {
		stop()
		progress("")
		return r, nil
	}

	// 3. continuous: a producer inserts batches of 100 while the workers run
	base := worked.Load()
	cctx, cancel := context.WithTimeout(ctx, duration)
	var inserted atomic.Int64
	producerDone := make(chan error, 1)
	go func() {
		for cctx.Err() == nil {
			if err := s.Enqueue(context.WithoutCancel(cctx), 100); err != nil {
				producerDone <- err
				return
			}
			inserted.Add(100)
		}
		producerDone <- nil
	}()
	start = time.Now()
	for cctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
		progress("%s: continuous %s: inserted %d, worked %d", s.Name(), time.Since(start).Round(time.Second), inserted.Load(), worked.Load()-base)
	}
	cancel()
	r.cont = float64(worked.Load()-base) / duration.Seconds()
	if err := <-producerDone; err != nil {
		stop()
		return r, fmt.Errorf("producer: %w", err)
	}
	stop()

	// 4. pickup latency on an idle queue
	if _, err := pool.Exec(ctx, truncateFor(s)); err != nil {
		return r, err
	}
	picked := make(chan time.Time, 1)
	stop, err = s.Start(ctx, func() {
		select {
		case picked <- time.Now():
		default:
		}
	})
	if err != nil {
		return r, err
	}
	time.Sleep(200 * time.Millisecond) // let the workers reach their idle loop
	lat := make([]time.Duration, 0, samples)
	for i := 0; i < samples; i++ {
		t0 := time.Now()
		if err := s.Enqueue(ctx, 1); err != nil {
			stop()
			return r, err
		}
		select {
		case t1 := <-picked:
			lat = append(lat, t1.Sub(t0))
		case <-time.After(30 * time.Second):
			stop()
			return r, fmt.Errorf("latency: job %d not picked up in 30s", i)
		}
		progress("%s: latency sample %d/%d", s.Name(), i+1, samples)
		time.Sleep(20 * time.Millisecond) // stay idle between samples
	}
	stop()
	if len(lat) > 0 { // -latency-samples 0 skips the measurement
		slices.Sort(lat)
		r.p50, r.p99 = lat[len(lat)/2], lat[len(lat)*99/100]
	}
	progress("")
	return r, nil
}

// truncateFor empties the system's job table before the latency phase.
func truncateFor(s system) string {
	switch s.(type) {
	case *riverSystem:
		return "TRUNCATE river_job"
	}
	return "TRUNCATE gue_jobs"
}

var dbSeq atomic.Int64

// citusWorkers is -citus-workers.
var citusWorkers string

// setUpCitus creates database name on every worker with the citus
// extension, and makes the coordinator's name (at u) a Citus database with
// those workers.
func setUpCitus(ctx context.Context, u *url.URL, name string) error {
	exec := func(dsn string, stmts ...string) error {
		p, err := pgxpool.New(ctx, dsn)
		if err != nil {
			return err
		}
		defer p.Close()
		for _, s := range stmts {
			if _, err := p.Exec(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	}
	coordinator := []string{"CREATE EXTENSION citus", fmt.Sprintf("SELECT citus_set_coordinator_host('%s', %s)", u.Hostname(), u.Port())}
	for _, w := range strings.Split(citusWorkers, ",") {
		wu, err := url.Parse(strings.TrimSpace(w))
		if err != nil {
			return err
		}
		if err := exec(wu.String(), "CREATE DATABASE "+name); err != nil {
			return err
		}
		wu.Path = "/" + name
		if err := exec(wu.String(), "CREATE EXTENSION citus"); err != nil {
			return err
		}
		coordinator = append(coordinator, fmt.Sprintf("SELECT citus_add_node('%s', %s)", wu.Hostname(), wu.Port()))
	}
	return exec(u.String(), coordinator...)
}

// newDatabase creates a fresh database on the server and returns a pool on it.
func newDatabase(ctx context.Context, adminDSN string, maxConns int) (*pgxpool.Pool, error) {
	admin, err := pgxpool.New(ctx, adminDSN)
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	name := fmt.Sprintf("guebench_%d_%d", time.Now().Unix(), dbSeq.Add(1))
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+name); err != nil {
		return nil, err
	}
	recordDatabase(name)
	u, err := url.Parse(adminDSN)
	if err != nil {
		return nil, err
	}
	u.Path = "/" + name
	if citusWorkers != "" {
		if err := setUpCitus(ctx, u, name); err != nil {
			return nil, fmt.Errorf("citus: %w", err)
		}
	}
	cfg, err := pgxpool.ParseConfig(u.String())
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = int32(maxConns)
	return pgxpool.NewWithConfig(ctx, cfg)
}

func quietSlog() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func report(w io.Writer, rs []result, jobs, workers int, duration time.Duration) {
	var own, same *result
	for i := range rs {
		switch rs[i].name {
		case riverOwnName:
			own = &rs[i]
		case riverSameName:
			same = &rs[i]
		}
	}
	fmt.Fprintf(w, "\njobs=%d workers=%d continuous=%s\n", jobs, workers, duration)
	if own != nil {
		fmt.Fprintf(w, "\nRatios against River at its own bench settings (MaxWorkers 2000, FetchCooldown 2ms, FetchPollInterval 20ms):\n\n")
		table(w, rs, own)
	}
	if same != nil {
		fmt.Fprintf(w, "\nSecond view, ratios against River with the same %d worker slots:\n\n", workers)
		table(w, rs, same)
	}
	if own == nil && same == nil {
		fmt.Fprintln(w)
		table(w, rs, nil)
	}
	find := func(prefix string) *result {
		for i := range rs {
			if strings.HasPrefix(rs[i].name, prefix) {
				return &rs[i]
			}
		}
		return nil
	}
	def, bat, v5 := find("gue-go default"), find("gue-go batch"), find("gue v5")
	limDef, limBat := find("raw SQL limit: default"), find("raw SQL limit: DELETE")
	fmt.Fprintln(w)
	if def != nil && v5 != nil {
		fmt.Fprintf(w, "gue-go default against gue v5: work down %.2f×, continuous %.2f×\n", def.drain/v5.drain, def.cont/v5.cont)
	}
	if def != nil && limDef != nil {
		fmt.Fprintf(w, "gue-go default at %.2f of its statements' raw SQL limit (work down)\n", def.drain/limDef.drain)
	}
	if bat != nil && limBat != nil {
		fmt.Fprintf(w, "gue-go batch at %.2f of the raw SQL batch limit (work down)\n", bat.drain/limBat.drain)
	}
}

// table prints rs with ratios against base (none for a nil base).
func table(w io.Writer, rs []result, base *result) {
	ratio := func(v, b float64) string {
		if base == nil || b == 0 {
			return ""
		}
		return fmt.Sprintf(" (%.2f×)", v/b)
	}
	fmt.Fprintln(w, "| system | enqueue jobs/s | work down jobs/s | continuous jobs/s | pickup p50 | pickup p99 |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, r := range rs {
		var be, bd, bc float64
		if base != nil {
			be, bd, bc = base.enqueue, base.drain, base.cont
		}
		if r.cont == 0 { // work down only (a raw SQL limit)
			fmt.Fprintf(w, "| %s | | %.0f%s | | | |\n", r.name, r.drain, ratio(r.drain, bd))
			continue
		}
		fmt.Fprintf(w, "| %s | %.0f%s | %.0f%s | %.0f%s | %s | %s |\n", r.name,
			r.enqueue, ratio(r.enqueue, be), r.drain, ratio(r.drain, bd), r.cont, ratio(r.cont, bc),
			r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond))
	}
}
