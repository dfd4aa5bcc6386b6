-- grain: one row per funnel per entry month (first to last with entries) per step
-- key: funnel, cohort_month, step
-- Right-censored: persons whose window has not ended by data_through are in progress, never failures.
with

steps as (
    select
        funnel,
        step,
        step_name
    from core.funnel_steps
),

progress as (
    select
        funnel,
        user_id,
        step,
        entered_at,
        window_ends_at,
        seconds_to_step
    from analytics.funnel_user_steps
),

-- the latest valid event timestamp (the index on event_date finds its day without a full scan)
latest_day as (
    select max(event_date) as latest_date
    from core.fact_events
),

data_through as (
    select max(events.event_at) as data_through
    from core.fact_events as events
    inner join latest_day on events.event_date = latest_day.latest_date
),

entrants as (
    select
        progress.funnel,
        progress.user_id,
        date_trunc('month', progress.entered_at at time zone 'UTC')::date as cohort_month,
        progress.window_ends_at <= data_through.data_through as is_eligible
    from progress
    cross join data_through
    where progress.step = 1
),

month_bounds as (
    select
        funnel,
        min(cohort_month) as first_month,
        max(cohort_month) as last_month
    from entrants
    group by funnel
),

grid as (
    select
        steps.funnel,
        months.cohort_month::date as cohort_month,
        steps.step,
        steps.step_name
    from month_bounds
    cross join
        lateral generate_series(
            month_bounds.first_month::timestamp, month_bounds.last_month::timestamp, interval '1 month'
        ) as months (cohort_month)
    inner join steps on month_bounds.funnel = steps.funnel
),

entered as (
    select
        funnel,
        cohort_month,
        count(*) as entered_users,
        count(*) filter (where is_eligible) as eligible_users
    from entrants
    group by funnel, cohort_month
),

-- only eligible persons count as reached (or not): their whole window lies in the data
reached as (
    select
        progress.funnel,
        entrants.cohort_month,
        progress.step,
        count(*) as reached_users,
        percentile_cont(0.5) within group (order by progress.seconds_to_step) as median_seconds_to_step
    from progress
    inner join entrants on progress.funnel = entrants.funnel and progress.user_id = entrants.user_id
    where entrants.is_eligible
    group by progress.funnel, entrants.cohort_month, progress.step
),

counts as (
    select
        grid.funnel,
        grid.cohort_month,
        grid.step,
        grid.step_name,
        coalesce(entered.entered_users, 0) as entered_users,
        coalesce(entered.eligible_users, 0) as eligible_users,
        coalesce(reached.reached_users, 0) as reached_users,
        reached.median_seconds_to_step,
        lag(coalesce(reached.reached_users, 0)) over (
            partition by grid.funnel, grid.cohort_month order by grid.step
        ) as previous_reached_users
    from grid
    left join entered on grid.funnel = entered.funnel and grid.cohort_month = entered.cohort_month
    left join reached
        on
            grid.funnel = reached.funnel
            and grid.cohort_month = reached.cohort_month
            and grid.step = reached.step
),

final as (
    select
        funnel,
        cohort_month,
        step,
        step_name,
        entered_users::integer as entered_users,
        eligible_users::integer as eligible_users,
        (entered_users - eligible_users)::integer as in_progress_users,
        reached_users::integer as reached_users,
        round(reached_users::numeric / nullif(eligible_users, 0), 6) as conversion_rate,
        -- null on step 1 (no previous step) and when nobody reached the previous step
        round(reached_users::numeric / nullif(previous_reached_users, 0), 6) as step_conversion_rate,
        round(median_seconds_to_step::numeric, 3) as median_seconds_to_step
    from counts
)

select * from final
