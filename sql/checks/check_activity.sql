-- grain: one row per valid track, page or screen core event on a checked person-day (check_person_days) or
-- the day before or after it: the one read of those events that the daily activity and session tests share;
-- a full sweep reads all_activity instead
-- temp table: the data-test runner creates it in the checks' transaction, after check_person_days
with

person_days as (
    select distinct
        user_id,
        activity_date
    from check_person_days
),

-- each checked day and its neighbours (the session test recomputes sessions over windows of them)
wanted as (
    select distinct
        person_days.user_id,
        person_days.activity_date + offsets.days as activity_date
    from person_days
    cross join (values (-1), (0), (1)) as offsets (days)
),

-- one bitmap scan of fact_events_user_date for every (person, date) pair of the checked persons and dates:
-- the heap is read once in its order (a day of a million events is a few dense person-days, and a lookup
-- per person-day would visit a heap page per event)
keys as (
    select
        array_agg(distinct user_id) as user_ids,
        array_agg(distinct activity_date) as activity_dates
    from wanted
),

candidates as (
    select
        events.user_id,
        events.event_date,
        events.event_type,
        events.event_at
    from core.fact_events as events
    where
        events.user_id = any((select keys.user_ids from keys)::text[])
        and events.event_date = any((select keys.activity_dates from keys)::date[])
        and events.event_type in ('track', 'page', 'screen')
),

final as (
    select candidates.*
    from candidates
    inner join wanted
        on candidates.user_id = wanted.user_id and candidates.event_date = wanted.activity_date
)

select * from final
