package footmetrics_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	fm "github.com/footanalytics/footmetrics/bindings-c/go"
)

// otlpSink is the Rust testkit's OTLP receiver (`make otlp-sink`), decoding every request
// with opentelemetry-proto; GET /received lists the data points as JSON.
type otlpSink struct {
	cmd            *exec.Cmd
	httpPort, grpc int
}

func startOTLPSink(t *testing.T, ports ...int) *otlpSink {
	t.Helper()
	args := []string{}
	for _, p := range ports {
		args = append(args, fmt.Sprint(p))
	}
	cmd, httpPort, grpcPort := runOTLPSink(t, args...)
	return &otlpSink{cmd: cmd, httpPort: httpPort, grpc: grpcPort}
}

// runOTLPSink starts the sink with args and reads the ports it reports on its first line;
// it is killed by PID when the test ends.
func runOTLPSink(t *testing.T, args ...string) (cmd *exec.Cmd, httpPort, grpcPort int) {
	t.Helper()
	bin := os.Getenv("FOOTMETRICS_OTLP_SINK")
	if bin == "" {
		bin, _ = filepath.Abs("../../target/debug/otlp-sink")
	}
	cmd = exec.Command(bin, args...)
	// The sink exits when its stdin closes: it never outlives the test binary.
	if _, err := cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v (run `make otlp-sink`)", bin, err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var p struct {
		HTTP int `json:"http_port"`
		GRPC int `json:"grpc_port"`
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || json.Unmarshal([]byte(line), &p) != nil {
		t.Fatalf("otlp-sink did not report its ports: %q %v", line, err)
	}
	return cmd, p.HTTP, p.GRPC
}

type sinkPoint struct {
	Name         string            `json:"name"`
	Type         string            `json:"type"`
	Monotonic    bool              `json:"monotonic"`
	Temporality  string            `json:"temporality"`
	Attributes   map[string]string `json:"attributes"`
	Resource     map[string]string `json:"resource"`
	Value        float64           `json:"value"`
	Count        uint64            `json:"count"`
	Sum          float64           `json:"sum"`
	Bounds       []float64         `json:"bounds"`
	BucketCounts []uint64          `json:"bucket_counts"`
}

func (s *otlpSink) points(t *testing.T) []sinkPoint {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/received", s.httpPort))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Points []sinkPoint `json:"points"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	return got.Points
}

func find(points []sinkPoint, name string, attrs map[string]string) *sinkPoint {
	for i := len(points) - 1; i >= 0; i-- {
		p := points[i]
		if p.Name == name && (len(attrs) == 0 && len(p.Attributes) == 0 || reflect.DeepEqual(p.Attributes, attrs)) {
			return &points[i]
		}
	}
	return nil
}

