-- grain: statements; remove every core row of the affected users, then hand their remaining staged events
-- back to the core steps (a fresh staged_seq puts them past the watermark: the next core_batch holds them)
update staging.events
set staged_seq = default
where message_id in (
        select fact_events.message_id
        from core.fact_events
        inner join withdrawn_users on fact_events.user_id = withdrawn_users.user_id
    );

delete from core.fact_subscription_events as subscriptions
using withdrawn_users
where subscriptions.user_id = withdrawn_users.user_id;

delete from core.fact_events as events
using withdrawn_users
where events.user_id = withdrawn_users.user_id;

delete from core.fact_daily_user_activity as activity
using withdrawn_users
where activity.user_id = withdrawn_users.user_id;

delete from core.fact_sessions as sessions
where
    sessions.user_id in (select user_id from withdrawn_users)
    or sessions.session_id in (select session_id from withdrawn_events);

delete from core.dim_users as users
using withdrawn_users
where users.user_id = withdrawn_users.user_id;
