-- the valid events staged from the files loaded in the period
with

files as (
    select valid_events
    from analytics.pipeline_file_loads
    where
        true
        [[and loaded_date >= {{start_date}}::date]]
        [[and loaded_date <= {{end_date}}::date]]
),

final as (
    select coalesce(sum(valid_events), 0) as events_loaded
    from files
)

select * from final
