-- quarantined lines as a share of the lines read from the files loaded in the period
with

files as (
    select
        lines_read,
        quarantined
    from analytics.pipeline_file_loads
    where
        true
        [[and loaded_date >= {{start_date}}::date]]
        [[and loaded_date <= {{end_date}}::date]]
),

final as (
    select
        coalesce(sum(quarantined), 0) as quarantined_lines,
        coalesce(sum(lines_read), 0) as lines_read,
        coalesce(round(sum(quarantined)::numeric / nullif(sum(lines_read), 0), 6), 0) as quarantined_share
    from files
)

select * from final
