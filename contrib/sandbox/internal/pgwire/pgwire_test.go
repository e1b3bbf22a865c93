package pgwire

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// fakeServer speaks just enough of the backend protocol: md5 auth, then one
// query answered with two rows, then one query answered with an error.
func fakeServer(t *testing.T, l net.Listener) {
	c, err := l.Accept()
	if err != nil {
		return
	}
	defer c.Close()
	r := bufio.NewReader(c)
	var n uint32
	_ = binary.Read(r, binary.BigEndian, &n)
	startup := make([]byte, n-4)
	_, _ = io.ReadFull(r, startup)
	if !strings.Contains(string(startup), "user\x00alice\x00database\x00shop\x00") {
		t.Errorf("startup = %q", startup)
	}
	send := func(typ byte, body []byte) {
		_, _ = c.Write(append(binary.BigEndian.AppendUint32([]byte{typ}, uint32(len(body)+4)), body...))
	}
	send('R', []byte{0, 0, 0, 5, 's', 'a', 'l', 't'})
	typ, body := recv(r)
	if want := "md5" + md5hex(md5hex("secretalice")+"salt"); typ != 'p' || string(body) != want+"\x00" {
		t.Errorf("password message %c %q, want %q", typ, body, want)
	}
	send('R', []byte{0, 0, 0, 0})
	send('S', []byte("server_version\x0015\x00"))
	send('Z', []byte{'I'})
	if typ, body = recv(r); typ != 'Q' || string(body) != "SELECT name FROM t\x00" {
		t.Errorf("query %c %q", typ, body)
	}
	rowDesc := append([]byte{0, 1}, append([]byte("name\x00"), make([]byte, 18)...)...)
	send('T', rowDesc)
	send('D', []byte{0, 1, 0, 0, 0, 3, 'a', 'd', 'a'})
	send('D', []byte{0, 1, 0xff, 0xff, 0xff, 0xff})
	send('C', []byte("SELECT 2\x00"))
	send('Z', []byte{'I'})
	recv(r)
	send('E', []byte("SERROR\x00C42P01\x00Mrelation \"nope\" does not exist\x00\x00"))
	send('Z', []byte{'I'})
	recv(r) // terminate
}

func recv(r *bufio.Reader) (byte, []byte) {
	typ, _ := r.ReadByte()
	var n uint32
	_ = binary.Read(r, binary.BigEndian, &n)
	body := make([]byte, n-4)
	_, _ = io.ReadFull(r, body)
	return typ, body
}

func TestConnectQueryError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go fakeServer(t, l)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Connect(ctx, "postgres://alice:secret@"+l.Addr().String()+"/shop")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	res, err := c.Query(ctx, "SELECT name FROM t")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Columns) != 1 || res.Columns[0] != "name" || len(res.Rows) != 2 || res.Rows[0][0] != "ada" || res.Rows[1][0] != "" {
		t.Errorf("result = %+v", res)
	}
	_, err = c.Query(ctx, "SELECT * FROM nope")
	pe, ok := err.(*Error)
	if !ok || pe.Code != "42P01" || !strings.Contains(pe.Message, "nope") {
		t.Errorf("error = %v", err)
	}
}

func TestConnectBadURL(t *testing.T) {
	if _, err := Connect(context.Background(), "mysql://x"); err == nil || !strings.Contains(err.Error(), "postgres://") {
		t.Errorf("err = %v", err)
	}
}
