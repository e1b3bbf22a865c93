// Package pgwire is a tiny PostgreSQL client for the sandbox's Twenty
// look-alike: the startup message, trust, cleartext and md5 authentication,
// and the simple query protocol with text results. It is enough to migrate a
// real database and answer health checks; it is never linked into the daemon.
package pgwire

import (
	"bufio"
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"
)

// Conn is one open connection. It is not safe for concurrent use.
type Conn struct {
	nc net.Conn
	r  *bufio.Reader
}

// Result is what one simple query returned: the columns and rows of its last
// row-returning statement. NULL is returned as "".
type Result struct {
	Columns []string
	Rows    [][]string
}

// Error is an error reported by the server.
type Error struct {
	Severity, Code, Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("postgres %s %s: %s", e.Severity, e.Code, e.Message)
}

// Connect opens a connection from a URL like
// postgres://user:password@host:5432/dbname.
func Connect(ctx context.Context, rawURL string) (*Conn, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("bad database url %q: want postgres://user:password@host:port/db", rawURL)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "5432")
	}
	user := u.User.Username()
	pass, _ := u.User.Password()
	db := strings.TrimPrefix(u.Path, "/")
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, fmt.Errorf("connect to postgres at %s: %w", host, err)
	}
	c := &Conn{nc: nc, r: bufio.NewReader(nc)}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	if err := c.startup(user, pass, db); err != nil {
		nc.Close()
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	return c, nil
}

// Close ends the session politely.
func (c *Conn) Close() error {
	_ = c.send('X', nil)
	return c.nc.Close()
}

func (c *Conn) startup(user, pass, db string) error {
	var b []byte
	b = binary.BigEndian.AppendUint32(b, 196608) // protocol 3.0
	for _, kv := range [][2]string{{"user", user}, {"database", db}, {"application_name", "twenty-sim"}} {
		b = append(append(append(append(b, kv[0]...), 0), kv[1]...), 0)
	}
	b = append(b, 0)
	msg := binary.BigEndian.AppendUint32(nil, uint32(len(b)+4))
	if _, err := c.nc.Write(append(msg, b...)); err != nil {
		return fmt.Errorf("send startup: %w", err)
	}
	for {
		t, body, err := c.recv()
		if err != nil {
			return err
		}
		switch t {
		case 'R':
			if err := c.auth(body, user, pass); err != nil {
				return err
			}
		case 'E':
			return parseError(body)
		case 'Z':
			return nil
		}
	}
}

func (c *Conn) auth(body []byte, user, pass string) error {
	if len(body) < 4 {
		return errors.New("short authentication message")
	}
	switch code := binary.BigEndian.Uint32(body); code {
	case 0:
		return nil
	case 3:
		return c.send('p', append([]byte(pass), 0))
	case 5:
		inner := md5hex(pass + user)
		outer := "md5" + md5hex(inner+string(body[4:8]))
		return c.send('p', append([]byte(outer), 0))
	default:
		return fmt.Errorf("postgres asks for authentication method %d; the sandbox client knows trust, password and md5", code)
	}
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// Query runs sql (one or more statements) with the simple query protocol.
func (c *Conn) Query(ctx context.Context, sql string) (Result, error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = c.nc.SetDeadline(dl)
		defer c.nc.SetDeadline(time.Time{})
	}
	if err := c.send('Q', append([]byte(sql), 0)); err != nil {
		return Result{}, err
	}
	var res, cur Result
	var qerr error
	for {
		t, body, err := c.recv()
		if err != nil {
			return res, err
		}
		switch t {
		case 'T':
			cur = Result{Columns: parseColumns(body)}
		case 'D':
			cur.Rows = append(cur.Rows, parseRow(body))
		case 'C':
			if cur.Columns != nil {
				res = cur
			}
			cur = Result{}
		case 'E':
			if qerr == nil {
				qerr = parseError(body)
			}
		case 'Z':
			return res, qerr
		}
	}
}

// Value runs a query expected to return one value and returns it.
func (c *Conn) Value(ctx context.Context, sql string) (string, error) {
	res, err := c.Query(ctx, sql)
	if err != nil {
		return "", err
	}
	if len(res.Rows) == 0 || len(res.Rows[0]) == 0 {
		return "", fmt.Errorf("query returned no value: %s", sql)
	}
	return res.Rows[0][0], nil
}

func (c *Conn) send(t byte, body []byte) error {
	msg := binary.BigEndian.AppendUint32([]byte{t}, uint32(len(body)+4))
	if _, err := c.nc.Write(append(msg, body...)); err != nil {
		return fmt.Errorf("send to postgres: %w", err)
	}
	return nil
}

func (c *Conn) recv() (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
		return 0, nil, fmt.Errorf("read from postgres: %w", err)
	}
	n := int(binary.BigEndian.Uint32(hdr[1:])) - 4
	if n < 0 || n > 64<<20 {
		return 0, nil, fmt.Errorf("bad message length %d from postgres", n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c.r, body); err != nil {
		return 0, nil, fmt.Errorf("read from postgres: %w", err)
	}
	return hdr[0], body, nil
}

func parseColumns(b []byte) []string {
	if len(b) < 2 {
		return nil
	}
	n := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	cols := make([]string, 0, n)
	for i := 0; i < n; i++ {
		end := indexZero(b)
		cols = append(cols, string(b[:end]))
		b = b[min(len(b), end+1+18):] // name, then 18 bytes of type info
	}
	return cols
}

func parseRow(b []byte) []string {
	if len(b) < 2 {
		return nil
	}
	n := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	row := make([]string, 0, n)
	for i := 0; i < n && len(b) >= 4; i++ {
		l := int32(binary.BigEndian.Uint32(b))
		b = b[4:]
		if l < 0 {
			row = append(row, "")
			continue
		}
		row = append(row, string(b[:l]))
		b = b[l:]
	}
	return row
}

func parseError(b []byte) error {
	e := &Error{}
	for len(b) > 1 {
		field := b[0]
		end := indexZero(b[1:])
		val := string(b[1 : 1+end])
		b = b[min(len(b), end+2):]
		switch field {
		case 'S':
			e.Severity = val
		case 'C':
			e.Code = val
		case 'M':
			e.Message = val
		}
	}
	return e
}

func indexZero(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return len(b)
}

// Quote returns s as a SQL string literal.
func Quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
