//! The pipeline against a sequential model (issue 11): random groups of
//! submissions (new records, records repeated within a submission, across
//! submissions and from the group being committed, conflicting content,
//! invalid records, references to records of earlier submissions), in both
//! modes, with faults injected before the commit (`FailWrite`), at the
//! commit (`FailCommit`) and at the flush (`FailSync`), through a pipelined
//! writer on a memory store. Every answer and the store's contents must be
//! what the model says: groups committed one after the other, each judged
//! against what the groups before it left in the store.

use std::collections::HashMap;

use corridor_engine::{Answer, Config, ItemOutcome, Sequencer, Submission, SubmitItem, Writer};
use corridor_store::{Fault, MemoryStore, Store};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const SECRET: &[u8] = b"model secret";

/// One planned record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    /// Site `s1`, which passages may name once it is stored (`s0` always is).
    Site,
    /// Passage `p{number}` at site `s{site}`; `category` picks its content.
    Passage { number: u8, category: u8, site: u8 },
    /// Passage `p{number}` with a category no record may have.
    Invalid { number: u8 },
}

impl Item {
    fn id(self) -> String {
        match self {
            Item::Site => "s1".into(),
            Item::Passage { number, .. } | Item::Invalid { number } => format!("p{number}"),
        }
    }

    fn object(self) -> Map<String, Value> {
        let value = match self {
            Item::Site => site_json("s1"),
            Item::Passage {
                number,
                category,
                site,
            } => passage_json(number, ["civilian", "military"][category as usize], site),
            Item::Invalid { number } => passage_json(number, "bogus", 0),
        };
        match value {
            Value::Object(object) => object,
            _ => Map::new(),
        }
    }
}

fn site_json(id: &str) -> Value {
    json!({"type": "site", "id": id, "name": id, "kind": "checkpoint", "timezone": "Asia/Baku",
        "source": {"kind": "document", "name": "model"}, "recorded_by": "model"})
}

fn passage_json(number: u8, category: &str, site: u8) -> Value {
    json!({"type": "passage", "id": format!("p{number}"), "site": format!("s{site}"),
        "observed_at": "2023-01-17T10:00", "category": category,
        "source": {"kind": "direct_observation", "name": "model"}, "recorded_by": "model"})
}

#[derive(Debug, Clone)]
struct Job {
    items: Vec<Item>,
    atomic: bool,
    validate_only: bool,
}

#[derive(Debug, Clone)]
struct Group {
    jobs: Vec<Job>,
    /// The fault of this group's commit, if it makes one.
    fault: Option<Fault>,
    /// Collect a returned commit before staging this group (the server
    /// does when a commit's wake-up comes first); answers must not change.
    poll_first: bool,
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        1 => Just(Item::Site),
        8 => (0..6_u8, 0..2_u8, 0..2_u8).prop_map(|(number, category, site)| Item::Passage {
            number,
            category,
            site
        }),
        1 => (0..6_u8).prop_map(|number| Item::Invalid { number }),
    ]
}

fn job() -> impl Strategy<Value = Job> {
    (
        prop::collection::vec(item(), 1..6),
        any::<bool>(),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(items, atomic, validate_only)| Job {
            items,
            atomic,
            validate_only: atomic && validate_only,
        })
}

fn group() -> impl Strategy<Value = Group> {
    let fault = prop_oneof![
        6 => Just(None),
        1 => Just(Some(Fault::FailWrite)),
        1 => Just(Some(Fault::FailCommit)),
        1 => Just(Some(Fault::FailSync)),
    ];
    (prop::collection::vec(job(), 1..4), fault, any::<bool>()).prop_map(
        |(jobs, fault, poll_first)| Group {
            jobs,
            fault,
            poll_first,
        },
    )
}

/// What the model says happened to one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Said {
    Stored(u64),
    AlreadyStored(u64),
    Rejected,
    NotStored,
}

/// How a commit failed, as an answer says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failed {
    /// Nothing was stored.
    NothingStored,
    /// The records may be stored (a failed flush).
    MaybeStored,
}

type ModelAnswer = Result<Vec<Said>, Failed>;

/// The sequential model: groups one after the other, each judged against
/// the store the groups before it left.
#[derive(Debug, Default)]
struct Model {
    /// Stored records in leaf order: (id, content). Leaf 0 is site `s0`.
    leaves: Vec<(String, Item)>,
    by_id: HashMap<String, u64>,
}

