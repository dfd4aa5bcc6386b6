-- grain: one row per user whose core rows this correction rebuilds from staging
-- temp table: the runner creates it for this correction's transaction
with

events as (
    select user_id from withdrawn_events
),

final as (
    select distinct user_id from events
)

select * from final
