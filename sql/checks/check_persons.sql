-- grain: one row per person the data checks look at: those of check_person_days, plus every person of
-- core.dim_users in a full sweep
-- temp table: the data-test runner creates it in the checks' transaction, after check_person_days
with

mode as (
    select full_sweep
    from check_mode
),

from_days as (
    select distinct user_id
    from check_person_days
),

-- the scalar subquery is a one-time filter: in the daily case core.dim_users is not read here
users as (
    select users.user_id
    from core.dim_users as users
    where (select mode.full_sweep from mode)
),

final as (
    select user_id from from_days
    union
    select user_id from users
)

select * from final
