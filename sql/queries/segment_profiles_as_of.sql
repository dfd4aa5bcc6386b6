-- grain: one row per behavioural segment in the slice %(as_of)s
with

profiles as (
    select
        segment_id,
        segment_name,
        users,
        share
    from analytics.segment_profiles
    where as_of = %(as_of)s
)

select * from profiles
