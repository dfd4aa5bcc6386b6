-- grain: one row per funnel per person per step they reached (step 1 = they entered the funnel)
-- key: funnel, user_id, step
-- kind: view
-- A plain view of core.agg_funnel_user_steps (sql/core/agg_funnel_user_steps.sql), which the core layer
-- keeps for the persons each run's changes can move through a funnel (and whole for a redefined funnel).
with

progress as (
    select
        funnel,
        user_id,
        step,
        entered_at,
        window_ends_at,
        reached_at,
        seconds_to_step
    from core.agg_funnel_user_steps
),

final as (
    select * from progress
)

select * from final
