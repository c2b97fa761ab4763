package builtin

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metavalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Workload checks mirror the API server's apps and batch validation (ValidateDeploymentSpec,
// ValidateReplicaSetSpec, ValidateStatefulSetSpec, ValidateDaemonSetSpec, ValidateJobSpec): replicas,
// the selector and its match with the template's labels, the template's restartPolicy and
// rolling-update bounds, then the pod checks at the template's path.

var specPath = field.NewPath("spec")

// validateWorkload returns the checks of a workload kind, or nil for other kinds.
func validateWorkload(typed any) field.ErrorList {
	switch t := typed.(type) {
	case *corev1.Pod:
		return validatePodSpec(&t.Spec, specPath)
	case *corev1.PodTemplate:
		return validatePodSpec(&t.Template.Spec, field.NewPath("template", "spec"))
	case *appsv1.Deployment:
		errs := validateReplicas(t.Spec.Replicas, specPath.Child("replicas"))
		errs = append(errs, validateSelected(t.Spec.Selector, &t.Spec.Template, "empty selector is invalid for deployment", specPath)...)
		errs = append(errs, validateAlwaysRestart(&t.Spec.Template, specPath)...)
		if ru := t.Spec.Strategy.RollingUpdate; ru != nil {
			errs = append(errs, validateRollingUpdate(ru.MaxUnavailable, ru.MaxSurge, specPath.Child("strategy", "rollingUpdate"))...)
		}
		return append(errs, validatePodSpec(&t.Spec.Template.Spec, specPath.Child("template", "spec"))...)
	case *appsv1.ReplicaSet:
		errs := validateReplicas(t.Spec.Replicas, specPath.Child("replicas"))
		errs = append(errs, validateSelected(t.Spec.Selector, &t.Spec.Template, "empty selector is invalid for deployment", specPath)...)
		errs = append(errs, validateAlwaysRestart(&t.Spec.Template, specPath)...)
		return append(errs, validatePodSpec(&t.Spec.Template.Spec, specPath.Child("template", "spec"))...)
	case *appsv1.StatefulSet:
		errs := validateReplicas(t.Spec.Replicas, specPath.Child("replicas"))
		errs = append(errs, validateSelected(t.Spec.Selector, &t.Spec.Template, "empty selector is invalid for statefulset", specPath)...)
		errs = append(errs, validateAlwaysRestart(&t.Spec.Template, specPath)...)
		return append(errs, validatePodSpec(&t.Spec.Template.Spec, specPath.Child("template", "spec"))...)
	case *appsv1.DaemonSet:
		// Unlike the others, ValidateDaemonSetSpec does not require the selector: a missing one
		// selects nothing, so only the labels are reported.
		errs := validateSelected(t.Spec.Selector, &t.Spec.Template, "empty selector is invalid for daemonset", specPath)
		if t.Spec.Selector == nil {
			errs = errs[1:]
		}
		errs = append(errs, validateAlwaysRestart(&t.Spec.Template, specPath)...)
		if ru := t.Spec.UpdateStrategy.RollingUpdate; ru != nil {
			ruPath := specPath.Child("updateStrategy", "rollingUpdate")
			if ru.MaxUnavailable != nil {
				errs = append(errs, validatePositiveIntOrPercent(*ru.MaxUnavailable, ruPath.Child("maxUnavailable"))...)
			}
			if ru.MaxSurge != nil {
				errs = append(errs, validatePositiveIntOrPercent(*ru.MaxSurge, ruPath.Child("maxSurge"))...)
			}
		}
		return append(errs, validatePodSpec(&t.Spec.Template.Spec, specPath.Child("template", "spec"))...)
	case *batchv1.Job:
		return validateJobSpec(&t.Spec, specPath)
	case *batchv1.CronJob:
		return validateJobSpec(&t.Spec.JobTemplate.Spec, specPath.Child("jobTemplate", "spec"))
	}
	return nil
}

// validateReplicas: nil is defaulted to 1.
func validateReplicas(r *int32, path *field.Path) field.ErrorList {
	if r == nil {
		return nil
	}
	return metavalidation.ValidateNonnegativeField(int64(*r), path)
}

// validateSelected checks an apps/v1 selector: required (apps/v1 does not default it from the
// template's labels), not empty, well formed, and matching the template's labels.
func validateSelected(sel *metav1.LabelSelector, tmpl *corev1.PodTemplateSpec, emptyMsg string, path *field.Path) field.ErrorList {
	selPath := path.Child("selector")
	if sel == nil {
		// The server then matches the labels against a selector that selects nothing.
		return field.ErrorList{field.Required(selPath, ""), field.Invalid(path.Child("template", "metadata", "labels"), tmpl.Labels, "`selector` does not match template `labels`")}
	}
	errs := metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, selPath)
	if len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
		errs = append(errs, field.Invalid(selPath, sel, emptyMsg))
	}
	ok, err := selects(sel, tmpl.Labels)
	if err != nil {
		return append(errs, field.Invalid(selPath, sel, "invalid label selector"))
	}
	if !ok {
		errs = append(errs, field.Invalid(path.Child("template", "metadata", "labels"), tmpl.Labels, "`selector` does not match template `labels`"))
	}
	return errs
}

