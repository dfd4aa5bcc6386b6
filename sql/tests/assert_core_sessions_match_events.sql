-- core.fact_sessions equals the 30-minute inactivity sessions recomputed from the activity events
-- (checked: the sessions around check_person_days — rebuilt since the checks last passed, or every
-- person-day in a full sweep). Each person's checked days are grouped into windows of nearby days, widened
-- by a day on each side; sessions are recomputed from the window's events, and only sessions at least 30
-- minutes inside the window are compared: no event outside the window can join or split them. The
-- activity events of every window day are in check_activity (read once for this test and the daily activity one).
with

checked_days as (
    select distinct
        user_id,
        activity_date
    from check_person_days
),

-- days more than two days apart start a new window, so windows never overlap
day_breaks as (
    select
        *,
        coalesce(activity_date - lag(activity_date) over by_day > 2, true)::integer as is_new_window
    from checked_days
    window by_day as (partition by user_id order by activity_date)
),

day_windows as (
    select
        *,
        sum(is_new_window) over (partition by user_id order by activity_date) as window_no
    from day_breaks
),

-- each window numbered: the events below are sorted by that integer, not by the person's text id
windows as (
    select
        user_id,
        window_no,
        row_number() over (order by user_id, window_no) as window_id,
        (min(activity_date) - 1)::timestamp at time zone 'UTC' as window_from,
        (max(activity_date) + 2)::timestamp at time zone 'UTC' as window_to
    from day_windows
    group by user_id, window_no
),

-- every day of every window (each checked day and its neighbours: checked days of a window are at most two
-- days apart, so that is every day from its first to its last); the events and sessions are then joined on
-- (person, day), by index or hash
window_days as (
    select distinct
        windows.*,
        day_windows.activity_date + offsets.days as activity_date
    from day_windows
    inner join windows on day_windows.user_id = windows.user_id and day_windows.window_no = windows.window_no
    cross join (values (-1), (0), (1)) as offsets (days)
),

activity as (
    select
        window_days.window_id,
        events.event_at
    from window_days
    inner join check_activity as events
        on window_days.user_id = events.user_id and window_days.activity_date = events.event_date
),

-- one pass over each window's events in time order: an event more than 30 minutes after the previous one
-- starts a session, one more than 30 minutes before the next ends it, and its position counts the events
-- (core breaks ties in load order; a session's start, end and count do not depend on the order of ties)
edges as (
    select
        window_id,
        event_at,
        coalesce(event_at - lag(event_at) over by_time > interval '30 minutes', true) as is_start,
        coalesce(lead(event_at) over by_time - event_at > interval '30 minutes', true) as is_end,
        row_number() over by_time as event_no
    from activity
    window by_time as (partition by window_id order by event_at)
),

boundaries as (
    select *
    from edges
    where is_start or is_end
),

-- starts and ends alternate: a session ends at its start (one event) or at the next boundary
paired as (
    select
        *,
        lead(event_at) over by_event as next_at,
        lead(event_no) over by_event as next_no
    from boundaries
    window by_event as (partition by window_id order by event_no)
),

-- a session that starts or ends within 30 minutes of the window's edge may continue outside it: dropped
expected as (
    select
        windows.user_id,
        paired.event_at as started_at,
        case when paired.is_end then paired.event_at else paired.next_at end as ended_at,
        case when paired.is_end then 1 else paired.next_no - paired.event_no + 1 end as events
    from paired
    inner join windows on paired.window_id = windows.window_id
    where
        paired.is_start
        and paired.event_at >= windows.window_from + interval '30 minutes'
        and case when paired.is_end then paired.event_at else paired.next_at end
        < windows.window_to - interval '30 minutes'
),

sessions as (
    select
        sessions.user_id,
        sessions.started_at,
        sessions.ended_at,
        sessions.session_date,
        sessions.duration_seconds,
        sessions.events
    from window_days
    inner join core.fact_sessions as sessions
        on window_days.user_id = sessions.user_id and window_days.activity_date = sessions.session_date
    where
        sessions.started_at >= window_days.window_from + interval '30 minutes'
        and sessions.ended_at < window_days.window_to - interval '30 minutes'
),

final as (
    select
        coalesce(expected.user_id, sessions.user_id) as user_id,
        coalesce(expected.started_at, sessions.started_at) as started_at,
        expected.ended_at as expected_ended_at,
        sessions.ended_at as actual_ended_at,
        expected.events as expected_events,
        sessions.events as actual_events
    from expected
    full outer join sessions
        on expected.user_id = sessions.user_id and expected.started_at = sessions.started_at
    where
        expected.ended_at is distinct from sessions.ended_at
        or expected.events is distinct from sessions.events
        or sessions.session_date is distinct from (expected.started_at at time zone 'UTC')::date
        or sessions.duration_seconds is distinct from extract(epoch from expected.ended_at - expected.started_at)
)

select * from final
