-- every event's person exists in dim_users (events of nobody have none)
-- (checked: the events of check_events and the persons of check_persons — since the checks last passed,
-- or all of them in a full sweep)
with

persons as (
    select check_events.user_id
    from check_events
    where check_events.in_core and check_events.user_id is not null
    union
    select user_id from check_persons
    where exists (
            select from core.fact_events as events
            where events.user_id = check_persons.user_id
        )
),

final as (
    select persons.user_id
    from persons
    left join core.dim_users as users on persons.user_id = users.user_id
    where users.user_id is null
)

select * from final
