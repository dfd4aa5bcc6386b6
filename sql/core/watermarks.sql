-- grain: one row per incremental step; core has now processed everything in this run's batch
update core.watermarks
set
    last_staged_seq = coalesce((select max(staged_seq) from core_batch), last_staged_seq),
    updated_at = now()
where step = 'core';
