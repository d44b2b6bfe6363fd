package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"

	"zhengxiang/orders"
)

// dbError is the cause kept in a translated error: the database's message and SQLSTATE as text,
// so that nothing above this package can reach a pgx type.
type dbError struct {
	msg  string
	code string // SQLSTATE; empty when the error did not come from the server
}

func (e *dbError) Error() string {
	if e.code == "" {
		return e.msg
	}
	return e.msg + " (SQLSTATE " + e.code + ")"
}

// translate turns an error of pgx or of the server into a domain error whose message starts with
// what was being done ("get order o-1"). Domain errors pass through wrapped; a cancelled or
// expired context stays recognisable with errors.Is.
func translate(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	what := fmt.Sprintf(format, args...)
	if _, ok := errors.AsType[*orders.Error](err); ok {
		return fmt.Errorf("%s: %w", what, err)
	}
	switch {
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: %w", what, context.Canceled)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", what, context.DeadlineExceeded)
	case errors.Is(err, pgx.ErrNoRows):
		return &orders.Error{Kind: orders.KindNotFound, Msg: what, Err: &dbError{msg: "no rows"}}
	}
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok {
		return &orders.Error{Kind: kindOfState(pe.Code), Msg: what, Err: &dbError{msg: pgMessage(pe), code: pe.Code}}
	}
	cause := &dbError{msg: err.Error()}
	if unreachable(err) {
		return &orders.Error{Kind: orders.KindUnavailable, Msg: what + ": the database is unreachable", Err: cause}
	}
	return &orders.Error{Msg: what, Err: cause}
}

// pgMessage is the server's message with its detail, which names the offending key.
func pgMessage(pe *pgconn.PgError) string {
	if pe.Detail == "" {
		return pe.Message
	}
	return pe.Message + ": " + pe.Detail
}

// kindOfState classifies a SQLSTATE (https://www.postgresql.org/docs/15/errcodes-appendix.html).
// A state it does not know is a fault of this program or of the schema: no kind.
func kindOfState(code string) orders.Kind {
	switch code {
	case "23505", // unique_violation: a second active assignment, a taken key
		"23P01",          // exclusion_violation
		"40001", "40P01": // serialization_failure, deadlock_detected: retry the change
		return orders.KindConflict
	case "23503": // foreign_key_violation: the referenced row does not exist
		return orders.KindNotFound
	case "23502", "23514": // not_null_violation, check_violation
		return orders.KindInvalid
	case "55P03", // lock_not_available
		"57014", // query_canceled (statement_timeout)
		"25006": // read_only_sql_transaction: a standby answered
		return orders.KindUnavailable
	}
	switch {
	case strings.HasPrefix(code, "22"): // data exception: a NUL byte in a text, a number out of range
		return orders.KindInvalid
	case strings.HasPrefix(code, "08"), // connection exception
		strings.HasPrefix(code, "53"),  // insufficient resources: too many connections, disk full
		strings.HasPrefix(code, "57P"): // shutting down, cannot connect now
		return orders.KindUnavailable
	}
	return 0
}

// unreachable reports an error of the way to the server rather than of the request: refused or
// broken connections, timeouts, a closed pool.
func unreachable(err error) bool {
	if _, ok := errors.AsType[*pgconn.ConnectError](err); ok {
		return true
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	return pgconn.Timeout(err) || pgconn.SafeToRetry(err) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, puddle.ErrClosedPool)
}
