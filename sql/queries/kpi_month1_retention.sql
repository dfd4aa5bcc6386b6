-- grain: one row (or none): month-1 retention of the latest cohort whose month 1 is complete
with

cohorts as (
    select * from analytics.user_retention_cohorts
),

latest_day as (
    select max(activity_date) as activity_date from analytics.daily_active_users
),

last_full_cohort as (
    -- month 1 of the cohort (its second month) ended on or before the latest activity day
    select max(cohorts.cohort_month) as cohort_month
    from cohorts
    cross join latest_day
    where
        cohorts.months_since_signup = 1
        and cohorts.cohort_month + interval '2 months' <= latest_day.activity_date + 1
),

final as (
    select
        cohorts.cohort_month,
        cohorts.cohort_size,
        cohorts.retained_users,
        cohorts.retention_rate
    from cohorts
    inner join last_full_cohort on cohorts.cohort_month = last_full_cohort.cohort_month
    where cohorts.months_since_signup = 1
)

select * from final
