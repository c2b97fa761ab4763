package conformance

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// node plays what a cluster has and the test API server lacks: the Deployment controller
// (Pods for each Deployment), the kubelet (each Pod Ready with an address of 10.244.0.0/16,
// answered on loopback by an echo server that reports like echo-basic, or for a Pod labelled
// loopbackLabel, the dataplane, by this process's own loopback ports), the EndpointSlice
// controller (one slice per Service with ready Pods on its target ports) and kube-proxy (a
// connection to a Service's cluster IP and port reaches a ready endpoint's target port).
type node struct {
	cs kubernetes.Interface

	mu     sync.Mutex
	pods   map[string]*echoPod // by pod IP
	byName map[string]string   // ns/name -> pod IP
	local  map[string]bool     // pod IPs served on this process's loopback (the dataplane)
	vips   map[string]string   // Service clusterIP:port -> pod IP:target port
	next   int
}

// loopbackLabel marks the Pod that stands for this process (the dataplane): its address:port
// is 127.0.0.1:port.
const loopbackLabel = "conformance.gwctl.infergw.dev/loopback"

type echoPod struct {
	ns, name string
	srv      *http.Server
	addr     string // 127.0.0.1:port
	// For a pod that echo-basic would serve HTTPS too (TLS_SERVER_CERT and TLS_SERVER_PRIVKEY
	// set): its HTTPS port and the loopback address that answers it with TLS.
	tlsPort, tlsAddr string
	tlsSrv           *http.Server
}

// close stops the pod's servers.
func (p *echoPod) close() {
	_ = p.srv.Close()
	if p.tlsSrv != nil {
		_ = p.tlsSrv.Close()
	}
}

// nodeName is the one node the pods are scheduled on.
const nodeName = "gwctl-node"

func newNode(cs kubernetes.Interface) *node {
	return &node{cs: cs, pods: map[string]*echoPod{}, byName: map[string]string{}, local: map[string]bool{}, vips: map[string]string{}}
}

// Dial maps a Service address to one of its endpoints and a pod address to its echo server
// (or this process's loopback); other addresses are dialled as given.
func (n *node) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	n.mu.Lock()
	if ep := n.vips[addr]; ep != "" {
		addr = ep
	}
	if host, port, err := net.SplitHostPort(addr); err == nil {
		if p := n.pods[host]; p != nil && p.tlsAddr != "" && port == p.tlsPort {
			addr = p.tlsAddr
		} else if p != nil {
			addr = p.addr
		} else if n.local[host] {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
	}
	n.mu.Unlock()
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// run reconciles every interval until ctx is done.
func (n *node) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n.reconcile(ctx)
		select {
		case <-ctx.Done():
			n.mu.Lock()
			for _, p := range n.pods {
				p.close()
			}
			n.mu.Unlock()
			return
		case <-t.C:
		}
	}
}

func (n *node) reconcile(ctx context.Context) {
	nss, err := n.cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	for _, ns := range nss.Items {
		if ns.DeletionTimestamp != nil {
			continue
		}
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns.Name}}
		if _, err := n.cs.CoreV1().ServiceAccounts(ns.Name).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			continue
		}
	}
	deps, err := n.cs.AppsV1().Deployments("").List(ctx, metav1.ListOptions{})
	if err == nil {
		for i := range deps.Items {
			n.deployment(ctx, &deps.Items[i])
		}
	}
	pods, err := n.cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	live := map[string]bool{}
	for i := range pods.Items {
		p := &pods.Items[i]
		live[p.Namespace+"/"+p.Name] = true
		n.kubelet(ctx, p)
	}
	n.mu.Lock()
	for key, ip := range n.byName {
		if !live[key] {
			if p := n.pods[ip]; p != nil {
				p.close()
			}
			delete(n.pods, ip)
			delete(n.local, ip)
			delete(n.byName, key)
		}
	}
	n.mu.Unlock()
	svcs, err := n.cs.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	vips := map[string]string{}
	for i := range svcs.Items {
		n.endpointSlice(ctx, &svcs.Items[i], pods.Items, vips)
	}
	n.mu.Lock()
	n.vips = vips
	n.mu.Unlock()
}

