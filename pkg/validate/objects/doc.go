// Package objects indexes a whole input by group, kind, namespace and name, with the object
// relations the cross-resource checks share (references, grants, targets, known objects).
package objects
