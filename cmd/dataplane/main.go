// Command dataplane is the gateway that serves the resources gwctl renders: routing, backends
// and policies, compiled by the same code as gwctl validate.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/infergw/gwctl/dataplane/bootstrap"
	"github.com/infergw/gwctl/dataplane/config"
	"github.com/infergw/gwctl/dataplane/epp"
	"github.com/infergw/gwctl/dataplane/kube"
	"github.com/infergw/gwctl/dataplane/llm/anthropic"
	"github.com/infergw/gwctl/dataplane/mcp"
	"github.com/infergw/gwctl/dataplane/policy/jwt"
	"github.com/infergw/gwctl/dataplane/pool"
	"github.com/infergw/gwctl/dataplane/server"
	"github.com/infergw/gwctl/dataplane/wiring"
	"github.com/infergw/gwctl/pkg/gateway"
)

// listFlag is a repeatable flag; its environment variable holds comma-separated values.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

type options struct {
	config, resolve, listen   listFlag
	poolEndpoints             listFlag
	admin, debug, secrets     string
	otlp, redis, domain       string
	logFormat, logLevel       string
	maxBody                   int64
	maxHeader                 int
	watch, shutdown, shutWait time.Duration
	noAccessLog, assumeSvc    bool
	mcpKey                    string
	poolProfile, poolWeights  string
	poolPicker                string
	poolLeastLoaded           bool
	poolScrape, bodyTimeout   time.Duration
	redisFailClosed, usage    bool
	replicas                  int
	webSearch                 bool
	serverTools               string
	publicOrigin              string
	controllerName            string
	kubernetes                bool
	kubeconfig, namespace     string
	serviceName               string
	gatewayPorts              string
	poolInProcess             bool
	eppMode, eppTLS, eppCA    string
	eppTimeout                time.Duration
}

