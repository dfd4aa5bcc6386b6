-- grain: one row: how many core events the loaded file %(file_id)s holds (its earliest copies)
with

events as (
    select file_id from core.fact_events
),

final as (
    select count(*) as events
    from events
    where file_id = %(file_id)s
)

select * from final
