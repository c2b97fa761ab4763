package builtin

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// servicePortKey has the field names of the server's internal core.ServicePort and no JSON tags:
// the server reports a duplicate port with that struct as its value, rendered as JSON.
type servicePortKey struct {
	Name        string
	Protocol    corev1.Protocol
	AppProtocol *string
	Port        int32
	TargetPort  intstr.IntOrString
	NodePort    int32
}

var serviceTypes = []string{string(corev1.ServiceTypeClusterIP), string(corev1.ServiceTypeExternalName), string(corev1.ServiceTypeLoadBalancer), string(corev1.ServiceTypeNodePort)}

// validateServicePorts adds to the port checks of builtinChecks the server's ValidateService
// rules on the type, targetPort, nodePort (and a node port given twice) and a port+protocol
// given twice.
func validateServicePorts(s *corev1.Service) field.ErrorList {
	var errs field.ErrorList
	ports := field.NewPath("spec", "ports")
	typ := s.Spec.Type
	if typ == "" {
		typ = corev1.ServiceTypeClusterIP
	}
	if !oneOf(string(typ), serviceTypes) {
		errs = append(errs, field.NotSupported(field.NewPath("spec", "type"), typ, serviceTypes))
	}
	seen := map[servicePortKey]bool{}
	nodePorts := map[servicePortKey]bool{}
	for i, p := range s.Spec.Ports {
		idx := ports.Index(i)
		switch p.TargetPort.Type {
		case intstr.String:
			// An unset targetPort is defaulted to port.
			if p.TargetPort.StrVal != "" {
				for _, m := range validation.IsValidPortName(p.TargetPort.StrVal) {
					errs = append(errs, field.Invalid(idx.Child("targetPort"), p.TargetPort.StrVal, m))
				}
			}
		case intstr.Int:
			if p.TargetPort.IntVal != 0 {
				for _, m := range validation.IsValidPortNum(p.TargetPort.IntValue()) {
					errs = append(errs, field.Invalid(idx.Child("targetPort"), p.TargetPort.IntValue(), m))
				}
			}
		}
		if typ == corev1.ServiceTypeClusterIP && p.NodePort != 0 {
			errs = append(errs, field.Forbidden(idx.Child("nodePort"), "may not be used when `type` is 'ClusterIP'"))
		}
		proto := p.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		key := servicePortKey{Protocol: proto, Port: p.Port}
		if seen[key] {
			errs = append(errs, field.Duplicate(idx, key))
		}
		seen[key] = true
		if np := (servicePortKey{Protocol: proto, NodePort: nodePort(s, p)}); np.NodePort != 0 {
			if nodePorts[np] {
				errs = append(errs, field.Duplicate(idx.Child("nodePort"), np.NodePort))
			}
			nodePorts[np] = true
		}
	}
	return errs
}

// nodePort is the node port the server gives p: its own, or (when node ports are allocated) that
// of an earlier port with the same number, which the allocator reuses so that TCP and UDP on one
// port share a node port.
func nodePort(s *corev1.Service, p corev1.ServicePort) int32 {
	if p.NodePort != 0 || (s.Spec.Type != corev1.ServiceTypeNodePort && s.Spec.Type != corev1.ServiceTypeLoadBalancer) {
		return p.NodePort
	}
	for _, q := range s.Spec.Ports {
		if q.Port == p.Port && q.NodePort != 0 {
			return q.NodePort
		}
	}
	return 0
}
