-- involuntary churn is part of churn: 0 <= churned_mrr_involuntary <= churned_mrr, every month
select
    month,
    churned_mrr_involuntary,
    churned_mrr
from analytics.mrr_monthly
where churned_mrr_involuntary < 0 or churned_mrr_involuntary > churned_mrr
