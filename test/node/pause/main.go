// The real node's pod sandbox image (dbtopo.local/pause): holds a pod's namespaces open, reaps
// orphaned children when the pod shares its PID namespace, and exits on SIGINT/SIGTERM. A stand-in
// for registry.k8s.io/pause, which cannot be pulled here; built by test/node/build-images.sh.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range signals {
		if s != syscall.SIGCHLD {
			return
		}
		for {
			var status syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
