-- grain: one row per core event the data checks have not yet all passed: inserted (meta.check_scope_staged,
-- by staged_seq range) or re-attributed or withdrawn (meta.check_scope_events); the scope of the DAG's SQL
-- column checks on core.fact_events (`message_id in (…)`, saas_analytics.dag_tasks)
select scope.message_id
from meta.check_scope_events as scope
union all
select staged.message_id
from meta.check_scope_staged as ranges
inner join staging.events as staged
    on ranges.after_staged_seq < staged.staged_seq and ranges.upto_staged_seq >= staged.staged_seq
