//go:build tools

// Package tools pins the one command built from this module: kube-apiserver
// of the oldest Kubernetes herald supports.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
