-- retention never exceeds the cohort, and offset 0 keeps everyone (signing up is activity)
select *
from analytics.user_retention_cohorts
where
    retained_users > cohort_size
    or retention_rate not between 0 and 1
    or (months_since_signup = 0 and retained_users <> cohort_size)
