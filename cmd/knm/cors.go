package main

import "github.com/spf13/cobra"

// corsFlag adds --cors-origins (env KNM_CORS_ORIGINS) to serve and demo.
func (a *app) corsFlag(cmd *cobra.Command) {
	cmd.Flags().StringVar(&a.corsOrigins, "cors-origins", a.envOr("KNM_CORS_ORIGINS", ""),
		"origins whose web pages may call the API from a browser, comma-separated scheme://host[:port]; "+
			"* lets any origin call the routes that need no token (env KNM_CORS_ORIGINS; default none)")
}
