-- every event's person exists in dim_users (events of nobody have none)
select
    events.message_id,
    events.user_id
from core.fact_events as events
left join core.dim_users as users on events.user_id = users.user_id
where events.user_id is not null and users.user_id is null
