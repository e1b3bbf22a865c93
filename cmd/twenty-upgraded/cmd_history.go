package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/twenty-upgraded/twenty-upgraded/internal/state"
)

// cmdHistory prints history.jsonl: a table, or the entries as a JSON array.
func cmdHistory(ctx context.Context, e *env, args []string) error {
	fs := e.newFlags("history", "[--json]")
	asJSON := fs.Bool("json", false, "print the entries as a JSON array (oldest first)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("history takes no arguments, got %q", fs.Args())
	}
	_, store, err := e.open()
	if err != nil {
		return err
	}
	hist, err := store.History()
	if err != nil {
		return err
	}
	if *asJSON {
		if hist == nil {
			hist = []state.Entry{}
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(hist)
	}
	if len(hist) == 0 {
		fmt.Fprintln(e.stdout, "no transactions yet")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tFROM → TO\tRESULT\tDURATION\tDOWNTIME\tFINISHED\tTRIGGER")
	for _, h := range hist {
		fmt.Fprintf(tw, "%s\t%s → %s\t%s\t%s\t%s\t%s\t%s\n", h.ID, dashIfEmpty(h.From.String()), dashIfEmpty(h.To.String()), h.Result,
			secs(h.Seconds), secs(h.Downtime), h.FinishedAt.UTC().Format("2006-01-02 15:04 UTC"), dashIfEmpty(h.Trigger))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if last := hist[len(hist)-1]; last.Error != "" {
		fmt.Fprintf(e.stdout, "\nlast error (%s): %s\n", last.ID, last.Error)
		if last.Recovery != "" {
			fmt.Fprintf(e.stdout, "manual recovery:\n%s\n", last.Recovery)
		}
	}
	return nil
}

func secs(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Second).String()
}
