package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// redisDo sends one command over RESP and returns the first line of the
// answer ("" without REDIS_URL).
func redisDo(ctx context.Context, raw string, args ...string) (string, error) {
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("bad REDIS_URL: %w", err)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "6379")
	}
	d := net.Dialer{Timeout: 3 * time.Second}
	c, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if strings.HasPrefix(line, "-") {
		return line, fmt.Errorf("redis: %s", line[1:])
	}
	return line, nil
}

// pingRedis sends PING; no REDIS_URL means no redis to check.
func pingRedis(ctx context.Context, raw string) error {
	line, err := redisDo(ctx, raw, "PING")
	if err != nil || raw == "" {
		return err
	}
	if line != "+PONG" {
		return fmt.Errorf("redis answered %q", line)
	}
	return nil
}

// The sim's cache: each server start caches its version; a flush drops it
// and records who flushed ("<version> <by>") in sim:flushes, so a test can
// tell whether the old image flushed after a rollback.
const (
	cacheKey   = "sim:cache:version"
	flushesKey = "sim:flushes"
)

// cacheFlush is `yarn command:prod cache:flush` (by = "command") and the
// entrypoint's flush around the upgrade (by = "entrypoint").
func cacheFlush(ctx context.Context, cfg config, by string) int {
	if _, err := redisDo(ctx, cfg.redisURL, "DEL", cacheKey); err != nil {
		logf("Cache flush failed: %v", err)
		return 1
	}
	if _, err := redisDo(ctx, cfg.redisURL, "RPUSH", flushesKey, cfg.version.String()+" "+by); err != nil {
		logf("Cache flush failed: %v", err)
		return 1
	}
	logf("Cache flushed")
	return 0
}
