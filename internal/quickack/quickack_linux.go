package quickack

import "syscall"

const (
	supported   = true
	tcpQuickAck = syscall.TCP_QUICKACK
)
