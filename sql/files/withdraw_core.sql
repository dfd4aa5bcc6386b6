-- grain: statements; the withdrawn events leave core.fact_events (and the subscription facts copied from them);
-- withdrawn_changes then hands them to the core run as changes (person now nobody, before user_id), so every
-- derived fact rebuilds exactly the persons and days they touched. Events re-staged from the withdrawn files
-- come back through core_batch; the other withdrawn events (their person may change) get a fresh staged_seq.
update staging.events
set staged_seq = default
where message_id in (select withdrawn_events.message_id from withdrawn_events);

delete from core.fact_subscription_events as subscriptions
using withdrawn_events
where subscriptions.message_id = withdrawn_events.message_id;

delete from core.fact_events as events
using withdrawn_events
where events.message_id = withdrawn_events.message_id;
