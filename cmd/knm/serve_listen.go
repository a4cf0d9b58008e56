package main

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
)

// listenAddr binds addr for serve, demo and the emulator. A bare port listens on
// loopback, like the default 127.0.0.1:8000: exposing the API on every interface takes an
// explicit :PORT or HOST:PORT.
func listenAddr(addr string) (net.Listener, error) {
	if p, err := strconv.Atoi(addr); err == nil && p >= 0 && p <= 65535 {
		addr = net.JoinHostPort("127.0.0.1", addr)
	}
	ln, err := net.Listen("tcp", addr)
	switch {
	case err == nil:
		return ln, nil
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, fmt.Errorf("--listen %s: the address is in use by another process: %w", addr, err)
	case errors.As(err, new(*net.AddrError)):
		return nil, usageError("--listen %q: %v (write HOST:PORT, :PORT for every interface, or PORT for "+
			"127.0.0.1)", addr, err)
	}
	return nil, fmt.Errorf("--listen %s: %w", addr, err)
}
