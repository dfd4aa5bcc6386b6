-- one row per sign-up month and channel with sign-ups: activation and paid conversion rates
select
    signup_month,
    channel,
    signups,
    activation_rate,
    paid_conversion_rate
from analytics.acquisition_monthly
where
    signups > 0
    [[and signup_month >= date_trunc('month', {{start_date}}::date)]]
    [[and signup_month <= {{end_date}}::date]]
order by signup_month desc, signups desc
