package kube

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/infergw/gwctl/pkg/gateway"
)

// A Gateway's Service lives in the dataplane's namespace (a Service selects pods of its own
// namespace only, and an owner reference cannot cross namespaces), marked with the Gateway it
// serves and the controller that made it, so the leader can remove it when the Gateway goes.
const (
	labelManagedBy     = "app.kubernetes.io/managed-by"
	managedBy          = "gwctl-dataplane"
	labelGatewayName   = "gateway.networking.k8s.io/gateway-name"
	annotationGateway  = "gwctl.infergw.dev/gateway"
	annotationControls = "gwctl.infergw.dev/controller"
)

// GatewayServiceName is the Service that gives Gateway ns/name its address: a DNS label made
// of both names and a hash of them (so two Gateways never share one).
func GatewayServiceName(gw gateway.NamespacedName) string {
	h := fnv.New32a()
	h.Write([]byte(gw.Namespace + "/" + gw.Name))
	base := strings.NewReplacer(".", "-").Replace(gw.Namespace + "-" + gw.Name)
	if len(base) > 50 {
		base = base[:50]
	}
	return "gw-" + strings.TrimRight(base, "-") + fmt.Sprintf("-%08x", h.Sum32())
}

// gatewayService is the Service of one Gateway: each listener port to the Gateway's own port
// on the dataplane pods, the type and pod selector of the dataplane's own Service.
func (c *Controller) gatewayService(gw gateway.NamespacedName, ports map[int32]int32, base *corev1.Service) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: GatewayServiceName(gw), Namespace: c.opts.Namespace,
			Labels:      map[string]string{labelManagedBy: managedBy},
			Annotations: map[string]string{annotationGateway: gw.String(), annotationControls: c.opts.Compile.ControllerName}},
		Spec: corev1.ServiceSpec{Type: base.Spec.Type, Selector: base.Spec.Selector},
	}
	if len(gw.Name) <= 63 {
		svc.Labels[labelGatewayName] = gw.Name
	}
	if svc.Spec.Type == "" {
		svc.Spec.Type = corev1.ServiceTypeClusterIP
	}
	listen := make([]int32, 0, len(ports))
	for p := range ports {
		listen = append(listen, p)
	}
	sort.Slice(listen, func(i, j int) bool { return listen[i] < listen[j] })
	for _, p := range listen {
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: "port-" + strconv.Itoa(int(p)), Protocol: corev1.ProtocolTCP,
			Port: p, TargetPort: intstr.FromInt32(ports[p])})
	}
	return svc
}

// syncServices makes the Services of the Gateways the applied config serves and removes those of
// Gateways it no longer serves. Only the leader calls it.
func (c *Controller) syncServices(ctx context.Context) {
	c.bindMu.Lock()
	alloc := c.alloc
	c.bindMu.Unlock()
	if !c.opts.GatewayPorts.enabled() || alloc == nil {
		return
	}
	obj, ok, _ := c.Endpoints.services.GetStore().GetByKey(c.opts.Namespace + "/" + c.opts.Service)
	if !ok {
		c.log.Warn("the dataplane's Service is missing: Gateways get no Service of their own (its selector says which pods serve them)",
			slog.String("service", c.opts.Namespace+"/"+c.opts.Service))
		return
	}
	base := obj.(*corev1.Service)
	byGW := map[gateway.NamespacedName]map[int32]int32{}
	for k, p := range alloc {
		if byGW[k.gw] == nil {
			byGW[k.gw] = map[int32]int32{}
		}
		byGW[k.gw][k.port] = p
	}
	api := c.cs.CoreV1().Services(c.opts.Namespace)
	want := map[string]bool{}
	for gw, ports := range byGW {
		svc := c.gatewayService(gw, ports, base)
		want[svc.Name] = true
		cur, ok, _ := c.Endpoints.services.GetStore().GetByKey(c.opts.Namespace + "/" + svc.Name)
		if !ok {
			_, err := api.Create(ctx, svc, metav1.CreateOptions{FieldManager: managedBy})
			c.serviceWrite("create", svc.Name, err)
			continue
		}
		old := cur.(*corev1.Service)
		if sameService(old, svc) {
			continue
		}
		upd := old.DeepCopy()
		upd.Labels, upd.Annotations = svc.Labels, svc.Annotations
		upd.Spec.Type, upd.Spec.Selector, upd.Spec.Ports = svc.Spec.Type, svc.Spec.Selector, svc.Spec.Ports
		_, err := api.Update(ctx, upd, metav1.UpdateOptions{FieldManager: managedBy})
		c.serviceWrite("update", svc.Name, err)
	}
	for _, o := range c.Endpoints.services.GetStore().List() {
		s := o.(*corev1.Service)
		if s.Namespace != c.opts.Namespace || s.Labels[labelManagedBy] != managedBy ||
			s.Annotations[annotationControls] != c.opts.Compile.ControllerName || want[s.Name] {
			continue
		}
		err := api.Delete(ctx, s.Name, metav1.DeleteOptions{})
		if apierrors.IsNotFound(err) {
			err = nil
		}
		c.serviceWrite("delete", s.Name, err)
	}
}

func (c *Controller) serviceWrite(verb, name string, err error) {
	if err != nil && !apierrors.IsConflict(err) && !apierrors.IsAlreadyExists(err) {
		c.log.Warn("Gateway Service "+verb+" failed", slog.String("service", c.opts.Namespace+"/"+name), slog.String("error", err.Error()))
	}
}

func sameService(a, b *corev1.Service) bool {
	return a.Spec.Type == b.Spec.Type && sameJSON(a.Spec.Selector, b.Spec.Selector) && sameJSON(a.Labels, b.Labels) &&
		sameJSON(a.Annotations, b.Annotations) && samePorts(a.Spec.Ports, b.Spec.Ports)
}

// samePorts compares what syncServices sets (the API server fills in nodePort and the like).
func samePorts(a, b []corev1.ServicePort) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Port != b[i].Port || a[i].TargetPort != b[i].TargetPort || a[i].Protocol != b[i].Protocol {
			return false
		}
	}
	return true
}

// serviceAddresses are a Service's load-balancer addresses, else its cluster IPs.
func serviceAddresses(svc *corev1.Service) []any {
	var out []any
	for _, in := range svc.Status.LoadBalancer.Ingress {
		switch {
		case in.IP != "":
			out = append(out, map[string]any{"type": "IPAddress", "value": in.IP})
		case in.Hostname != "":
			out = append(out, map[string]any{"type": "Hostname", "value": in.Hostname})
		}
	}
	if len(out) == 0 {
		for _, ip := range svc.Spec.ClusterIPs {
			if ip != "" && ip != corev1.ClusterIPNone {
				out = append(out, map[string]any{"type": "IPAddress", "value": ip})
			}
		}
	}
	return out
}

// gatewayAddresses are the addresses of a Gateway: its own Service's with per-Gateway ports,
// else the dataplane Service's; which Service, for the AddressNotAssigned message.
func (c *Controller) gatewayAddresses(gw gateway.NamespacedName) ([]any, string) {
	name := c.opts.Service
	if c.opts.GatewayPorts.enabled() {
		name = GatewayServiceName(gw)
	}
	obj, ok, _ := c.Endpoints.services.GetStore().GetByKey(c.opts.Namespace + "/" + name)
	if !ok {
		return nil, c.opts.Namespace + "/" + name
	}
	return serviceAddresses(obj.(*corev1.Service)), c.opts.Namespace + "/" + name
}
