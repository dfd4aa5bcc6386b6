-- grain: one row per person whose month-end MRR history must be rebuilt this run
-- temp table: persons whose subscription events arrived or changed person this run (both the person
-- now and the person before); every person once when the table is behind core (first run after 0007)
with

changes as (
    select * from core_changes
    where event_name in ('subscription_started', 'subscription_changed', 'subscription_cancelled')
),

watermarks as (
    select
        max(last_staged_seq) filter (where step = 'fact_mrr_monthly') as mrr_seq,
        max(last_staged_seq) filter (where step = 'core') as core_seq
    from core.watermarks
),

-- the table misses history it never saw: rebuild everyone once (a one-time filter: no scan otherwise)
backfill as (
    select distinct subscriptions.user_id
    from core.fact_subscription_events as subscriptions
    where (select watermarks.mrr_seq < watermarks.core_seq from watermarks)
),

persons as (
    select user_id from changes
    union
    select previous_user_id from changes
    union
    select user_id from backfill
),

final as (
    select user_id
    from persons
    where user_id is not null
)

select * from final
