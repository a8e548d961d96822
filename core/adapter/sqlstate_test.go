package adapter_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/gue-go/gue/core/adapter"
)

// pgError stands in for a driver's server error with a SQLState method.
type pgError struct{ code string }

func (e *pgError) Error() string    { return "ERROR: relation does not exist (SQLSTATE " + e.code + ")" }
func (e *pgError) SQLState() string { return e.code }

func TestWrapSQLState(t *testing.T) {
	for code, sentinel := range map[string]error{"42P01": adapter.ErrUndefinedTable, "3F000": adapter.ErrUndefinedSchema} {
		driverErr := fmt.Errorf("error preprocessing batch (prepare): %w", &pgError{code})
		got := adapter.WrapSQLState(adapter.SQLState(driverErr), driverErr)
		if !errors.Is(got, sentinel) || !errors.Is(got, driverErr) {
			t.Errorf("%s: errors.Is(sentinel) = %v, errors.Is(driver error) = %v; want both", code, errors.Is(got, sentinel), errors.Is(got, driverErr))
		}
		if got.Error() != driverErr.Error() {
			t.Errorf("%s: message %q; want the driver's %q unchanged", code, got, driverErr)
		}
		var pe *pgError
		if !errors.As(got, &pe) {
			t.Errorf("%s: errors.As no longer finds the driver's error", code)
		}
	}
	other := &pgError{"22012"}
	if got := adapter.WrapSQLState("22012", other); got != error(other) {
		t.Errorf("a code without a sentinel changed the error: %v", got)
	}
	if adapter.WrapSQLState("42P01", nil) != nil {
		t.Error("WrapSQLState(code, nil) != nil")
	}
	if adapter.SQLState(errors.New("plain")) != "" {
		t.Error("SQLState of an error without a code is not empty")
	}
}
