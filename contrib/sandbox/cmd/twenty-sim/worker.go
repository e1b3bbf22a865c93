package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/contrib/sandbox/internal/pgwire"
	"github.com/twenty-upgraded/twenty-upgraded/internal/clock"
)

// workerMain writes the heartbeat row every two seconds until SIGTERM.
func workerMain(ctx context.Context, cfg config) int {
	logf("Starting Twenty worker %s", cfg.version)
	var c *pgwire.Conn
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	logged := false
	for {
		err := func() error {
			if c == nil {
				var err error
				if c, err = pgwire.Connect(ctx, cfg.dbURL); err != nil {
					return err
				}
			}
			_, err := c.Query(ctx, `INSERT INTO core."workerHeartbeat" (id, "beatAt") VALUES (1, now()) ON CONFLICT (id) DO UPDATE SET "beatAt" = now()`)
			return err
		}()
		switch {
		case err != nil:
			logf("Worker heartbeat failed: %v", err)
			if c != nil {
				c.Close()
				c = nil
			}
		case !logged:
			logf("Worker is processing jobs")
			logged = true
		}
		if clock.Sleep(ctx, 2*time.Second) != nil {
			logf("Worker stopped")
			return 0
		}
	}
}

// healthcheck is the compose health check: /healthz must answer 200.
func healthcheck(port string) int {
	client := http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get("http://127.0.0.1:" + port + "/healthz")
	if err != nil {
		fmt.Println("unhealthy:", err)
		return 1
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		fmt.Println("unhealthy: /healthz answered", resp.Status)
		return 1
	}
	return 0
}
