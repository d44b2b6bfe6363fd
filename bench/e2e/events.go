package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"
)

// readEvents reads topic from its beginning with kcat until ctx is done,
// and calls fn with each message's value and the time it arrived. kcat
// frames each value with its length (-f '%R%s'), so that binary protobuf
// passes through the pipe unharmed. It returns nil when ctx ends it.
func readEvents(ctx context.Context, kcat string, brokers []string, topic string, fn func(value []byte, at time.Time)) error {
	cmd := exec.CommandContext(ctx, kcat, "-C", "-q", "-u", "-b", strings.Join(brokers, ","), "-t", topic,
		"-o", "beginning", "-f", "%R%s", "-X", "fetch.wait.max.ms=10")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start kcat: %w", err)
	}
	err = readFrames(bufio.NewReaderSize(out, 1<<20), fn)
	werr := cmd.Wait()
	if ctx.Err() != nil {
		return nil
	}
	if err == nil {
		err = werr
	}
	return fmt.Errorf("kcat: %v: %s", err, strings.TrimSpace(stderr.String()))
}

// readFrames reads length-prefixed values (a big-endian int32, -1 for no
// value) until r ends.
func readFrames(r io.Reader, fn func(value []byte, at time.Time)) error {
	var head [4]byte
	buf := make([]byte, 0, 4096)
	for {
		if _, err := io.ReadFull(r, head[:]); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		n := int32(binary.BigEndian.Uint32(head[:]))
		if n < 0 {
			continue
		}
		if int(n) > cap(buf) {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(r, buf); err != nil {
			return err
		}
		fn(buf, time.Now())
	}
}
