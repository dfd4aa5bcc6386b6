-- one row per sign-up month: the number of users who signed up
with

cohorts as (
    select
        cohort_month,
        cohort_size
    from analytics.user_retention_cohorts
    where
        months_since_signup = 0
        [[and cohort_month >= date_trunc('month', {{start_date}}::date)]]
        [[and cohort_month <= {{end_date}}::date]]
)

select * from cohorts
order by cohort_month
