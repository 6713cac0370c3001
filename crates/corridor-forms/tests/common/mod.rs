//! The form request the tests share: the sample exports under tests/data were made from it.

use corridor_forms::{FormRequest, FormSite};

pub fn site(id: &str, name: &str, labels: Option<(&str, &str)>) -> FormSite {
    FormSite {
        id: id.to_owned(),
        name: name.to_owned(),
        inbound_label: labels.map(|(inbound, _)| inbound.to_owned()),
        outbound_label: labels.map(|(_, outbound)| outbound.to_owned()),
    }
}

pub fn request(sites: Vec<FormSite>) -> FormRequest {
    FormRequest {
        form_id: "tally".to_owned(),
        title: "Corridor passage tally".to_owned(),
        version: "2024061401".to_owned(),
        recorded_by: "observer-team-1".to_owned(),
        sites,
    }
}

/// Two sites, one with its own direction labels.
pub fn sample_request() -> FormRequest {
    request(vec![
        site(
            "lachin",
            "Lachin corridor",
            Some(("towards Stepanakert", "towards Goris")),
        ),
        site("agdam", "Aghdam road", None),
    ])
}
