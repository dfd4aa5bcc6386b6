-- grain: one row per feature name
insert into core.dim_features (feature, first_used_at, last_used_at)

with

uses as (
    select
        feature,
        event_at
    from core_batch
    where feature is not null
),

final as (
    select
        feature,
        min(event_at) as first_used_at,
        max(event_at) as last_used_at
    from uses
    group by feature
)

select * from final

on conflict (feature) do update set
    first_used_at = least(dim_features.first_used_at, excluded.first_used_at),
    last_used_at = greatest(dim_features.last_used_at, excluded.last_used_at);
