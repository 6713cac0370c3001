//! The choice lists of the form: corridor-model's closed vocabularies with a label for people, and the cargo kinds the form suggests.

use corridor_model::{Category, Direction, Outcome, VehicleClass};
use sha2::{Digest, Sha256};

/// One choice: the wire token (what the export and the record carry) and
/// what the observer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    /// The token, e.g. `red_cross`.
    pub name: &'static str,
    /// The label, e.g. `Red Cross / Red Crescent`.
    pub label: &'static str,
}

/// Operator categories (docs/records.md, "Vocabularies").
pub fn categories() -> Vec<Choice> {
    Category::ALL
        .iter()
        .map(|category| Choice {
            name: category.as_str(),
            label: match category {
                Category::Peacekeeping => "Peacekeeping",
                Category::RedCross => "Red Cross / Red Crescent (ICRC included)",
                Category::Un => "United Nations",
                Category::Ngo => "NGO",
                Category::Civilian => "Civilian",
                Category::Commercial => "Commercial",
                Category::Government => "Government",
                Category::Military => "Military",
                Category::Media => "Media",
                Category::Other => "Other",
            },
        })
        .collect()
}

/// Vehicle classes.
pub fn vehicle_classes() -> Vec<Choice> {
    VehicleClass::ALL
        .iter()
        .map(|class| Choice {
            name: class.as_str(),
            label: match class {
                VehicleClass::Car => "Car",
                VehicleClass::Suv => "SUV",
                VehicleClass::Van => "Van",
                VehicleClass::Bus => "Bus",
                VehicleClass::Truck => "Truck",
                VehicleClass::Tanker => "Tanker",
                VehicleClass::Ambulance => "Ambulance",
                VehicleClass::ArmouredVehicle => "Armoured vehicle",
                VehicleClass::Motorcycle => "Motorcycle",
                VehicleClass::Vessel => "Vessel",
                VehicleClass::Other => "Other",
                VehicleClass::Unknown => "Unknown",
            },
        })
        .collect()
}

/// Passage outcomes.
pub fn outcomes() -> Vec<Choice> {
    Outcome::ALL
        .iter()
        .map(|outcome| Choice {
            name: outcome.as_str(),
            label: match outcome {
                Outcome::Passed => "Passed",
                Outcome::TurnedBack => "Turned back",
                Outcome::Delayed => "Delayed (passed after a wait)",
                Outcome::Held => "Held (not released yet)",
            },
        })
        .collect()
}

/// Directions with the generic labels, for sites that have no labels of their own.
pub fn directions() -> Vec<Choice> {
    Direction::ALL
        .iter()
        .map(|direction| Choice {
            name: direction.as_str(),
            label: match direction {
                Direction::Inbound => "Inbound",
                Direction::Outbound => "Outbound",
                Direction::Unknown => "Unknown",
            },
        })
        .collect()
}

/// Cargo kinds are not a closed vocabulary (docs/records.md: any token of
/// `a-z 0-9 _ -`); these are the ones the form offers, so that tallies from
/// different teams use the same tokens.
pub const SUGGESTED_CARGO_KINDS: &[Choice] = &[
    Choice {
        name: "food",
        label: "Food",
    },
    Choice {
        name: "flour",
        label: "Flour",
    },
    Choice {
        name: "grain",
        label: "Grain",
    },
    Choice {
        name: "fuel",
        label: "Fuel",
    },
    Choice {
        name: "medicine",
        label: "Medicine and medical supplies",
    },
    Choice {
        name: "hygiene",
        label: "Hygiene items",
    },
    Choice {
        name: "shelter",
        label: "Shelter and household items",
    },
    Choice {
        name: "construction_materials",
        label: "Construction materials",
    },
    Choice {
        name: "commercial_goods",
        label: "Commercial goods",
    },
    Choice {
        name: "other",
        label: "Other",
    },
];

/// What the form names as its vocabularies: each list, and a digest of
/// every token in it, so a form can be matched to the vocabularies it was
/// made from (`corridor_vocabulary` in the settings sheet).
pub fn provenance() -> String {
    let lists: [(&str, Vec<Choice>); 5] = [
        ("category", categories()),
        ("direction", directions()),
        ("vehicle_class", vehicle_classes()),
        ("outcome", outcomes()),
        ("cargo_kind", SUGGESTED_CARGO_KINDS.to_vec()),
    ];
    let mut hasher = Sha256::new();
    for (list, choices) in &lists {
        hasher.update(list.as_bytes());
        for choice in choices {
            hasher.update(b"\n");
            hasher.update(choice.name.as_bytes());
        }
        hasher.update(b"\n\n");
    }
    let digest = hex::encode(hasher.finalize());
    let names: Vec<&str> = lists.iter().map(|(list, _)| *list).collect();
    format!(
        "corridor {} vocabularies {} (sha256 {})",
        env!("CARGO_PKG_VERSION"),
        names.join(", "),
        &digest[..16]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_token_of_each_vocabulary_is_offered() {
        assert_eq!(categories().len(), Category::ALL.len());
        assert_eq!(vehicle_classes().len(), VehicleClass::ALL.len());
        assert_eq!(outcomes().len(), Outcome::ALL.len());
        assert_eq!(directions().len(), Direction::ALL.len());
        assert!(categories().iter().any(|choice| choice.name == "red_cross"));
    }

    #[test]
    fn suggested_cargo_kinds_are_valid_tokens() {
        for choice in SUGGESTED_CARGO_KINDS {
            assert!(
                choice
                    .name
                    .chars()
                    .all(|character| matches!(character, 'a'..='z' | '0'..='9' | '_' | '-')),
                "{}",
                choice.name
            );
        }
    }

    #[test]
    fn the_provenance_names_the_lists_and_a_digest_of_their_tokens() {
        let text = provenance();
        assert!(
            text.contains("vocabularies category, direction, vehicle_class, outcome, cargo_kind"),
            "{text}"
        );
        assert!(text.contains("(sha256 "), "{text}");
    }
}
