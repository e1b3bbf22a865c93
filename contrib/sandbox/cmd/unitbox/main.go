// Command unitbox runs a program with the file-system view and privileges a
// systemd unit gives it (contrib/sandbox/unitbox), without systemd:
//
//	unshare --mount --propagation private -- \
//	  unitbox -unit packaging/systemd/twenty-upgraded.service \
//	    [-bind /host/folder:/opt/twenty]... [-env KEY=value]... [-n] \
//	    -- /path/to/twenty-upgraded --config /etc/twenty-upgraded/config.toml run
//
// -bind lays a host folder out where the package would have it, before the
// unit's sandbox applies; -env adds environment after the unit's own; -n
// prints the plan and exits without touching anything (no namespace
// needed). The directives the box does not reproduce are printed first.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/twenty-upgraded/twenty-upgraded/contrib/sandbox/unitbox"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("unitbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	unitFile := fs.String("unit", "", "the unit file to follow")
	dryRun := fs.Bool("n", false, "print the plan, change nothing")
	var binds, env list
	fs.Var(&binds, "bind", "SRC:DST: lay SRC out at DST first (repeatable)")
	fs.Var(&env, "env", "KEY=value added after the unit's Environment= (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *unitFile == "" || (fs.NArg() == 0 && !*dryRun) {
		fmt.Fprintln(stderr, "usage: unitbox -unit FILE [-bind SRC:DST]... [-env K=V]... [-n] -- PROGRAM [ARGS...]")
		return 2
	}
	sb, err := load(*unitFile)
	if err != nil {
		fmt.Fprintln(stderr, "unitbox:", err)
		return 1
	}
	for _, d := range sb.NotModelled {
		fmt.Fprintf(stderr, "unitbox: not modelled: %s\n", d)
	}
	var bs []unitbox.Bind
	for _, b := range binds {
		src, dst, ok := strings.Cut(b, ":")
		if !ok {
			fmt.Fprintf(stderr, "unitbox: -bind %q: want SRC:DST\n", b)
			return 2
		}
		bs = append(bs, unitbox.Bind{Source: src, Target: dst})
	}
	if !*dryRun {
		if err := unitbox.CheckPrivateNamespace(); err != nil {
			fmt.Fprintln(stderr, "unitbox:", err)
			return 1
		}
	}
	host, err := unitbox.ReadHost()
	if err == nil {
		var ops []unitbox.Op
		if ops, err = unitbox.Plan(sb, bs, host); err == nil && *dryRun {
			for _, o := range ops {
				fmt.Fprintln(stdout, o)
			}
			return 0
		}
		if err == nil {
			err = unitbox.Apply(ops)
		}
	}
	if err == nil {
		err = unitbox.Exec(sb, fs.Args(), env)
	}
	fmt.Fprintln(stderr, "unitbox:", err)
	return 1
}

func load(path string) (unitbox.Sandbox, error) {
	f, err := os.Open(path)
	if err != nil {
		return unitbox.Sandbox{}, err
	}
	defer f.Close()
	u, err := unitbox.Parse(f, path)
	if err != nil {
		return unitbox.Sandbox{}, err
	}
	return u.Sandbox()
}
