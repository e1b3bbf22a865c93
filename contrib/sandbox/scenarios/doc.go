// Package scenarios drives the real twenty-upgraded binary against the
// sandbox (contrib/sandbox) the way systemd and an admin would: it starts
// `twenty-upgraded run` as a process with a notify socket, sends it signals
// (SIGUSR1, SIGTERM, SIGKILL), calls its HTTP API, scrapes its metrics, and
// watches Twenty from outside with a 100 ms prober.
//
// The harness (Daemon, Notify, Scraper, Setup) is shared by the end-to-end
// scenario tests in this package and by `make demo`
// (contrib/demo/cmd/sandbox-demo). The tests skip with the reason when the
// sandbox cannot run here (sandbox.Available).
//
// The harness starts and signals processes with os/exec directly: it plays
// systemd around the product binary and is not part of it (steps/proc stays
// the only process runner inside twenty-upgraded).
package scenarios
