-- grain: one row per funnel per person per step they reached (step 1 = they entered the funnel)
-- key: funnel, user_id, step
-- Funnels are data: core.funnel_steps is loaded from sql/funnels.yml, so one query serves every funnel.
with recursive

steps as (
    select
        funnel,
        step,
        event_name,
        property_filters,
        window_days
    from core.funnel_steps
),

-- a person enters at t1, their earliest event matching step 1
entries as (
    select
        steps.funnel,
        events.user_id,
        min(events.event_at) as entered_at,
        min(events.event_at) + make_interval(days => min(steps.window_days)) as window_ends_at
    from core.fact_events as events
    inner join steps
        on
            events.event_name = steps.event_name
            and events.properties @> steps.property_filters
    where steps.step = 1 and events.user_id is not null
    group by steps.funnel, events.user_id
),

-- step k is reached at the earliest matching event at or after t(k-1), if that is within t1 + window
reached (funnel, user_id, step, entered_at, window_ends_at, reached_at) as (
    select
        funnel,
        user_id,
        1,
        entered_at,
        window_ends_at,
        entered_at as reached_at
    from entries
    union all
    select
        reached.funnel,
        reached.user_id,
        next_step.step,
        reached.entered_at,
        reached.window_ends_at,
        next_event.reached_at
    from reached
    inner join steps as next_step
        on reached.funnel = next_step.funnel and next_step.step = reached.step + 1
    cross join
        lateral (
            select min(events.event_at) as reached_at
            from core.fact_events as events
            where
                events.user_id = reached.user_id
                -- the day bounds let the (user_id, event_date) index skip the person's other days
                and events.event_date
                between (reached.reached_at at time zone 'UTC')::date
                and (reached.window_ends_at at time zone 'UTC')::date
                and events.event_name = next_step.event_name
                and events.properties @> next_step.property_filters
                and events.event_at >= reached.reached_at
                and events.event_at <= reached.window_ends_at
        ) as next_event
    where next_event.reached_at is not null
),

final as (
    select
        funnel,
        user_id,
        step,
        entered_at,
        window_ends_at,
        reached_at,
        extract(epoch from reached_at - entered_at) as seconds_to_step
    from reached
)

select * from final
