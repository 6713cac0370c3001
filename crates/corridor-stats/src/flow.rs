//! The flow rule, in one place: flow is what went through, passages whose
//! outcome is `passed` or `delayed`. Turned-back and held vehicles are
//! reported beside the flow, never folded into it. The access index, claims
//! that name no outcome, and the dashboard's figures all count flow by this rule.

use corridor_model::Outcome;

/// The outcomes that count as flow.
pub const FLOW_OUTCOMES: [Outcome; 2] = [Outcome::Passed, Outcome::Delayed];

/// Whether passages with `outcome` count as flow.
pub fn is_flow(outcome: Outcome) -> bool {
    FLOW_OUTCOMES.contains(&outcome)
}

/// The flow outcomes as a rollup filter names them.
pub fn flow_outcome_tokens() -> Vec<String> {
    FLOW_OUTCOMES
        .iter()
        .map(|outcome| outcome.as_str().to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_is_passed_and_delayed_only() {
        let flowing: Vec<Outcome> = Outcome::ALL
            .iter()
            .copied()
            .filter(|outcome| is_flow(*outcome))
            .collect();
        assert_eq!(flowing, vec![Outcome::Passed, Outcome::Delayed]);
        assert_eq!(flow_outcome_tokens(), vec!["passed", "delayed"]);
    }
}
