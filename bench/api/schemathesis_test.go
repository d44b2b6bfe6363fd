package api

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestSchemathesis runs schemathesis.sh: schemathesis against a running
// serve on the embedded default, once per role's key and once with none.
// It fails on any failure schemathesis reports (a 5xx, a response that
// does not match the OpenAPI document). It installs schemathesis from PyPI
// on the first run, so it runs where services are required (CI, make test)
// and skips elsewhere; about 2 to 3 minutes on two cores.
func TestSchemathesis(t *testing.T) {
	if os.Getenv("ZX_REQUIRE_SERVICES") != "1" {
		t.Skip("runs with ZX_REQUIRE_SERVICES=1 (make test), or by itself: bench/api/schemathesis.sh")
	}
	if testing.Short() {
		t.Skip("-short: schemathesis takes minutes")
	}
	cmd := exec.Command("bash", "schemathesis.sh")
	cmd.Env = append(os.Environ(), "OUT="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		// The summary, then each failure as schemathesis printed it.
		t.Fatalf("schemathesis.sh: %v\n%s", err, out)
	}
	t.Logf("%s", strings.TrimSpace(string(out)))
}
