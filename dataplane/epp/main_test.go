package epp

import (
	"os"
	"testing"

	"github.com/infergw/gwctl/internal/kubeapi"
)

// The Kubernetes tests share one kube-apiserver (each in its own namespace).
func TestMain(m *testing.M) { os.Exit(kubeapi.Main(m)) }
