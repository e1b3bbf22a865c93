package main

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

func (d *demo) head(title string) {
	fmt.Fprintf(d.out, "\n\033[1m== %s\033[0m\n", title)
}

func (d *demo) say(format string, args ...any) {
	fmt.Fprintf(d.out, "   "+format+"\n", args...)
}

// indent prints at most n lines of text, indented.
func (d *demo) indent(text string, n int) {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	for i, l := range lines {
		if i == n {
			d.say("     … (%d more lines)", len(lines)-n)
			break
		}
		d.say("  │ %s", l)
	}
}

// progress prints a line every 10 s until the returned func is called, so a
// first run that builds images does not look stuck.
func (d *demo) progress(what string) func() {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		start := time.Now()
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Second):
				d.say("… %s (%s)", what, time.Since(start).Round(time.Second))
			}
		}
	}()
	return func() { close(stop); wg.Wait() }
}

// follow prints each new STATUS= line from the notify socket, with the time
// since follow began, until the returned func is called.
func (d *demo) follow() func() {
	from := len(d.notify.Texts())
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	start := time.Now()
	go func() {
		defer wg.Done()
		for {
			from = d.showNotifySince(from, start)
			select {
			case <-stop:
				d.showNotifySince(from, start)
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return func() { close(stop); wg.Wait() }
}

func (d *demo) showNotify(from int) { d.showNotifySince(from, time.Time{}) }

func (d *demo) showNotifySince(from int, start time.Time) int {
	msgs := d.notify.Messages()
	i := 0
	for _, m := range msgs {
		if m.Text == "WATCHDOG=1" {
			continue
		}
		if i >= from {
			at := ""
			if !start.IsZero() {
				at = fmt.Sprintf("[%5.1fs] ", m.At.Sub(start).Seconds())
			}
			d.say("  sd_notify %s%s", at, m.Text)
		}
		i++
	}
	return max(i, from)
}

// envValue reads KEY= from an env file ("" when absent).
func envValue(path, key string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, key+"="); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	return sum
}

func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return clip(line, 200)
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
