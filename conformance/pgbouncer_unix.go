//go:build unix

package conformance

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// chownNobody makes cmd run as the user nobody, owner of dir.
func chownNobody(cmd *exec.Cmd, dir string) error {
	u, err := user.Lookup("nobody")
	if err != nil {
		return fmt.Errorf("pgbouncer will not run as root, and there is no user nobody: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.Chown(filepath.Join(dir, e.Name()), uid, gid); err != nil {
			return err
		}
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		return err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	return nil
}
