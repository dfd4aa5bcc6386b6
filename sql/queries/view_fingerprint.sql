-- grain: one row (or none): the SQL fingerprint analytics.%(name)s was created from, if it still exists
with

definitions as (
    select
        name,
        fingerprint
    from meta.view_definitions
)

select fingerprint
from definitions
where name = %(name)s and to_regclass('analytics.' || %(name)s) is not null