func newFlags(o *options, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("dataplane", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Var(&o.config, "config", "gateway resources: a file, a directory (e.g. the mounted ConfigMap) or - for stdin; repeatable")
	fs.Var(&o.listen, "listen", "traffic address (default :8080): ADDR serves every Gateway listener's routes, PORT=ADDR only those of listeners on Gateway port PORT (e.g. 80=:8080, 443=:8443); HTTP/1.1 and h2c, or TLS (h2, HTTP/1.1) where the port's listeners are HTTPS (ADDR with both: by the connection's first byte); repeatable")
	fs.StringVar(&o.admin, "admin", ":9090", "admin address, for probes and Prometheus: /healthz (alive), /readyz (config loaded, not draining), /metrics; nothing else; empty disables it")
	fs.StringVar(&o.debug, "debug-addr", "127.0.0.1:15000", "debug address: /configz (the config in use as JSON: routes, upstream addresses, JWKS, policies; no secrets, no login), so keep it on loopback (kubectl port-forward reaches it); empty disables it")
	fs.StringVar(&o.secrets, "secrets-dir", "", "directory of mounted Secrets, read as <dir>/<secret-name>/<key>: provider keys, and the tls.crt and tls.key of certificates (reread every --watch-interval: a renewed certificate is served without a restart)")
	fs.Var(&o.resolve, "resolve", "Service address override for local runs: name.namespace[:port]=host:port; repeatable")
	fs.StringVar(&o.domain, "cluster-domain", "cluster.local", "cluster DNS suffix: a Service resolves to name.namespace.svc.<domain>:port")
	fs.StringVar(&o.otlp, "otlp-endpoint", "", "OTLP trace endpoint (host:port) when no frontend.tracing policy names one")
	fs.StringVar(&o.redis, "redis-addr", "", "Redis address (host:port) for rate limits shared across replicas")
	fs.BoolVar(&o.redisFailClosed, "redis-fail-closed", false, "refuse requests (503) on shared-limit routes while Redis is unreachable; default: admit them under a local bucket of capacity ÷ --replicas")
	fs.IntVar(&o.replicas, "replicas", 1, "number of dataplane replicas, for the local rate-limit fallback while Redis is down")
	fs.Var(&o.poolEndpoints, "pool-endpoints", "an InferencePool's model servers for local runs: name.namespace=host:port[;host:port...] (default: DNS of the headless Service name.namespace); repeatable")
	fs.StringVar(&o.poolProfile, "pool-scheduler", "default", "InferencePool picking profile: default (2/2/3 + LoRA 1, in-flight accounting, shed only when all are saturated, 2 fallbacks) or reference (the Inference Extension's 2/2/3)")
	fs.StringVar(&o.poolWeights, "pool-weights", "", "scorer weights over the profile's, e.g. queue=2,kv=2,prefix=3,lora=1 (a scorer not named is off)")
	fs.StringVar(&o.poolPicker, "pool-picker", "", "picker over the profile's: max-score, random, round-robin or least-in-flight")
	fs.BoolVar(&o.poolLeastLoaded, "pool-saturated-least-loaded", false, "when every endpoint is saturated, send non-sheddable requests to the least-loaded one (costs prefix affinity)")
	fs.DurationVar(&o.poolScrape, "pool-scrape-interval", 50*time.Millisecond, "how often each model server's /metrics is scraped")
	fs.BoolVar(&o.poolInProcess, "pool-in-process", false, "pick InferencePool endpoints in-process even when a pool's endpointPickerRef names a Service (default: call that endpoint picker over ext_proc)")
	fs.StringVar(&o.eppMode, "epp-mode", "full-duplex", "how endpoint pickers see requests: full-duplex (bodies streamed both ways, what the Inference Extension's EPP and llm-d require), buffered (request body buffered, response headers) or headers")
	fs.DurationVar(&o.eppTimeout, "epp-timeout", time.Second, "longest an endpoint picker may take to pick (and to answer each response message); then failureMode applies")
	fs.StringVar(&o.eppTLS, "epp-tls", "off", "TLS to endpoint pickers: off (plaintext), on (verify against the system roots or --epp-ca-file) or skip-verify (the Inference Extension's EPP serves a self-signed certificate by default)")
	fs.StringVar(&o.eppCA, "epp-ca-file", "", "PEM CA bundle that endpoint picker certificates are verified against (with --epp-tls on)")
	fs.StringVar(&o.mcpKey, "mcp-session-key", "", "32-byte key (64 hex digits or base64) that encrypts MCP session ids, the same on every replica; empty: a random key per process")
	fs.BoolVar(&o.usage, "always-include-usage", false, "send a usage chunk on every streamed chat completion, as if stream_options.include_usage were set (LiteLLM in front)")
	fs.BoolVar(&o.webSearch, "anthropic-web-search", false, "on Anthropic backends, map a chat completion's web_search_options to Anthropic's web_search server tool (billed per search); default: ignore web_search_options")
	fs.StringVar(&o.serverTools, "anthropic-server-tools", "", "comma-separated Anthropic server tool types clients may send in tools[] as Anthropic tool objects, passed through verbatim (e.g. web_search_20250305,web_fetch_20250910,code_execution_20250825); other non-function tools get 400")
	fs.StringVar(&o.publicOrigin, "public-origin", "", "scheme://host[:port] clients reach the gateway at (e.g. https://gw.example.com): the origin of JWT challenge URLs and MCP protected-resource metadata; empty: the request's Host when it is a well-formed host name")
	fs.DurationVar(&o.bodyTimeout, "request-body-timeout", time.Minute, "longest time reading one request body may take (slow clients get their connection closed); 0: no bound")
	fs.Int64Var(&o.maxBody, "max-request-body", 32<<20, "largest request body in bytes (0 = unlimited); larger requests get 413")
	fs.IntVar(&o.maxHeader, "max-header-bytes", server.DefaultMaxHeaderBytes, "largest request line and headers in bytes, HTTP/1.1 and HTTP/2 (at least 8192); larger requests get 431")
	fs.DurationVar(&o.watch, "watch-interval", 2*time.Second, "how often config files and secrets are checked for changes")
	fs.DurationVar(&o.shutdown, "shutdown-timeout", 30*time.Second, "how long SIGTERM waits for in-flight requests and streams")
	fs.DurationVar(&o.shutWait, "shutdown-delay", 0, "after SIGTERM, keep serving this long with /readyz failing before closing the listener")
	fs.StringVar(&o.logFormat, "log-format", "json", "log format: json or text")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&o.controllerName, "controller-name", gateway.DefaultControllerName, "GatewayClass controllerName this dataplane implements: Gateways of classes naming another controller (and routes to them) are left alone; a class not in the config counts as ours")
	fs.BoolVar(&o.kubernetes, "kubernetes", false, "Kubernetes mode: read the gateway resources from the API server (in-cluster config or --kubeconfig) instead of --config, route to EndpointSlices and InferencePool pods, and write status while holding the Lease")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file for --kubernetes outside a pod")
	fs.StringVar(&o.namespace, "namespace", "", "the dataplane's namespace for --kubernetes (its Lease, Service and provider Secrets); default $POD_NAMESPACE or the pod's")
	fs.StringVar(&o.serviceName, "service-name", "dataplane", "the dataplane's Service, whose address the Gateways report (--kubernetes); with --gateway-ports, whose type and pod selector each Gateway's own Service copies")
	fs.StringVar(&o.gatewayPorts, "gateway-ports", "", "FIRST-LAST: give each Gateway its own address (--kubernetes): its listeners are served on ports of this range and the leader keeps a Service per Gateway in --namespace; empty serves every Gateway on the --listen bindings and the --service-name address")
	fs.BoolVar(&o.assumeSvc, "assume-services", false, "accept references to Services that are not in the config (resolved by cluster DNS, ports unchecked)")
	fs.BoolVar(&o.noAccessLog, "no-access-log", false, "turn off the per-request access log line")
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: dataplane --config PATH [flags]\n       dataplane epp --config PATH [flags] (an InferencePool's endpoint picker over ext_proc; dataplane epp -h)\n\n"+
			"Serves Gateway API and agentgateway resources (e.g. gwctl render | dataplane --config -).\n"+
			"Traffic on --listen; /healthz, /readyz and /metrics on --admin; /configz on --debug-addr (loopback).\n"+
			"Every flag can also be set as DATAPLANE_<NAME> (dashes as underscores, e.g. DATAPLANE_SECRETS_DIR);\n"+
			"flags given on the command line win. Repeatable flags take comma-separated values from the environment.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	return fs
}

// applyEnv sets every flag not given on the command line from DATAPLANE_<NAME>.
func applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		env := "DATAPLANE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v := getenv(env)
		if v == "" {
			return
		}
		vals := []string{v}
		if _, ok := f.Value.(*listFlag); ok {
			vals = strings.Split(v, ",")
		}
		for _, x := range vals {
			if e := fs.Set(f.Name, strings.TrimSpace(x)); e != nil {
				err = fmt.Errorf("%s: %w", env, e)
			}
		}
	})
	return err
}

