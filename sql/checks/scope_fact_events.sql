-- grain: one row per core event the data checks have not yet all passed (meta.check_scope_events): the
-- scope of the DAG's SQL column checks on core.fact_events (`message_id in (…)`, saas_analytics.dag_tasks)
select scope.message_id
from meta.check_scope_events as scope
