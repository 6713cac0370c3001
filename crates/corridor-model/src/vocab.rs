//! The closed vocabularies of the record model: operator categories, directions,
//! outcomes and every other field whose value is one of a fixed set of tokens.

use serde::Serialize;

/// A closed vocabulary, so that one parser can read and report any of them.
pub trait Token: Sized + Copy {
    /// What the vocabulary is called in error messages.
    const DESCRIPTION: &'static str;
    /// Parses a wire token.
    fn parse_token(token: &str) -> Option<Self>;
    /// The accepted tokens, for error messages.
    fn expected_tokens() -> String;
    /// Every wire token, in declaration order (for schemas and forms).
    fn tokens() -> Vec<&'static str>;

    /// Why `text` is refused: `"x" is not an operator category (peacekeeping, ...)`.
    fn not_a_token(text: &str) -> String {
        let article = if Self::DESCRIPTION.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        format!(
            "{text:?} is not {article} {} ({})",
            Self::DESCRIPTION,
            Self::expected_tokens()
        )
    }
}

/// Declares a token enum with its wire tokens, `parse`, `as_str` and `ALL`.
///
/// Wire tokens are part of the log format: once a token has been published in
/// a leaf it can never be renamed, only added to.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($variant:ident => $token:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        pub enum $name {
            $(#[serde(rename = $token)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The wire token.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $token),+ }
            }

            /// Parses a wire token; `None` if it is not one of [`Self::ALL`].
            pub fn parse(token: &str) -> Option<$name> {
                match token { $($token => Some($name::$variant),)+ _ => None }
            }

            /// The accepted tokens, comma-separated, for error messages.
            pub fn expected() -> String {
                Self::ALL.iter().map(|value| value.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl Token for $name {
            const DESCRIPTION: &'static str = $what;
            fn parse_token(token: &str) -> Option<Self> { $name::parse(token) }
            fn expected_tokens() -> String { $name::expected() }
            fn tokens() -> Vec<&'static str> { Self::ALL.iter().map(|value| value.as_str()).collect() }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str(self.as_str())
            }
        }
    };
}

vocabulary!(
    /// The kind of a record, the `"type"` field.
    RecordType, "record type" {
        Site => "site",
        Passage => "passage",
        Mission => "mission",
        Incident => "incident",
        Appeal => "appeal",
        Coverage => "coverage",
        Baseline => "baseline",
        Claim => "claim",
        Correction => "correction",
        Retraction => "retraction",
    }
);

vocabulary!(
    /// Who operates a vehicle or runs a mission.
    Category, "operator category" {
        Peacekeeping => "peacekeeping",
        RedCross => "red_cross",
        Un => "un",
        Ngo => "ngo",
        Civilian => "civilian",
        Commercial => "commercial",
        Government => "government",
        Military => "military",
        Media => "media",
        Other => "other",
    }
);

vocabulary!(
    /// Which way a passage went; a site may give the two directions local names.
    Direction, "direction" {
        Inbound => "inbound",
        Outbound => "outbound",
        Unknown => "unknown",
    }
);

vocabulary!(
    /// The direction a baseline figure counts.
    BaselineDirection, "baseline direction" {
        Inbound => "inbound",
        Outbound => "outbound",
        Both => "both",
    }
);

vocabulary!(
    /// What kind of vehicle passed.
    VehicleClass, "vehicle class" {
        Car => "car",
        Suv => "suv",
        Van => "van",
        Bus => "bus",
        Truck => "truck",
        Tanker => "tanker",
        Ambulance => "ambulance",
        ArmouredVehicle => "armoured_vehicle",
        Motorcycle => "motorcycle",
        Vessel => "vessel",
        Other => "other",
        Unknown => "unknown",
    }
);

vocabulary!(
    /// What happened to a vehicle at the site.
    Outcome, "passage outcome" {
        Passed => "passed",
        TurnedBack => "turned_back",
        Delayed => "delayed",
        Held => "held",
    }
);

vocabulary!(
    /// Where a record's information comes from.
    SourceKind, "source kind" {
        DirectObservation => "direct_observation",
        OfficialStatement => "official_statement",
        MediaReport => "media_report",
        Document => "document",
        Register => "register",
    }
);

