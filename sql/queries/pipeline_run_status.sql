-- grain: one row (or none) for the run %(run_id)s: its status, failed and missing stages and totals
with

runs as (
    select * from analytics.pipeline_run_summary
),

final as (
    select
        run_id,
        status,
        reason,
        failed_stages,
        missing_stages,
        files_loaded,
        lines_read,
        events_loaded,
        quarantined,
        duplicates,
        seconds
    from runs
    where run_id = %(run_id)s
)

select * from final
