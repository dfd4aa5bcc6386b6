-- grain: one row per core event: check_events in a full sweep
-- temp view: the data-test runner creates it as check_events, so the tests read core.fact_events itself
select
    events.message_id,
    true as in_core,
    events.user_id,
    events.sent_user_id,
    events.anonymous_id
from core.fact_events as events
