-- one row per ISO week: new, returning, resurrecting persons, and dormant ones as a negative bar
with

weeks as (
    select
        period_start,
        new_users,
        returning_users,
        resurrecting_users,
        dormant_users,
        is_complete
    from analytics.user_lifecycle
    where
        period = 'week'
        [[and period_start >= date_trunc('week', {{start_date}}::date)]]
        [[and period_start <= {{end_date}}::date]]
),

final as (
    select
        period_start,
        to_char(period_start, 'YYYY-MM-DD') || case when is_complete then '' else ' (running)' end as week,
        new_users,
        returning_users,
        resurrecting_users,
        -dormant_users as dormant_users
    from weeks
)

select
    week,
    new_users,
    returning_users,
    resurrecting_users,
    dormant_users
from final
order by period_start
