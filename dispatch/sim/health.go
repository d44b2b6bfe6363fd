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
func (s *Sim) scheduleCards(r Rider) {
	if !s.eng.Config().RequireHealthCard {
		return
	}
	id := r.ID
	record := func() {
		s.call(s.riderPool, id, func() error {
			_, err := s.eng.RecordHealthCard(context.Background(), id, healthyTemperatureC, orders.HealthGreen)
			return err
		}, s.fail)
	}
	s.schedule(s.min(r.On), evShiftStart, record)
	for day := orders.DayOf(r.On).AddDays(1); day.Start().Before(r.Off); day = day.AddDays(1) {
		s.schedule(s.min(day.Start()), evShiftStart, record)
	}
}
