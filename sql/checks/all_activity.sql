-- grain: one row per valid track, page or screen core event: check_activity in a full sweep
-- temp view: the data-test runner creates it as check_activity, so the tests read core.fact_events itself
select
    events.user_id,
    events.event_date,
    events.event_type,
    events.event_at
from core.fact_events as events
where events.event_type in ('track', 'page', 'screen')