// deployment creates the Pods a Deployment is missing (named <deployment>-<i>).
func (n *node) deployment(ctx context.Context, d *appsv1.Deployment) {
	replicas := int32(1)
	if d.Spec.Replicas != nil {
		replicas = *d.Spec.Replicas
	}
	for i := int32(0); i < replicas; i++ {
		p := &corev1.Pod{
			// Named as a ReplicaSet names its pods (<deployment>-<hash>-<suffix>): the suite reads the
			// backend name back from the pod name.
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-6c9d8f7b5-%05d", d.Name, i), Namespace: d.Namespace, Labels: d.Spec.Template.Labels},
			Spec:       *d.Spec.Template.Spec.DeepCopy(),
		}
		p.Spec.NodeName = nodeName
		if _, err := n.cs.CoreV1().Pods(d.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			continue
		}
	}
}

// kubelet starts a Pod's echo server and reports it Running and Ready with its address.
func (n *node) kubelet(ctx context.Context, p *corev1.Pod) {
	key := p.Namespace + "/" + p.Name
	n.mu.Lock()
	ip, ok := n.byName[key]
	if !ok {
		n.next++
		ip = fmt.Sprintf("10.244.%d.%d", n.next/250, n.next%250+1)
		if p.Labels[loopbackLabel] == "true" {
			n.local[ip], n.byName[key] = true, ip
		} else {
			ep, err := startEcho(p.Namespace, p.Name, n.echoTLS(p))
			if err != nil {
				n.mu.Unlock()
				return
			}
			n.pods[ip], n.byName[key] = ep, ip
		}
	}
	n.mu.Unlock()
	if p.Status.PodIP == ip && podReady(p) {
		return
	}
	now := metav1.Now()
	p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}, HostIP: "10.244.255.1", StartTime: &now,
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
		}}
	for _, c := range p.Spec.Containers {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: c.Name, Image: c.Image, Ready: true,
			Started: ptr.To(true), State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}})
	}
	_, _ = n.cs.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// endpointSlice keeps one EndpointSlice per selector Service with its ready Pods, and records
// in vips where each of the Service's ports leads (its first ready Pod).
func (n *node) endpointSlice(ctx context.Context, svc *corev1.Service, pods []corev1.Pod, vips map[string]string) {
	if len(svc.Spec.Selector) == 0 {
		return
	}
	sel := labels.SelectorFromSet(svc.Spec.Selector)
	var ready []corev1.Pod
	for _, p := range pods {
		if p.Namespace == svc.Namespace && p.DeletionTimestamp == nil && p.Status.PodIP != "" && podReady(&p) && sel.Matches(labels.Set(p.Labels)) {
			ready = append(ready, p)
		}
	}
	sort.Slice(ready, func(i, j int) bool { return ready[i].Name < ready[j].Name })
	want := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: svc.Name + "-node", Namespace: svc.Namespace,
			Labels: map[string]string{discoveryv1.LabelServiceName: svc.Name, discoveryv1.LabelManagedBy: "gwctl-conformance-node"}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	for _, sp := range svc.Spec.Ports {
		port := sp.TargetPort.IntVal
		if sp.TargetPort.StrVal != "" && len(ready) > 0 {
			port = namedPort(&ready[0], sp.TargetPort.StrVal)
		}
		if port == 0 {
			port = sp.Port
		}
		want.Ports = append(want.Ports, discoveryv1.EndpointPort{Name: ptr.To(sp.Name), Port: ptr.To(port), Protocol: ptr.To(sp.Protocol)})
		if ip := svc.Spec.ClusterIP; ip != "" && ip != corev1.ClusterIPNone && len(ready) > 0 {
			vips[net.JoinHostPort(ip, strconv.Itoa(int(sp.Port)))] = net.JoinHostPort(ready[0].Status.PodIP, strconv.Itoa(int(port)))
		}
	}
	for _, p := range ready {
		want.Endpoints = append(want.Endpoints, discoveryv1.Endpoint{Addresses: []string{p.Status.PodIP}, NodeName: ptr.To(nodeName),
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name}})
	}
	cur, err := n.cs.DiscoveryV1().EndpointSlices(svc.Namespace).Get(ctx, want.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, _ = n.cs.DiscoveryV1().EndpointSlices(svc.Namespace).Create(ctx, want, metav1.CreateOptions{})
	case err == nil:
		a, _ := json.Marshal([]any{cur.Ports, cur.Endpoints})
		b, _ := json.Marshal([]any{want.Ports, want.Endpoints})
		if string(a) != string(b) {
			cur.Ports, cur.Endpoints = want.Ports, want.Endpoints
			_, _ = n.cs.DiscoveryV1().EndpointSlices(svc.Namespace).Update(ctx, cur, metav1.UpdateOptions{})
		}
	}
}

