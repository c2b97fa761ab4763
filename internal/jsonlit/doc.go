// Package jsonlit is the one implementation of JSON's string and number literal grammar: the
// strict reader (dataplane/jsonstrict), the providers' decoders (dataplane/llm/jsonscan) and the
// YAML front end's double-quoted escapes (pkg/manifest) scan and decode literals with it.
package jsonlit