// selects reports whether sel matches the labels (an empty selector matches: the server then
// reports the selector, not the labels). matchLabels alone, the usual case, is matched without
// building a labels.Selector.
func selects(sel *metav1.LabelSelector, lbls map[string]string) (bool, error) {
	if len(sel.MatchExpressions) == 0 {
		for k, v := range sel.MatchLabels {
			if got, ok := lbls[k]; !ok || got != v {
				return false, nil
			}
		}
		return true, nil
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false, err
	}
	return s.Matches(labels.Set(lbls)), nil
}

// validateAlwaysRestart: controllers that keep pods running refuse any restartPolicy but Always
// (the default).
func validateAlwaysRestart(tmpl *corev1.PodTemplateSpec, path *field.Path) field.ErrorList {
	if p := tmpl.Spec.RestartPolicy; p != "" && p != corev1.RestartPolicyAlways {
		return field.ErrorList{field.NotSupported(path.Child("template", "spec", "restartPolicy"), p, []string{string(corev1.RestartPolicyAlways)})}
	}
	return nil
}

// validateRollingUpdate is the server's ValidateRollingUpdateDeployment: each bound a
// non-negative integer or a percentage, maxUnavailable at most 100%, not both zero.
func validateRollingUpdate(maxUnavailable, maxSurge *intstr.IntOrString, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	muPath, msPath := path.Child("maxUnavailable"), path.Child("maxSurge")
	if maxUnavailable != nil {
		errs = append(errs, validatePositiveIntOrPercent(*maxUnavailable, muPath)...)
		if maxUnavailable.Type == intstr.String && len(validation.IsValidPercent(maxUnavailable.StrVal)) == 0 {
			if v, _ := intstr.GetScaledValueFromIntOrPercent(maxUnavailable, 100, false); v > 100 {
				errs = append(errs, field.Invalid(muPath, *maxUnavailable, "must not be greater than 100%"))
			}
		}
	}
	if maxSurge != nil {
		errs = append(errs, validatePositiveIntOrPercent(*maxSurge, msPath)...)
	}
	if maxUnavailable != nil && maxSurge != nil && isZero(*maxUnavailable) && isZero(*maxSurge) {
		errs = append(errs, field.Invalid(muPath, *maxUnavailable, "may not be 0 when `maxSurge` is 0"))
	}
	return errs
}

func validatePositiveIntOrPercent(v intstr.IntOrString, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch v.Type {
	case intstr.String:
		for _, m := range validation.IsValidPercent(v.StrVal) {
			errs = append(errs, field.Invalid(path, v, m))
		}
	case intstr.Int:
		errs = append(errs, metavalidation.ValidateNonnegativeField(int64(v.IntValue()), path)...)
	}
	return errs
}

func isZero(v intstr.IntOrString) bool {
	if v.Type == intstr.Int {
		return v.IntVal == 0
	}
	return v.StrVal == "0%"
}

// validateJobSpec: counts non-negative, restartPolicy OnFailure or Never (an unset one is
// defaulted to Always and refused). The selector is generated by the server unless
// manualSelector is true: only then is it required and matched here.
func validateJobSpec(j *batchv1.JobSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if j.ManualSelector != nil && *j.ManualSelector {
		selPath := path.Child("selector")
		if j.Selector == nil {
			errs = append(errs, field.Required(selPath, ""), field.Invalid(path.Child("template", "metadata", "labels"), j.Template.Labels, "`selector` does not match template `labels`"))
		} else {
			errs = append(errs, metav1validation.ValidateLabelSelector(j.Selector, metav1validation.LabelSelectorValidationOptions{}, selPath)...)
			if ok, err := selects(j.Selector, j.Template.Labels); err == nil && !ok {
				errs = append(errs, field.Invalid(path.Child("template", "metadata", "labels"), j.Template.Labels, "`selector` does not match template `labels`"))
			}
		}
	}
	for _, c := range []struct {
		v    *int32
		name string
	}{{j.Parallelism, "parallelism"}, {j.Completions, "completions"}, {j.BackoffLimit, "backoffLimit"}} {
		if c.v != nil {
			errs = append(errs, metavalidation.ValidateNonnegativeField(int64(*c.v), path.Child(c.name))...)
		}
	}
	p := j.Template.Spec.RestartPolicy
	if p == "" || p == corev1.RestartPolicyAlways {
		errs = append(errs, field.Required(path.Child("template", "spec", "restartPolicy"), `valid values: "OnFailure", "Never"`))
	} else if p != corev1.RestartPolicyOnFailure && p != corev1.RestartPolicyNever {
		errs = append(errs, field.NotSupported(path.Child("template", "spec", "restartPolicy"), p,
			[]string{string(corev1.RestartPolicyOnFailure), string(corev1.RestartPolicyNever)}))
	}
	return append(errs, validatePodSpec(&j.Template.Spec, path.Child("template", "spec"))...)
}
