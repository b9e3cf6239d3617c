// snapbench: one client's snapshot cycle (Prepare -> Commit -> Stat ->
// Remove) through containerd's own Go proxy snapshotter client, against
// stratad and, in the same run, containerd's overlayfs snapshotter served
// over the same proxy protocol (containerd's contrib/snapshotservice) by a
// child process of its own: the comparison a proxy-snapshotter user sees.
// Both servers are other processes than the client, so each round trip pays
// the same cross-process wake-ups (a server in the client's own Go runtime
// would skip them and flatter containerd).
// Prints ops/s and each call's p50/p99, then the ratio.
//
//	snapbench -stratad PATH -dir DIR [-seconds N] [-held N]
//
// -held N first makes N committed snapshots in each store (kept while the
// cycle runs), to see how each scales with what it holds.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	snapshotsapi "github.com/containerd/containerd/api/services/snapshots/v1"
	"github.com/containerd/containerd/contrib/snapshotservice"
	"github.com/containerd/containerd/snapshots"
	"github.com/containerd/containerd/snapshots/overlay"
	"github.com/containerd/containerd/snapshots/proxy"
	"google.golang.org/grpc"
)

var ops = []string{"prepare", "commit", "stat", "remove"}

type result struct {
	name   string
	cycles int
	secs   float64
	lat    map[string][]time.Duration
	rssKiB int64
}

func dial(socket string) (snapshots.Snapshotter, *grpc.ClientConn, error) {
	conn, err := grpc.Dial("unix://"+socket, grpc.WithInsecure(),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		}))
	if err != nil {
		return nil, nil, err
	}
	return proxy.NewSnapshotter(snapshotsapi.NewSnapshotsClient(conn), "bench"), conn, nil
}

func waitFor(socket string) error {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		if c, err := net.Dial("unix", socket); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("nothing serves %s", socket)
}

// serveOverlay serves containerd's overlayfs snapshotter on socket until
// SIGTERM: the body of the child process that main starts.
func serveOverlay(root, socket string) error {
	sn, err := overlay.NewSnapshotter(root)
	if err != nil {
		return err
	}
	defer sn.Close()
	l, err := net.Listen("unix", socket)
	if err != nil {
		return err
	}
	srv := grpc.NewServer()
	snapshotsapi.RegisterSnapshotsServer(srv, snapshotservice.FromSnapshotter(sn))
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-stop; srv.Stop() }()
	return srv.Serve(l)
}

// start runs a server process and stops it (SIGTERM, then wait) when the
// returned function is called.
func start(name string, args ...string) (*exec.Cmd, func()) {
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	// must() exits without running defers: the server must not outlive us.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	must(cmd.Start())
	return cmd, func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }
}

var labels = snapshots.WithLabels(map[string]string{"containerd.io/gc.root": "bench"})

func hold(ctx context.Context, sn snapshots.Snapshotter, n int) error {
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("held-%d", i)
		if _, err := sn.Prepare(ctx, key+"-a", "", labels); err != nil {
			return err
		}
		if err := sn.Commit(ctx, key, key+"-a", labels); err != nil {
			return err
		}
	}
	return nil
}

func cycle(name string, sn snapshots.Snapshotter, d time.Duration) (result, error) {
	ctx := context.Background()
	r := result{name: name, lat: map[string][]time.Duration{}}
	start := time.Now()
	for i := 0; time.Since(start) < d; i++ {
		key := fmt.Sprintf("c-%d", i)
		t := time.Now()
		if _, err := sn.Prepare(ctx, key, "", labels); err != nil {
			return r, err
		}
		r.lat["prepare"] = append(r.lat["prepare"], time.Since(t))
		t = time.Now()
		if err := sn.Commit(ctx, key+"-c", key, labels); err != nil {
			return r, err
		}
		r.lat["commit"] = append(r.lat["commit"], time.Since(t))
		t = time.Now()
		if _, err := sn.Stat(ctx, key+"-c"); err != nil {
			return r, err
		}
		r.lat["stat"] = append(r.lat["stat"], time.Since(t))
		t = time.Now()
		if err := sn.Remove(ctx, key+"-c"); err != nil {
			return r, err
		}
		r.lat["remove"] = append(r.lat["remove"], time.Since(t))
		r.cycles++
	}
	r.secs = time.Since(start).Seconds()
	return r, nil
}

func listAll(sn snapshots.Snapshotter) (time.Duration, int, error) {
	t := time.Now()
	n := 0
	err := sn.Walk(context.Background(), func(context.Context, snapshots.Info) error {
		n++
		return nil
	})
	return time.Since(t), n, err
}

