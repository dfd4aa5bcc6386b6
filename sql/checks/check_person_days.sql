-- grain: one row per person-day the data checks look at: whose core facts were rebuilt since this check
-- stage last passed (meta.check_scope_person_days), or in a full sweep every person-day that has an event,
-- a daily activity row or a session
-- temp table: the data-test runner creates it in the checks' transaction, after check_mode
with

mode as (
    select
        full_sweep,
        after_seq,
        upto_seq
    from check_mode
),

scoped as (
    select
        scope.user_id,
        scope.activity_date
    from meta.check_scope_person_days as scope
    where
        scope.scope_seq > (select mode.after_seq from mode)
        and scope.scope_seq <= (select mode.upto_seq from mode)
        and not (select mode.full_sweep from mode)
),

-- the scalar subqueries are one-time filters: in the daily case no fact table is read here
everything as (
    select
        events.user_id,
        events.event_date as activity_date
    from core.fact_events as events
    where events.user_id is not null and (select mode.full_sweep from mode)
    union
    select
        activity.user_id,
        activity.activity_date
    from core.fact_daily_user_activity as activity
    where (select mode.full_sweep from mode)
    union
    select
        sessions.user_id,
        sessions.session_date as activity_date
    from core.fact_sessions as sessions
    where (select mode.full_sweep from mode)
),

final as (
    select * from scoped
    union all
    select * from everything
)

select * from final
