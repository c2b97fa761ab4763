package apiserverdiff

import (
	"strings"
	"testing"
)

// The valid objects the tricky built-in cases edit.
const (
	deploy = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 1, maxSurge: "25%"}}
  template:
    metadata: {labels: {app: web}}
    spec:
      restartPolicy: Always
      containers:
      - name: app
        image: nginx
        ports: [{containerPort: 80, name: http}, {containerPort: 80, protocol: UDP}]
        env: [{name: A, value: x}, {name: B, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
        resources: {requests: {memory: 1Gi}, limits: {memory: 1Gi}}
`
	svc = `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http, nodePort: 30080}, {name: dns, port: 80, protocol: UDP, targetPort: 8080}]
`
	job = `apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: run, image: busybox}]
`
	cm = `apiVersion: v1
kind: ConfigMap
metadata: {name: c}
data: {a: x}
binaryData: {b: eA==}
`
	cron = `apiVersion: batch/v1
kind: CronJob
metadata: {name: c}
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: run, image: busybox}]
`
	ingress = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: i}
spec:
  rules:
  - host: example.com
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]
`
)

// builtinCases are tricky built-in objects: valid ones and one-line edits the server refuses
// (the gaps issue #16 found, and their neighbours). Each is base with from replaced by to.
var builtinCases = []struct{ name, base, from, to string }{
	{"valid deployment", deploy, "", ""},
	{"valid service", svc, "", ""},
	{"valid job", job, "", ""},
	{"valid configmap", cm, "", ""},
	{"valid cronjob", cron, "", ""},
	{"valid ingress", ingress, "", ""},
	{"selector not matching template labels", deploy, "labels: {app: web}", "labels: {app: api}"},
	{"selector missing", deploy, "  selector: {matchLabels: {app: web}}\n", ""},
	{"selector empty", deploy, "selector: {matchLabels: {app: web}}", "selector: {}"},
	{"selector bad operator", deploy, "selector: {matchLabels: {app: web}}", "selector: {matchExpressions: [{key: app, operator: Near, values: [web]}]}"},
	{"restartPolicy Bogus", deploy, "restartPolicy: Always", "restartPolicy: Bogus"},
	{"replicas -1", deploy, "replicas: 2", "replicas: -1"},
	{"memory request above limit", deploy, "requests: {memory: 1Gi}", "requests: {memory: 2Gi}"},
	{"invalid container name", deploy, "name: app", "name: App_1"},
	{"image missing", deploy, "        image: nginx\n", ""},
	{"imagePullPolicy Sometimes", deploy, "image: nginx", "image: nginx\n        imagePullPolicy: Sometimes"},
	{"value with valueFrom", deploy, "{name: B, valueFrom", "{name: B, value: z, valueFrom"},
	{"duplicate containerPort", deploy, "protocol: UDP}", "protocol: TCP}"},
	{"numeric container port name", deploy, "name: http}", "name: \"8080\"}"},
	{"maxUnavailable string 1", deploy, "maxUnavailable: 1", `maxUnavailable: "1"`},
	{"maxUnavailable 101%", deploy, "maxUnavailable: 1", `maxUnavailable: "101%"`},
	{"maxUnavailable and maxSurge 0", deploy, `maxUnavailable: 1, maxSurge: "25%"`, "maxUnavailable: 0, maxSurge: 0"},
	{"unknown field in deployment spec", deploy, "replicas: 2", "replicas: 2\n  replica: 3"},
	{"nodePort on ClusterIP", svc, "type: NodePort", "type: ClusterIP"},
	{"numeric-string targetPort", svc, "targetPort: http", `targetPort: "8080"`},
	{"duplicate port and protocol", svc, "protocol: UDP", "protocol: TCP"},
	{"service port 70000", svc, "port: 80, targetPort: http", "port: 70000, targetPort: http"},
	{"service type Bogus", svc, "type: NodePort", "type: Bogus"},
	{"key in data and binaryData", cm, "{b: eA==}", "{a: eA==}"},
	{"configmap key with a space", cm, "data: {a: x}", "data: {a b: x}"},
	{"job restartPolicy unset", job, "      restartPolicy: Never\n", ""},
	{"job parallelism -2", job, "  template:", "  parallelism: -2\n  template:"},
	{"job manualSelector without selector", job, "  template:", "  manualSelector: true\n  template:"},
	{"cronjob bad schedule", cron, `"*/5 * * * *"`, `"every five minutes"`},
	{"ingress pathType Bogus", ingress, "pathType: Prefix", "pathType: Bogus"},
	{"pod duplicate container names", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: nginx}, {name: a, image: redis}]\n", "", ""},
	{"namespace name with capitals", "apiVersion: v1\nkind: Namespace\nmetadata: {name: Team_A}\n", "", ""},
	{"label value too long", cm, "metadata: {name: c}", "metadata: {name: c, labels: {a: " + strings.Repeat("x", 64) + "}}"},
	{"secret stringData key with a space", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {a b: x}\n", "", ""},
	{"valid statefulset", sts, "", ""},
	{"statefulset selector empty", sts, "selector: {matchLabels: {app: db}}", "selector: {}"},
	{"valid daemonset", ds, "", ""},
	{"daemonset selector missing", ds, "  selector: {matchLabels: {app: agent}}\n", ""},
	{"daemonset selector empty", ds, "selector: {matchLabels: {app: agent}}", "selector: {}"},
	{"liveness probe without handler", deploy, "image: nginx", "image: nginx\n        livenessProbe: {periodSeconds: 5}"},
	{"readiness probe port 0", deploy, "image: nginx", "image: nginx\n        readinessProbe: {httpGet: {port: 0}}"},
	{"startup probe successThreshold 2", deploy, "image: nginx", "image: nginx\n        startupProbe: {tcpSocket: {port: http}, successThreshold: 2}"},
	{"volume mount of no volume", deploy, "image: nginx", "image: nginx\n        volumeMounts: [{name: data, mountPath: /data}]"},
	{"env valueFrom without source", deploy, "valueFrom: {fieldRef: {fieldPath: metadata.name}}", "valueFrom: {}"},
	{"seccomp profile type Bogus", deploy, "restartPolicy: Always", "restartPolicy: Always\n      securityContext: {seccompProfile: {type: Bogus}}"},
	// Kinds whose validation gwctl does not mirror (strict decoding and metadata only): they
	// show what stays open (allowedBuiltin).
	{"hpa minReplicas 0", "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n  minReplicas: 0\n  maxReplicas: 3\n", "", ""},
	{"pdb minAvailable and maxUnavailable", "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: p}\nspec:\n  minAvailable: 1\n  maxUnavailable: 1\n  selector: {matchLabels: {app: web}}\n", "", ""},
	{"networkpolicy port protocol Bogus", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np}\nspec:\n  podSelector: {}\n  ingress: [{ports: [{port: 80, protocol: Bogus}]}]\n", "", ""},
	{"role rule without verbs", "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r}\nrules: [{apiGroups: [''], resources: [pods]}]\n", "", ""},
	{"pvc without storage request", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c}\nspec:\n  accessModes: [ReadWriteOnce]\n", "", ""},
}

const (
	sts = `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: postgres}]
`
	ds = `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: busybox}]
`
)

func builtinDocs(t *testing.T) []*doc {
	t.Helper()
	var out []*doc
	for _, c := range builtinCases {
		src := c.base
		if c.from != "" {
			if !strings.Contains(src, c.from) {
				t.Fatalf("builtin case %q: base has no %q", c.name, c.from)
			}
			src = strings.Replace(src, c.from, c.to, 1)
		}
		objs := parseDocs(t, c.name, []byte(src))
		if len(objs) != 1 {
			t.Fatalf("builtin case %q: %d documents", c.name, len(objs))
		}
		out = append(out, &doc{ID: "builtin " + c.name, Source: "builtin", Content: objs[0].Content})
	}
	return out
}
