package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/infergw/gwctl/pkg/runbook"
)

func newRunbook(g *globalOptions) *cobra.Command {
	var opts runbook.Options
	c := &cobra.Command{
		Use:     "runbook",
		Short:   "Print operational runbooks generated from the render",
		Example: "  gwctl runbook fallback --enable fallback > RUNBOOK-fallback.md",
	}
	fb := &cobra.Command{
		Use:   "fallback [FILE|DIR|-]...",
		Short: "Switch-over and switch-back steps to the standby gateway",
		Long: `Prints, as Markdown, how to move traffic from the primary gateway to the standby one rendered by
the fallback group, and back: which routes move, which controls the standby does not carry
(translation, JWT, rate limits, endpoint picking), how to check the standby is warm, and how to
verify each step. It is generated from the render (or the given manifests), never hand-written.
Exit 2 when the input has no standby gateway (enable the fallback group).`,
		Example: `  gwctl runbook fallback --enable fallback,egress --set secretStore.name=vault > RUNBOOK.md
  gwctl render -c environments/prod/config.yaml | gwctl runbook fallback - --kube-context prod`,
		RunE: func(c *cobra.Command, args []string) error {
			objs, err := g.objects(c.Context(), args)
			if err != nil {
				return err
			}
			md, err := runbook.Fallback(objs, opts)
			if err != nil {
				return withCode(ExitUsage, err)
			}
			_, err = fmt.Fprint(g.streams.Out, md)
			return err
		},
	}
	fb.Flags().StringVar(&opts.KubeContext, "kube-context", "", "kubectl --context for every command in the steps")
	fb.Flags().StringVar(&opts.ArgoNamespace, "argo-namespace", "argocd", "namespace of the Argo CD Applications")
	fb.Flags().StringVar(&opts.ProviderKeyEnv, "provider-key-env", "PROVIDER_API_KEY", "environment variable the steps read a provider key from")
	c.AddCommand(fb)
	return c
}
