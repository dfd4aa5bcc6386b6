-- a person's signup is the UTC date of their earliest valid signed_up event
with

earliest as (
    select
        user_id,
        min(event_at) as signup_at
    from core.fact_events
    where event_type = 'track' and event_name = 'signed_up' and user_id is not null
    group by user_id
),

final as (
    select
        users.user_id,
        users.signup_at,
        earliest.signup_at as expected
    from core.dim_users as users
    full outer join earliest on users.user_id = earliest.user_id
    where
        users.signup_at is distinct from earliest.signup_at
        or users.signup_date is distinct from (earliest.signup_at at time zone 'UTC')::date
)

select * from final
