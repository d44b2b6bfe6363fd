package sim

import (
	"context"

	"zhengxiang/orders"
)

// healthyTemperatureC is the temperature a simulated rider's card carries.
const healthyTemperatureC = 36.5

// scheduleCards has a rider record a valid health card, through the
// engine, as its shift starts and at each midnight (China Standard Time)
// the shift goes through, when the engine offers trips only to riders with
// a card of the day. The card comes before the shift on the rider's worker,
// so that the rider is offered trips from its first round.
func (s *Sim) scheduleCards(sr *simRider) {
	if !s.eng.Config().RequireHealthCard {
		return
	}
	r := sr.spec
	s.scheduleRider(s.min(r.On), evShiftStart, sr)
	for day := orders.DayOf(r.On).AddDays(1); day.Start().Before(r.Off); day = day.AddDays(1) {
		s.scheduleRider(s.min(day.Start()), evShiftStart, sr)
	}
}

// recordCard has rider sr record a valid health card of the day.
func (s *Sim) recordCard(sr *simRider) {
	id := sr.spec.ID
	s.call(s.riderPool, id, func() error {
		_, err := s.eng.RecordHealthCard(context.Background(), id, healthyTemperatureC, orders.HealthGreen)
		return err
	}, s.fail)
}
