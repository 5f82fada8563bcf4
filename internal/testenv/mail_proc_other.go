//go:build !linux

package testenv

import "os/exec"

// setOwnProcessGroup does nothing here: children of a stopped server may
// outlive it for a moment.
func setOwnProcessGroup(*exec.Cmd) {}

func killProcessGroup(int) {}
