package builtin

import (
	"strings"
	"testing"

	"github.com/infergw/gwctl/pkg/manifest"
)

// deploy is a valid Deployment; each case edits one line of it (or of another kind below).
const deploy = `apiVersion: apps/v1
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

const svc = `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  ports: [{name: http, port: 80, targetPort: http, nodePort: 30080}, {name: dns, port: 80, protocol: UDP, targetPort: 8080}]
`

const job = `apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: run, image: busybox}]
`

const cm = `apiVersion: v1
kind: ConfigMap
metadata: {name: c}
data: {a: x}
binaryData: {b: eA==}
`

const claim = `apiVersion: resource.k8s.io/v1
kind: ResourceClaim
metadata: {name: gpu}
spec:
  devices:
    requests:
    - name: gpu
      exactly: {deviceClassName: gpu.example.com}
`

// Each case is refused by kube-apiserver (or by server-side apply) with the message given; the
// unedited neighbour is accepted.
func TestBuiltinServerChecks(t *testing.T) {
	cases := []struct {
		name, base, from, to string
		field, msg           string // want; empty: no finding
	}{
		{"valid deployment", deploy, "", "", "", ""},
		{"valid service", svc, "", "", "", ""},
		{"valid job", job, "", "", "", ""},
		{"valid configmap", cm, "", "", "", ""},
		{"valid resourceclaim", claim, "", "", "", ""},
		{"resourceclaim declarative", claim, "exactly: {deviceClassName: gpu.example.com}", "exactly: {deviceClassName: gpu.example.com, allocationMode: Some}",
			"spec.devices.requests[0].exactly.allocationMode", `Unsupported value: "Some": supported values: "All", "ExactCount"`},
		{"selector mismatch", deploy, "labels: {app: web}", "labels: {app: api}",
			"spec.template.metadata.labels", `Invalid value: {"app":"api"}: ` + "`selector` does not match template `labels`"},
		{"selector missing", deploy, "  selector: {matchLabels: {app: web}}\n", "", "spec.selector", "Required value"},
		{"selector empty", deploy, "selector: {matchLabels: {app: web}}", "selector: {}", "spec.selector", "Invalid value: {}: empty selector is invalid for deployment"},
		{"selector expression", deploy, "selector: {matchLabels: {app: web}}", "selector: {matchExpressions: [{key: app, operator: In, values: [api]}]}",
			"spec.template.metadata.labels", `Invalid value: {"app":"web"}: ` + "`selector` does not match template `labels`"},
		{"valid selector expression", deploy, "selector: {matchLabels: {app: web}}", "selector: {matchExpressions: [{key: app, operator: In, values: [web, api]}]}", "", ""},
		{"selector bad operator", deploy, "selector: {matchLabels: {app: web}}", "selector: {matchExpressions: [{key: app, operator: Near, values: [web]}]}",
			"spec.selector", `Invalid value: {"matchExpressions":[{"key":"app","operator":"Near","values":["web"]}]}: invalid label selector`},
		{"restartPolicy bogus", deploy, "restartPolicy: Always", "restartPolicy: Bogus",
			"spec.template.spec.restartPolicy", `Unsupported value: "Bogus": supported values: "Always", "OnFailure", "Never"`},
		{"restartPolicy never in deployment", deploy, "restartPolicy: Always", "restartPolicy: Never",
			"spec.template.spec.restartPolicy", `Unsupported value: "Never": supported values: "Always"`},
		{"replicas negative", deploy, "replicas: 2", "replicas: -1", "spec.replicas", "Invalid value: -1: must be greater than or equal to 0"},
		{"request above limit", deploy, "requests: {memory: 1Gi}", "requests: {memory: 2Gi}",
			"spec.template.spec.containers[0].resources.requests", `Invalid value: "2Gi": must be less than or equal to memory limit of 1Gi`},
		{"extended resource request below limit", deploy, "requests: {memory: 1Gi}, limits: {memory: 1Gi}", "requests: {example.com/gpu: 1}, limits: {example.com/gpu: 2}",
			"spec.template.spec.containers[0].resources.requests", `Invalid value: "1": must be equal to example.com/gpu limit of 2`},
		{"container name", deploy, "name: app", "name: App_1",
			"spec.template.spec.containers[0].name", `Invalid value: "App_1": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`},
		{"image missing", deploy, "        image: nginx\n", "", "spec.template.spec.containers[0].image", "Required value"},
		{"imagePullPolicy", deploy, "image: nginx", "image: nginx\n        imagePullPolicy: Sometimes",
			"spec.template.spec.containers[0].imagePullPolicy", `Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"`},
		{"value and valueFrom", deploy, "{name: B, valueFrom", "{name: B, value: z, valueFrom",
			"spec.template.spec.containers[0].env[1].valueFrom", "Invalid value: \"\": may not be specified when `value` is not empty"},
		{"duplicate containerPort", deploy, "protocol: UDP}", "protocol: TCP}",
			"spec.template.spec.containers[0].ports[1]", `duplicate entries for key [containerPort=80,protocol="TCP"]`},
		{"container port name", deploy, "name: http}", "name: \"8080\"}",
			"spec.template.spec.containers[0].ports[0].name", `Invalid value: "8080": must contain at least one letter (a-z)`},
		{"maxUnavailable string", deploy, "maxUnavailable: 1", `maxUnavailable: "1"`,
			"spec.strategy.rollingUpdate.maxUnavailable", `Invalid value: "1": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')`},
		{"maxUnavailable above 100%", deploy, "maxUnavailable: 1", `maxUnavailable: "101%"`,
			"spec.strategy.rollingUpdate.maxUnavailable", `Invalid value: "101%": must not be greater than 100%`},
		{"rolling update both zero", deploy, `maxUnavailable: 1, maxSurge: "25%"`, `maxUnavailable: 0, maxSurge: 0`,
			"spec.strategy.rollingUpdate.maxUnavailable", "Invalid value: 0: may not be 0 when `maxSurge` is 0"},
		{"nodePort on ClusterIP", svc, "type: NodePort", "type: ClusterIP",
			"spec.ports[0].nodePort", "Forbidden: may not be used when `type` is 'ClusterIP'"},
		{"numeric string targetPort", svc, "targetPort: http", `targetPort: "8080"`,
			"spec.ports[0].targetPort", `Invalid value: "8080": must contain at least one letter (a-z)`},
		{"duplicate port and protocol", svc, "protocol: UDP", "protocol: TCP",
			"spec.ports[1]", `Duplicate value: {"Name":"","Protocol":"TCP","AppProtocol":null,"Port":80,"TargetPort":0,"NodePort":0}`},
		{"key in data and binaryData", cm, "{b: eA==}", "{a: eA==}", "data[a]", `Invalid value: "a": duplicate of key present in binaryData`},
		{"job restartPolicy unset", job, "      restartPolicy: Never\n", "",
			"spec.template.spec.restartPolicy", `Required value: valid values: "OnFailure", "Never"`},
		{"job manualSelector without selector", job, "  template:", "  manualSelector: true\n  template:", "spec.selector", "Required value"},
		{"job manualSelector mismatch", job, "  template:\n", "  manualSelector: true\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: c}}\n",
			"spec.template.metadata.labels", `Invalid value: {"a":"c"}: ` + "`selector` does not match template `labels`"},
		{"valid job manualSelector", job, "  template:\n", "  manualSelector: true\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n", "", ""},
		{"job parallelism", job, "  template:", "  parallelism: -2\n  template:", "spec.parallelism", "Invalid value: -2: must be greater than or equal to 0"},
		{"statefulset selector mismatch", strings.Replace(strings.Replace(deploy, "kind: Deployment", "kind: StatefulSet", 1), "  strategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 1, maxSurge: \"25%\"}}\n", "", 1),
			"labels: {app: web}", "labels: {app: db}", "spec.template.metadata.labels", `Invalid value: {"app":"db"}: ` + "`selector` does not match template `labels`"},
		{"daemonset selector missing", strings.Replace(strings.Replace(deploy, "kind: Deployment", "kind: DaemonSet", 1), "  replicas: 2\n  selector: {matchLabels: {app: web}}\n  strategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 1, maxSurge: \"25%\"}}\n", "", 1),
			"", "", "spec.template.metadata.labels", `Invalid value: {"app":"web"}: ` + "`selector` does not match template `labels`"},
		{"cronjob pod template", `apiVersion: batch/v1
kind: CronJob
metadata: {name: c}
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: run, image: busybox}]
`, "name: run, image: busybox", "name: run", "spec.jobTemplate.spec.template.spec.containers[0].image", "Required value"},
		{"pod containers", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: nginx}, {name: a, image: redis}]\n",
			"", "", "spec.containers[1].name", `Duplicate value: "a"`},
		// Found by the differential test against kube-apiserver (internal/apiserverdiff).
		{"volume mount of no volume", deploy, "image: nginx", "image: nginx\n        volumeMounts: [{name: data, mountPath: /data}]",
			"spec.template.spec.containers[0].volumeMounts[0].name", `Not found: "data"`},
		{"volume without secretName", deploy, "restartPolicy: Always", "restartPolicy: Always\n      volumes: [{name: s, secret: {}}]",
			"spec.template.spec.volumes[0].secret.secretName", "Required value"},
		{"valid volume defaulted to emptyDir", strings.Replace(deploy, "restartPolicy: Always", "restartPolicy: Always\n      volumes: [{name: data}]", 1),
			"image: nginx", "image: nginx\n        volumeMounts: [{name: data, mountPath: /data}]", "", ""},
		{"probe without handler", deploy, "image: nginx", "image: nginx\n        livenessProbe: {periodSeconds: 5}",
			"spec.template.spec.containers[0].livenessProbe", "Required value: must specify a handler type"},
		{"probe port 0", deploy, "image: nginx", "image: nginx\n        readinessProbe: {httpGet: {port: 0}}",
			"spec.template.spec.containers[0].readinessProbe.httpGet.port", "Invalid value: 0: must be between 1 and 65535, inclusive"},
		{"startup probe successThreshold", deploy, "image: nginx", "image: nginx\n        startupProbe: {tcpSocket: {port: http}, successThreshold: 2}",
			"spec.template.spec.containers[0].startupProbe.successThreshold", "Invalid value: 2: must be 1"},
		{"seccomp type missing", deploy, "restartPolicy: Always", "restartPolicy: Always\n      securityContext: {seccompProfile: {localhostProfile: x}}",
			"spec.template.spec.securityContext.seccompProfile.type", "Required value: type is required when seccompProfile is set"},
		{"env valueFrom without source", deploy, "valueFrom: {fieldRef: {fieldPath: metadata.name}}", "valueFrom: {}",
			"spec.template.spec.containers[0].env[1].valueFrom", "Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef`, `secretKeyRef` or `fileKeyRef`"},
		{"env secretKeyRef without key", deploy, "valueFrom: {fieldRef: {fieldPath: metadata.name}}", "valueFrom: {secretKeyRef: {name: s}}",
			"spec.template.spec.containers[0].env[1].valueFrom.secretKeyRef.key", "Required value"},
		{"service type", svc, "type: NodePort", "type: Bogus",
			"spec.type", `Unsupported value: "Bogus": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"`},
		{"node port shared by the same protocol", svc, "protocol: UDP", "protocol: TCP", "spec.ports[1].nodePort", "Duplicate value: 30080"},
		{"configmap key path", cm, "data: {a: x}", "data: {a b: x}",
			"data[a b]", `Invalid value: "a b": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`},
		{"cronjob schedule", "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec:\n  schedule: every minute\n  jobTemplate: {spec: {template: {spec: {restartPolicy: Never, containers: [{name: a, image: b}]}}}}\n",
			"", "", "spec.schedule", `Invalid value: "every minute": expected exactly 5 fields, found 2: [every minute]`},
		{"ingress pathType", "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\nspec:\n  rules: [{http: {paths: [{path: /, pathType: Bogus, backend: {service: {name: s, port: {number: 80}}}}]}}]\n",
			"", "", "spec.rules[0].http.paths[0].pathType", `Unsupported value: "Bogus": supported values: "Exact", "ImplementationSpecific", "Prefix"`},
	}
	b, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.base
			if tc.from != "" {
				if !strings.Contains(src, tc.from) {
					t.Fatalf("base has no %q", tc.from)
				}
				src = strings.Replace(src, tc.from, tc.to, 1)
			}
			objs, err := manifest.Parse("t.yaml", []byte(src), manifest.DefaultLimits)
			if err != nil || len(objs) != 1 {
				t.Fatalf("parse: %v (%d objects)", err, len(objs))
			}
			got := b.Validate(objs[0])
			if tc.msg == "" {
				for _, f := range got {
					t.Errorf("unexpected finding: %s", f.String())
				}
				return
			}
			for _, f := range got {
				if f.Field == tc.field && f.Message == tc.msg {
					if f.Line == objs[0].Pos.Line && tc.field != "" {
						t.Errorf("finding at the object's first line, not at %s: %s", tc.field, f.String())
					}
					return
				}
			}
			var all []string
			for _, f := range got {
				all = append(all, f.Field+": "+f.Message)
			}
			t.Errorf("want %s: %s\ngot:\n%s", tc.field, tc.msg, strings.Join(all, "\n"))
		})
	}
}
