-- one row per sign-up month and channel: sign-ups
select
    signup_month,
    channel,
    signups
from analytics.acquisition_monthly
where
    true
    [[and signup_month >= date_trunc('month', {{start_date}}::date)]]
    [[and signup_month <= {{end_date}}::date]]
order by signup_month, channel
