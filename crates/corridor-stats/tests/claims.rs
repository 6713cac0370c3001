//! Claim verdicts as a table of cases: each comparison with full coverage,
//! with a gap, and the honest asymmetry between lower and upper bounds; then
//! coverage, baselines and whole claims on a small store.

use corridor_model::{ComparisonOp, Tolerance};
use corridor_stats::claims::{Verdict, judge};

#[track_caller]
fn check(
    observed: f64,
    op: ComparisonOp,
    claimed: f64,
    tolerance: Option<Tolerance>,
    full: bool,
    expected: Verdict,
) {
    let (verdict, reason) = judge(observed, claimed, op, tolerance, full);
    assert_eq!(
        verdict, expected,
        "{observed} {op} {claimed} (full coverage: {full}): {reason}"
    );
    assert!(!reason.is_empty());
}

#[test]
fn a_lower_bound_is_confirmed_by_partial_coverage_once_reached() {
    check(
        858.0,
        ComparisonOp::Gt,
        850.0,
        None,
        false,
        Verdict::Consistent,
    );
    check(
        850.0,
        ComparisonOp::Gte,
        850.0,
        None,
        false,
        Verdict::Consistent,
    );
    // Not reached yet: the unwatched time may hold the rest.
    check(
        840.0,
        ComparisonOp::Gt,
        850.0,
        None,
        false,
        Verdict::NotVerifiable,
    );
    // With full coverage, not reaching it refutes it.
    check(
        840.0,
        ComparisonOp::Gt,
        850.0,
        None,
        true,
        Verdict::Inconsistent,
    );
}

#[test]
fn an_upper_bound_needs_full_coverage_unless_already_exceeded() {
    check(
        10.0,
        ComparisonOp::Lte,
        20.0,
        None,
        false,
        Verdict::NotVerifiable,
    );
    check(
        10.0,
        ComparisonOp::Lte,
        20.0,
        None,
        true,
        Verdict::Consistent,
    );
    check(
        25.0,
        ComparisonOp::Lte,
        20.0,
        None,
        false,
        Verdict::Inconsistent,
    );
    check(
        20.0,
        ComparisonOp::Lt,
        20.0,
        None,
        true,
        Verdict::Inconsistent,
    );
}

#[test]
fn an_exact_total_needs_full_coverage() {
    check(
        980.0,
        ComparisonOp::Eq,
        980.0,
        None,
        true,
        Verdict::Consistent,
    );
    check(
        979.0,
        ComparisonOp::Eq,
        980.0,
        None,
        true,
        Verdict::Inconsistent,
    );
    // The 150-day claim over 43 covered days: records give fewer, which says nothing.
    check(
        980.0,
        ComparisonOp::Eq,
        2558.0,
        None,
        false,
        Verdict::NotVerifiable,
    );
    // ... but more than claimed refutes it even with gaps.
    check(
        3000.0,
        ComparisonOp::Eq,
        2558.0,
        None,
        false,
        Verdict::Inconsistent,
    );
    check(
        0.0,
        ComparisonOp::Eq,
        0.0,
        None,
        false,
        Verdict::NotVerifiable,
    );
}

#[test]
fn approximate_figures_use_the_stated_or_default_tolerance() {
    check(
        86.0,
        ComparisonOp::Approx,
        90.0,
        Some(Tolerance::Relative(10.0)),
        true,
        Verdict::Consistent,
    );
    check(
        80.0,
        ComparisonOp::Approx,
        90.0,
        Some(Tolerance::Relative(10.0)),
        true,
        Verdict::Inconsistent,
    );
    check(
        93.0,
        ComparisonOp::Approx,
        90.0,
        Some(Tolerance::Absolute(3.0)),
        true,
        Verdict::Consistent,
    );
    // Default 5%: 90 ± 4.5.
    check(
        94.0,
        ComparisonOp::Approx,
        90.0,
        None,
        true,
        Verdict::Consistent,
    );
    check(
        95.0,
        ComparisonOp::Approx,
        90.0,
        None,
        true,
        Verdict::Inconsistent,
    );
    check(
        100.0,
        ComparisonOp::Approx,
        90.0,
        None,
        false,
        Verdict::Inconsistent,
    );
    check(
        80.0,
        ComparisonOp::Approx,
        90.0,
        None,
        false,
        Verdict::NotVerifiable,
    );
}

#[test]
fn not_equal_is_confirmed_by_partial_data_only_from_above() {
    check(5.0, ComparisonOp::Ne, 0.0, None, false, Verdict::Consistent);
    check(
        0.0,
        ComparisonOp::Ne,
        5.0,
        None,
        false,
        Verdict::NotVerifiable,
    );
    check(
        5.0,
        ComparisonOp::Ne,
        5.0,
        None,
        true,
        Verdict::Inconsistent,
    );
}
