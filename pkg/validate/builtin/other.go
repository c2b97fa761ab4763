package builtin

import (
	"fmt"
	"strings"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metavalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateOther holds the server checks of kinds other than workloads that the differential test
// against kube-apiserver (internal/apiserverdiff) found missing: a CronJob's schedule (parsed by
// the server's own parser, robfig/cron) and an Ingress's paths.
func validateOther(typed any) field.ErrorList {
	switch t := typed.(type) {
	case *batchv1.CronJob:
		return validateCronJob(&t.Spec, specPath)
	case *networkingv1.Ingress:
		return validateIngressPaths(&t.Spec, specPath)
	}
	return nil
}

var concurrencyPolicies = []string{string(batchv1.AllowConcurrent), string(batchv1.ForbidConcurrent), string(batchv1.ReplaceConcurrent)}

func validateCronJob(spec *batchv1.CronJobSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	sched := path.Child("schedule")
	if spec.Schedule == "" {
		errs = append(errs, field.Required(sched, ""))
	} else {
		if err := parseCron(spec.Schedule); err != nil {
			errs = append(errs, field.Invalid(sched, spec.Schedule, err.Error()))
		}
		if strings.Contains(spec.Schedule, "TZ") {
			errs = append(errs, field.Invalid(sched, spec.Schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
		}
	}
	if p := spec.ConcurrencyPolicy; p != "" && !oneOf(string(p), concurrencyPolicies) {
		errs = append(errs, field.NotSupported(path.Child("concurrencyPolicy"), p, concurrencyPolicies))
	}
	for _, f := range []struct {
		v    *int32
		name string
	}{{spec.SuccessfulJobsHistoryLimit, "successfulJobsHistoryLimit"}, {spec.FailedJobsHistoryLimit, "failedJobsHistoryLimit"}} {
		if f.v != nil {
			errs = append(errs, metavalidation.ValidateNonnegativeField(int64(*f.v), path.Child(f.name))...)
		}
	}
	if d := spec.StartingDeadlineSeconds; d != nil {
		errs = append(errs, metavalidation.ValidateNonnegativeField(*d, path.Child("startingDeadlineSeconds"))...)
	}
	return errs
}

// parseCron is the server's ParseCronScheduleWithPanicRecovery: robfig/cron panics on some inputs.
func parseCron(s string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("invalid schedule format: %v", r)
		}
	}()
	_, err = cron.ParseStandard(s)
	return err
}

var (
	ingressPathTypes     = []string{string(networkingv1.PathTypeExact), string(networkingv1.PathTypeImplementationSpecific), string(networkingv1.PathTypePrefix)}
	invalidPathSequences = []string{"//", "/./", "/../", "%2f", "%2F"}
	invalidPathSuffixes  = []string{"/..", "/."}
)

// validateIngressPaths is the server's validateHTTPIngressPath for every path of every rule.
func validateIngressPaths(spec *networkingv1.IngressSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, r := range spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for j, p := range r.HTTP.Paths {
			pp := path.Child("rules").Index(i).Child("http", "paths").Index(j)
			if p.PathType == nil {
				errs = append(errs, field.Required(pp.Child("pathType"), "pathType must be specified"))
				continue
			}
			switch *p.PathType {
			case networkingv1.PathTypeExact, networkingv1.PathTypePrefix:
				if !strings.HasPrefix(p.Path, "/") {
					errs = append(errs, field.Invalid(pp.Child("path"), p.Path, "must be an absolute path"))
				}
				for _, seq := range invalidPathSequences {
					if strings.Contains(p.Path, seq) {
						errs = append(errs, field.Invalid(pp.Child("path"), p.Path, fmt.Sprintf("must not contain '%s'", seq)))
					}
				}
				for _, suf := range invalidPathSuffixes {
					if strings.HasSuffix(p.Path, suf) {
						errs = append(errs, field.Invalid(pp.Child("path"), p.Path, fmt.Sprintf("cannot end with '%s'", suf)))
					}
				}
			case networkingv1.PathTypeImplementationSpecific:
				if p.Path != "" && !strings.HasPrefix(p.Path, "/") {
					errs = append(errs, field.Invalid(pp.Child("path"), p.Path, "must be an absolute path"))
				}
			default:
				errs = append(errs, field.NotSupported(pp.Child("pathType"), *p.PathType, ingressPathTypes))
			}
		}
	}
	return errs
}
