package platform

import (
	"strings"

	"github.com/infergw/gwctl/pkg/version"
)

// ImageRepository is where the release publishes the dataplane image.
const ImageRepository = "ghcr.io/infergw/dataplane"

// DefaultImage is the dataplane image of this gwctl build: the release tags the image with the
// version it stamps into gwctl (without a leading "v"), so a render deploys the dataplane of the
// same release and never a moving tag such as :latest.
func DefaultImage() string {
	return ImageRepository + ":" + ImageTag(version.Get().Version)
}

// ImageTag is the image tag of a gwctl version ("v1.2.3" and "1.2.3" are both tagged 1.2.3).
func ImageTag(v string) string {
	return strings.TrimPrefix(v, "v")
}
