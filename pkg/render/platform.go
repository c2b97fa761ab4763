package render

import (
	"context"

	"github.com/infergw/gwctl/pkg/catalog"
	"github.com/infergw/gwctl/pkg/platform"
	"github.com/infergw/gwctl/pkg/resolve"
)

// Platform is the whole of `gwctl render` as one call: it reads the platform config from opts
// and resolves the enabled groups (resolve.Platform), then renders them.
func Platform(ctx context.Context, cat *catalog.Catalog, opts platform.Options) (*Result, error) {
	cfg, res, err := resolve.Platform(cat, opts)
	if err != nil {
		return nil, err
	}
	return Render(ctx, Options{Catalog: cat, Config: cfg, Groups: res.Order})
}

// GatewayResources returns what the render put in the dataplane's ConfigMap: the gateway
// resources the dataplane serves, as a YAML stream. ok is false when no ConfigMap is annotated.
func (r *Result) GatewayResources() (data []byte, ok bool) {
	for _, o := range r.Objects {
		if o.Kind == "ConfigMap" && o.APIGroup == "" && o.res.GetAnnotations()[GatewayResourcesAnnotation] == "true" {
			return []byte(o.res.GetDataMap()[GatewayResourcesKey]), true
		}
	}
	return nil, false
}
