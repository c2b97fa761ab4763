package epp

import (
	"os"
	"testing"

	"github.com/infergw/gwctl/internal/kubeapi"
)

// The Kubernetes tests share one kube-apiserver (each in its own namespace). With simsEnv set
// the binary is the latency rig's simulator process instead (startSimProcess).
func TestMain(m *testing.M) {
	if n := os.Getenv(simsEnv); n != "" {
		os.Exit(serveSims(n))
	}
	os.Exit(kubeapi.Main(m))
}
