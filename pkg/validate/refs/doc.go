// Package refs checks references across objects: parents, listeners, backends, ReferenceGrants,
// policy targets, Secrets and route conflicts.
package refs
