package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// versionInfo is what knm version prints, read from the build information the Go
// toolchain embeds, so a binary needs no flags at build time to say what it is.
type versionInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Modified  bool   `json:"modified"`
	BuildDate string `json:"build_date"` // the commit's time, as go build records it
	GoVersion string `json:"go_version"`
}

func readVersion() versionInfo {
	v := versionInfo{Version: "(devel)", Commit: "unknown", BuildDate: "unknown"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	v.GoVersion = bi.GoVersion
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.time":
			v.BuildDate = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

func (v versionInfo) String() string {
	dirty := ""
	if v.Modified {
		dirty = " (modified)"
	}
	return fmt.Sprintf("knm %s, commit %s%s, built %s, %s", v.Version, v.Commit, dirty, v.BuildDate, v.GoVersion)
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print knm's version, commit, build date and Go version",
		Example: "  knm version\n  knm --version\n  knm --json version",
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			v := readVersion()
			if a.jsonOut {
				return a.printJSON(v)
			}
			_, err := fmt.Fprintln(a.stdout, v)
			return err
		},
	}
}
