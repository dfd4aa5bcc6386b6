-- every event's user exists in dim_users (foreign key present)
select
    events.message_id,
    events.user_id
from core.fact_events as events
left join core.dim_users as users on events.user_id = users.user_id
where users.user_id is null
