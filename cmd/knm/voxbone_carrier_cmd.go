package main

import "github.com/spf13/cobra"

// voxboneCarrierCommands returns the commands backed by the knm_voxbone carrier module
// (order, carts, reconcile, recover).
func (a *app) voxboneCarrierCommands() []*cobra.Command { return nil }
