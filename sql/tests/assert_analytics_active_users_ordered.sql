-- dau <= wau <= mau on every day, and stickiness = dau / mau
select *
from analytics.daily_active_users
where
    dau > wau
    or wau > mau
    or dau < 0
    or (mau > 0 and abs(stickiness - dau::numeric / mau) > 0.000001)
