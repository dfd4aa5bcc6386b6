-- grain: one row per core.fact_events row inserted this run or whose person changed this run
-- temp table: the runner creates it for this run's transaction; derived facts rebuild what it touches
with

-- the rows fact_events inserted this run
inserted as (
    select
        message_id,
        user_id,
        null::text as previous_user_id,
        event_type,
        event_name,
        event_at,
        event_date,
        platform,
        file_id,
        line_no,
        feature,
        group_id
    from core_inserted
),

-- a late identify or alias moved these earlier events from previous_user_id (null: nobody) to user_id
reattributed as (
    select
        events.message_id,
        moved.user_id,
        moved.previous_user_id,
        events.event_type,
        events.event_name,
        events.event_at,
        events.event_date,
        events.platform,
        events.file_id,
        events.line_no,
        events.feature,
        events.group_id
    from core_reattributed as moved
    inner join core.fact_events as events on moved.message_id = events.message_id
),

final as (
    select * from inserted
    union all
    select * from reattributed
)

select * from final;
