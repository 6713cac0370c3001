//! The claims about the selection's period, in the report's claim cards,
//! each computed figure linked to the records behind it where the records
//! page can list them.

use corridor_model::{Assertion, ClaimMetric};
use corridor_stats::flow::FLOW_OUTCOMES;
use corridor_stats::report_html::blocks::{self, ClaimCardStyle};

use crate::dashboard::data::DashboardData;
use crate::dashboard::query::RecordsFilter;
use crate::dashboard::records::records_link;

/// The records behind an assertion's computed figure, when the records page
/// can list them: a flow metric at one site (or all), filters it knows.
fn assertion_records(assertion: &Assertion) -> Option<String> {
    if !matches!(
        assertion.metric,
        ClaimMetric::Vehicles
            | ClaimMetric::Passages
            | ClaimMetric::Passengers
            | ClaimMetric::MedicalEvacuees
    ) {
        return None;
    }
    if !assertion.attributes.is_empty()
        || assertion.operator.is_some()
        || assertion.cargo_kind.is_some()
    {
        return None;
    }
    let site = match assertion.sites.as_slice() {
        [] => None,
        [site] => Some(site.clone()),
        _ => return None,
    };
    let from = corridor_model::time::parse_date(&assertion.from)?;
    let to = corridor_model::time::parse_date(&assertion.to)?;
    // Without an outcome, a claim counts the flow.
    let outcomes = match assertion.outcome {
        Some(outcome) => vec![outcome],
        None => FLOW_OUTCOMES.to_vec(),
    };
    Some(records_link(&RecordsFilter {
        from,
        to,
        site,
        category: assertion.category,
        direction: assertion.direction,
        outcomes,
        page: 1,
    }))
}

pub(super) fn claims(body: &mut String, data: &DashboardData) {
    blocks::claims_section(
        body,
        &data.claims,
        "Claims are checked as stated, over their own period, whatever the filters above.",
        ClaimCardStyle {
            records_behind: assertion_records,
            comparison_with_claimed: true,
        },
    );
}
