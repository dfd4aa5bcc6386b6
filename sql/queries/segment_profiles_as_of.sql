-- grain: one row per behavioural segment in the slice %(as_of)s
with

profiles as (
    select
        as_of,
        segment_id,
        segment_name,
        users,
        share
    from analytics.segment_profiles
)

select
    segment_id,
    segment_name,
    users,
    share
from profiles
where as_of = %(as_of)s
