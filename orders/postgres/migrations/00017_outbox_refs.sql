-- +goose Up
-- The outbox names the events waiting for the stream instead of holding a copy of them: the
-- relay reads each event from order_events, written in the same transaction. One relay at a
-- time works on the outbox (it holds an advisory lock for its round), so no other relay can hold
-- an order's earlier event, and the relay no longer looks events up by order.
ALTER TABLE outbox DROP CONSTRAINT outbox_order_id_seq_key;
ALTER TABLE outbox DROP COLUMN event;
ALTER TABLE outbox DROP COLUMN created_at;

-- +goose Down
ALTER TABLE outbox ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE outbox ADD COLUMN event jsonb;
UPDATE outbox x SET event = jsonb_strip_nulls(jsonb_build_object('order_id', e.order_id, 'seq', e.seq,
        'type', e.type, 'at', e.at, 'status', e.status, 'delivery', e.delivery,
        'rider_id', nullif(e.rider_id, ''), 'reason', nullif(e.reason, ''), 'actor', nullif(e.actor, ''),
        'handover', nullif(e.handover, ''), 'expires_at', e.expires_at))
    FROM order_events e WHERE e.order_id = x.order_id AND e.seq = x.seq;
ALTER TABLE outbox ALTER COLUMN event SET NOT NULL;
ALTER TABLE outbox ADD CONSTRAINT outbox_order_id_seq_key UNIQUE (order_id, seq);