func parseResolve(in []string) (map[string]string, error) {
	out := map[string]string{}
	for _, r := range in {
		k, v, ok := strings.Cut(r, "=")
		if !ok || k == "" || v == "" || !strings.Contains(k, ".") || !strings.Contains(v, ":") {
			return nil, fmt.Errorf("--resolve %q: want name.namespace[:port]=host:port", r)
		}
		out[k] = v
	}
	return out, nil
}

// parsePoolEndpoints reads --pool-endpoints: name.namespace=host:port[;host:port...].
func parsePoolEndpoints(in []string) (map[string][]string, error) {
	var out map[string][]string
	for _, pe := range in {
		k, v, ok := strings.Cut(pe, "=")
		if !ok || !strings.Contains(k, ".") || v == "" {
			return nil, fmt.Errorf("--pool-endpoints %q: want name.namespace=host:port[;host:port...]", pe)
		}
		if out == nil {
			out = map[string][]string{}
		}
		out[k] = append(out[k], strings.Split(v, ";")...)
	}
	return out, nil
}

func newLogger(format, level string, w io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", level, err)
	}
	o := &slog.HandlerOptions{Level: lv}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want json or text", format)
}

// minHeaderBytes keeps --max-header-bytes above what every ordinary request needs (and above
// net/http's own 4 KiB read slack, which the limit is counted with).
const minHeaderBytes = 8 << 10

