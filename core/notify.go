package gue

import (
	"context"
	"strings"
	"time"

	"github.com/gue-go/gue/core/adapter"
	"github.com/gue-go/gue/core/internal/wake"
)

// listen keeps a LISTEN connection while ctx lives and fires signal for every
// notification of a ready job in one of schema's queues, and kick for every
// cancellation there. A lost connection is retried every second; the
// workers poll meanwhile. An outage is logged once, when it begins, and
// once more when LISTEN works again: the retries in between are Debug.
func listen(ctx context.Context, l adapter.Listener, schema string, lanes []*lane, signal *wake.Signal, due *wake.DueTimer, kick chan<- struct{}, log adapter.Logger) {
	ready, cancelled := make(map[string]*lane, len(lanes)), make(map[string]bool, len(lanes))
	for _, l := range lanes {
		ready[wake.Payload(schema, l.queue)], cancelled[wake.CancelPayload(schema, l.queue)] = l, true
	}
	var downSince time.Time // zero while listening or before the first try
	for ctx.Err() == nil {
		conn, err := l.Listen(ctx, wake.Channel)
		switch {
		case err != nil && ctx.Err() != nil:
		case err != nil && downSince.IsZero():
			downSince = time.Now()
			log.Error("could not LISTEN; polling until it can", adapter.Err(err))
		case err != nil:
			log.Debug("could not LISTEN", adapter.Err(err))
		case !downSince.IsZero():
			log.Info("LISTEN works again", adapter.F("outage", time.Since(downSince).Round(time.Millisecond)))
			downSince = time.Time{}
		}
		if err == nil {
			wakeLanes(lanes)
			signal.Fire() // jobs may have arrived while not listening
			for {
				got, err := conn.WaitForNotification(ctx)
				if err != nil {
					if ctx.Err() == nil {
						downSince = time.Now()
						log.Error("LISTEN connection lost; polling until it is back", adapter.Err(err))
					}
					break
				}
				switch {
				case cancelled[got]:
					select {
					case kick <- struct{}{}:
					default: // a look is due already
					}
				case ready[got] != nil:
					ready[got].wake()
					signal.Fire()
				case !strings.Contains(got, "\x1f"):
					wakeLanes(lanes)
					signal.Fire()
				default:
					if p, t, ok := wake.ParseDue(got); ok && ready[p] != nil {
						due.At(t)
					}
				}
			}
			_ = conn.Close(context.WithoutCancel(ctx))
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
