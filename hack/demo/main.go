// Command demo renders the bundled example platform with gwctl's libraries (egress on), starts
// local upstreams (three vLLM simulators behind the InferencePool and a stand-in for the
// Anthropic API), serves the render with the dataplane on loopback, and sends a few requests so
// a newcomer sees one routed end to end. `make demo` runs it; -serve keeps it running.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/infergw/gwctl/dataplane/bootstrap"
	"github.com/infergw/gwctl/dataplane/pool/vllmsim"
	"github.com/infergw/gwctl/dataplane/wiring"
	"github.com/infergw/gwctl/groups"
	"github.com/infergw/gwctl/pkg/catalog"
	"github.com/infergw/gwctl/pkg/platform"
	"github.com/infergw/gwctl/pkg/render"
)

func main() {
	serve := flag.Bool("serve", false, "keep serving after the sample requests (Ctrl-C to stop)")
	listen := flag.String("listen", "127.0.0.1:0", "gateway address")
	flag.Parse()
	if err := run(*serve, *listen); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(serve bool, listen string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Local upstreams: a fleet of vLLM simulators and an Anthropic stand-in.
	var sims []string
	for i := 0; i < 3; i++ {
		s, err := vllmsim.New(vllmsim.Config{Model: "llama-3-8b-instruct", Seed: uint64(i + 1)})
		if err != nil {
			return err
		}
		if err := s.Start("127.0.0.1:0"); err != nil {
			return err
		}
		defer s.Close()
		sims = append(sims, s.Addr())
	}
	anthropic, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = http.Serve(anthropic, http.HandlerFunc(fakeAnthropic)) }()
	aport := anthropic.Addr().(*net.TCPAddr).Port

	// Render the platform exactly as `gwctl render --enable egress` would, pointing egress at the stand-in.
	resources, err := renderResources([]string{"egress"}, []string{
		"secretStore.name=demo-store", "egress.host=127.0.0.1", "egress.port=" + strconv.Itoa(aport),
	})
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "gwctl-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfgFile := filepath.Join(dir, "resources.yaml")
	if err := os.WriteFile(cfgFile, resources, 0o644); err != nil {
		return err
	}
	secretDir := filepath.Join(dir, "secrets", "anthropic-api-key")
	if err := os.MkdirAll(secretDir, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(secretDir, "Authorization"), []byte("sk-ant-demo-not-a-real-key"), 0o600); err != nil {
		return err
	}

	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	d := bootstrap.New(bootstrap.Settings{Config: []string{cfgFile}, SecretsDir: filepath.Dir(secretDir), AssumeServices: true}, log)
	if _, err := wiring.Install(ctx, d, wiring.Options{PoolEndpoints: map[string][]string{"vllm.inference": sims}}); err != nil {
		return err
	}
	if _, err := d.Load(); err != nil {
		return fmt.Errorf("the dataplane refused the render: %w", err)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	admin, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx, ln, admin) }()

	fmt.Printf("dataplane serving the bundled platform (egress on) at %s, admin at http://%s\n", url, admin.Addr())
	fmt.Printf("InferencePool inference/vllm -> %s\n\n", strings.Join(sims, ", "))
	for _, c := range []struct{ title, model string }{
		{"local model, picked from the InferencePool by queue, KV cache and prefix", "llama-3-8b-instruct"},
		{"egress: OpenAI request translated to Anthropic Messages and back", "claude-haiku-4-5"},
		{"unknown model: no route", "gpt-unknown"},
	} {
		fmt.Printf("$ curl %s/v1/chat/completions -d '{\"model\":%q,...}'   # %s\n", url, c.model, c.title)
		body := fmt.Sprintf(`{"model":%q,"max_tokens":8,"messages":[{"role":"user","content":"Hello from the gwctl demo"}]}`, c.model)
		resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			cancel()
			return errors.Join(err, <-done)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var pretty bytes.Buffer
		if json.Indent(&pretty, out, "  ", "  ") != nil {
			pretty.Write(out)
		}
		fmt.Printf("  HTTP %d\n  %s\n\n", resp.StatusCode, pretty.String())
	}
	if serve {
		fmt.Printf("serving until Ctrl-C; try: curl %s/v1/chat/completions -H 'Content-Type: application/json' -d '{\"model\":\"llama-3-8b-instruct\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}'\n", url)
		<-ctx.Done()
	}
	cancel()
	return <-done
}

func renderResources(enable, set []string) ([]byte, error) {
	cat, err := catalog.Load(groups.FS, "bundled")
	if err != nil {
		return nil, err
	}
	out, err := render.Platform(context.Background(), cat, platform.Options{Enable: enable, Set: set})
	if err != nil {
		return nil, err
	}
	res, ok := out.GatewayResources()
	if !ok {
		return nil, fmt.Errorf("the render has no dataplane-resources ConfigMap")
	}
	return res, nil
}

// fakeAnthropic answers POST /v1/messages with a canned Anthropic Messages reply, so the demo
// needs no provider key. (The tests use a stand-in that also validates every request.)
func fakeAnthropic(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/messages" || r.Header.Get("x-api-key") == "" {
		http.Error(w, `{"type":"error","error":{"type":"not_found_error","message":"not found"}}`, http.StatusNotFound)
		return
	}
	var req struct {
		Model string `json:"model"`
	}
	_ = json.NewDecoder(r.Body).Decode(&req)
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"id":"msg_demo","type":"message","role":"assistant","model":%q,"content":[{"type":"text","text":"Hello! (from the Anthropic stand-in, through the gwctl dataplane)"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":11,"cache_read_input_tokens":0,"cache_creation_input_tokens":0}}`, req.Model)
}
