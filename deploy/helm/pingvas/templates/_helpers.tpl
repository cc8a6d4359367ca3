{{/* Shared pieces of the Pingvas chart. */}}

{{- define "pingvas.env" -}}
{{- required "environment is required (dev or prod)" .Values.environment -}}
{{- end -}}

{{- define "pingvas.accountId" -}}
{{- $id := required "aws.accountId is required" .Values.aws.accountId | toString -}}
{{- if not (regexMatch "^[0-9]{12}$" $id) -}}
{{- fail (printf "aws.accountId must be 12 digits, got %q" $id) -}}
{{- end -}}
{{- $id -}}
{{- end -}}

{{- define "pingvas.imagesBucket" -}}
{{- .Values.storage.imagesBucket | default (printf "pingvas-%s-images-%s" (include "pingvas.env" .) (include "pingvas.accountId" .)) -}}
{{- end -}}

{{- define "pingvas.modelsBucket" -}}
{{- .Values.storage.modelsBucket | default (printf "pingvas-%s-models-%s" (include "pingvas.env" .) (include "pingvas.accountId" .)) -}}
{{- end -}}

{{/* image: (dict "root" $ "name" "gateway") */}}
{{- define "pingvas.image" -}}
{{- $v := .root.Values.image -}}
{{- printf "%s/pingvas/%s:%s" (required "image.registry is required" $v.registry) .name (required "image.tag is required" ($v.tag | toString)) -}}
{{- end -}}

{{/* labels: (dict "root" $ "name" "gateway") */}}
{{- define "pingvas.selectorLabels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{- define "pingvas.labels" -}}
{{ include "pingvas.selectorLabels" . }}
app.kubernetes.io/part-of: pingvas
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/version: {{ .root.Values.image.tag | toString | quote }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
pingvas.io/environment: {{ include "pingvas.env" .root }}
{{- end -}}

{{/* the IRSA role of a workload: pingvas-<env>-<workload> (deploy/terraform/modules/iam) */}}
{{- define "pingvas.roleArn" -}}
{{- printf "arn:aws:iam::%s:role/pingvas-%s-%s" (include "pingvas.accountId" .root) (include "pingvas.env" .root) .name -}}
{{- end -}}

{{/* the variables every Pingvas process reads; (dict "root" $ "prefix" "BILLING") */}}
{{- define "pingvas.commonEnv" -}}
- name: PINGVAS_ENVIRONMENT
  value: production
- name: {{ .prefix }}_HOST
  value: 0.0.0.0
- name: {{ .prefix }}_PORT
  value: {{ .port | quote }}
- name: {{ .prefix }}_BUS
  value: sqs
- name: PINGVAS_BUS_PROVISION
  # Terraform owns the topics, queues and subscriptions (modules/bus): a service only uses them
  value: "false"
- name: {{ .prefix }}_BUS_PREFIX
  value: {{ .root.Values.bus.prefix | quote }}
- name: {{ .prefix }}_AWS_REGION
  value: {{ .root.Values.aws.region | quote }}
- name: AWS_REGION
  value: {{ .root.Values.aws.region | quote }}
- name: {{ .prefix }}_LOG_JSON
  value: "true"
{{- include "pingvas.tracingEnv" .root }}
{{- end -}}

{{/* traces: the collector (templates/tracing.yaml) and the standard OTEL_* variables;
     the service name defaults to the workload's own (pingvas_kit.telemetry) */}}
{{- define "pingvas.tracingEnv" -}}
{{- if .Values.tracing.enabled }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: http://otel-collector:4318
- name: OTEL_TRACES_SAMPLER
  value: {{ .Values.tracing.sampler | quote }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ .Values.tracing.samplerArg | quote }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ printf "deployment.environment.name=%s" (include "pingvas.env" .) | quote }}
{{- end }}
{{- end -}}

{{/* env entries for a workload's secrets, from its ExternalSecret's Secret;
     (dict "secrets" .secrets "secretName" "pingvas-billing") */}}
{{- define "pingvas.secretEnv" -}}
{{- range $var, $ref := .secrets }}
- name: {{ $var }}
  valueFrom:
    secretKeyRef:
      name: {{ $.secretName }}
      key: {{ $var }}
{{- end }}
{{- end -}}

{{/* the data of an ExternalSecret: each variable from pingvas/<env>/<path> key <key>;
     (dict "root" $ "secrets" .secrets) */}}
{{- define "pingvas.externalSecretData" -}}
{{- $env := include "pingvas.env" .root -}}
{{- range $var, $ref := .secrets }}
- secretKey: {{ $var }}
  remoteRef:
    key: {{ printf "pingvas/%s/%s" $env (index $ref 0) }}
    property: {{ index $ref 1 }}
{{- end }}
{{- end -}}

{{- define "pingvas.upstreams" -}}
{{- $out := dict -}}
{{- range $name, $svc := .Values.services -}}
{{- if ne $name "gateway" -}}
{{- $_ := set $out $name (printf "http://%s:%v" $name $svc.port) -}}
{{- end -}}
{{- end -}}
{{- $out | toJson -}}
{{- end -}}

{{/* the worker's termination grace: at least its drain time */}}
{{- define "pingvas.workerGrace" -}}
{{- add (int .Values.worker.drainTimeoutSeconds) (int .Values.worker.terminationGraceMarginSeconds) -}}
{{- end -}}

{{/* egress to S3 through the VPC gateway endpoint: the region's S3 prefix list when
     given, otherwise any public address on 443 */}}
{{- define "pingvas.s3Egress" -}}
{{- $cidrs := .root.Values.networkPolicy.s3Cidrs -}}
- to:
    {{- if $cidrs }}
    {{- range $cidr := $cidrs }}
    - ipBlock: {cidr: {{ $cidr }}}
    {{- end }}
    {{- else }}
    - ipBlock:
        cidr: 0.0.0.0/0
        except: {{ toJson .private }}
    {{- end }}
  ports: [{protocol: TCP, port: 443}]
{{- end -}}
