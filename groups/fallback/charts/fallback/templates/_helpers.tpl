{{- define "fallback.gateway" -}}
{{- default (printf "%s-standby" .Values.gateway.name) .Values.standby.name -}}
{{- end -}}
{{- define "fallback.parentRef" -}}
- group: gateway.networking.k8s.io
  kind: Gateway
  name: {{ include "fallback.gateway" . }}
  namespace: {{ .Values.gateway.namespace }}
  sectionName: http
{{- end -}}
