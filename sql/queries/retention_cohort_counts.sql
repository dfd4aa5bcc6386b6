-- grain: one row per signup cohort month per month since signup: cohort size and retained users
with

cohorts as (
    select
        cohort_month,
        months_since_signup,
        cohort_size,
        retained_users
    from analytics.user_retention_cohorts
)

select * from cohorts
