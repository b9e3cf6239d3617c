// Runs containerd's own snapshotter conformance suite (snapshots/testsuite)
// against stratad through containerd's proxy snapshotter client: each test
// gets a fresh stratad on the root the suite hands it.
package conformance

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	snapshotsapi "github.com/containerd/containerd/api/services/snapshots/v1"
	"github.com/containerd/containerd/snapshots"
	"github.com/containerd/containerd/snapshots/proxy"
	"github.com/containerd/containerd/snapshots/testsuite"
	"google.golang.org/grpc"
)

func TestStrata(t *testing.T) {
	stratad := os.Getenv("STRATAD")
	if stratad == "" {
		t.Fatal("STRATAD must name the stratad binary")
	}
	testsuite.SnapshotterSuite(t, "strata", func(ctx context.Context, root string) (snapshots.Snapshotter, func() error, error) {
		return startStratad(ctx, stratad, root)
	})
}

func startStratad(ctx context.Context, stratad, root string) (snapshots.Snapshotter, func() error, error) {
	socket := filepath.Join(filepath.Dir(root), "strata.sock")
	cmd := exec.Command(stratad, "--root", root, "--socket", socket, "--log-level", "warn")
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	stop := func() error {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		return cmd.Wait()
	}
	if err := waitForSocket(socket, 20*time.Second); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, nil, err
	}
	conn, err := grpc.DialContext(ctx, "unix://"+socket,
		grpc.WithInsecure(),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		}))
	if err != nil {
		_ = stop()
		return nil, nil, err
	}
	sn := proxy.NewSnapshotter(snapshotsapi.NewSnapshotsClient(conn), "strata")
	cleanup := func() error {
		conn.Close()
		if err := stop(); err != nil {
			return fmt.Errorf("stratad did not exit cleanly: %w", err)
		}
		return nil
	}
	return sn, cleanup, nil
}

func waitForSocket(socket string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("unix", socket); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("stratad did not serve %s within %v", socket, limit)
}
