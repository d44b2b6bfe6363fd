package server

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"zhengxiang/orders"
)

// statusOf maps an error to the gRPC status the caller gets. It is the one
// place where domain errors become codes (the gateway turns codes into HTTP
// statuses): invalid input is InvalidArgument with the field in a BadRequest
// detail (400), a missing thing NotFound (404), a clash with the order's
// state Aborted (409), a refusal PermissionDenied (403), a dependency down
// Unavailable (503). Anything else is Internal with a
// fixed message: the cause goes to the log, never to the caller.
func statusOf(ctx context.Context, log *slog.Logger, method string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request cancelled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	}
	var de *orders.Error
	if !errors.As(err, &de) {
		log.ErrorContext(ctx, "request failed", "method", method, "err", err)
		return status.Error(codes.Internal, "internal error")
	}
	switch de.Kind {
	case orders.KindInvalid:
		st := status.New(codes.InvalidArgument, de.Error())
		if de.Field != "" {
			if d, derr := st.WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
				{Field: de.Field, Description: de.Msg},
			}}); derr == nil {
				st = d
			}
		}
		return st.Err()
	case orders.KindNotFound:
		return status.Error(codes.NotFound, de.Error())
	case orders.KindConflict:
		return status.Error(codes.Aborted, de.Error())
	case orders.KindForbidden:
		return status.Error(codes.PermissionDenied, de.Error())
	case orders.KindUnavailable:
		return status.Error(codes.Unavailable, de.Error())
	}
	log.ErrorContext(ctx, "request failed", "method", method, "err", err)
	return status.Error(codes.Internal, "internal error")
}