func TestOTLPExportIsExact(t *testing.T) {
	for _, grpc := range []bool{false, true} {
		t.Run(fmt.Sprintf("grpc=%v", grpc), func(t *testing.T) {
			sink := startOTLPSink(t)
			r := fm.NewRegistry()
			c := fm.NewCounterVec(fm.CounterOpts{Name: "exporter_scrapes_total", Help: "Scrapes."}, []string{"target"})
			g := fm.NewGauge(fm.GaugeOpts{Name: "exporter_up", Help: "Up."})
			h := fm.NewHistogram(fm.HistogramOpts{Name: "scrape_seconds", Help: "Scrape time.", Buckets: []float64{0.1, 1}})
			r.MustRegister(c, g, h)
			c.WithLabelValues("db").Add(41)
			c.WithLabelValues("db").Inc()
			g.Set(1)
			for _, v := range []float64{0.05, 0.5, 0.7, 3} {
				h.Observe(v)
			}
			port := sink.httpPort
			opts := []fm.OTLPOption{fm.WithOTLPRegistry(r), fm.WithOTLPServiceName("go-exporter"),
				fm.WithOTLPResourceAttributes(map[string]string{"deployment.environment": "test"})}
			if grpc {
				port = sink.grpc
				opts = append(opts, fm.WithOTLPGRPC())
			}
			e, err := fm.StartOTLPExporter(fmt.Sprintf("http://127.0.0.1:%d", port), time.Hour, opts...)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.ForceFlush(context.Background()); err != nil {
				t.Fatalf("%v %+v", err, e.Stats())
			}
			pts := sink.points(t)
			p := find(pts, "exporter_scrapes", map[string]string{"target": "db"})
			if p == nil || p.Type != "sum" || !p.Monotonic || p.Temporality != "cumulative" || p.Value != 42 {
				t.Fatalf("counter: %+v", p)
			}
			if p.Resource["service.name"] != "go-exporter" || p.Resource["deployment.environment"] != "test" ||
				p.Resource["telemetry.sdk.language"] != "go" {
				t.Fatalf("resource: %v", p.Resource)
			}
			if u := find(pts, "exporter_up", nil); u == nil || u.Type != "gauge" || u.Value != 1 {
				t.Fatalf("gauge: %+v", u)
			}
			hp := find(pts, "scrape_seconds", nil)
			if hp == nil || !reflect.DeepEqual(hp.Bounds, []float64{0.1, 1}) ||
				!reflect.DeepEqual(hp.BucketCounts, []uint64{1, 2, 1}) || hp.Count != 4 || hp.Sum != 4.25 {
				t.Fatalf("histogram: %+v", hp)
			}
			if e.Stats().ExportedPoints == 0 {
				t.Fatal("no exported points counted")
			}
			if err := e.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestOTLPCollectorDownThenBack(t *testing.T) {
	httpPort, grpcPort := freePort(t), freePort(t)
	r := fm.NewRegistry()
	work := fm.NewCounter(fm.CounterOpts{Name: "work_total", Help: "Work."})
	r.MustRegister(work)
	e, err := fm.StartOTLPExporter(fmt.Sprintf("127.0.0.1:%d", httpPort), 50*time.Millisecond,
		fm.WithOTLPRegistry(r), fm.WithOTLPTimeout(300*time.Millisecond), fm.WithOTLPMaxQueueBatches(2))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := e.ForceFlush(ctx); !errors.Is(err, fm.ErrNotDelivered) || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("flush to an absent collector: %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatalf("flush took %v", time.Since(start))
	}
	deadline := time.Now().Add(15 * time.Second)
	want := 0.0
	for e.Stats().DroppedPoints == 0 {
		work.Add(10) // the program keeps recording meanwhile
		want += 10
		if time.Now().After(deadline) {
			t.Fatalf("nothing dropped: %+v", e.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if q := e.Stats().QueuedBatches; q > 2 {
		t.Fatalf("queue grew to %d", q)
	}
	var b strings.Builder
	_ = r.WriteTo(&b, fm.FormatText)
	if !strings.Contains(b.String(), `footmetrics_otlp_dropped_points_total{reason="queue_full"}`) {
		t.Fatal("no drop counter in the registry")
	}
	sink := startOTLPSink(t, httpPort, grpcPort)
	deadline = time.Now().Add(30 * time.Second)
	for {
		if p := find(sink.points(t), "work", nil); p != nil && p.Value == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("data never arrived: %+v", e.Stats())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestOTLPBadOptionsAreErrors(t *testing.T) {
	r := fm.NewRegistry()
	for _, tc := range []struct {
		endpoint string
		interval time.Duration
		code     fm.Code
	}{
		{"ftp://collector", time.Second, fm.CodeInvalidOption},
		{"127.0.0.1:4318", 0, fm.CodeInvalidOption},
	} {
		_, err := fm.StartOTLPExporter(tc.endpoint, tc.interval, fm.WithOTLPRegistry(r))
		if !errors.Is(err, &fm.Error{Code: tc.code}) {
			t.Errorf("%s %v: %v", tc.endpoint, tc.interval, err)
		}
	}
	// A client certificate without its key.
	_, err := fm.StartOTLPExporter("https://collector:4318", time.Second, fm.WithOTLPRegistry(r),
		fm.WithOTLPTLSClientCertFiles("client.pem", ""))
	if !errors.Is(err, &fm.Error{Code: fm.CodeInvalidOption}) {
		t.Errorf("client certificate without a key: %v", err)
	}
	e, err := fm.StartOTLPExporter("127.0.0.1:9", time.Minute, fm.WithOTLPRegistry(r))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fm.StartOTLPExporter("127.0.0.1:9", time.Minute, fm.WithOTLPRegistry(r)); !errors.Is(err, &fm.Error{Code: fm.CodeAlreadyRegistered}) {
		t.Errorf("second exporter on one registry: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := e.Shutdown(ctx); !errors.Is(err, fm.ErrNotDelivered) {
		t.Errorf("shutdown with nothing listening: %v", err)
	}
}
