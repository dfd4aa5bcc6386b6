-- grain: one row: the person-days this data-check run looks at (its check_person_days temp table), how many
-- dates they fall on, and the first and last of those dates
with

person_days as (
    select activity_date from check_person_days
),

final as (
    select
        count(*) as person_days,
        count(distinct activity_date) as dates,
        min(activity_date) as first_date,
        max(activity_date) as last_date
    from person_days
)

select * from final
