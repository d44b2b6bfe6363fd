package auth

import (
	"testing"

	"zhengxiang/orders"
)

func TestPrincipalValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		p     Principal
		field string // of the orders.Invalid error; "" when valid
	}{
		{"platform", Principal{Role: RolePlatform, Platform: "meituan"}, ""},
		{"platform without its platform", Principal{Role: RolePlatform}, "principal.platform"},
		{"platform with a store", Principal{Role: RolePlatform, Platform: "meituan", Stores: []string{"s1"}}, "principal.stores"},
		{"platform with a rider", Principal{Role: RolePlatform, Platform: "meituan", Rider: "r1"}, "principal.rider"},
		{"merchant of one store", Principal{Role: RoleMerchant, Stores: []string{"s1"}, Name: "till"}, ""},
		{"merchant of two stores", Principal{Role: RoleMerchant, Stores: []string{"s1", "s2"}}, ""},
		{"merchant of no store", Principal{Role: RoleMerchant}, "principal.stores"},
		{"merchant of an empty store id", Principal{Role: RoleMerchant, Stores: []string{"s1", ""}}, "principal.stores"},
		{"merchant of a store twice", Principal{Role: RoleMerchant, Stores: []string{"s1", "s1"}}, "principal.stores"},
		{"merchant with a platform", Principal{Role: RoleMerchant, Stores: []string{"s1"}, Platform: "meituan"}, "principal.platform"},
		{"rider", Principal{Role: RoleRider, Rider: "r1"}, ""},
		{"rider without its rider", Principal{Role: RoleRider}, "principal.rider"},
		{"rider with a store", Principal{Role: RoleRider, Rider: "r1", Stores: []string{"s1"}}, "principal.stores"},
		{"operator of a platform", Principal{Role: RoleOperator, Platform: "meituan"}, ""},
		{"operator of the city", Principal{Role: RoleOperator}, ""},
		{"operator with a rider", Principal{Role: RoleOperator, Rider: "r1"}, "principal.rider"},
		{"bureau", Principal{Role: RoleBureau, Name: "commerce bureau"}, ""},
		{"bureau with a platform", Principal{Role: RoleBureau, Platform: "meituan"}, "principal.platform"},
		{"bureau with a store", Principal{Role: RoleBureau, Stores: []string{"s1"}}, "principal.stores"},
		{"no role", Principal{Platform: "meituan"}, "principal.role"},
		{"unknown role", Principal{Role: "admin"}, "principal.role"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v, want nil", err)
				}
				return
			}
			e, ok := err.(*orders.Error)
			if !ok || e.Kind != orders.KindInvalid || e.Field != tc.field {
				t.Fatalf("Validate: %v, want invalid %s", err, tc.field)
			}
		})
	}
}

func TestPrincipalHasStore(t *testing.T) {
	p := Principal{Role: RoleMerchant, Stores: []string{"s1", "s2"}}
	if !p.HasStore("s1") || !p.HasStore("s2") || p.HasStore("s3") || p.HasStore("") {
		t.Errorf("HasStore of %v: wrong", p.Stores)
	}
	if (Principal{Role: RoleOperator}).HasStore("s1") {
		t.Error("an operator has a store")
	}
}

func TestRoleValid(t *testing.T) {
	for _, r := range Roles {
		if !r.Valid() {
			t.Errorf("%q is not valid", r)
		}
	}
	for _, r := range []Role{"", "Platform", "admin"} {
		if r.Valid() {
			t.Errorf("%q is valid", r)
		}
	}
}
