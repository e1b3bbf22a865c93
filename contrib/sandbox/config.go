package sandbox

import (
	"fmt"
	"strconv"
	"strings"
)

// ConfigTOML returns a complete twenty-upgraded config for this stack: the
// install, the loopback registry as release source, the health URL, and
// backups and state under the given folders. extra is appended verbatim and
// may add tables the returned text does not already contain ([window],
// [hooks], [source]); [install], [release], [backup], [health] and [daemon]
// are here.
func (s *Stack) ConfigTOML(stateDir, backupDir, listen, extra string) string {
	q := strconv.Quote
	argv := make([]string, len(s.ComposeCmd))
	for i, a := range s.ComposeCmd {
		argv[i] = q(a)
	}
	return fmt.Sprintf(`# written by contrib/sandbox for project %s
[install]
mode = "compose"
dir = %s
env_file = ".env"
project = %s
compose_command = [%s]

[release]
source = "registry"
url = %s
image = "twentycrm/twenty"
min_age = "0s"

[backup]
dir = %s

[health]
url = %s
api_key_file = %s

[daemon]
state_dir = %s
listen = %s
%s`, s.Project, q(s.Dir), q(s.Project), strings.Join(argv, ", "), q("http://"+s.Registry.Addr),
		q(backupDir), q(s.BaseURL), q(s.APIKeyFile), q(stateDir), q(listen), extra)
}