/// How the model stages one record.
enum Judged {
    New,
    /// Repeats a record staged earlier in this group.
    Repeat,
    Already(u64),
    Rejected,
}

impl Model {
    fn new() -> Model {
        let mut model = Model::default();
        model.store("s0".into(), Item::Site);
        model
    }

    fn store(&mut self, id: String, item: Item) -> u64 {
        let leaf = self.leaves.len() as u64;
        self.by_id.insert(id.clone(), leaf);
        self.leaves.push((id, item));
        leaf
    }

    fn judge(&self, item: Item, staged: &HashMap<String, Item>) -> Judged {
        if let Item::Invalid { .. } = item {
            return Judged::Rejected;
        }
        if let Item::Passage { site: 1, .. } = item
            && !staged.contains_key("s1")
            && !self.by_id.contains_key("s1")
        {
            return Judged::Rejected;
        }
        let id = item.id();
        if let Some(earlier) = staged.get(&id) {
            return if *earlier == item {
                Judged::Repeat
            } else {
                Judged::Rejected
            };
        }
        match self.by_id.get(&id) {
            Some(leaf) if self.leaves[*leaf as usize].1 == item => Judged::Already(*leaf),
            Some(_) => Judged::Rejected,
            None => Judged::New,
        }
    }

    /// Runs one group: returns each job's answer, and whether the group
    /// made a commit (and so took a fault from the queue).
    fn run_group(&mut self, group: &Group) -> (Vec<ModelAnswer>, bool) {
        // Records staged new in this group, in order, and by id.
        let mut staged_order: Vec<(String, Item)> = Vec::new();
        let mut staged: HashMap<String, Item> = HashMap::new();
        let mut judged_jobs: Vec<(Vec<Judged>, bool)> = Vec::new();
        for job in &group.jobs {
            let mut tentative = staged.clone();
            let mut new_here = Vec::new();
            let judged: Vec<Judged> = job
                .items
                .iter()
                .map(|item| {
                    let judged = self.judge(*item, &tentative);
                    if let Judged::New = judged {
                        tentative.insert(item.id(), *item);
                        new_here.push((item.id(), *item));
                    }
                    judged
                })
                .collect();
            let rejected = judged
                .iter()
                .any(|judged| matches!(judged, Judged::Rejected));
            let excluded = (job.atomic && rejected) || job.validate_only;
            if !excluded {
                staged = tentative;
                staged_order.extend(new_here);
            }
            judged_jobs.push((judged, excluded));
        }
        let commits = !staged_order.is_empty();
        let fault = if commits { group.fault } else { None };
        let stored_now = matches!(fault, None | Some(Fault::Pass | Fault::FailSync));
        let mut leaves: HashMap<String, u64> = HashMap::new();
        if commits && stored_now {
            for (id, item) in staged_order {
                let leaf = self.store(id.clone(), item);
                leaves.insert(id, leaf);
            }
        }
        let failure = match fault {
            Some(Fault::FailWrite | Fault::FailCommit) => Some(Failed::NothingStored),
            Some(Fault::FailSync) => Some(Failed::MaybeStored),
            _ => None,
        };
        let answers = judged_jobs
            .into_iter()
            .zip(&group.jobs)
            .map(|((judged, excluded), job)| {
                let needs_commit = !excluded
                    && judged
                        .iter()
                        .any(|judged| matches!(judged, Judged::New | Judged::Repeat));
                if needs_commit && let Some(failure) = failure {
                    return Err(failure);
                }
                Ok(judged
                    .iter()
                    .zip(&job.items)
                    .map(|(judged, item)| match judged {
                        Judged::Rejected => Said::Rejected,
                        _ if excluded => Said::NotStored,
                        Judged::New => Said::Stored(leaves[&item.id()]),
                        Judged::Repeat => Said::AlreadyStored(leaves[&item.id()]),
                        Judged::Already(leaf) => Said::AlreadyStored(*leaf),
                    })
                    .collect())
            })
            .collect();
        (answers, commits)
    }
}

fn said(answer: &Answer) -> ModelAnswer {
    match answer {
        Err(failure) if failure.outcome_unknown() => Err(Failed::MaybeStored),
        Err(_) => Err(Failed::NothingStored),
        Ok(outcomes) => Ok(outcomes
            .iter()
            .map(|outcome| match outcome {
                ItemOutcome::Stored { leaf_index, .. } => Said::Stored(*leaf_index),
                ItemOutcome::AlreadyStored { leaf_index, .. } => Said::AlreadyStored(*leaf_index),
                ItemOutcome::Rejected(_) => Said::Rejected,
                ItemOutcome::NotStored => Said::NotStored,
            })
            .collect()),
    }
}

