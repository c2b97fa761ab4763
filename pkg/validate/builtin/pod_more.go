package builtin

import (
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metavalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// More of the server's ValidatePodSpec, the parts the differential test against kube-apiserver
// (internal/apiserverdiff) found missing: volumes and their mounts, probes, seccomp profiles and
// env sources. Same rule, path and message as k8s.io/kubernetes/pkg/apis/core/validation; as in
// builtin_pod.go, a field the server defaults before validating is checked only when set.

const fileModeMsg = "must be a number between 0 and 0777 (octal), both inclusive"

var seccompTypes = []string{string(corev1.SeccompProfileTypeLocalhost), string(corev1.SeccompProfileTypeRuntimeDefault), string(corev1.SeccompProfileTypeUnconfined)}

// validatePodMore checks the volumes, then each container's mounts (which see only the volumes
// without errors, as the server's do), probes and seccomp profile.
func validatePodMore(spec *corev1.PodSpec, path *field.Path) field.ErrorList {
	vols, errs := validateVolumes(spec.Volumes, path.Child("volumes"))
	if sc := spec.SecurityContext; sc != nil {
		errs = append(errs, validateSeccomp(sc.SeccompProfile, path.Child("securityContext", "seccompProfile"))...)
	}
	for i := range spec.InitContainers {
		errs = append(errs, validateContainerMore(&spec.InitContainers[i], vols, false, path.Child("initContainers").Index(i))...)
	}
	for i := range spec.Containers {
		errs = append(errs, validateContainerMore(&spec.Containers[i], vols, true, path.Child("containers").Index(i))...)
	}
	return errs
}

// validateVolumes returns the names of the volumes without errors, and the errors.
func validateVolumes(vols []corev1.Volume, path *field.Path) (map[string]bool, field.ErrorList) {
	var errs field.ErrorList
	ok := map[string]bool{}
	for i := range vols {
		v := &vols[i]
		idx := path.Index(i)
		el := validateVolumeSource(&v.VolumeSource, idx)
		if v.Name == "" {
			el = append(el, field.Required(idx.Child("name"), ""))
		} else {
			for _, m := range validation.IsDNS1123Label(v.Name) {
				el = append(el, field.Invalid(idx.Child("name"), v.Name, m))
			}
		}
		if ok[v.Name] {
			el = append(el, field.Duplicate(idx.Child("name"), v.Name))
		}
		if len(el) == 0 {
			ok[v.Name] = true
		}
		errs = append(errs, el...)
	}
	return ok, errs
}

// validateVolumeSource: at most one source, and the required fields of the common ones.
func validateVolumeSource(src *corev1.VolumeSource, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	rv := reflect.ValueOf(src).Elem()
	for i := 0; i < rv.NumField(); i++ {
		if rv.Field(i).IsNil() {
			continue
		}
		if n++; n > 1 {
			name, _, _ := strings.Cut(rv.Type().Field(i).Tag.Get("json"), ",")
			errs = append(errs, field.Forbidden(path.Child(name), "may not specify more than 1 volume type"))
		}
	}
	if n == 0 {
		return errs // a volume without a source is defaulted to an emptyDir
	}
	mode := func(m *int32, p *field.Path) {
		if m != nil && (*m > 0o777 || *m < 0) {
			errs = append(errs, field.Invalid(p, *m, fileModeMsg))
		}
	}
	switch {
	case src.Secret != nil:
		if src.Secret.SecretName == "" {
			errs = append(errs, field.Required(path.Child("secret", "secretName"), ""))
		}
		mode(src.Secret.DefaultMode, path.Child("secret", "defaultMode"))
	case src.ConfigMap != nil:
		if src.ConfigMap.Name == "" {
			errs = append(errs, field.Required(path.Child("configMap", "name"), ""))
		}
		mode(src.ConfigMap.DefaultMode, path.Child("configMap", "defaultMode"))
	case src.PersistentVolumeClaim != nil:
		if src.PersistentVolumeClaim.ClaimName == "" {
			errs = append(errs, field.Required(path.Child("persistentVolumeClaim", "claimName"), ""))
		}
	case src.HostPath != nil:
		if src.HostPath.Path == "" {
			errs = append(errs, field.Required(path.Child("hostPath", "path"), ""))
		}
	}
	return errs
}

func validateContainerMore(c *corev1.Container, vols map[string]bool, regular bool, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	mountPaths := map[string]bool{}
	for i, m := range c.VolumeMounts {
		idx := path.Child("volumeMounts").Index(i)
		if m.Name == "" {
			errs = append(errs, field.Required(idx.Child("name"), ""))
		}
		if !vols[m.Name] {
			errs = append(errs, field.NotFound(idx.Child("name"), m.Name))
		}
		if m.MountPath == "" {
			errs = append(errs, field.Required(idx.Child("mountPath"), ""))
		}
		if mountPaths[m.MountPath] {
			errs = append(errs, field.Invalid(idx.Child("mountPath"), m.MountPath, "must be unique"))
		}
		mountPaths[m.MountPath] = true
	}
	if regular {
		errs = append(errs, validateProbe(c.LivenessProbe, true, path.Child("livenessProbe"))...)
		errs = append(errs, validateProbe(c.ReadinessProbe, false, path.Child("readinessProbe"))...)
		errs = append(errs, validateProbe(c.StartupProbe, true, path.Child("startupProbe"))...)
	}
	if sc := c.SecurityContext; sc != nil {
		errs = append(errs, validateSeccomp(sc.SeccompProfile, path.Child("securityContext", "seccompProfile"))...)
	}
	return errs
}

// validateProbe: one handler, non-negative numbers, and (liveness, startup) a success threshold
// of 1 (0 is defaulted to 1).
func validateProbe(p *corev1.Probe, oneSuccess bool, path *field.Path) field.ErrorList {
	if p == nil {
		return nil
	}
	errs := validateProbeHandler(&p.ProbeHandler, path)
	for _, f := range []struct {
		v    int32
		name string
	}{{p.InitialDelaySeconds, "initialDelaySeconds"}, {p.TimeoutSeconds, "timeoutSeconds"}, {p.PeriodSeconds, "periodSeconds"}, {p.SuccessThreshold, "successThreshold"}, {p.FailureThreshold, "failureThreshold"}} {
		errs = append(errs, metavalidation.ValidateNonnegativeField(int64(f.v), path.Child(f.name))...)
	}
	if t := p.TerminationGracePeriodSeconds; t != nil && *t <= 0 {
		errs = append(errs, field.Invalid(path.Child("terminationGracePeriodSeconds"), *t, "must be greater than 0"))
	}
	if oneSuccess && p.SuccessThreshold != 0 && p.SuccessThreshold != 1 {
		errs = append(errs, field.Invalid(path.Child("successThreshold"), p.SuccessThreshold, "must be 1"))
	}
	return errs
}

func validateProbeHandler(h *corev1.ProbeHandler, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	one := func(name string) bool {
		if n++; n > 1 {
			errs = append(errs, field.Forbidden(path.Child(name), "may not specify more than 1 handler type"))
			return false
		}
		return true
	}
	if h.Exec != nil && one("exec") && len(h.Exec.Command) == 0 {
		errs = append(errs, field.Required(path.Child("exec", "command"), ""))
	}
	if h.HTTPGet != nil && one("httpGet") {
		p := path.Child("httpGet")
		errs = append(errs, validatePortNumOrName(h.HTTPGet.Port, p.Child("port"))...)
		// An unset path and scheme are defaulted ("/", HTTP).
		if s := h.HTTPGet.Scheme; s != "" && s != corev1.URISchemeHTTP && s != corev1.URISchemeHTTPS {
			errs = append(errs, field.NotSupported(p.Child("scheme"), s, []string{string(corev1.URISchemeHTTP), string(corev1.URISchemeHTTPS)}))
		}
		for _, hd := range h.HTTPGet.HTTPHeaders {
			for _, m := range validation.IsHTTPHeaderName(hd.Name) {
				errs = append(errs, field.Invalid(p.Child("httpHeaders"), hd.Name, m))
			}
		}
	}
	if h.TCPSocket != nil && one("tcpSocket") {
		errs = append(errs, validatePortNumOrName(h.TCPSocket.Port, path.Child("tcpSocket", "port"))...)
	}
	if h.GRPC != nil && one("grpc") {
		errs = append(errs, validatePortNumOrName(intstr.FromInt32(h.GRPC.Port), path.Child("grpc", "port"))...)
	}
	if n == 0 {
		errs = append(errs, field.Required(path, "must specify a handler type"))
	}
	return errs
}

func validatePortNumOrName(port intstr.IntOrString, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if port.Type == intstr.String {
		for _, m := range validation.IsValidPortName(port.StrVal) {
			errs = append(errs, field.Invalid(path, port.StrVal, m))
		}
		return errs
	}
	for _, m := range validation.IsValidPortNum(port.IntValue()) {
		errs = append(errs, field.Invalid(path, port.IntValue(), m))
	}
	return errs
}

func validateSeccomp(sp *corev1.SeccompProfile, path *field.Path) field.ErrorList {
	if sp == nil {
		return nil
	}
	var errs field.ErrorList
	switch {
	case sp.Type == "":
		errs = append(errs, field.Required(path.Child("type"), "type is required when seccompProfile is set"))
	case !oneOf(string(sp.Type), seccompTypes):
		errs = append(errs, field.NotSupported(path.Child("type"), sp.Type, seccompTypes))
	}
	if sp.Type == corev1.SeccompProfileTypeLocalhost && sp.LocalhostProfile == nil {
		errs = append(errs, field.Required(path.Child("localhostProfile"), "must be set when seccomp type is Localhost"))
	}
	return errs
}

// envSourceMissing is the server's message for a valueFrom without a source.
const envSourceMissing = "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef`, `secretKeyRef` or `fileKeyRef`"

// validateEnvSources checks the key references of a valueFrom: a Secret or ConfigMap name and a
// key, and a field path (its apiVersion is defaulted).
func validateEnvSources(vf *corev1.EnvVarSource, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	keyRef := func(name, key string, p *field.Path) {
		for _, m := range metavalidation.NameIsDNSSubdomain(name, false) {
			errs = append(errs, field.Invalid(p.Child("name"), name, m))
		}
		if key == "" {
			errs = append(errs, field.Required(p.Child("key"), ""))
			return
		}
		for _, m := range validation.IsConfigMapKey(key) {
			errs = append(errs, field.Invalid(p.Child("key"), key, m))
		}
	}
	if r := vf.SecretKeyRef; r != nil {
		keyRef(r.Name, r.Key, path.Child("secretKeyRef"))
	}
	if r := vf.ConfigMapKeyRef; r != nil {
		keyRef(r.Name, r.Key, path.Child("configMapKeyRef"))
	}
	if r := vf.FieldRef; r != nil && r.FieldPath == "" {
		errs = append(errs, field.Required(path.Child("fieldRef", "fieldPath"), ""))
	}
	return errs
}
