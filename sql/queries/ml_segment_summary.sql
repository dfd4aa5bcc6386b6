-- grain: one row per segment of the latest segmentation, largest first
with

profiles as (
    select * from analytics.segment_profiles
),

latest as (
    select max(as_of) as as_of from profiles
),

final as (
    select
        profiles.segment_name,
        profiles.users,
        profiles.share,
        profiles.segment_id
    from profiles
    inner join latest on profiles.as_of = latest.as_of
)

select
    segment_name,
    users,
    share
from final
order by users desc, segment_id asc
