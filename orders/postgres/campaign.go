package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"zhengxiang/orders"
)

var _ orders.CampaignStore = (*Campaigns)(nil)

// Campaigns is the orders.CampaignStore in PostgreSQL (table campaigns, migration 00014). A
// creation locks the table against other creations and ends, reads the campaigns and checks
// the new one against them (orders.CheckOverlap) before it writes, all in one transaction.
type Campaigns struct {
	pool *pgxpool.Pool
}

// Campaigns returns the CampaignStore on db.
func (db *DB) Campaigns() *Campaigns { return &Campaigns{pool: db.pool} }

const (
	campaignColumns = `id, name, first_day, last_day, sections`
	lockCampaigns   = `LOCK TABLE campaigns IN SHARE ROW EXCLUSIVE MODE`
	selectCampaigns = `SELECT ` + campaignColumns + ` FROM campaigns ORDER BY first_day, id`
	selectCampaign  = `SELECT ` + campaignColumns + ` FROM campaigns WHERE id = $1`
	insertCampaign  = `INSERT INTO campaigns (` + campaignColumns + `) VALUES ($1, $2, $3::date, $4::date, $5)`
	endCampaign     = `UPDATE campaigns SET last_day = $2::date WHERE id = $1`
	deleteCampaign  = `DELETE FROM campaigns WHERE id = $1`
)

func scanCampaign(row pgx.CollectableRow) (orders.Campaign, error) {
	var c orders.Campaign
	var first, last time.Time
	var sections []string
	if err := row.Scan(&c.ID, &c.Name, &first, &last, &sections); err != nil {
		return c, err
	}
	c.First, c.Last = dayOfDate(first), dayOfDate(last)
	for _, s := range sections {
		c.Sections = append(c.Sections, orders.Section(s))
	}
	return c, nil
}

// dayOfDate is the day of a date column, which pgx reads as midnight UTC.
func dayOfDate(t time.Time) orders.Day {
	return orders.Day{Year: t.Year(), Month: t.Month(), Day: t.Day()}
}

func queryCampaigns(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) ([]orders.Campaign, error) {
	rows, _ := q.Query(ctx, selectCampaigns)
	return pgx.CollectRows(rows, scanCampaign)
}

// CreateCampaign saves a new campaign that overlaps no other.
func (s *Campaigns) CreateCampaign(ctx context.Context, c orders.Campaign) (orders.Campaign, error) {
	if err := c.Validate(); err != nil {
		return orders.Campaign{}, err
	}
	c = c.Normalized()
	sections := make([]string, len(c.Sections))
	for i, sec := range c.Sections {
		sections[i] = string(sec)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockCampaigns); err != nil {
			return err
		}
		all, err := queryCampaigns(ctx, tx)
		if err != nil {
			return err
		}
		if err := orders.CheckOverlap(c, all); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, insertCampaign, c.ID, c.Name, c.First.String(), c.Last.String(), sections)
		return err
	})
	if err != nil {
		return orders.Campaign{}, translate(err, "create campaign %s", c.ID)
	}
	return c, nil
}

// Campaigns returns every campaign.
func (s *Campaigns) Campaigns(ctx context.Context) ([]orders.Campaign, error) {
	all, err := queryCampaigns(ctx, s.pool)
	return all, translate(err, "list campaigns")
}

// Campaign returns one campaign.
func (s *Campaigns) Campaign(ctx context.Context, id string) (orders.Campaign, error) {
	rows, _ := s.pool.Query(ctx, selectCampaign, id)
	c, err := pgx.CollectExactlyOneRow(rows, scanCampaign)
	if err == pgx.ErrNoRows {
		return orders.Campaign{}, orders.NotFound("campaign", id)
	}
	return c, translate(err, "get campaign %s", id)
}

// EndCampaign makes day last the campaign's last day, or withdraws it.
func (s *Campaigns) EndCampaign(ctx context.Context, id string, last orders.Day) (orders.Campaign, bool, error) {
	var c orders.Campaign
	var withdrawn bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockCampaigns); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, selectCampaign, id)
		var err error
		if c, err = pgx.CollectExactlyOneRow(rows, scanCampaign); err == pgx.ErrNoRows {
			return orders.NotFound("campaign", id)
		} else if err != nil {
			return err
		}
		if err := orders.CheckEnd(c, last); err != nil {
			return err
		}
		if withdrawn = last.Compare(c.First) < 0; withdrawn {
			_, err = tx.Exec(ctx, deleteCampaign, id)
			return err
		}
		c.Last = last
		_, err = tx.Exec(ctx, endCampaign, id, last.String())
		return err
	})
	if err != nil {
		return orders.Campaign{}, false, translate(err, "end campaign %s", id)
	}
	return c, withdrawn, nil
}