func namedPort(p *corev1.Pod, name string) int32 {
	for _, c := range p.Spec.Containers {
		for _, cp := range c.Ports {
			if cp.Name == name {
				return cp.ContainerPort
			}
		}
	}
	return 0
}

// echoTLS is how echo-basic would serve a pod's HTTPS port: on HTTPS_PORT (8443 unless set),
// when its container sets TLS_SERVER_CERT and TLS_SERVER_PRIVKEY, with the certificate and key
// those files hold (keys of the Secret volume mounted there), asking for a client certificate
// signed by TLS_CLIENT_CACERTS when set (a ConfigMap or Secret volume's key) and accepting
// connections without one, as echo-basic does. The volumes' objects are read at each handshake,
// since the suite creates them after the base manifests' Deployments. Nil for a pod that serves
// plain HTTP only.
func (n *node) echoTLS(p *corev1.Pod) *echoTLSServer {
	for _, c := range p.Spec.Containers {
		env := map[string]string{}
		for _, e := range c.Env {
			env[e.Name] = e.Value
		}
		if env["TLS_SERVER_CERT"] == "" || env["TLS_SERVER_PRIVKEY"] == "" {
			continue
		}
		cert, key := volumeFile(p, &c, env["TLS_SERVER_CERT"]), volumeFile(p, &c, env["TLS_SERVER_PRIVKEY"])
		if cert.name == "" || key.name == "" {
			continue
		}
		var clientCA volumeKey
		if f := env["TLS_CLIENT_CACERTS"]; f != "" {
			if clientCA = volumeFile(p, &c, f); clientCA.name == "" {
				continue
			}
		}
		port := env["HTTPS_PORT"]
		if port == "" {
			port = "8443"
		}
		ns, cs := p.Namespace, n.cs
		cfg := &tls.Config{MinVersion: tls.VersionTLS12,
			GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
				ctx := hello.Context()
				crt, err := cert.read(ctx, cs, ns)
				if err != nil {
					return nil, err
				}
				k, err := key.read(ctx, cs, ns)
				if err != nil {
					return nil, err
				}
				pair, err := tls.X509KeyPair(crt, k)
				if err != nil {
					return nil, fmt.Errorf("%s %s/%s: %w", cert.kind, ns, cert.name, err)
				}
				out := &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}, Certificates: []tls.Certificate{pair}}
				if clientCA.name != "" {
					ca, err := clientCA.read(ctx, cs, ns)
					if err != nil {
						return nil, err
					}
					out.ClientCAs = x509.NewCertPool()
					if !out.ClientCAs.AppendCertsFromPEM(ca) {
						return nil, fmt.Errorf("%s %s/%s: no PEM certificate", clientCA.kind, ns, clientCA.name)
					}
					out.ClientAuth = tls.VerifyClientCertIfGiven
				}
				return out, nil
			}}
		return &echoTLSServer{port: port, config: cfg}
	}
	return nil
}

// echoTLSServer is a pod's HTTPS port and its TLS configuration.
type echoTLSServer struct {
	port   string
	config *tls.Config
}

// volumeKey is the key of a Secret or ConfigMap that a container sees as a file.
type volumeKey struct {
	kind, name, key string // kind Secret or ConfigMap; name empty when the file is not one
}

