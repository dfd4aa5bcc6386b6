-- funnels: eligible + in_progress = entered, step 1 reached = eligible, reached never grows along the steps
with

funnel as (
    select
        *,
        lag(reached_users) over (partition by funnel, cohort_month order by step) as previous_reached_users,
        lag(step) over (partition by funnel, cohort_month order by step) as previous_step
    from analytics.funnel_conversion
),

final as (
    select *
    from funnel
    where
        eligible_users + in_progress_users <> entered_users
        or eligible_users > entered_users
        or (step = 1 and reached_users <> eligible_users)
        or reached_users > previous_reached_users
        or coalesce(previous_step, 0) <> step - 1
)

select * from final