func pct(v []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0
	}
	return s[int(p*float64(len(s)-1))]
}

func rssKiB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	var v int64
	for _, line := range splitLines(string(b)) {
		if _, err := fmt.Sscanf(line, "VmRSS: %d kB", &v); err == nil {
			return v
		}
	}
	return 0
}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		out = append(out, s[:i])
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return out
}

func report(r result, list time.Duration) {
	fmt.Printf("%-22s %7.0f cycles/s", r.name, float64(r.cycles)/r.secs)
	for _, op := range ops {
		fmt.Printf("  %s p50 %5dµs p99 %5dµs", op, pct(r.lat[op], 0.5).Microseconds(),
			pct(r.lat[op], 0.99).Microseconds())
	}
	fmt.Printf("  list %dms", list.Milliseconds())
	if r.rssKiB > 0 {
		fmt.Printf("  rss %d MiB", r.rssKiB/1024)
	}
	fmt.Println()
}

func main() {
	stratad := flag.String("stratad", "", "stratad binary")
	dir := flag.String("dir", "", "work directory (on the filesystem to measure)")
	seconds := flag.Float64("seconds", 5, "seconds per run")
	held := flag.Int("held", 0, "committed snapshots each store holds during the run")
	serve := flag.String("serve-overlay", "", "(internal) serve containerd's overlayfs snapshotter rooted here on -socket")
	socket := flag.String("socket", "", "(internal) socket for -serve-overlay")
	flag.Parse()
	if *serve != "" {
		must(serveOverlay(*serve, *socket))
		return
	}
	if *stratad == "" || *dir == "" {
		fmt.Fprintln(os.Stderr, "usage: snapbench -stratad PATH -dir DIR [-seconds N] [-held N]")
		os.Exit(2)
	}
	d := time.Duration(*seconds * float64(time.Second))

	// stratad
	sroot := filepath.Join(*dir, "strata")
	ssock := filepath.Join(*dir, "strata.sock")
	cmd, stopStratad := start(*stratad, "--root", sroot, "--socket", ssock, "--log-level", "warn")
	defer stopStratad()
	must(waitFor(ssock))
	ssn, sconn, err := dial(ssock)
	must(err)
	defer sconn.Close()

	// containerd's overlayfs snapshotter, served by a child process.
	oroot := filepath.Join(*dir, "overlay")
	osock := filepath.Join(*dir, "overlay.sock")
	self, err := os.Executable()
	must(err)
	ocmd, stopOverlay := start(self, "-serve-overlay", oroot, "-socket", osock)
	defer stopOverlay()
	must(waitFor(osock))
	osn, oconn, err := dial(osock)
	must(err)
	defer oconn.Close()

	ctx := context.Background()
	if *held > 0 {
		t := time.Now()
		must(hold(ctx, ssn, *held))
		fmt.Printf("stratad held %d snapshots in %.1fs\n", *held, time.Since(t).Seconds())
		t = time.Now()
		must(hold(ctx, osn, *held))
		fmt.Printf("containerd overlayfs held %d snapshots in %.1fs\n", *held, time.Since(t).Seconds())
	}
	// Alternate short runs so drift on the machine hits both alike.
	var sres, ores result
	for round := 0; round < 2; round++ {
		r, err := cycle("stratad", ssn, d/2)
		must(err)
		sres = merge(sres, r)
		r, err = cycle("containerd overlayfs", osn, d/2)
		must(err)
		ores = merge(ores, r)
	}
	sres.rssKiB = rssKiB(cmd.Process.Pid)
	ores.rssKiB = rssKiB(ocmd.Process.Pid)
	slist, sn, err := listAll(ssn)
	must(err)
	olist, on, err := listAll(osn)
	must(err)
	fmt.Printf("one client, %d held snapshots (listed %d / %d), %.0f s each\n", *held, sn, on, *seconds)
	report(sres, slist)
	report(ores, olist)
	ratio := (float64(sres.cycles) / sres.secs) / (float64(ores.cycles) / ores.secs)
	fmt.Printf("cycle ratio stratad / containerd overlayfs: %.2fx\n", ratio)
	for _, op := range ops {
		fmt.Printf("p99 %s: stratad %dµs, containerd %dµs\n", op, pct(sres.lat[op], 0.99).Microseconds(),
			pct(ores.lat[op], 0.99).Microseconds())
	}
}

func merge(a, b result) result {
	if a.lat == nil {
		return b
	}
	a.cycles += b.cycles
	a.secs += b.secs
	for k, v := range b.lat {
		a.lat[k] = append(a.lat[k], v...)
	}
	return a
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "snapbench:", err)
		os.Exit(1)
	}
}
