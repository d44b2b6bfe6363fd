package dispatch

// StoreOpen reports whether the engine knows the store and it takes new
// orders (it is not suspended).
func (e *Engine) StoreOpen(storeID string) bool {
	return e.admissible(storeID) == nil
}