// run is main without os.Exit: 0 ok, 1 invalid config or serving error, 2 usage error.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) > 0 && args[0] == "epp" {
		return runEPP(ctx, args[1:], stdin, stdout, stderr, getenv)
	}
	var o options
	fs := newFlags(&o, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := applyEnv(fs, getenv); err != nil {
		fmt.Fprintln(stderr, "dataplane:", err)
		return 2
	}
	if (len(o.config) == 0) == !o.kubernetes || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "dataplane: --config (a file, a directory or -) or --kubernetes is required, not both")
		fs.Usage()
		return 2
	}
	if len(o.listen) == 0 {
		o.listen = listFlag{":8080"}
	}
	if o.maxHeader < minHeaderBytes {
		fmt.Fprintf(stderr, "dataplane: --max-header-bytes %d: want at least %d\n", o.maxHeader, minHeaderBytes)
		return 2
	}
	if err := bootstrap.ParseListen(o.listen); err != nil {
		fmt.Fprintln(stderr, "dataplane:", err)
		return 2
	}
	if o.gatewayPorts != "" {
		if _, err := kube.ParsePortRange(o.gatewayPorts); err != nil || !o.kubernetes {
			fmt.Fprintln(stderr, "dataplane: --gateway-ports: want FIRST-LAST (1-65535), with --kubernetes")
			return 2
		}
	}
	resolve, err := parseResolve(o.resolve)
	if err != nil {
		fmt.Fprintln(stderr, "dataplane:", err)
		return 2
	}
	log, err := newLogger(o.logFormat, o.logLevel, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "dataplane:", err)
		return 2
	}
	// Access lines are written in batches under concurrency (at most 100 ms late), not one
	// write per request.
	accessOut := server.NewLineWriter(stdout, 100*time.Millisecond)
	defer accessOut.Flush()
	accessLog, _ := newLogger(o.logFormat, o.logLevel, accessOut)
	if o.logFormat == "json" {
		// The same lines, which the server encodes without slog; the level is checked above.
		var lv slog.Level
		_ = lv.UnmarshalText([]byte(o.logLevel))
		accessLog = server.NewJSONAccessLog(accessOut, lv)
	}
	d := bootstrap.New(bootstrap.Settings{
		Config: o.config, Stdin: stdin, Listen: o.listen, Admin: o.admin, Debug: o.debug,
		SecretsDir: o.secrets, Resolve: resolve, ClusterDomain: o.domain, AssumeServices: o.assumeSvc,
		ControllerName: o.controllerName,
		OTLPEndpoint:   o.otlp, RedisAddr: o.redis, MaxRequestBody: o.maxBody, MaxHeaderBytes: o.maxHeader,
		RequestBodyTimeout: o.bodyTimeout,
		WatchInterval:      o.watch, ShutdownTimeout: o.shutdown, ShutdownDelay: o.shutWait,
		DisableAccessLog: o.noAccessLog, AccessLog: accessLog, AccessLogBuffer: accessOut,
	}, log)
	sopts := wiring.Options{OTLPEndpoint: o.otlp, Replicas: o.replicas, RedisFailClosed: o.redisFailClosed, AlwaysIncludeUsage: o.usage,
		AnthropicWebSearch: o.webSearch}
	for _, t := range strings.Split(o.serverTools, ",") {
		if t = strings.TrimSpace(t); t != "" {
			sopts.AnthropicServerTools = append(sopts.AnthropicServerTools, t)
		}
	}
	if o.publicOrigin != "" {
		if sopts.PublicOrigin, err = jwt.ParseOrigin(o.publicOrigin); err != nil {
			fmt.Fprintln(stderr, "dataplane: --public-origin:", err)
			return 2
		}
	}
	if err := anthropic.CheckServerTools(sopts.AnthropicServerTools); err != nil {
		fmt.Fprintln(stderr, "dataplane: --anthropic-server-tools:", err)
		return 2
	}
	sched, err := pool.Profile(o.poolProfile)
	if err != nil {
		fmt.Fprintln(stderr, "dataplane: --pool-scheduler:", err)
		return 2
	}
	if o.poolWeights != "" {
		if sched.Weights, err = pool.ParseWeights(o.poolWeights); err != nil {
			fmt.Fprintln(stderr, "dataplane: --pool-weights:", err)
			return 2
		}
	}
	if o.poolPicker != "" {
		sched.Picker = pool.PickerKind(o.poolPicker)
	}
	sched.SaturatedLeastLoaded = o.poolLeastLoaded
	sched.ScrapeInterval = o.poolScrape
	sopts.PoolScheduler = sched
	sopts.PoolInProcess = o.poolInProcess
	if sopts.EndpointPicker.Mode, err = epp.ParseMode(o.eppMode); err != nil {
		fmt.Fprintln(stderr, "dataplane: --epp-mode:", err)
		return 2
	}
	sopts.EndpointPicker.Timeout = o.eppTimeout
	if sopts.EndpointPicker.TLS, err = eppTLS(o.eppTLS, o.eppCA); err != nil {
		fmt.Fprintln(stderr, "dataplane:", err)
		return 2
	}
	sopts.EndpointPicker.MaxBodyBytes = o.maxBody
	if sopts.PoolEndpoints, err = parsePoolEndpoints(o.poolEndpoints); err != nil {
		fmt.Fprintln(stderr, "dataplane:", err)
		return 2
	}
	if o.mcpKey != "" {
		key, err := mcp.ParseSessionKey(o.mcpKey)
		if err != nil {
			fmt.Fprintln(stderr, "dataplane: --mcp-session-key:", err)
			return 2
		}
		sopts.SessionKey = key
	}
	if o.redis != "" {
		rc := redis.NewClient(&redis.Options{Addr: o.redis})
		defer rc.Close()
		sopts.Redis = rc
	}
	var ctl *kube.Controller
	if o.kubernetes {
		if ctl, err = kubeController(&o, d, &sopts, log, getenv); err != nil {
			fmt.Fprintln(stderr, "dataplane:", err)
			return 2
		}
	}
	if _, err := wiring.Install(ctx, d, sopts); err != nil {
		fmt.Fprintln(stderr, "dataplane:", err)
		return 1
	}
	if ctl != nil {
		serveFromEndpoints(d, ctl)
		return runKubernetes(ctx, d, ctl, stderr)
	}
	if _, err := d.Load(); err != nil {
		var inv *config.InvalidError
		if errors.As(err, &inv) {
			fmt.Fprint(stderr, config.FormatFindings(inv.Findings))
		}
		fmt.Fprintln(stderr, "dataplane: invalid config:", err)
		return 1
	}
	if err := d.ListenAndRun(ctx); err != nil {
		fmt.Fprintln(stderr, "dataplane:", err)
		return 1
	}
	return 0
}

func main() {
	bootstrap.TuneGC()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	endTrace := startTrace(os.Getenv, os.Stderr)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	endTrace()
	os.Exit(code)
}
