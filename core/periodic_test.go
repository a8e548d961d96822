package gue

import (
	"context"
	"errors"
	"testing"
	"time"
)

type stuck struct{}

func (stuck) Next(t time.Time) time.Time { return t }

func TestEveryTicksOnMultiples(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 7, 300, time.UTC)
	if got, want := Every(time.Second).Next(at), time.Date(2026, 11, 25, 10, 0, 8, 0, time.UTC); !got.Equal(want) {
		t.Errorf("Every(1s).Next(%s) = %s, want %s", at, got, want)
	}
	if got, want := Every(time.Minute).Next(time.Date(2026, 11, 25, 10, 1, 0, 0, time.UTC)), time.Date(2026, 11, 25, 10, 2, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("Every(1m) on a tick = %s, want the next one %s", got, want)
	}
	if got := Every(0).Next(at); !got.Equal(at) {
		t.Errorf("Every(0) advanced: %s", got)
	}
}

func TestPeriodicDeclarationsAreChecked(t *testing.T) {
	job := func() *Job { return &Job{Type: "x"} }
	for name, opts := range map[string][]WorkerPoolOption{
		"empty name":    {WithPoolPeriodic("", Every(time.Second), job)},
		"nil schedule":  {WithPoolPeriodic("a", nil, job)},
		"nil job":       {WithPoolPeriodic("a", Every(time.Second), nil)},
		"not advancing": {WithPoolPeriodic("a", stuck{}, job)},
		"every 0":       {WithPoolPeriodic("a", Every(0), job)},
		"twice":         {WithPoolPeriodic("a", Every(time.Second), job), WithPoolPeriodic("a", Every(time.Hour), job)},
	} {
		p := NewWorkerPool(NewClient(nil), WorkMap{}, 1, opts...)
		if err := p.Start(context.Background()); !errors.Is(err, ErrInvalidSchedule) {
			t.Errorf("%s: Start returned %v, want ErrInvalidSchedule", name, err)
		}
	}
}
