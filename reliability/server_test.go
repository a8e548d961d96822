package reliability_test

import (
	"context"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"
	"github.com/gue-go/gue/conformance"
	"github.com/jackc/pgx/v5"
	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
)

// restartable is a PostgreSQL container of its own, bound to a fixed host
// port so that clients find it again after it is stopped and started.
var restartable struct {
	once sync.Once
	c    *tcpostgres.PostgresContainer
	dsn  string
	err  error
}

// restartableServer returns the DSN and container of the restartable server.
func restartableServer(t *testing.T) (string, *tcpostgres.PostgresContainer) {
	t.Helper()
	if os.Getenv(conformance.EnvDatabaseURL) != "" {
		t.Skipf("restarting PostgreSQL needs a container; %s names an external server", conformance.EnvDatabaseURL)
	}
	restartable.once.Do(func() {
		image := os.Getenv(conformance.EnvPostgresImage)
		if image == "" {
			image = conformance.DefaultImage
		}
		port, err := freePort()
		if err != nil {
			restartable.err = err
			return
		}
		ctx := context.Background()
		restartable.c, restartable.err = tcpostgres.Run(ctx, image,
			tcpostgres.WithDatabase("gue"), tcpostgres.WithUsername("gue"), tcpostgres.WithPassword("gue"),
			tcpostgres.BasicWaitStrategies(),
			testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
				hc.PortBindings = nat.PortMap{"5432/tcp": {{HostIP: "127.0.0.1", HostPort: strconv.Itoa(port)}}}
			}),
		)
		if restartable.err == nil {
			restartable.dsn, restartable.err = restartable.c.ConnectionString(ctx, "sslmode=disable")
		}
	})
	if restartable.err != nil {
		t.Fatalf("restartable PostgreSQL: %v", restartable.err)
	}
	return restartable.dsn, restartable.c
}

func terminateRestartable() {
	if restartable.c != nil {
		_ = testcontainers.TerminateContainer(restartable.c)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// restartServer stops PostgreSQL with a fast shutdown (SIGINT to the
// server, which is the container's PID 1), keeps it down for downtime, starts
// it again and returns when it accepts connections at dsn.
func restartServer(t *testing.T, c *tcpostgres.PostgresContainer, dsn string, downtime time.Duration) time.Time {
	t.Helper()
	ctx := context.Background()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if err := cli.ContainerKill(ctx, c.GetContainerID(), "SIGINT"); err != nil {
		t.Fatalf("stop PostgreSQL: %v", err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		st, err := c.State(ctx)
		if err == nil && !st.Running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("PostgreSQL did not stop")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(downtime) // the outage itself
	if err := c.Start(ctx); err != nil {
		t.Fatalf("start PostgreSQL: %v", err)
	}
	for {
		conn, err := pgx.Connect(ctx, dsn)
		if err == nil {
			conn.Close(ctx)
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("PostgreSQL not back: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
