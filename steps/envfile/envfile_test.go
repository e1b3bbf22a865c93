package envfile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestSet(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "TAG=v1.0.0\n", "TAG=v2.0.0\n"},
		{"keeps others and order", "# Twenty\nAPP_SECRET=abc==\nTAG=v1.0.0\nPG_DATABASE_PASSWORD='p#w'\n", "# Twenty\nAPP_SECRET=abc==\nTAG=v2.0.0\nPG_DATABASE_PASSWORD='p#w'\n"},
		{"double quotes", "TAG=\"v1.0.0\"\n", "TAG=\"v2.0.0\"\n"},
		{"single quotes", "TAG='v1.0.0' # pinned\n", "TAG='v2.0.0' # pinned\n"},
		{"export and spaces", "export  TAG = v1.0.0   # comment\n", "export  TAG = v2.0.0   # comment\n"},
		{"crlf", "A=1\r\nTAG=v1.0.0\r\nB=2\r\n", "A=1\r\nTAG=v2.0.0\r\nB=2\r\n"},
		{"absent appended", "A=1\n", "A=1\nTAG=v2.0.0\n"},
		{"absent no final newline", "A=1", "A=1\nTAG=v2.0.0\n"},
		{"absent crlf", "A=1\r\n", "A=1\r\nTAG=v2.0.0\r\n"},
		{"empty file", "", "TAG=v2.0.0\n"},
		{"commented TAG untouched", "#TAG=v0.1.0\nTAG=v1.0.0\n", "#TAG=v0.1.0\nTAG=v2.0.0\n"},
		{"similar key untouched", "TAGS=x\nMY_TAG=v1\nTAG=v1.0.0", "TAGS=x\nMY_TAG=v1\nTAG=v2.0.0"},
		{"duplicates all set", "TAG=latest\nTAG=v1.0.0\n", "TAG=v2.0.0\nTAG=v2.0.0\n"},
		{"empty value", "TAG=\n", "TAG=v2.0.0\n"},
		{"empty value with comment", "TAG= # set me\n", "TAG=v2.0.0 # set me\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Set([]byte(tt.in), "TAG", "v2.0.0")
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("Set:\n got %q\nwant %q", got, tt.want)
			}
			if v, ok := Get(got, "TAG"); !ok || v != "v2.0.0" {
				t.Fatalf("Get after Set = %q, %v", v, ok)
			}
		})
	}
}

func TestSetRefusesUnsafeValues(t *testing.T) {
	for _, v := range []string{"v1 rm", "a\nb", "$(x)", "'", "a#b"} {
		if _, err := Set([]byte("TAG=v1.0.0\n"), "TAG", v); err == nil {
			t.Errorf("Set accepted %q", v)
		}
	}
}

func TestSetFileKeepsModeAndContent(t *testing.T) {
	p := filepath.Join(t.TempDir(), ".env")
	os.WriteFile(p, []byte("APP_SECRET=s\nTAG=v1.0.0\n"), 0o640)
	if err := SetFile(p, "TAG", "v1.1.0"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	fi, _ := os.Stat(p)
	if string(b) != "APP_SECRET=s\nTAG=v1.1.0\n" || fi.Mode().Perm() != 0o640 {
		t.Fatalf("%q %v", b, fi.Mode())
	}
}

// The TAG rewrite keeps the owner of .env and writes through a symlink.
func TestSetFileKeepsOwnerAndSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "env.real")
	os.WriteFile(target, []byte("TAG=v1.0.0\n"), 0o640)
	link := filepath.Join(dir, ".env")
	if err := os.Symlink("env.real", link); err != nil {
		t.Fatal(err)
	}
	root := os.Geteuid() == 0
	if root {
		os.Chown(target, 4321, 8765)
	}
	if err := SetFile(link, "TAG", "v1.1.0"); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&os.ModeSymlink == 0 {
		t.Fatal(".env is no longer a symlink")
	}
	b, _ := os.ReadFile(target)
	fi, _ := os.Stat(target)
	if string(b) != "TAG=v1.1.0\n" || fi.Mode().Perm() != 0o640 {
		t.Fatalf("target %q %v", b, fi.Mode())
	}
	if st := fi.Sys().(*syscall.Stat_t); root && (st.Uid != 4321 || st.Gid != 8765) {
		t.Fatalf("owner %d:%d, want 4321:8765", st.Uid, st.Gid)
	}
}

func FuzzSet(f *testing.F) {
	for _, s := range []string{"TAG=v1.0.0\n", "export TAG='v1' # c\r\nX=1", "", "A=\"unterminated\nTAG=x", "TAG", "=\n==\nTAG==", "\xff\xfeTAG=1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := Set(data, "TAG", "v9.8.7")
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := Get(out, "TAG"); !ok || v != "v9.8.7" {
			t.Fatalf("Get(Set(%q)) = %q, %v", data, v, ok)
		}
		// Every line not assigning TAG is kept byte for byte, in order.
		keep := func(b []byte) []string {
			var ls []string
			for _, l := range split(b) {
				if l.key != "TAG" {
					ls = append(ls, string(l.raw)+string(l.eol))
				}
			}
			return ls
		}
		before, after := keep(data), keep(out)
		if len(after) < len(before) {
			t.Fatalf("lines lost: %q -> %q", data, out)
		}
		for i := range before {
			b, a := strings.TrimRight(before[i], "\r\n"), strings.TrimRight(after[i], "\r\n")
			if a != b {
				t.Fatalf("line %d changed: %q -> %q", i, before[i], after[i])
			}
		}
		// Idempotent.
		again, _ := Set(out, "TAG", "v9.8.7")
		if !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %q -> %q", out, again)
		}
	})
}

func TestAll(t *testing.T) {
	data := []byte("# c\nTAG=v1\nexport A = 'x y' # c\nB=\"q\"\nTAG=v2\nnot a line\nC=\n")
	got := All(data)
	want := map[string]string{"TAG": "v2", "A": "x y", "B": "q", "C": ""}
	if len(got) != len(want) {
		t.Fatalf("All = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("All[%s] = %q, want %q", k, got[k], v)
		}
	}
}
