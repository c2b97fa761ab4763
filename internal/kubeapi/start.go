package kubeapi

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/infergw/gwctl/internal/testenv"
)

// startTimeout bounds each component's start; kube-apiserver needs ~5 s on an idle machine and
// several times that on a loaded one.
const startTimeout = 2 * time.Minute

// startEtcd runs etcd with its data in s.dir on two free loopback ports, and returns its client URL.
func (s *Server) startEtcd(bin string) (string, error) {
	client, peer, err := freePorts2()
	if err != nil {
		return "", err
	}
	clientURL := "http://127.0.0.1:" + strconv.Itoa(client)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peer)
	cmd := exec.Command(bin,
		"--name", "default",
		"--data-dir", filepath.Join(s.dir, "etcd"),
		"--listen-client-urls", clientURL,
		"--advertise-client-urls", clientURL,
		"--listen-peer-urls", peerURL,
		"--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "default="+peerURL,
		"--log-level", "warn", "--logger", "zap",
	)
	dieWithParent(cmd)
	if s.etcd, err = testenv.Launch(cmd); err != nil {
		return "", fmt.Errorf("kubeapi: %w", err)
	}
	if err := waitHTTP(http.DefaultClient, clientURL+"/health", "", s.etcd); err != nil {
		return "", fmt.Errorf("kubeapi: etcd not ready: %w\n%s", err, tail(s.etcd.Output()))
	}
	return clientURL, nil
}

// startAPIServer runs kube-apiserver with envtest's flags: loopback only, no endpoint reconciler
// (there is no node), a token file, every request allowed, service-account keys made here, and
// no ServiceAccount admission (no controller-manager creates the default account).
func (s *Server) startAPIServer(bin, etcdURL string, c *credentials) error {
	port, _, err := freePorts2()
	if err != nil {
		return err
	}
	s.URL = "https://127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin,
		"--etcd-servers", etcdURL,
		"--bind-address", "127.0.0.1",
		"--advertise-address", "127.0.0.1",
		"--secure-port", strconv.Itoa(port),
		"--cert-dir", filepath.Join(s.dir, "certs"),
		"--tls-cert-file", c.certFile,
		"--tls-private-key-file", c.keyFile,
		"--client-ca-file", c.caFile,
		"--token-auth-file", c.tokenFile,
		"--authorization-mode", "AlwaysAllow",
		"--service-account-issuer", s.URL,
		"--service-account-key-file", c.saPubKey,
		"--service-account-signing-key-file", c.saSigningKey,
		"--service-cluster-ip-range", "10.0.0.0/24",
		"--endpoint-reconciler-type", "none",
		"--disable-admission-plugins", "ServiceAccount",
		"--allow-privileged=true",
		"--enable-priority-and-fairness=false",
		"--profiling=false",
		"--v", "0",
	)
	dieWithParent(cmd)
	if s.api, err = testenv.Launch(cmd); err != nil {
		return fmt.Errorf("kubeapi: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.caPEM)
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	defer hc.CloseIdleConnections()
	if err := waitHTTP(hc, s.URL+"/readyz", c.token, s.api); err != nil {
		return fmt.Errorf("kubeapi: kube-apiserver not ready: %w\n%s", err, tail(s.api.Output()))
	}
	// The default namespace is made by a controller that may run just after /readyz says ok.
	if err := waitHTTP(hc, s.URL+"/api/v1/namespaces/default", c.token, s.api); err != nil {
		return fmt.Errorf("kubeapi: no default namespace: %w\n%s", err, tail(s.api.Output()))
	}
	return nil
}

// waitHTTP polls url until it answers 200, the process exits or startTimeout passes.
func waitHTTP(hc *http.Client, url, token string, p *testenv.Process) error {
	deadline := time.Now().Add(startTimeout)
	var last string
	for {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%s: %d %s", url, resp.StatusCode, body)
		} else {
			last = err.Error()
		}
		if p.Exited() {
			return fmt.Errorf("exited (last answer: %s)", last)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready within %s (last answer: %s)", startTimeout, last)
		}
		time.Sleep(100 * time.Millisecond) // polling interval
	}
}

// freePorts2 returns two distinct loopback ports that were free a moment ago.
func freePorts2() (int, int, error) {
	var ports [2]int
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, 0, fmt.Errorf("kubeapi: free port: %w", err)
		}
		defer l.Close()
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports[0], ports[1], nil
}

func writeKubeconfig(dir string, s *Server) (string, error) {
	const name = "gwctl-test"
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: s.URL, CertificateAuthorityData: s.CAData}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: s.Token}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name, Namespace: "default"}
	cfg.CurrentContext = name
	path := filepath.Join(dir, "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return "", err
	}
	return path, os.Chmod(path, 0o600)
}
