-- grain: one row per feature, the five most adopted
with

features as (
    select
        feature,
        total_uses,
        unique_users,
        adoption_rate
    from analytics.feature_adoption
)

select * from features
order by adoption_rate desc, feature asc
limit 5
