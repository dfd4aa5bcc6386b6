-- grain: one row: the highest scope number check stage %(stage)s has passed (null: it never passed) and the
-- highest scope number given out so far (meta.check_scope_seq; 0 before the first)
with

watermark as (
    select max(checked_seq) as checked_seq
    from meta.check_watermarks
    where stage = %(stage)s
),

given_out as (
    select case when is_called then last_value else 0 end as upto_seq
    from meta.check_scope_seq
),

final as (
    select
        watermark.checked_seq,
        given_out.upto_seq
    from watermark
    cross join given_out
)

select * from final
