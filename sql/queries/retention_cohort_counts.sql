-- grain: one row per signup cohort month per month since signup (analytics.user_retention_cohorts as it is)
select * from analytics.user_retention_cohorts
