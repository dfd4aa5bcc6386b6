-- grain: one row per core.fact_daily_user_activity row of a person-day the data checks have not yet all
-- passed (meta.check_scope_person_days): the table of the DAG's SQL table checks (saas_analytics.dag_tasks)
select activity.*
from meta.check_scope_person_days as scope
inner join core.fact_daily_user_activity as activity
    on scope.user_id = activity.user_id and scope.activity_date = activity.activity_date
