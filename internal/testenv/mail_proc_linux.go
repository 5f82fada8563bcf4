//go:build linux

package testenv

import (
	"os/exec"
	"syscall"
)

// setOwnProcessGroup puts the server started by cmd, and the children it
// forks, in a process group of their own, which killProcessGroup ends.
func setOwnProcessGroup(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
}

// killProcessGroup kills what is left of the process group of pid, a
// server started with setOwnProcessGroup that has exited: children that
// outlive their master. The group's id stays reserved while any member
// lives, so this reaches no other process.
func killProcessGroup(pid int) {
	_ = syscall.Kill(-pid, syscall.SIGKILL)
}
