{{- define "dataplane.labels" -}}
app.kubernetes.io/name: dataplane
app.kubernetes.io/component: gateway
{{- end -}}
