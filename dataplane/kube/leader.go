package kube

import (
	"context"
	"log/slog"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// elect runs the leader election on the Lease until ctx is done. Every replica compiles and
// serves; only the leader writes status, so replicas never fight over it.
func (c *Controller) elect(ctx context.Context) {
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: c.opts.Namespace, Name: LeaseName},
		Client:     c.cs.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: c.opts.Identity},
	}
	cfg := leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   or(c.opts.LeaseDuration, 15*time.Second),
		RenewDeadline:   or(c.opts.RenewDeadline, 10*time.Second),
		RetryPeriod:     or(c.opts.RetryPeriod, 2*time.Second),
		ReleaseOnCancel: true,
		Name:            "gwctl-dataplane",
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(context.Context) {
				c.leading.Store(true)
				c.log.Info("leading: writing status", slog.String("identity", c.opts.Identity))
				c.mu.Lock()
				has := c.last != nil
				c.mu.Unlock()
				if has {
					c.writeStatus()
				}
			},
			OnStoppedLeading: func() {
				c.leading.Store(false)
				c.log.Info("no longer leading", slog.String("identity", c.opts.Identity))
			},
		},
	}
	for ctx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(cfg)
		if err != nil {
			c.log.Error("leader election", slog.String("error", err.Error()))
			return
		}
		le.Run(ctx) // returns when leadership is lost or ctx ends
	}
}

func or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
