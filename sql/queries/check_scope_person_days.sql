-- grain: one row: what this data-check run looks at (the check_* temp tables of its transaction):
-- files, core events, persons, person-days and their first and last dates
with

files as (
    select count(*) as files from check_files
),

events as (
    select count(*) as events from check_events
),

persons as (
    select count(*) as persons from check_persons
),

person_days as (
    select
        count(*) as person_days,
        count(distinct activity_date) as dates,
        min(activity_date) as first_date,
        max(activity_date) as last_date
    from check_person_days
),

final as (
    select
        files.files,
        events.events,
        persons.persons,
        person_days.person_days,
        person_days.dates,
        person_days.first_date,
        person_days.last_date
    from files
    cross join events
    cross join persons
    cross join person_days
)

select * from final
