package main

import (
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDeployStaticBinary: the binary the image holds builds without cgo and is static (no
// ELF interpreter, no shared libraries), so it runs FROM scratch.
func TestDeployStaticBinary(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "knm")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Skipf("not an ELF binary on this platform: %v", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("the binary has an ELF interpreter: it is dynamically linked")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Fatalf("the binary needs shared libraries: %v", libs)
	}
	out, err := exec.CommandContext(ctx, bin, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "knm ") {
		t.Fatalf("static knm version: %v %s", err, out)
	}
}

// TestDeployFiles: the systemd unit runs knm serve as its own user from the environment
// file, and every variable the environment file documents is one knm reads.
func TestDeployFiles(t *testing.T) {
	t.Parallel()
	unit := readRepoFile(t, "deploy/knm.service")
	for _, want := range []string{"ExecStart=/usr/local/bin/knm serve", "EnvironmentFile=/etc/knm/knm.env",
		"User=knm", "StateDirectory=knm", "Restart=on-failure", "KillSignal=SIGTERM"} {
		if !strings.Contains(unit, "\n"+want+"\n") {
			t.Errorf("deploy/knm.service lacks %q", want)
		}
	}
	env := readRepoFile(t, "deploy/knm.env")
	read := map[string]bool{}
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, _ := os.ReadFile(f)
		for _, m := range regexp.MustCompile(`"(KNM_[A-Z_]+)"`).FindAllSubmatch(src, -1) {
			read[string(m[1])] = true
		}
	}
	vars := regexp.MustCompile(`(?m)^#? ?(KNM_[A-Z_]+)=`).FindAllStringSubmatch(env, -1)
	if len(vars) < 5 {
		t.Fatalf("deploy/knm.env documents %d variables", len(vars))
	}
	for _, v := range vars {
		if !read[v[1]] {
			t.Errorf("deploy/knm.env sets %s, which knm does not read", v[1])
		}
	}
	docker := readRepoFile(t, "deploy/Dockerfile")
	for _, want := range []string{"FROM scratch", "USER 65532:65532", "ca-certificates.crt", `ENTRYPOINT ["/knm"]`} {
		if !strings.Contains(docker, want) {
			t.Errorf("deploy/Dockerfile lacks %q", want)
		}
	}
}

// TestDeployImage builds the image with scripts/image and runs it, when a Docker daemon
// answers: knm runs as a non-root user and can write its SQLite database in /data.
func TestDeployImage(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("docker is not installed: the image is not built")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "info").CombinedOutput(); err != nil {
		t.Skipf("no Docker daemon answers, the image is not built: %s", lastLine(string(out)))
	}
	tag := "knm:test-" + strings.ToLower(t.Name()) + "-" + time.Now().Format("150405")
	root, _ := filepath.Abs("../..")
	if out, err := exec.CommandContext(ctx, filepath.Join(root, "scripts/image"), tag).CombinedOutput(); err != nil {
		t.Fatalf("scripts/image: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() })
	dockerRun := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, "docker", append([]string{"run", "--rm", tag}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("docker run %s %v: %v\n%s", tag, args, err, out)
		}
		return string(out)
	}
	if out := dockerRun("version"); !strings.HasPrefix(out, "knm ") {
		t.Fatalf("version in the image: %s", out)
	}
	if out := dockerRun("accounts", "create", "Acme"); len(strings.TrimSpace(out)) != 32 {
		t.Fatalf("the image cannot write its database in /data: %s", out)
	}
	user, err := exec.CommandContext(ctx, "docker", "inspect", "-f", "{{.Config.User}}", tag).Output()
	if err != nil || strings.TrimSpace(string(user)) != "65532:65532" {
		t.Fatalf("image user %q (%v), want the non-root 65532:65532", user, err)
	}
}

func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("../..", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
