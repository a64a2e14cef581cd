package footmetrics_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	fm "github.com/footanalytics/footmetrics/bindings-c/go"
)

// startTLSSink starts the testkit's OTLP receiver serving TLS on both ports and demanding a
// client certificate (`otlp-sink --tls DIR --mtls`); it writes its PKI into DIR.
func startTLSSink(t *testing.T) (httpPort, grpcPort int, dir string, client *http.Client) {
	t.Helper()
	dir = t.TempDir()
	_, httpPort, grpcPort = runOTLPSink(t, "--tls", dir, "--mtls")
	ca, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca)
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert}}}}
	return httpPort, grpcPort, dir, client
}

func TestOTLPOverMutualTLSIsExact(t *testing.T) {
	httpPort, grpcPort, dir, client := startTLSSink(t)
	for i, grpc := range []bool{false, true} {
		t.Run(fmt.Sprintf("grpc=%v", grpc), func(t *testing.T) {
			r := fm.NewRegistry()
			g := fm.NewGauge(fm.GaugeOpts{Name: "go_tls_value", Help: "V."})
			r.MustRegister(g)
			g.Set(float64(i) + 0.5)
			port := httpPort
			opts := []fm.OTLPOption{fm.WithOTLPRegistry(r),
				fm.WithOTLPTLSCAFile(filepath.Join(dir, "ca.pem")),
				fm.WithOTLPTLSClientCertFiles(filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem")),
				fm.WithOTLPBearerToken("g0-token")}
			if grpc {
				port = grpcPort
				opts = append(opts, fm.WithOTLPGRPC())
			}
			endpoint := fmt.Sprintf("https://127.0.0.1:%d", port)
			e, err := fm.StartOTLPExporter(endpoint, time.Hour, opts...)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.ForceFlush(context.Background()); err != nil {
				t.Fatalf("%v %+v", err, e.Stats())
			}
			resp, err := client.Get(fmt.Sprintf("https://127.0.0.1:%d/received", httpPort))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var got struct {
				Points         []sinkPoint `json:"points"`
				Authorizations []string    `json:"authorizations"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
				t.Fatal(err)
			}
			var values []float64
			for _, p := range got.Points {
				if p.Name == "go_tls_value" {
					values = append(values, p.Value)
				}
			}
			if last := values[len(values)-1]; last != float64(i)+0.5 {
				t.Fatalf("values %v", values)
			}
			if a := got.Authorizations[len(got.Authorizations)-1]; a != "Bearer g0-token" {
				t.Fatalf("authorization %q", a)
			}
			if err := e.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}

			// Another CA: not delivered, in time, and the error says why.
			opts[1] = fm.WithOTLPTLSCAFile(filepath.Join(dir, "other-ca.pem"))
			opts = append(opts, fm.WithOTLPTimeout(2*time.Second))
			wrong, err := fm.StartOTLPExporter(endpoint, time.Hour, opts...)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			start := time.Now()
			err = wrong.ForceFlush(ctx)
			if !errors.Is(err, fm.ErrNotDelivered) || time.Since(start) > 5*time.Second {
				t.Fatalf("wrong CA: %v after %v", err, time.Since(start))
			}
			if !strings.Contains(wrong.LastError(), "UnknownIssuer") {
				t.Fatalf("last error: %q", wrong.LastError())
			}
			ctx2, cancel2 := context.WithTimeout(context.Background(), time.Second)
			defer cancel2()
			_ = wrong.Shutdown(ctx2)
		})
	}
}
