//go:build !linux

package quickack

const (
	supported   = false
	tcpQuickAck = 0
)
