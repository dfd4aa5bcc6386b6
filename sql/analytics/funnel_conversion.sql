-- grain: one row per funnel per entry month (first to last with entries) per step
-- key: funnel, cohort_month, step
-- Right-censored: persons whose window has not ended by data_through are in progress, never failures.
-- A thin read of core.agg_funnel_conversion (sql/core/agg_funnel_conversion.sql: who entered, who is
-- eligible, who reached each step), kept by the core layer for the entry months each run changes.
with

steps as (
    select
        funnel,
        step,
        step_name
    from core.funnel_steps
),

monthly as (
    select
        funnel,
        cohort_month,
        step,
        entered_users,
        eligible_users,
        reached_users,
        median_seconds_to_step
    from core.agg_funnel_conversion
),

month_bounds as (
    select
        funnel,
        min(cohort_month) as first_month,
        max(cohort_month) as last_month
    from monthly
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

counts as (
    select
        grid.funnel,
        grid.cohort_month,
        grid.step,
        grid.step_name,
        coalesce(monthly.entered_users, 0) as entered_users,
        coalesce(monthly.eligible_users, 0) as eligible_users,
        coalesce(monthly.reached_users, 0) as reached_users,
        monthly.median_seconds_to_step,
        lag(coalesce(monthly.reached_users, 0)) over (
            partition by grid.funnel, grid.cohort_month order by grid.step
        ) as previous_reached_users
    from grid
    left join monthly
        on
            grid.funnel = monthly.funnel
            and grid.cohort_month = monthly.cohort_month
            and grid.step = monthly.step
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
