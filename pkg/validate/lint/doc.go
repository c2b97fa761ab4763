// Package lint checks a whole set of objects against agentgateway's semantics: settings that
// are valid but do not do what they seem to (rate-limit buckets, JWT providers, tracing, routes).
package lint
