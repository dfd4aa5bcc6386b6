-- grain: one row per core event: check_events in a full sweep
-- temp view: the data-test runner creates it as check_events; a test's join of core.fact_events to it on
-- message_id is a self-join on the primary key, which PostgreSQL 18 removes (a plain scan of the facts)
select events.message_id
from core.fact_events as events
