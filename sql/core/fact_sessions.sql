-- grain: one row per session: a person's activity events (track, page, screen) with no gap over 30 minutes
-- The sessions around this run's changed events (session_scope) are deleted and rebuilt from fact_events,
-- so a late event can merge two sessions, extend one, or (re-attributed away) split one.
delete from core.fact_sessions as sessions
using session_scope as scope
where
    sessions.user_id = scope.user_id
    and sessions.ended_at >= scope.span_from
    and sessions.started_at <= scope.span_to;

insert into core.fact_sessions (
    user_id, started_at, ended_at, session_date, duration_seconds, events, feature_uses, platform
)

with

-- one row per person, in person order: the lookups below return each person's events together, so the windows'
-- sort is one small sort per person (an incremental sort on the presorted person), not one sort of every event
scope as (
    select * from session_scope
    order by user_id
),

-- a lateral lookup per person: the (user_id, event_date) index is used even with stale statistics
activity as (
    select
        scope.user_id,
        events.event_at,
        events.event_name,
        events.platform,
        events.file_id,
        events.line_no
    from scope
    cross join
        lateral (
            select
                fact_events.event_at,
                fact_events.event_name,
                fact_events.platform,
                fact_events.file_id,
                fact_events.line_no
            from core.fact_events
            where
                fact_events.user_id = scope.user_id
                and fact_events.event_date
                between (scope.span_from at time zone 'UTC')::date and (scope.span_to at time zone 'UTC')::date
                and fact_events.event_at between scope.span_from and scope.span_to
                and fact_events.event_type in ('track', 'page', 'screen')
            -- offset 0 keeps the subquery a per-person lookup (the planner may not flatten it into a scan)
            offset 0  -- noqa: AM09
        ) as events
),

-- an event more than 30 minutes after the person's previous one starts a session (ties: load order)
starts as (
    select
        *,
        coalesce(
            event_at - lag(event_at) over by_time > interval '30 minutes', true
        )::integer as is_start
    from activity
    window by_time as (partition by user_id order by event_at, file_id, line_no)
),

numbered as (
    select
        *,
        sum(is_start) over (partition by user_id order by event_at, file_id, line_no) as session_no
    from starts
),

final as (
    select
        user_id,
        min(event_at) as started_at,
        max(event_at) as ended_at,
        (min(event_at) at time zone 'UTC')::date as session_date,
        extract(epoch from max(event_at) - min(event_at)) as duration_seconds,
        count(*) as events,
        count(*) filter (where event_name = 'feature_used') as feature_uses,
        -- the platform used most in the session
        mode() within group (order by platform) as platform
    from numbered
    group by user_id, session_no
)

select * from final;
