-- sessions: a day's users with a session are at most its active users, and sessions >= users
with

sessions as (
    select * from analytics.daily_sessions
),

active as (
    select
        activity_date,
        dau
    from analytics.daily_active_users
),

final as (
    select
        sessions.activity_date,
        sessions.sessions,
        sessions.users,
        active.dau
    from sessions
    left join active on sessions.activity_date = active.activity_date
    where sessions.users > coalesce(active.dau, 0) or sessions.sessions < sessions.users
)

select * from final
