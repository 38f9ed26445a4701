"""Bind parameters of the duty checks (disclosure, personal data, coverage, registry, activity).

Contract: :func:`duty_parameters` maps ``$name`` → value from the validated configuration;
the runner binds the ones a check's SQL names. Registry facts the checks need (domains,
reviewed dates, custodian tags) are in the warehouse; only policy and the set of apprise
tags (the URLs themselves may hold credentials and are never stored) come from here.
"""

from __future__ import annotations


def duty_parameters(config) -> dict:
    policy = config.policy
    return {
        "disclosure_phrases": policy.disclosure.all_phrases(),
        "disclosure_unjudged": policy.disclosure.unjudged_platforms,
        "personal_data_days": policy.personal_data.days,
        "min_custodians": policy.custodian_coverage.min_custodians,
        "failed_deliveries": policy.custodian_coverage.failed_deliveries,
        "apprise_tags": sorted(config.apprise_tags),
        "review_months": policy.registry.review_months,
        "drop_period_days": policy.activity_drop.period_days,
        "drop_share": policy.activity_drop.share,
        "drop_baseline_periods": policy.activity_drop.baseline_periods,
        "drop_min_baseline": policy.activity_drop.min_baseline,
        "drop_min_periods": policy.activity_drop.min_baseline_periods,
    }
