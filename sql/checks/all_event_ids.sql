-- grain: one row per core event: check_event_ids in a full sweep
-- temp view: the data-test runner creates it as check_event_ids (the tests read all_events)
select
    events.message_id,
    events.event_date
from core.fact_events as events
