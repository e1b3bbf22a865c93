// Package layers holds one test: the import direction docs/architecture.md
// draws. A new import across a layer fails here, not in a review.
package layers

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/twenty-upgraded/twenty-upgraded/"

// allowed reports whether package dir (relative to the module root) may
// import package imp (also relative).
func allowed(dir, imp string) bool {
	under := func(p, root string) bool { return p == root || strings.HasPrefix(p, root+"/") }
	switch {
	case under(imp, "cmd"), under(imp, "contrib"):
		return false
	case under(dir, "internal"):
		return under(imp, "internal")
	case under(dir, "steps"):
		return !under(imp, "daemon")
	case under(dir, "daemon"):
		return !under(imp, "steps") || imp == "steps/install" || imp == "steps/proc"
	}
	return true
}

func TestImportDirection(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	files := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); name == ".git" || name == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, "contrib") || strings.HasPrefix(rel, "cmd") {
			return nil // the top: may import anything below
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		files++
		for _, is := range f.Imports {
			p, _ := strconv.Unquote(is.Path.Value)
			imp, ok := strings.CutPrefix(p, module)
			if ok && strings.HasSuffix(path, "_test.go") && strings.HasPrefix(imp, "contrib/") {
				continue // end-to-end tests drive the sandbox
			}
			if ok && !allowed(rel, imp) {
				t.Errorf("%s imports %s: against the direction in docs/architecture.md", filepath.ToSlash(strings.TrimPrefix(path, root+"/")), imp)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("walked only %d Go files under %s: the test is not looking at the tree", files, root)
	}
}

func TestAllowedRejectsEachCrossing(t *testing.T) {
	for _, c := range []struct{ dir, imp string }{
		{"steps", "daemon"},
		{"steps/backup", "daemon/policy"},
		{"internal/config", "steps/proc"},
		{"internal/state", "daemon"},
		{"daemon", "steps"},
		{"daemon/checker", "steps/backup"},
		{"daemon", "cmd/twenty-upgraded"},
		{"steps", "contrib/sandbox"},
	} {
		if allowed(c.dir, c.imp) {
			t.Errorf("allowed(%q, %q) = true, want false", c.dir, c.imp)
		}
	}
	for _, c := range []struct{ dir, imp string }{
		{"daemon/checker", "steps/install"},
		{"steps", "internal/state"},
		{"internal/config", "internal/window"},
	} {
		if !allowed(c.dir, c.imp) {
			t.Errorf("allowed(%q, %q) = false, want true", c.dir, c.imp)
		}
	}
}
