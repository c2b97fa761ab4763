package gateway

import (
	"slices"

	"github.com/infergw/gwctl/pkg/manifest"
)

// DefaultControllerName is the GatewayClass controllerName the dataplane serves unless told
// otherwise (dataplane --controller-name).
const DefaultControllerName = "gwctl.infergw.dev/dataplane"

// ours reports whether the dataplane serves Gateway o: its GatewayClass names our controller.
// Without Options.ControllerName every Gateway is ours (gwctl validate without a cluster). A
// class that is not in the input is ours in file mode (it may be applied apart from the routes)
// and not ours under Options.RequireClass (in a cluster every class is visible, so a missing
// one means the Gateway waits for a class nobody has created).
func (c *compiler) ours(o *manifest.Object) bool {
	if c.opts.ControllerName == "" {
		return true
	}
	class := root(c, o).at("spec", "gatewayClassName").str()
	gc := c.lookup(GroupGateway, "GatewayClass", "", class)
	if gc == nil {
		return !c.opts.RequireClass
	}
	ctl := root(c, gc).at("spec", "controllerName").str()
	return ctl == c.opts.ControllerName || slices.Contains(c.opts.AlsoControllers, ctl)
}

// foreignGateway reports whether the Gateway ns/name is in the input and served by another
// implementation: references to it are not the dataplane's business (no finding, no route).
func (c *compiler) foreignGateway(gw NamespacedName) bool {
	return c.foreign[gw]
}