/// Runs the groups through a pipelined writer; returns each job's answer by number.
fn run_pipeline(
    store: &MemoryStore,
    groups: &[Group],
) -> Result<HashMap<usize, Answer>, TestCaseError> {
    let writer = Writer::pipelined(
        Box::new(store.connect()),
        Box::new(store.connect()),
        Config::new("test.invalid/model"),
        SECRET.to_vec(),
        None,
    );
    let mut sequencer: Sequencer<usize> = Sequencer::new(writer);
    let mut answers: HashMap<usize, Answer> = HashMap::new();
    let mut collect = |answered: Vec<corridor_engine::Answered<usize>>| {
        for answered in answered {
            let previous = answers.insert(answered.reply, answered.answer);
            prop_assert!(previous.is_none(), "job {} answered twice", answered.reply);
        }
        Ok(())
    };
    let mut number = 0;
    for group in groups {
        if group.poll_first {
            collect(sequencer.poll())?;
        }
        let submissions = group
            .jobs
            .iter()
            .map(|job| {
                number += 1;
                Submission {
                    items: job
                        .items
                        .iter()
                        .map(|item| SubmitItem {
                            object: item.object(),
                            signature: None,
                        })
                        .collect(),
                    atomic: job.atomic,
                    validate_only: job.validate_only,
                    submitter: Some(format!("job-{}", number - 1)),
                    reply: number - 1,
                }
            })
            .collect();
        collect(sequencer.submit(submissions))?;
    }
    collect(sequencer.finish())?;
    Ok(answers)
}

fn check(groups: &[Group]) -> Result<(), TestCaseError> {
    // The model first: it says which groups commit, so which take a fault.
    let mut model = Model::new();
    let mut expected: Vec<ModelAnswer> = Vec::new();
    let mut faults = Vec::new();
    for group in groups {
        let (answers, commits) = model.run_group(group);
        expected.extend(answers);
        if commits {
            faults.push(group.fault.unwrap_or(Fault::Pass));
        }
    }

    let mut store = MemoryStore::new();
    let mut setup = Writer::new(
        Box::new(store.connect()),
        Config::new("test.invalid/model"),
        SECRET.to_vec(),
        None,
    );
    let site = match site_json("s0") {
        Value::Object(object) => object,
        _ => Map::new(),
    };
    setup
        .stage(corridor_model::Location::Item(0), &site)
        .map_err(|error| TestCaseError::fail(error.to_string()))?;
    setup
        .commit()
        .map_err(|error| TestCaseError::fail(error.to_string()))?;
    for fault in faults {
        store.inject(fault);
    }

    let answers = run_pipeline(&store, groups)?;
    prop_assert_eq!(answers.len(), expected.len(), "every job is answered once");
    for (number, expected) in expected.iter().enumerate() {
        let answer = answers.get(&number).map(said);
        prop_assert_eq!(
            answer.as_ref(),
            Some(expected),
            "job {}: {:?}",
            number,
            answers.get(&number)
        );
    }
    // The store holds exactly the model's records, in its leaf order.
    prop_assert_eq!(
        store
            .leaf_count()
            .map_err(|error| TestCaseError::fail(error.to_string()))?,
        model.leaves.len() as u64
    );
    for (leaf, (id, item)) in model.leaves.iter().enumerate() {
        let stored = store
            .record_at(leaf as u64)
            .map_err(|error| TestCaseError::fail(error.to_string()))?;
        let stored = stored.ok_or_else(|| TestCaseError::fail(format!("no leaf {leaf}")))?;
        prop_assert_eq!(&stored.id, id);
        let leaf_json: Value = serde_json::from_slice(&stored.leaf)
            .map_err(|error| TestCaseError::fail(error.to_string()))?;
        let expected_record = Value::Object(item.object());
        for field in ["type", "category", "site"] {
            prop_assert_eq!(
                leaf_json["record"].get(field),
                expected_record.get(field),
                "leaf {} field {}",
                leaf,
                field
            );
        }
    }
    prop_assert_eq!(
        store
            .rollup_differences()
            .map_err(|error| TestCaseError::fail(error.to_string()))?,
        vec![]
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn the_pipeline_answers_and_stores_what_the_sequential_model_says(
        groups in prop::collection::vec(group(), 1..7)
    ) {
        check(&groups)?;
    }
}
