package mdrp

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

// The fuzz targets feed arbitrary bytes to the readers. A reader must not
// panic, must report failures as *ParseError, and whatever it accepts must
// pass validation and read back unchanged once written in canonical form.
// Seed corpora live in testdata/fuzz/<target>/.

func requireParseError(t *testing.T, err error) {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %T is not a *ParseError: %v", err, err)
	}
}

func FuzzReadOrders(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ReadOrders(bytes.NewReader(data))
		if err != nil {
			requireParseError(t, err)
			return
		}
		seen := map[string]bool{}
		for _, o := range got {
			if fe := validateOrder(o); fe != nil {
				t.Fatalf("accepted order %+v fails validation: %s: %s", o, fe.col, fe.msg)
			}
			if seen[o.ID] {
				t.Fatalf("accepted duplicate id %q", o.ID)
			}
			seen[o.ID] = true
		}
		again, err := ReadOrders(bytes.NewReader(encodeOrders(got)))
		if err != nil {
			t.Fatalf("re-reading accepted input: %v", err)
		}
		if !slices.Equal(again, got) {
			t.Fatalf("re-read %+v, want %+v", again, got)
		}
	})
}

func FuzzReadCouriers(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ReadCouriers(bytes.NewReader(data))
		if err != nil {
			requireParseError(t, err)
			return
		}
		seen := map[string]bool{}
		for _, c := range got {
			if fe := validateCourier(c); fe != nil {
				t.Fatalf("accepted courier %+v fails validation: %s: %s", c, fe.col, fe.msg)
			}
			if seen[c.ID] {
				t.Fatalf("accepted duplicate id %q", c.ID)
			}
			seen[c.ID] = true
		}
		again, err := ReadCouriers(bytes.NewReader(encodeCouriers(got)))
		if err != nil {
			t.Fatalf("re-reading accepted input: %v", err)
		}
		if !slices.Equal(again, got) {
			t.Fatalf("re-read %+v, want %+v", again, got)
		}
	})
}

func FuzzReadRestaurants(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ReadRestaurants(bytes.NewReader(data))
		if err != nil {
			requireParseError(t, err)
			return
		}
		seen := map[string]bool{}
		for _, r := range got {
			if fe := validateRestaurant(r); fe != nil {
				t.Fatalf("accepted restaurant %+v fails validation: %s: %s", r, fe.col, fe.msg)
			}
			if seen[r.ID] {
				t.Fatalf("accepted duplicate id %q", r.ID)
			}
			seen[r.ID] = true
		}
		again, err := ReadRestaurants(bytes.NewReader(encodeRestaurants(got)))
		if err != nil {
			t.Fatalf("re-reading accepted input: %v", err)
		}
		if !slices.Equal(again, got) {
			t.Fatalf("re-read %+v, want %+v", again, got)
		}
	})
}

func FuzzReadParams(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ReadParams(bytes.NewReader(data))
		if err != nil {
			requireParseError(t, err)
			return
		}
		if fe := validateParams(got); fe != nil {
			t.Fatalf("accepted params %+v fail validation: %s: %s", got, fe.col, fe.msg)
		}
		again, err := ReadParams(bytes.NewReader(encodeParams(got)))
		if err != nil {
			t.Fatalf("re-reading accepted input: %v", err)
		}
		if again != got {
			t.Fatalf("re-read %+v, want %+v", again, got)
		}
	})
}
