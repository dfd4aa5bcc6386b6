-- one row per feature: adoption rate (unique users / active users), users and uses, most adopted first
with

features as (
    select
        feature,
        adoption_rate,
        unique_users,
        total_uses
    from analytics.feature_adoption
)

select * from features
order by adoption_rate desc, feature asc
