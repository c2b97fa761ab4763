package builtin

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The checks below mirror the API server's ValidatePodSpec (k8s.io/kubernetes/pkg/apis/core/validation),
// which cannot be imported without replace directives: same rule, same field path, same message.
// They run on the object as written, so a field the server defaults before validating (restartPolicy,
// imagePullPolicy, a port's protocol) is checked only when set.

var (
	restartPolicies = []string{string(corev1.RestartPolicyAlways), string(corev1.RestartPolicyOnFailure), string(corev1.RestartPolicyNever)}
	pullPolicies    = []string{string(corev1.PullAlways), string(corev1.PullIfNotPresent), string(corev1.PullNever)}
	portProtocols   = []string{string(corev1.ProtocolSCTP), string(corev1.ProtocolTCP), string(corev1.ProtocolUDP)}
)

// validatePodSpec checks spec, found at path (spec, spec.template.spec, …).
func validatePodSpec(spec *corev1.PodSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if p := spec.RestartPolicy; p != "" && !oneOf(string(p), restartPolicies) {
		errs = append(errs, field.NotSupported(path.Child("restartPolicy"), p, restartPolicies))
	}
	if len(spec.Containers) == 0 {
		errs = append(errs, field.Required(path.Child("containers"), ""))
	}
	// Container names are unique across init and regular containers.
	names := map[string]bool{}
	for i := range spec.InitContainers {
		errs = append(errs, validateContainer(&spec.InitContainers[i], names, path.Child("initContainers").Index(i))...)
	}
	for i := range spec.Containers {
		errs = append(errs, validateContainer(&spec.Containers[i], names, path.Child("containers").Index(i))...)
	}
	return append(errs, validatePodMore(spec, path)...)
}

func validateContainer(c *corev1.Container, names map[string]bool, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case c.Name == "":
		errs = append(errs, field.Required(path.Child("name"), ""))
	case names[c.Name]:
		errs = append(errs, field.Duplicate(path.Child("name"), c.Name))
	default:
		for _, m := range validation.IsDNS1123Label(c.Name) {
			errs = append(errs, field.Invalid(path.Child("name"), c.Name, m))
		}
	}
	names[c.Name] = true
	if c.Image == "" {
		errs = append(errs, field.Required(path.Child("image"), ""))
	}
	if p := c.ImagePullPolicy; p != "" && !oneOf(string(p), pullPolicies) {
		errs = append(errs, field.NotSupported(path.Child("imagePullPolicy"), p, pullPolicies))
	}
	// Paths are built only for what is there: this runs on every workload of every render.
	if len(c.Ports) > 0 {
		errs = append(errs, validateContainerPorts(c.Ports, path.Child("ports"))...)
	}
	for i := range c.Env {
		if c.Env[i].Name == "" || c.Env[i].ValueFrom != nil {
			errs = append(errs, validateEnvVar(&c.Env[i], path.Child("env").Index(i))...)
		}
	}
	if len(c.Resources.Requests) > 0 && len(c.Resources.Limits) > 0 {
		errs = append(errs, validateResources(&c.Resources, path.Child("resources"))...)
	}
	return errs
}

func validateContainerPorts(ports []corev1.ContainerPort, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := map[string]bool{}
	type key struct {
		port  int32
		proto corev1.Protocol
	}
	seen := map[key]bool{}
	for i, p := range ports {
		idx := func() *field.Path { return path.Index(i) }
		if p.Name != "" {
			for _, m := range validation.IsValidPortName(p.Name) {
				errs = append(errs, field.Invalid(idx().Child("name"), p.Name, m))
			}
			if names[p.Name] {
				errs = append(errs, field.Duplicate(idx().Child("name"), p.Name))
			}
			names[p.Name] = true
		}
		if p.ContainerPort == 0 {
			errs = append(errs, field.Required(idx().Child("containerPort"), ""))
		} else {
			for _, m := range validation.IsValidPortNum(int(p.ContainerPort)) {
				errs = append(errs, field.Invalid(idx().Child("containerPort"), p.ContainerPort, m))
			}
		}
		if p.HostPort != 0 {
			for _, m := range validation.IsValidPortNum(int(p.HostPort)) {
				errs = append(errs, field.Invalid(idx().Child("hostPort"), p.HostPort, m))
			}
		}
		proto := p.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		} else if !oneOf(string(proto), portProtocols) {
			errs = append(errs, field.NotSupported(idx().Child("protocol"), proto, portProtocols))
		}
		// Validation only warns about a repeated containerPort+protocol, but the pair is the list's
		// map key, so server-side apply (kubectl --server-side, Flux, Argo CD) refuses the object. The
		// error has no type: its message is server-side apply's, not validation's.
		k := key{p.ContainerPort, proto}
		if seen[k] && p.ContainerPort != 0 {
			errs = append(errs, &field.Error{Field: idx().String(), Detail: fmt.Sprintf("duplicate entries for key [containerPort=%d,protocol=%q]", p.ContainerPort, proto)})
		}
		seen[k] = true
	}
	return errs
}

func validateEnvVar(ev *corev1.EnvVar, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if ev.Name == "" {
		errs = append(errs, field.Required(path.Child("name"), ""))
	}
	if ev.ValueFrom == nil {
		return errs
	}
	vf := ev.ValueFrom
	n := 0
	for _, set := range []bool{vf.FieldRef != nil, vf.ResourceFieldRef != nil, vf.ConfigMapKeyRef != nil, vf.SecretKeyRef != nil, vf.FileKeyRef != nil} {
		if set {
			n++
		}
	}
	fp := path.Child("valueFrom")
	switch {
	case n == 0:
		errs = append(errs, field.Invalid(fp, "", envSourceMissing))
	case ev.Value != "":
		errs = append(errs, field.Invalid(fp, "", "may not be specified when `value` is not empty"))
	case n > 1:
		errs = append(errs, field.Invalid(fp, "", "may not have more than one field specified at a time"))
	}
	return append(errs, validateEnvSources(vf, fp)...)
}

// validateResources: a request above its limit; for a resource that cannot be overcommitted
// (extended resources, hugepages) a request that differs from its limit.
func validateResources(r *corev1.ResourceRequirements, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for name, req := range r.Requests {
		reqPath := path.Child("requests")
		lim, ok := r.Limits[name]
		if !ok {
			continue
		}
		if req.Cmp(lim) != 0 && !overcommitAllowed(name) {
			errs = append(errs, field.Invalid(reqPath, req.String(), fmt.Sprintf("must be equal to %s limit of %s", name, lim.String())))
		} else if req.Cmp(lim) > 0 {
			errs = append(errs, field.Invalid(reqPath, req.String(), fmt.Sprintf("must be less than or equal to %s limit of %s", name, lim.String())))
		}
	}
	return errs
}

// overcommitAllowed is the server's helper of the same name: native resources other than hugepages.
func overcommitAllowed(name corev1.ResourceName) bool {
	s := string(name)
	native := !strings.Contains(s, "/") || strings.Contains(s, "kubernetes.io/")
	return native && !strings.HasPrefix(s, corev1.ResourceHugePagesPrefix)
}

func oneOf(s string, set []string) bool {
	for _, v := range set {
		if s == v {
			return true
		}
	}
	return false
}
