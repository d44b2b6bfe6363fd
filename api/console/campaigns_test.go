package console_test

import (
	"slices"
	"testing"
)

// checkCampaigns checks the campaigns on the bureau's panel against the
// API: the scene's 郑州消费节, its days and section, running, with the
// scene's five orders.
func checkCampaigns(t *testing.T, tb *tab, sc *scene) {
	t.Helper()
	list := sc.e.Must(sc.bureau, "GET", "/v1/campaigns", nil)["campaigns"].([]any)
	if len(list) != 1 {
		t.Fatalf("campaigns %v, want the scene's one", list)
	}
	c := list[0].(map[string]any)
	got := poll[[]string](tb, "the campaigns", `(() => {
		const tr = document.querySelector('#campaigns-table tbody tr[data-campaign]');
		return tr && tr.cells[4].textContent !== '0' && [tr.dataset.campaign, ...[...tr.cells].map((c) => c.innerText.replace(/\s+/g, ' ').trim())];
	})()`)
	want := []string{c["id"].(string), "郑州消费节", c["first_day"].(string) + " – " + c["last_day"].(string), "郑享特惠", "进行中 Running", "5"}
	if !slices.Equal(got, want) {
		t.Errorf("the campaign's row %q, want %q", got, want)
	}
}
