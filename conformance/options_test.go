package conformance

import "testing"

// The suite's own options, which no case of a passing adapter can tell
// apart from their defaults.
func TestOptions(t *testing.T) {
	var cfg config
	WithConcurrency(16, 800)(&cfg)
	if cfg.workers != 16 || cfg.jobs != 800 {
		t.Errorf("WithConcurrency(16, 800) set %d workers, %d jobs", cfg.workers, cfg.jobs)
	}
	if cfg.features != nil {
		t.Error("features declared without WithFeatures")
	}
	WithFeatures(Features{Listen: true})(&cfg)
	if cfg.features == nil || !cfg.features.Listen || cfg.features.CopyFrom {
		t.Errorf("WithFeatures(Listen) = %+v", cfg.features)
	}
	if !capListen.declared(*cfg.features) || capCopyFrom.declared(*cfg.features) {
		t.Error("capabilities read the wrong Features field")
	}
}
