package scenarios

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
	"time"
)

// Received is one notification a receiver got: its title (the webhook's
// JSON title, the mail's Subject) and its text.
type Received struct {
	At    time.Time
	Title string
	Body  string
}

// inbox keeps what a receiver got, in order.
type inbox struct {
	mu   sync.Mutex
	msgs []Received
}

func (b *inbox) add(title, body string) {
	b.mu.Lock()
	b.msgs = append(b.msgs, Received{At: time.Now(), Title: title, Body: body})
	b.mu.Unlock()
}

// Messages returns everything received so far.
func (b *inbox) Messages() []Received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Received(nil), b.msgs...)
}

// Matching returns the messages whose title contains s.
func (b *inbox) Matching(s string) []Received {
	var out []Received
	for _, m := range b.Messages() {
		if strings.Contains(m.Title, s) {
			out = append(out, m)
		}
	}
	return out
}

// Webhook is a real HTTP receiver on loopback for shoutrrr's generic
// service with template=json: every POST to /hook is a notification.
type Webhook struct {
	inbox
	srv *http.Server
	ln  net.Listener
}

// StartWebhook listens on 127.0.0.1 at a free port.
func StartWebhook() (*Webhook, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	w := &Webhook{ln: ln}
	w.srv = &http.Server{Handler: http.HandlerFunc(w.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = w.srv.Serve(ln) }()
	return w, nil
}

func (w *Webhook) serve(rw http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/hook" {
		http.Error(rw, "POST /hook only", http.StatusNotFound)
		return
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	var m struct{ Title, Message string }
	if err := json.Unmarshal(b, &m); err != nil {
		http.Error(rw, "want JSON (template=json): "+err.Error(), http.StatusBadRequest)
		return
	}
	w.add(m.Title, m.Message)
	rw.WriteHeader(http.StatusNoContent)
}

// URL is the shoutrrr URL of this receiver.
func (w *Webhook) URL() string {
	return "generic://" + w.ln.Addr().String() + "/hook?disabletls=yes&template=json"
}

// Close stops the receiver.
func (w *Webhook) Close() error { return w.srv.Close() }

// SMTPServer is a small real SMTP server on loopback (RFC 5321 without TLS
// or AUTH): EHLO/HELO, MAIL FROM, RCPT TO, DATA, RSET, NOOP, QUIT. Each
// accepted mail is a notification: its Subject and its text.
type SMTPServer struct {
	inbox
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	conn map[net.Conn]bool
}

// StartSMTP listens on 127.0.0.1 at a free port.
func StartSMTP() (*SMTPServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &SMTPServer{ln: ln, conn: map[net.Conn]bool{}}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// URL is the shoutrrr URL of this server: plain SMTP, no authentication.
func (s *SMTPServer) URL() string {
	return "smtp://" + s.ln.Addr().String() + "/?fromaddress=twenty-upgraded@example.com&toaddresses=admin@example.com&auth=None&encryption=None&usestarttls=no"
}

func (s *SMTPServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conn[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			_ = s.session(c)
			c.Close()
			s.mu.Lock()
			delete(s.conn, c)
			s.mu.Unlock()
		}()
	}
}

// session speaks SMTP on c until QUIT or an error.
func (s *SMTPServer) session(c net.Conn) error {
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	tp := textproto.NewConn(c)
	reply := func(code int, text string) error { return tp.PrintfLine("%d %s", code, text) }
	if err := reply(220, "sandbox ESMTP ready"); err != nil {
		return err
	}
	var from string
	var to []string
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return err
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			err = tp.PrintfLine("250-sandbox greets %s\r\n250 8BITMIME", arg)
		case "HELO":
			err = reply(250, "sandbox")
		case "MAIL":
			from, to = addr(arg, "FROM:"), nil
			if from == "" {
				err = reply(501, "syntax: MAIL FROM:<address>")
				break
			}
			err = reply(250, "sender ok")
		case "RCPT":
			rcpt := addr(arg, "TO:")
			if from == "" || rcpt == "" {
				err = reply(503, "MAIL FROM first, then RCPT TO:<address>")
				break
			}
			to = append(to, rcpt)
			err = reply(250, "recipient ok")
		case "DATA":
			if len(to) == 0 {
				err = reply(503, "RCPT TO first")
				break
			}
			if err = reply(354, "end data with <CR><LF>.<CR><LF>"); err != nil {
				return err
			}
			var data []byte
			if data, err = tp.ReadDotBytes(); err != nil {
				return err
			}
			subject, body, perr := parseMail(data)
			if perr != nil {
				err = reply(554, "unreadable message: "+perr.Error())
				break
			}
			s.add(subject, body)
			from, to = "", nil
			err = reply(250, "queued")
		case "RSET":
			from, to = "", nil
			err = reply(250, "ok")
		case "NOOP":
			err = reply(250, "ok")
		case "QUIT":
			_ = reply(221, "bye")
			return nil
		default:
			err = reply(502, "command not implemented")
		}
		if err != nil {
			return err
		}
	}
}

// addr reads "<a@b>" after prefix ("FROM:", "TO:"), or "".
func addr(arg, prefix string) string {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return ""
	}
	a := strings.TrimSpace(arg[len(prefix):])
	a, _, _ = strings.Cut(a, " ") // ESMTP parameters (BODY=8BITMIME)
	a = strings.TrimSuffix(strings.TrimPrefix(a, "<"), ">")
	if !strings.Contains(a, "@") {
		return ""
	}
	return a
}

// parseMail splits a message into its Subject and its text.
func parseMail(data []byte) (subject, body string, err error) {
	r := textproto.NewReader(bufio.NewReader(strings.NewReader(string(data))))
	h, err := r.ReadMIMEHeader()
	if err != nil {
		return "", "", fmt.Errorf("headers: %w", err)
	}
	rest, err := io.ReadAll(r.R)
	if err != nil {
		return "", "", err
	}
	return h.Get("Subject"), strings.TrimRight(strings.ReplaceAll(string(rest), "\r\n", "\n"), "\n"), nil
}

// Close stops listening and ends open sessions.
func (s *SMTPServer) Close() error {
	err := s.ln.Close()
	s.mu.Lock()
	for c := range s.conn {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

// Hang accepts connections and never answers: a receiver that hangs.
type Hang struct {
	ln   net.Listener
	mu   sync.Mutex
	at   []time.Time // when each connection was accepted
	conn []net.Conn
	done chan struct{}
}

// StartHang listens on 127.0.0.1 at a free port.
func StartHang() (*Hang, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h := &Hang{ln: ln, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.mu.Lock()
			h.at, h.conn = append(h.at, time.Now()), append(h.conn, c)
			h.mu.Unlock()
		}
	}()
	return h, nil
}

// URL is a generic webhook URL pointing at the hanging receiver.
func (h *Hang) URL() string {
	return "generic://" + h.ln.Addr().String() + "/hook?disabletls=yes&template=json"
}

// Accepted is when each connection came in.
func (h *Hang) Accepted() []time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Time(nil), h.at...)
}

// Close stops listening and drops every held connection.
func (h *Hang) Close() error {
	err := h.ln.Close()
	<-h.done
	h.mu.Lock()
	for _, c := range h.conn {
		c.Close()
	}
	h.mu.Unlock()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
