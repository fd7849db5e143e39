//go:build tools

// Package tools pins the commands built from this module: the control plane
// (kube-apiserver, kube-controller-manager, kube-scheduler), kube-proxy for
// the lab's nodes, and kubectl.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
