-- the number of landing files loaded in the period
with

files as (
    select file_id
    from analytics.pipeline_file_loads
    where
        true
        [[and loaded_date >= {{start_date}}::date]]
        [[and loaded_date <= {{end_date}}::date]]
),

final as (
    select count(*) as files_loaded
    from files
)

select * from final
