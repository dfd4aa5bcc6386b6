-- a person's signup is the UTC date of their earliest valid signed_up event
-- (checked: the persons of check_persons — whose facts were rebuilt since the checks last passed, or every
-- person in a full sweep; the partial index fact_events_signup_user finds each one's signups)
with

earliest as (
    select
        events.user_id,
        min(events.event_at) as signup_at
    from core.fact_events as events
    inner join check_persons on events.user_id = check_persons.user_id
    where events.event_type = 'track' and events.event_name = 'signed_up'
    group by events.user_id
),

users as (
    select
        users.user_id,
        users.signup_at,
        users.signup_date
    from core.dim_users as users
    inner join check_persons on users.user_id = check_persons.user_id
),

final as (
    select
        coalesce(users.user_id, earliest.user_id) as user_id,
        users.signup_at,
        earliest.signup_at as expected
    from users
    full outer join earliest on users.user_id = earliest.user_id
    where
        users.signup_at is distinct from earliest.signup_at
        or users.signup_date is distinct from (earliest.signup_at at time zone 'UTC')::date
)

select * from final
