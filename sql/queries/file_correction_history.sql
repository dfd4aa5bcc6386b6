-- grain: one row per correction (replace or forget) of the file %(file_name)s, oldest first
with

corrections as (
    select
        correction_id,
        file_name,
        action,
        corrected_by,
        corrected_at,
        events_withdrawn,
        events_loaded
    from analytics.file_corrections
),

final as (
    select
        correction_id,
        action,
        corrected_by,
        corrected_at,
        events_withdrawn,
        events_loaded
    from corrections
    where file_name = %(file_name)s
)

select * from final
order by correction_id