vocabulary!(
    /// What a site is.
    SiteKind, "site kind" {
        Checkpoint => "checkpoint",
        Crossing => "crossing",
        RoadSegment => "road_segment",
        Port => "port",
        Mine => "mine",
        Settlement => "settlement",
        Other => "other",
    }
);

vocabulary!(
    /// What a mission is.
    MissionKind, "mission kind" {
        Convoy => "convoy",
        MedicalEvacuation => "medical_evacuation",
        MonitoringVisit => "monitoring_visit",
        InspectionVisit => "inspection_visit",
        Delivery => "delivery",
        Other => "other",
    }
);

vocabulary!(
    /// How a mission ended.
    MissionOutcome, "mission outcome" {
        Planned => "planned",
        Completed => "completed",
        PartlyCompleted => "partly_completed",
        Delayed => "delayed",
        Denied => "denied",
        Obstructed => "obstructed",
        Cancelled => "cancelled",
    }
);

vocabulary!(
    /// What kind of access constraint or event an incident is.
    IncidentKind, "incident kind" {
        RoadObstruction => "road_obstruction",
        Protest => "protest",
        DenialOfMovement => "denial_of_movement",
        RestrictionOfMovement => "restriction_of_movement",
        Interference => "interference",
        Violence => "violence",
        Closure => "closure",
        Other => "other",
    }
);

vocabulary!(
    /// What an appeal to a hotline or desk asked for.
    AppealKind, "appeal kind" {
        Medical => "medical",
        Family => "family",
        Supplies => "supplies",
        Passage => "passage",
        Other => "other",
    }
);

vocabulary!(
    /// Where an appeal stands.
    AppealStatus, "appeal status" {
        Received => "received",
        Referred => "referred",
        Resolved => "resolved",
        Refused => "refused",
        Unresolved => "unresolved",
    }
);

vocabulary!(
    /// How a site was watched.
    CoverageMode, "coverage mode" {
        ContinuousWatch => "continuous_watch",
        Register => "register",
    }
);

vocabulary!(
    /// A figure computed over passages.
    FlowMetric, "metric" {
        Vehicles => "vehicles",
        Passages => "passages",
        Passengers => "passengers",
        MedicalEvacuees => "medical_evacuees",
        Tonnes => "tonnes",
    }
);

vocabulary!(
    /// What a claim's assertion is about.
    ClaimMetric, "claim metric" {
        Vehicles => "vehicles",
        Passages => "passages",
        Passengers => "passengers",
        MedicalEvacuees => "medical_evacuees",
        Tonnes => "tonnes",
        Missions => "missions",
        Incidents => "incidents",
        Appeals => "appeals",
        AccessStatus => "access_status",
    }
);

vocabulary!(
    /// How a claimed figure compares with the computed one.
    ComparisonOp, "comparison" {
        Eq => "eq",
        Ne => "ne",
        Gte => "gte",
        Gt => "gt",
        Lte => "lte",
        Lt => "lt",
        Approx => "approx",
    }
);

vocabulary!(
    /// The access status of a site for a period, from the access index.
    AccessStatus, "access status" {
        Open => "open",
        Restricted => "restricted",
        SeverelyRestricted => "severely_restricted",
        Closed => "closed",
    }
);

vocabulary!(
    /// How precisely times are published in the public record.
    TimePrecision, "time precision" {
        Second => "second",
        Minute => "minute",
        Hour => "hour",
        Day => "day",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_token_parses_back_to_its_value() {
        for category in Category::ALL {
            assert_eq!(Category::parse(category.as_str()), Some(*category));
        }
        for class in VehicleClass::ALL {
            assert_eq!(VehicleClass::parse(class.as_str()), Some(*class));
        }
        assert_eq!(
            Category::parse("Peacekeeping"),
            None,
            "tokens are case-sensitive"
        );
    }

    #[test]
    fn expected_lists_every_token() {
        assert_eq!(Direction::expected(), "inbound, outbound, unknown");
    }

    #[test]
    fn serializes_as_the_wire_token() {
        let json = serde_json::to_string(&Category::RedCross).expect("serializes");
        assert_eq!(json, "\"red_cross\"");
    }
}
