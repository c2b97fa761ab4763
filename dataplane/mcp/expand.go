package mcp

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// appProtocol values that mark a Service port as an MCP endpoint, and the annotation giving its path.
const (
	AppProtocolMCP          = "agentgateway.dev/mcp"
	AppProtocolMCPSSE       = "agentgateway.dev/mcp-sse"
	legacyAppProtocolMCP    = "kgateway.dev/mcp"
	legacyAppProtocolMCPSSE = "kgateway.dev/mcp-sse"
	AnnotationMCPPath       = "agentgateway.dev/mcp-path"
	legacyAnnotationMCPPath = "kgateway.dev/mcp-path"
)

// Service is the part of a Kubernetes Service that target expansion reads.
type Service struct {
	Name, Namespace string
	Labels          map[string]string
	Annotations     map[string]string
	Ports           []ServicePort
}

// ServicePort is one port of a Service.
type ServicePort struct {
	Name        string
	Port        int32
	AppProtocol string
}

// Selector is spec.mcp.targets[].selector: Services by label, in namespaces by label
// (nil Namespaces: only the backend's own namespace).
type Selector struct {
	Namespaces *metav1.LabelSelector
	Services   *metav1.LabelSelector
}

// Namespace is a namespace's name and labels, for Selector.Namespaces.
type Namespace struct {
	Name   string
	Labels map[string]string
}

// ExpandSelector returns the targets a selector entry stands for, as agentgateway v1.2.1's
// controller does (controller/pkg/syncer/backend/mcp.go): every port of a selected Service whose
// appProtocol is agentgateway.dev/mcp (streamable HTTP) or agentgateway.dev/mcp-sse (legacy
// kgateway.dev/… accepted) becomes a target named "<service>-<portName>" (or "<service>-<port>"
// when the port has no name), at http://<service>.<namespace>.svc.<clusterDomain>:<port><path>, the path
// coming from the agentgateway.dev/mcp-path annotation or defaulting to /mcp (/sse for SSE).
// Other ports are skipped silently; a selector matching nothing yields no targets and no error.
// Targets are sorted by name. clusterDomain "" means cluster.local.
func ExpandSelector(backendNamespace string, sel Selector, namespaces []Namespace, services []Service, clusterDomain string) ([]Target, error) {
	if clusterDomain == "" {
		clusterDomain = "cluster.local"
	}
	if sel.Namespaces == nil && sel.Services == nil {
		return nil, fmt.Errorf("mcp selector: at least one of namespaces and services is required")
	}
	svcSel := labels.Everything()
	if sel.Services != nil {
		s, err := metav1.LabelSelectorAsSelector(sel.Services)
		if err != nil {
			return nil, fmt.Errorf("mcp selector: services: %w", err)
		}
		svcSel = s
	}
	inNamespace := func(ns string) bool { return ns == backendNamespace }
	if sel.Namespaces != nil {
		nsSel, err := metav1.LabelSelectorAsSelector(sel.Namespaces)
		if err != nil {
			return nil, fmt.Errorf("mcp selector: namespaces: %w", err)
		}
		chosen := map[string]bool{}
		for _, ns := range namespaces {
			if nsSel.Matches(labels.Set(ns.Labels)) {
				chosen[ns.Name] = true
			}
		}
		inNamespace = func(ns string) bool { return chosen[ns] }
	}
	var out []Target
	for _, svc := range services {
		if !inNamespace(svc.Namespace) || !svcSel.Matches(labels.Set(svc.Labels)) {
			continue
		}
		for _, p := range svc.Ports {
			proto, ok := portProtocol(p.AppProtocol)
			if !ok {
				continue
			}
			name := svc.Name + "-" + p.Name
			if p.Name == "" {
				name = svc.Name + "-" + strconv.Itoa(int(p.Port))
			}
			path := svc.Annotations[AnnotationMCPPath]
			if path == "" {
				path = svc.Annotations[legacyAnnotationMCPPath]
			}
			if path == "" {
				path = "/mcp"
				if proto == SSE {
					path = "/sse"
				}
			}
			if !strings.HasPrefix(path, "/") {
				path = "/" + path
			}
			out = append(out, Target{
				Name:     name,
				URL:      fmt.Sprintf("http://%s.%s.svc.%s:%d%s", svc.Name, svc.Namespace, clusterDomain, p.Port, path),
				Protocol: proto,
			})
		}
	}
	slices.SortFunc(out, func(a, b Target) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func portProtocol(appProtocol string) (Protocol, bool) {
	switch appProtocol {
	case AppProtocolMCP, legacyAppProtocolMCP:
		return StreamableHTTP, true
	case AppProtocolMCPSSE, legacyAppProtocolMCPSSE:
		return SSE, true
	}
	return "", false
}

// StaticTarget is the URL of a spec.mcp.targets[].static entry: host (or a Service resolved to a host
// by the caller), port, path (default /mcp, or /sse for SSE) and protocol (default StreamableHTTP).
func StaticTarget(name, host string, port int32, path string, protocol Protocol) Target {
	if protocol == "" {
		protocol = StreamableHTTP
	}
	if path == "" {
		path = "/mcp"
		if protocol == SSE {
			path = "/sse"
		}
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	return Target{Name: name, URL: "http://" + net.JoinHostPort(host, strconv.Itoa(int(port))) + path, Protocol: protocol}
}