// read is the key's content, read from the API server.
func (v volumeKey) read(ctx context.Context, cs kubernetes.Interface, ns string) ([]byte, error) {
	if v.kind == "Secret" {
		s, err := cs.CoreV1().Secrets(ns).Get(ctx, v.name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		return s.Data[v.key], nil
	}
	cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, v.name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return []byte(cm.Data[v.key]), nil
}

// volumeFile names the Secret or ConfigMap key whose content a container sees at path, through
// a volume's mount (with the volume's items mapping keys to file names).
func volumeFile(p *corev1.Pod, c *corev1.Container, path string) volumeKey {
	for _, m := range c.VolumeMounts {
		dir := strings.TrimSuffix(m.MountPath, "/") + "/"
		if !strings.HasPrefix(path, dir) {
			continue
		}
		file := strings.TrimPrefix(path, dir)
		for _, v := range p.Spec.Volumes {
			var kind, name string
			var items []corev1.KeyToPath
			switch {
			case v.Name != m.Name:
				continue
			case v.Secret != nil:
				kind, name, items = "Secret", v.Secret.SecretName, v.Secret.Items
			case v.ConfigMap != nil:
				kind, name, items = "ConfigMap", v.ConfigMap.Name, v.ConfigMap.Items
			default:
				continue
			}
			for _, it := range items {
				if it.Path == file {
					return volumeKey{kind: kind, name: name, key: it.Key}
				}
			}
			if len(items) == 0 {
				return volumeKey{kind: kind, name: name, key: file}
			}
		}
	}
	return volumeKey{}
}

// startEcho serves a pod's echo: the request as echo-basic reports it, with the pod's name and
// namespace, and for a TLS pod (t not nil) the same over TLS on t's port, reporting the
// connection's TLS state (the SNI the client sent, its certificates) as echo-basic does.
func startEcho(ns, name string, t *echoTLSServer) (*echoPod, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h := echoHandler(ns, name)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: h}
	go func() { _ = srv.Serve(ln) }()
	ep := &echoPod{ns: ns, name: name, srv: srv, addr: ln.Addr().String()}
	if t == nil {
		return ep, nil
	}
	tln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = srv.Close()
		return nil, err
	}
	ep.tlsSrv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: h, TLSConfig: t.config}
	ep.tlsPort, ep.tlsAddr = t.port, tln.Addr().String()
	go func() { _ = ep.tlsSrv.ServeTLS(tln, "", "") }()
	return ep, nil
}

// echoHandler answers as echo-basic does: the request as JSON, with the pod's name and namespace.
func echoHandler(ns, name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d := r.URL.Query().Get("delay"); d != "" {
			if dur, err := time.ParseDuration(d); err == nil && dur < time.Minute {
				select {
				case <-time.After(dur):
				case <-r.Context().Done():
					return
				}
			}
		}
		_, port, _ := net.SplitHostPort(r.Context().Value(http.LocalAddrContextKey).(net.Addr).String())
		echo := map[string]any{
			"path": r.RequestURI, "host": r.Host, "method": r.Method, "proto": r.Proto, "headers": r.Header,
			"httpPort": port, "namespace": ns, "ingress": "", "service": "", "pod": name,
		}
		if r.TLS != nil {
			echo["tls"] = tlsState(r.TLS)
		}
		body, _ := json.MarshalIndent(echo, "", " ")
		for _, list := range r.Header["X-Echo-Set-Header"] { // as echo-basic: "name:value,name:value"
			for _, kv := range strings.Split(list, ",") {
				k, v, _ := strings.Cut(strings.TrimSpace(kv), ":")
				if len(w.Header()[k]) == 0 {
					w.Header()[k] = []string{v}
				} else {
					w.Header()[k][0] += "," + strings.TrimSpace(v)
				}
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})
}

// tlsState reports a connection's TLS state with echo-basic's field names.
func tlsState(cs *tls.ConnectionState) map[string]any {
	version := map[uint16]string{tls.VersionTLS13: "TLSv1.3", tls.VersionTLS12: "TLSv1.2"}[cs.Version]
	peers := []string{}
	for _, c := range cs.PeerCertificates {
		peers = append(peers, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	}
	return map[string]any{"version": version, "serverName": cs.ServerName, "negotiatedProtocol": cs.NegotiatedProtocol,
		"cipherSuite": tls.CipherSuiteName(cs.CipherSuite), "peerCertificates": peers}
}
