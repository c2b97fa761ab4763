package gateway

import (
	"fmt"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
)

// AnnotationEndpointPicker on an InferencePool set to "in-process" keeps the dataplane's own
// picker even when endpointPickerRef names a Service (gwctl renders it when the platform config
// chooses the in-process picker; the reference stays for gateways that require it).
const AnnotationEndpointPicker = "gwctl.infergw.dev/endpoint-picker"

const ruleEndpointPicker = "gateway.endpoint-picker"

// endpointPicker compiles spec.endpointPickerRef: a Service is resolved like any Service backend
// (in the input, or named by a resolve override) and then called over ext_proc. An info finding
// says which picker serves the pool.
func (c *compiler) endpointPicker(o *manifest.Object, spec field) *EndpointPicker {
	ef := spec.get("endpointPickerRef")
	mode := o.Annotations()[AnnotationEndpointPicker]
	if mode != "" && mode != "in-process" {
		c.add(o.Finding("metadata.annotations", ruleEndpointPicker, finding.Warning,
			fmt.Sprintf("annotation %s: %q is not in-process; the endpointPickerRef decides", AnnotationEndpointPicker, mode)))
		mode = ""
	}
	if !ef.exists() {
		c.add(o.Finding("spec", ruleEndpointPicker, finding.Info, "endpoint picker: in-process (no endpointPickerRef)"))
		return nil
	}
	pk := &EndpointPicker{FailOpen: enum(ef.get("failureMode"), "FailClose", "FailOpen") == "FailOpen", InProcess: mode == "in-process"}
	failure := "FailClose"
	if pk.FailOpen {
		failure = "FailOpen"
	}
	kind := ef.get("kind").strOr("Service")
	name, port := ef.get("name").str(), ef.at("port", "number").port()
	if pk.InProcess {
		pk.Service = ServiceBackend{Name: name, Namespace: ns(o), Port: port}
		c.add(o.Finding("spec.endpointPickerRef", ruleEndpointPicker, finding.Info,
			fmt.Sprintf("endpoint picker: in-process (annotation %s); endpointPickerRef %s is not called; failureMode %s", AnnotationEndpointPicker, name, failure)))
		return pk
	}
	if (ef.get("group").str() != "" && ef.get("group").str() != GroupCore) || kind != "Service" || name == "" || port == 0 {
		ef.errorf(ruleEndpointPicker, "endpointPickerRef must name a core Service and its port (kind %s, name %q, port %d)", kind, name, port)
		return pk
	}
	if svc := c.lookup(GroupCore, "Service", ns(o), name); svc != nil && root(c, svc).at("spec", "type").str() == "ExternalName" {
		// The Inference Extension forbids it (CVE-2021-25740: it would point the gateway anywhere).
		ef.get("name").errorf(ruleEndpointPicker, "endpointPickerRef names ExternalName Service %s/%s: not supported", ns(o), name)
		return pk
	}
	sb := c.resolveService(ef, ns(o), name, port)
	if sb == nil {
		return pk
	}
	pk.Service = *sb
	c.add(o.Finding("spec.endpointPickerRef", ruleEndpointPicker, finding.Info,
		fmt.Sprintf("endpoint picker: Service %s/%s port %d (%s) over ext_proc, failureMode %s", ns(o), name, port, sb.Address, failure)))
	return pk
}
