-- grain: one row: how many landing lines raw.events holds (the benchmark's per-event denominator)
with

raw_lines as (
    select file_id from raw.events
),

final as (
    select count(*) as events
    from raw_lines
)

select * from final
