// Package auth authenticates the callers of Zhengxiang's public API (gRPC and REST). Every caller
// presents a bearer API key; a key is bound to a Principal, the role it acts in and the platform,
// stores or rider it may see (DESIGN.md §2). Keys authenticates a bearer against a Store of keys,
// of which only a SHA-256 hash is kept; Limiter holds each key to its rate.
//
// A key that is missing, malformed, unknown or revoked is ErrUnauthenticated, always with the same
// message, so that a caller cannot tell which; a store that cannot answer is
// orders.KindUnavailable.
package auth

import (
	"errors"
	"slices"

	"zhengxiang/orders"
)

// ErrUnauthenticated is the error of a bearer that is not a valid API key: none, malformed,
// unknown or revoked. orders has no kind for it, as nothing below the API authenticates; the API
// edge maps it to codes.Unauthenticated (HTTP 401). Keys returns this value itself, never
// wrapped or explained, so that every refused key reads the same.
var ErrUnauthenticated = errors.New("invalid API key")

// Role is what a principal acts as.
type Role string

// The roles of DESIGN.md §2.
const (
	RolePlatform Role = "platform" // a delivery platform placing and tracking its orders
	RoleMerchant Role = "merchant" // a merchant working its stores' tickets
	RoleRider    Role = "rider"    // a rider with its offers and assignments
	RoleOperator Role = "operator" // a platform's operator, or the city's when no platform is named
	RoleBureau   Role = "bureau"   // the commerce bureau, which sees aggregates only
)

// Roles are the valid roles, in the order of DESIGN.md §2.
var Roles = []Role{RolePlatform, RoleMerchant, RoleRider, RoleOperator, RoleBureau}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Principal is who a key acts for: its role and scope. Platform, Stores and Rider are the scope;
// each role takes only its own (see Validate). Name is a free label for people ("Meituan
// intake", "store 12 till").
type Principal struct {
	KeyID    string
	Role     Role
	Platform string   // RolePlatform: required; RoleOperator: optional, empty for the city's operator
	Stores   []string // RoleMerchant: one or more
	Rider    string   // RoleRider: required
	Name     string
}

// Validate checks the principal's scope against its role: a platform names its Platform, a
// merchant at least one store, a rider its Rider; an operator may name a Platform (none: every
// platform); the bureau names nothing. A scope field the role does not take is refused, as are
// empty and repeated store ids. The errors are orders.KindInvalid.
func (p Principal) Validate() error {
	if !p.Role.Valid() {
		return orders.Invalid("principal.role", "%q is not one of platform, merchant, rider, operator, bureau", p.Role)
	}
	var (
		platform = p.Role == RolePlatform || p.Role == RoleOperator
		stores   = p.Role == RoleMerchant
		rider    = p.Role == RoleRider
	)
	switch {
	case !platform && p.Platform != "":
		return orders.Invalid("principal.platform", "a %s key is not scoped to a platform", p.Role)
	case !stores && len(p.Stores) > 0:
		return orders.Invalid("principal.stores", "a %s key is not scoped to stores", p.Role)
	case !rider && p.Rider != "":
		return orders.Invalid("principal.rider", "a %s key is not scoped to a rider", p.Role)
	case p.Role == RolePlatform && p.Platform == "":
		return orders.Invalid("principal.platform", "a platform key names its platform")
	case stores && len(p.Stores) == 0:
		return orders.Invalid("principal.stores", "a merchant key names at least one store")
	case rider && p.Rider == "":
		return orders.Invalid("principal.rider", "a rider key names its rider")
	}
	for i, s := range p.Stores {
		if s == "" {
			return orders.Invalid("principal.stores", "store %d is empty", i)
		}
		if slices.Contains(p.Stores[:i], s) {
			return orders.Invalid("principal.stores", "store %q is named twice", s)
		}
	}
	return nil
}

// HasStore reports whether the principal is scoped to the store id.
func (p Principal) HasStore(id string) bool { return slices.Contains(p.Stores, id) }
