package gateway

import "cmp"

// SecretProducer is a kind of object that makes a Secret in its own namespace in the cluster,
// and the field that names the Secret. These rules are the one place gwctl knows them: the
// compile (a certificateRef to a Secret not in the input) and gwctl validate's references
// (pkg/validate/objects) both read them.
type SecretProducer struct {
	Group, Kind string
	path        []string
	// orName: an unset (or non-string) name field means the object's own name.
	orName bool
}

// SecretProducers are cert-manager Certificates (spec.secretName), External Secrets
// ExternalSecrets (spec.target.name, else their name) and Sealed Secrets SealedSecrets
// (spec.template.metadata.name, else their name), in the order validate names the first
// producer of a Secret. Gateways annotated for cert-manager's gateway-shim make Secrets too
// (ShimSecrets).
var SecretProducers = []SecretProducer{
	{Group: "external-secrets.io", Kind: "ExternalSecret", path: []string{"spec", "target", "name"}, orName: true},
	{Group: "cert-manager.io", Kind: "Certificate", path: []string{"spec", "secretName"}},
	{Group: "bitnami.com", Kind: "SealedSecret", path: []string{"spec", "template", "metadata", "name"}, orName: true},
}

// secretProducer is the rule of group/kind; nil when objects of that kind make no Secret.
func secretProducer(group, kind string) *SecretProducer {
	for i := range SecretProducers {
		if p := &SecretProducers[i]; p.Group == group && p.Kind == kind {
			return p
		}
	}
	return nil
}

// Secret is the name of the Secret an object of this kind named name, with content (the whole
// object as decoded JSON), makes in its namespace; "" when it names none. badType says the name
// field holds a value that is not a string.
func (p SecretProducer) Secret(name string, content map[string]any) (secret string, badType bool) {
	v := rawAt(content, p.path...)
	s, isString := v.(string)
	if p.orName && s == "" {
		s = name
	}
	return s, !isString && v != nil
}

// ShimSecrets lists the Secrets cert-manager's gateway-shim makes for a Gateway (content, the
// whole object) in namespace: one annotated with an issuer makes those its listeners name in
// the Gateway's own namespace (the shim makes Certificates there only). Values are read raw,
// without type findings: the Gateway's own compile reports those.
func ShimSecrets(content map[string]any, namespace string) []string {
	str := func(v any, keys ...string) string { s, _ := rawAt(v, keys...).(string); return s }
	if str(content, "metadata", "annotations", "cert-manager.io/issuer") == "" &&
		str(content, "metadata", "annotations", "cert-manager.io/cluster-issuer") == "" {
		return nil
	}
	var out []string
	listeners, _ := rawAt(content, "spec", "listeners").([]any)
	for _, l := range listeners {
		refs, _ := rawAt(l, "tls", "certificateRefs").([]any)
		for _, ref := range refs {
			if str(ref, "group") == "" && cmp.Or(str(ref, "kind"), "Secret") == "Secret" &&
				cmp.Or(str(ref, "namespace"), namespace) == namespace {
				out = append(out, str(ref, "name"))
			}
		}
	}
	return out
}

// rawAt is field.at's value: nil where a key is missing or a value on the way is not a map.
func rawAt(v any, keys ...string) any {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}
