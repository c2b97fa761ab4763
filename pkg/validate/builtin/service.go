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

// validateServicePorts adds to the port checks of builtinChecks the server's ValidateService
// rules on targetPort, nodePort and a port+protocol given twice.
func validateServicePorts(s *corev1.Service) field.ErrorList {
	var errs field.ErrorList
	ports := field.NewPath("spec", "ports")
	typ := s.Spec.Type
	if typ == "" {
		typ = corev1.ServiceTypeClusterIP
	}
	seen := map[servicePortKey]bool{}
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
	}
	return errs
}
