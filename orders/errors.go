package orders

import (
	"errors"
	"fmt"
)

// Kind classifies an error by what the caller can do about it. The API edge maps each kind to one
// status code; everything in between only wraps.
type Kind int

// The kinds of error. The zero Kind means the error carries none (an unexpected failure).
const (
	KindInvalid     Kind = iota + 1 // the request is malformed: fix it and retry
	KindNotFound                    // the thing named does not exist
	KindConflict                    // the request clashes with the current state
	KindForbidden                   // the caller may not do this to this thing
	KindUnavailable                 // a dependency is down: retry later
)

// String returns the kind in lower-case words, as it starts an error message.
func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindNotFound:
		return "not found"
	case KindConflict:
		return "conflict"
	case KindForbidden:
		return "forbidden"
	case KindUnavailable:
		return "unavailable"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Error is a domain error with a kind. Field names the offending input for KindInvalid
// ("order.items[2].qty"); Err is the cause, if any.
type Error struct {
	Kind  Kind
	Field string
	Msg   string
	Err   error
}

// Error returns the message: "invalid order.dropoff.lat: NaN is not a coordinate" for an error
// with a field, the plain message otherwise, followed by ": cause" when there is a cause.
func (e *Error) Error() string {
	s := e.Msg
	if e.Field != "" {
		s = e.Kind.String() + " " + e.Field + ": " + e.Msg
	}
	if e.Err != nil {
		if s == "" {
			return e.Kind.String() + ": " + e.Err.Error()
		}
		return s + ": " + e.Err.Error()
	}
	if s == "" {
		return e.Kind.String()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Invalid reports that field has a bad value.
func Invalid(field, format string, args ...any) error {
	return &Error{Kind: KindInvalid, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// NotFound reports that the thing what ("order", "store", "rider") with the given id does not exist.
func NotFound(what, id string) error {
	return &Error{Kind: KindNotFound, Msg: fmt.Sprintf("%s %q not found", what, id)}
}

// Conflict reports a request that clashes with the current state.
func Conflict(format string, args ...any) error {
	return &Error{Kind: KindConflict, Msg: fmt.Sprintf(format, args...)}
}

// Forbidden reports a request the caller may not make.
func Forbidden(format string, args ...any) error {
	return &Error{Kind: KindForbidden, Msg: fmt.Sprintf(format, args...)}
}

// Unavailable reports that a dependency cannot serve the request now.
func Unavailable(format string, args ...any) error {
	return &Error{Kind: KindUnavailable, Msg: fmt.Sprintf(format, args...)}
}

// KindOf returns the kind of the first *Error in err's chain, or 0 when there is none.
func KindOf(err error) Kind {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Kind
	}
	return 0
}

// IsKind reports whether err's chain holds an *Error of kind k.
func IsKind(err error, k Kind) bool {
	return err != nil && KindOf(err) == k
}
