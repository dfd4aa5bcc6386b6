-- grain: one row per UTC day with at least one session starting on it
-- The session days this run rebuilt (core.fact_sessions rebuilds, per person, the sessions that touch the
-- span in session_scope, so every deleted or inserted session starts within the span's days) are
-- recounted from core.fact_sessions; every day while core.aggregate_backfills asks for it.
create temp table session_days_touched on commit drop as

with

-- the days that held or hold a session (before this run: this table; after it: the facts)
bounds as (
    select
        least(
            (select min(agg.session_date) from core.agg_daily_sessions as agg),
            (select min(sessions.session_date) from core.fact_sessions as sessions)
        ) as first_day,
        greatest(
            (select max(agg.session_date) from core.agg_daily_sessions as agg),
            (select max(sessions.session_date) from core.fact_sessions as sessions)
        ) as last_day
),

spans as (
    select
        (span_from at time zone 'UTC')::date as span_first_day,
        (span_to at time zone 'UTC')::date as span_last_day
    from session_scope
    union all
    select
        '-infinity'::date as span_first_day,
        'infinity'::date as span_last_day
    where exists (
            select from core.aggregate_backfills as backfills
            where backfills.aggregate = 'agg_daily_sessions'
        )
),

final as (
    select distinct days.session_date::date as session_date
    from spans
    cross join bounds
    cross join
        lateral generate_series(
            greatest(spans.span_first_day, bounds.first_day), least(spans.span_last_day, bounds.last_day),
            interval '1 day'
        ) as days (session_date)
    -- no session before or after this run: nothing to count (and no unbounded series)
    where bounds.first_day is not null
)

select * from final;

-- statistics, so the next statements plan for the few rows it holds (not a scan of all history)
analyze session_days_touched;

delete from core.agg_daily_sessions as agg
using session_days_touched as touched
where agg.session_date = touched.session_date;

insert into core.agg_daily_sessions (
    session_date, sessions, users, avg_session_seconds, median_session_seconds, avg_events_per_session
)

with

sessions as (
    select
        sessions.user_id,
        sessions.session_date,
        sessions.duration_seconds,
        sessions.events
    from core.fact_sessions as sessions
    inner join session_days_touched as touched on sessions.session_date = touched.session_date
),

final as (
    select
        session_date,
        count(*) as sessions,
        count(distinct user_id) as users,
        round(avg(duration_seconds), 3) as avg_session_seconds,
        round((percentile_cont(0.5) within group (order by duration_seconds))::numeric, 3)
            as median_session_seconds,
        round(avg(events), 6) as avg_events_per_session
    from sessions
    group by session_date
)

select * from final;

delete from core.aggregate_backfills
where aggregate = 'agg_daily_sessions';
