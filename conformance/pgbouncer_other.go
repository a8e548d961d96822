//go:build !unix

package conformance

import (
	"errors"
	"os/exec"
)

func chownNobody(*exec.Cmd, string) error {
	return errors.New("pgbouncer will not run as an administrator")
}
