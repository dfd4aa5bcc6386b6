-- grain: one row per core event (message_id) the data checks look at (check_event_ids), with the columns
-- of its core row that the tests read (in_core false: withdrawn, no longer in core.fact_events); a full
-- sweep reads all_events instead
-- temp table: the data-test runner creates it in the checks' transaction, after check_event_ids
with

ids as (
    select
        message_id,
        event_date
    from check_event_ids
),

-- the dates staging gave the inserted events (a handful: the day and its late arrivals)
dates as (
    select distinct check_event_ids.event_date
    from check_event_ids
    where check_event_ids.event_date is not null
),

keys as (
    select array_agg(dates.event_date) as event_dates
    from dates
),

-- the one read of the scope's core rows: core's rows of those dates, by fact_events_date (the batch's
-- pages, not the whole table; for a few events the planner looks each one up by its primary key instead)
dated as (
    select
        events.message_id,
        events.user_id,
        events.sent_user_id,
        events.anonymous_id
    from core.fact_events as events
    where events.event_date = any((select keys.event_dates from keys)::date[])
),

-- an event not found there (listed: re-attributed or withdrawn, no date recorded; or a core row whose date
-- is not staging's) is looked up by its primary key, only then (the filter gates the lookup)
final as (
    select
        ids.message_id,
        coalesce(dated.message_id, by_key.message_id) is not null as in_core,
        coalesce(dated.user_id, by_key.user_id) as user_id,
        coalesce(dated.sent_user_id, by_key.sent_user_id) as sent_user_id,
        coalesce(dated.anonymous_id, by_key.anonymous_id) as anonymous_id
    from ids
    left join dated on ids.message_id = dated.message_id
    left join lateral (
        select
            events.message_id,
            events.user_id,
            events.sent_user_id,
            events.anonymous_id
        from core.fact_events as events
        where dated.message_id is null and events.message_id = ids.message_id
        -- offset 0 keeps it a lookup per event (the planner may not flatten it into a join)
        offset 0  -- noqa: AM09
    ) as by_key on true
)

select * from final
