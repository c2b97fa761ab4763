package render

import "sort"

// installOrder is Helm's release install order for built-in kinds (releaseutil.InstallOrder).
var installOrder = []string{
	"PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
	"PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass",
	"PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole", "ClusterRoleList",
	"ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList",
	"Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
	"HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService",
}

var installRank = func() map[string]int {
	m := map[string]int{}
	for i, k := range installOrder {
		m[k] = i
	}
	return m
}()

// builtinGroups are the API groups whose kinds Helm's order covers.
var builtinGroups = map[string]bool{
	"": true, "apps": true, "batch": true, "policy": true, "rbac.authorization.k8s.io": true,
	"networking.k8s.io": true, "storage.k8s.io": true, "scheduling.k8s.io": true, "autoscaling": true,
	"apiextensions.k8s.io": true, "apiregistration.k8s.io": true,
}

// lastKinds go after everything else: they can reject the objects applied before them.
var lastKinds = map[string]bool{
	"MutatingWebhookConfiguration": true, "ValidatingWebhookConfiguration": true,
	"ValidatingAdmissionPolicy": true, "ValidatingAdmissionPolicyBinding": true,
	"MutatingAdmissionPolicy": true, "MutatingAdmissionPolicyBinding": true,
}

// class is an object's place in apply order:
// 0 CRDs, 1 Namespaces, 2 built-ins in Helm's order, 3 custom resources by group/kind, 4 admission last.
func class(o *Object) int {
	switch {
	case o.Kind == "CustomResourceDefinition":
		return 0
	case o.Kind == "Namespace" && o.APIGroup == "":
		return 1
	case lastKinds[o.Kind]:
		return 4
	case builtinGroups[o.APIGroup]:
		return 2
	}
	return 3
}

// Sort puts objects in the order `kubectl apply -f -` needs; ties go by namespace and name, so
// the stream is the same on every run.
func Sort(objs []*Object) {
	sort.SliceStable(objs, func(i, j int) bool {
		a, b := objs[i], objs[j]
		ca, cb := class(a), class(b)
		if ca != cb {
			return ca < cb
		}
		switch ca {
		case 2:
			ra, oka := installRank[a.Kind]
			rb, okb := installRank[b.Kind]
			if !oka {
				ra = len(installOrder)
			}
			if !okb {
				rb = len(installOrder)
			}
			if ra != rb {
				return ra < rb
			}
			if a.Kind != b.Kind {
				return a.Kind < b.Kind
			}
		case 3, 4:
			if a.APIGroup != b.APIGroup {
				return a.APIGroup < b.APIGroup
			}
			if a.Kind != b.Kind {
				return a.Kind < b.Kind
			}
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
}
