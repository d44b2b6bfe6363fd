package orders

import (
	"context"
	"strings"
	"time"
)

// Suspension is a stop of sales (the festival plan's 立即下架): a whole store when SKU is empty,
// else one product of it. No new order for what it names is taken while it is in force; the
// orders that it caught before pickup are cancelled with its reason.
type Suspension struct {
	StoreID string
	SKU     string // "": the whole store
	Actor   string // who: the operator's key, as the API names its callers
	Reason  string
	At      time.Time
	// AuditID is the audit entry of the suspension in force (set by SuspensionStore.Suspend).
	AuditID int64
}

// MaxReason is the longest reason of a suspension, in bytes.
const MaxReason = 500

// Validate checks a suspension or a restore before it is recorded.
func (s Suspension) Validate() error {
	switch {
	case s.StoreID == "":
		return Invalid("store_id", "required")
	case strings.ContainsRune(s.StoreID+s.SKU+s.Actor+s.Reason, 0):
		return Invalid("reason", "contains a NUL byte")
	case len(s.SKU) > 128:
		return Invalid("sku", "%d bytes, at most 128", len(s.SKU))
	case s.Actor == "":
		return Invalid("actor", "required")
	case strings.TrimSpace(s.Reason) == "":
		return Invalid("reason", "required")
	case len(s.Reason) > MaxReason:
		return Invalid("reason", "%d bytes, at most %d", len(s.Reason), MaxReason)
	case s.At.IsZero():
		return Invalid("at", "the time must be set")
	}
	return nil
}

// What names what a suspension stops: "store S0001" or "product rice-5kg of store S0001".
func (s Suspension) What() string {
	if s.SKU == "" {
		return "store " + s.StoreID
	}
	return "product " + s.SKU + " of store " + s.StoreID
}

// AuditAction is what an audit entry records.
type AuditAction string

// The audit actions.
const (
	AuditSuspend AuditAction = "SUSPEND"
	AuditRestore AuditAction = "RESTORE"
)

// AuditEntry is one suspension or restore as the audit keeps it: who, what, why, when, and the
// orders that the suspension cancelled.
type AuditEntry struct {
	ID     int64
	Action AuditAction
	Suspension
	Cancelled []string // order ids, in the order they were cancelled
}

// AuditFilter selects audit entries: of one store when StoreID is set; Limit caps the result
// (0: 100, at most 1000). Entries come newest first.
type AuditFilter struct {
	StoreID string
	Limit   int
}

// Validate checks the filter and fills Limit's default.
func (f *AuditFilter) Validate() error {
	switch {
	case f.Limit < 0 || f.Limit > 1000:
		return Invalid("limit", "%d is not between 0 and 1000", f.Limit)
	case f.Limit == 0:
		f.Limit = 100
	}
	return nil
}

// SuspensionStore keeps the suspensions in force and the audit of every suspension and restore.
// The dispatch engine uses it when its Repository is one; every implementation (the in-memory
// and the PostgreSQL Repository) passes orderstest.RunSuspensionContract.
type SuspensionStore interface {
	// Suspend puts s in force (replacing the reason and actor of the same stop in force) and
	// appends its SUSPEND audit entry, with no cancelled orders yet, atomically; a store-wide
	// stop also marks the Store Suspended. It returns the entry. An unknown store is
	// KindNotFound.
	Suspend(ctx context.Context, s Suspension) (AuditEntry, error)
	// Lift ends the stop that s names and appends its RESTORE audit entry (s's actor, reason
	// and time), atomically; a store-wide stop also clears the Store's Suspended. A stop not in
	// force is KindConflict, an unknown store KindNotFound.
	Lift(ctx context.Context, s Suspension) (AuditEntry, error)
	// NoteCancelled adds order ids to the cancelled orders of an audit entry; ids it lists
	// already are not added again. An unknown entry is KindNotFound.
	NoteCancelled(ctx context.Context, entryID int64, orderIDs []string) error
	// Suspensions returns the stops in force, by store and then SKU (the store's own first).
	Suspensions(ctx context.Context) ([]Suspension, error)
	// Audit returns the audit entries that match f, newest first.
	Audit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
}

// MissedAck is a ticket a store did not acknowledge in time: its order was auto-cancelled at At.
type MissedAck struct {
	OrderID, StoreID string
	At               time.Time
}

// AckStore counts the tickets that stores did not acknowledge in time, so that operators see the
// stores that keep missing them. The dispatch engine uses it when its Repository is one; every
// implementation passes orderstest.RunSuspensionContract.
type AckStore interface {
	// RecordMissedAcks records misses; an order recorded before is not counted twice.
	RecordMissedAcks(ctx context.Context, ms []MissedAck) error
	// MissedAcks returns, for each store with a miss at or after since, how many it had.
	MissedAcks(ctx context.Context, since time.Time) (map[string]int, error)
}
