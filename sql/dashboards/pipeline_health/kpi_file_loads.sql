-- files, valid events and quarantined lines of the landing files loaded in the period
-- (one query for the Files loaded, Events loaded and Quarantined share cards: each shows its own column)
with

files as (
    select
        lines_read,
        valid_events,
        quarantined
    from analytics.pipeline_file_loads
    where
        true
        [[and loaded_date >= {{start_date}}::date]]
        [[and loaded_date <= {{end_date}}::date]]
),

final as (
    select
        count(*) as files_loaded,
        coalesce(sum(valid_events), 0) as events_loaded,
        coalesce(sum(quarantined), 0) as quarantined_lines,
        coalesce(sum(lines_read), 0) as lines_read,
        coalesce(round(sum(quarantined)::numeric / nullif(sum(lines_read), 0), 6), 0) as quarantined_share
    from files
)

select * from final
