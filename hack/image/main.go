// Command image builds the dataplane's multi-arch OCI image (linux/amd64 and linux/arm64) into an
// OCI image layout directory, without a Docker daemon: a static binary, user 65532, no shell,
// CA certificates, OCI labels and an SPDX SBOM layer. `make release-check` and the release run it;
// pushing the layout is left to the release (crane push, oras cp or skopeo copy).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"
)

func main() {
	var o Options
	var archs string
	fs := flag.NewFlagSet("image", flag.ExitOnError)
	fs.StringVar(&o.Out, "out", "dist/image", "OCI image layout directory to write (replaced)")
	fs.StringVar(&o.Version, "version", "dev", "gwctl version stamped into the binary; the image is tagged with it without a leading v")
	fs.StringVar(&o.Commit, "commit", "", "source commit (org.opencontainers.image.revision)")
	fs.StringVar(&archs, "arch", "amd64,arm64", "comma-separated GOARCH values, all for GOOS linux")
	fs.StringVar(&o.CAFile, "ca-file", "/etc/ssl/certs/ca-certificates.crt", "PEM bundle installed as /etc/ssl/certs/ca-certificates.crt")
	fs.StringVar(&o.Source, "source", "https://github.com/infergw/gwctl", "org.opencontainers.image.source")
	epoch := fs.Int64("source-date-epoch", sourceDateEpoch(), "creation time in Unix seconds (SOURCE_DATE_EPOCH), for reproducible images")
	_ = fs.Parse(os.Args[1:])
	o.Archs = strings.Split(archs, ",")
	o.Created = time.Unix(*epoch, 0).UTC()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	digest, err := Build(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
	fmt.Printf("%s %s (%s)\n", o.Out, digest, strings.Join(o.Archs, ", "))
}

func sourceDateEpoch() int64 {
	var n int64
	if _, err := fmt.Sscan(os.Getenv("SOURCE_DATE_EPOCH"), &n); err == nil {
		return n
	}
	return 0
}
