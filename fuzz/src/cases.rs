//! The bodies of Corridor's fuzz targets, one function per target, each
//! taking the raw fuzz input. cargo-fuzz calls them from `fuzz_targets/`;
//! the workspace test `crates/corridor/tests/fuzz_corpus.rs` includes this
//! file and replays every committed corpus file through them, so a seed that
//! once crashed stays a regression test.
//!
//! Beyond "never panics", each checks what is known to hold for any input:
//! what parses re-encodes to the same thing, and real proofs verify.

use std::sync::OnceLock;

use corridor_import::{CsvImporter, ImportItem, Mapping};
use corridor_model::canonical::to_canonical_vec;
use corridor_model::{RecordType, Resolve, TimePrecision, parse_submission};
use corridor_tlog::{
    Checkpoint, HASH_SIZE, Hash, MemoryTree, Note, TileAddress, TileResource, VerifierKey,
    consistency_proof, encode_entry_bundle, encode_tile_data, inclusion_proof, leaf_hash,
    parse_entry_bundle, parse_entry_bundle_exact, parse_tile_data, parse_tile_path,
    verify_consistency, verify_inclusion,
};
use jiff::tz::TimeZone;
use serde_json::Value;

/// The store the record parser resolves against: sites `km-12` (Asia/Baku)
/// and `border` (Europe/Istanbul), mission `m-1`, passage `p-1`.
struct FixedStore;

impl Resolve for FixedStore {
    fn precision(&self) -> TimePrecision {
        TimePrecision::Second
    }

    fn site_zone(&self, site_id: &str) -> Result<TimeZone, String> {
        let zone = match site_id {
            "km-12" => "Asia/Baku",
            "border" => "Europe/Istanbul",
            _ => return Err(format!("no site {site_id:?}")),
        };
        TimeZone::get(zone).map_err(|error| error.to_string())
    }

    fn check_reference(&self, id: &str, expected: RecordType) -> Result<(), String> {
        match (id, expected) {
            ("km-12" | "border", RecordType::Site)
            | ("m-1", RecordType::Mission)
            | ("p-1", RecordType::Passage) => Ok(()),
            _ => Err(format!("no {} {id:?}", expected.as_str())),
        }
    }

    fn correctable(&self, id: &str) -> Result<RecordType, String> {
        match id {
            "km-12" | "border" => Ok(RecordType::Site),
            "m-1" => Ok(RecordType::Mission),
            "p-1" => Ok(RecordType::Passage),
            _ => Err(format!("no record {id:?}")),
        }
    }
}

/// `corridor_model::parse_submission` on one JSON object: an accepted record
/// has a canonical public form, and that form is accepted again unchanged.
pub fn record_parser(data: &[u8]) {
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Ok(submission) = parse_submission(&object, &FixedStore) else {
        return;
    };
    let public = submission.record.to_public_json();
    let canonical = to_canonical_vec(&public);
    assert!(
        canonical.is_ok(),
        "accepted record without canonical JSON: {public}"
    );
    let Value::Object(public_object) = &public else {
        panic!("the public form is not an object: {public}");
    };
    match parse_submission(public_object, &FixedStore) {
        Ok(again) => assert_eq!(
            again.record.to_public_json(),
            public,
            "the public form of an accepted record changes when submitted again"
        ),
        Err(error) => panic!("the public form {public} of an accepted record is refused: {error}"),
    }
}

/// The mapping the CSV importer runs with: every feature at once (groups,
/// HXL, several date formats, a time column and zone, value maps, numbers
/// with separators, list fields, a private field, skip rules).
const MAPPING: &str = include_str!("../../crates/corridor-import/tests/every_feature_mapping.toml");

fn mapping() -> &'static Mapping {
    static MAPPING_ONCE: OnceLock<Mapping> = OnceLock::new();
    MAPPING_ONCE.get_or_init(|| match Mapping::from_toml(MAPPING) {
        Ok(mapping) => mapping,
        Err(error) => panic!("the fuzz mapping is refused: {error}"),
    })
}

/// `corridor_import::CsvImporter` over a whole file: every item names its
/// rows in rising order, a record carries its own id, and after a fatal
/// error the iteration ends.
pub fn csv_importer(data: &[u8]) {
    let Ok(mut importer) = CsvImporter::new(mapping(), data) else {
        return;
    };
    for item in importer.by_ref() {
        match item {
            Ok(ImportItem::Record(record)) => {
                assert!(!record.rows.is_empty());
                assert!(record.rows.windows(2).all(|pair| pair[0] < pair[1]));
                assert_eq!(
                    record.record.get("id").and_then(Value::as_str),
                    Some(record.id.as_str())
                );
            }
            Ok(ImportItem::Rejected(rejected)) => {
                assert!(!rejected.rows.is_empty());
                assert!(!rejected.reason.is_empty());
            }
            Err(_) => break,
        }
    }
    assert!(importer.next().is_none(), "items after the end");
}

/// The key checkpoints in the corpus are signed with: the Go checksum
/// database's published test key (its private half is public too).
pub const CHECKPOINT_VKEY: &str =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

fn checkpoint_key() -> &'static VerifierKey {
    static KEY: OnceLock<VerifierKey> = OnceLock::new();
    KEY.get_or_init(|| match VerifierKey::parse(CHECKPOINT_VKEY) {
        Ok(key) => key,
        Err(error) => panic!("the fuzz key is refused: {error}"),
    })
}

/// `Note::parse`, `Checkpoint::parse` and `Checkpoint::open`: a parsed note
/// or checkpoint renders to text that parses back to the same thing.
pub fn checkpoint_parser(data: &[u8]) {
    if let Ok(note) = Note::parse(data) {
        let rendered = note.to_text();
        match Note::parse(rendered.as_bytes()) {
            Ok(again) => {
                assert_eq!(again.text(), note.text());
                assert_eq!(again.to_text(), rendered);
            }
            Err(error) => panic!("a parsed note renders to {rendered:?}, refused: {error}"),
        }
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(checkpoint) = Checkpoint::parse(text)
        && let Ok(rendered) = checkpoint.to_text()
    {
        match Checkpoint::parse(&rendered) {
            Ok(again) => assert_eq!(again, checkpoint),
            Err(error) => panic!("a parsed checkpoint renders to {rendered:?}, refused: {error}"),
        }
    }
    if let Ok(opened) = Checkpoint::open(data, std::slice::from_ref(checkpoint_key())) {
        assert!(!opened.verified.is_empty());
    }
}

/// `parse_tile_path`, `parse_tile_data` and `parse_entry_bundle`: the input
/// is a path, a newline, then the file's bytes. A path that parses is the
/// canonical path of what it names; data that parses re-encodes to itself.
pub fn tile_parser(data: &[u8]) {
    let (path, body) = match data.iter().position(|byte| *byte == b'\n') {
        Some(newline) => (&data[..newline], &data[newline + 1..]),
        None => (data, &[][..]),
    };
    if let Ok(path) = std::str::from_utf8(path)
        && let Ok(resource) = parse_tile_path(path)
    {
        match resource {
            TileResource::Tile(tile) => {
                assert_eq!(tile.path(), path);
                if let Ok(hashes) = parse_tile_data(&tile, body) {
                    assert_eq!(encode_tile_data(&hashes), body);
                }
            }
            TileResource::EntryBundle(bundle) => {
                assert_eq!(bundle.path(), path);
                if let Ok(entries) = parse_entry_bundle_exact(&bundle, body) {
                    assert_eq!(entries.len(), usize::from(bundle.width));
                }
            }
        }
    }
    let width = (body.len() / HASH_SIZE).clamp(1, 256) as u16;
    if let Ok(hashes) = parse_tile_data(
        &TileAddress {
            level: 0,
            index: 0,
            width,
        },
        body,
    ) {
        assert_eq!(hashes.len(), usize::from(width));
    }
    if let Ok(entries) = parse_entry_bundle(body)
        && let Ok(encoded) = encode_entry_bundle(&entries)
    {
        assert_eq!(encoded, body);
    }
}

/// Reads a big-endian integer from up to 8 bytes of the input.
fn take_u64(data: &mut &[u8]) -> u64 {
    let length = data.len().min(8);
    let (head, rest) = data.split_at(length);
    *data = rest;
    head.iter()
        .fold(0, |value, byte| (value << 8) | u64::from(*byte))
}

/// `verify_inclusion` and `verify_consistency` on fuzzed sizes, hashes and
/// proofs (must not panic), and on a small real tree shaped by the input,
/// whose real proofs must verify and whose proofs with one hash changed must not.
pub fn proof_verifier(data: &[u8]) {
    let mut input = data;
    let shape = take_u64(&mut input);
    let leaf_index = take_u64(&mut input);
    let tree_size = take_u64(&mut input);
    let old_size = take_u64(&mut input);
    let hashes: Vec<Hash> = input
        .chunks_exact(HASH_SIZE)
        .map(|chunk| {
            let mut hash = [0_u8; HASH_SIZE];
            hash.copy_from_slice(chunk);
            hash
        })
        .collect();
    let first = hashes.first().copied().unwrap_or_default();
    let second = hashes.get(1).copied().unwrap_or_default();
    let proof = hashes.get(2..).unwrap_or_default();
    let _ = verify_inclusion(&first, leaf_index, tree_size, proof, &second);
    let _ = verify_consistency(old_size, tree_size, &first, &second, proof);

    // A real tree of 1..=64 leaves.
    let size = 1 + shape % 64;
    let index = (shape >> 8) % size;
    let old = 1 + (shape >> 16) % size;
    let leaves: Vec<Hash> = (0..size)
        .map(|leaf| leaf_hash(&[leaf as u8, (shape >> 24) as u8]))
        .collect();
    let tree = MemoryTree::from_leaf_hashes(&leaves);
    let old_tree = MemoryTree::from_leaf_hashes(&leaves[..old as usize]);
    let root = tree.root();
    let Ok(real_inclusion) = inclusion_proof(index, size, &tree) else {
        panic!("no inclusion proof for leaf {index} of {size}");
    };
    assert!(verify_inclusion(&leaves[index as usize], index, size, &real_inclusion, &root).is_ok());
    let Ok(real_consistency) = consistency_proof(old, size, &tree) else {
        panic!("no consistency proof from {old} to {size}");
    };
    assert!(verify_consistency(old, size, &old_tree.root(), &root, &real_consistency).is_ok());
    // Changing one hash of a real proof (to one the input gives) breaks it.
    let replacement = first;
    if let Some(position) =
        (!real_inclusion.is_empty()).then(|| (shape >> 32) as usize % real_inclusion.len())
        && real_inclusion[position] != replacement
    {
        let mut altered = real_inclusion.clone();
        altered[position] = replacement;
        assert!(verify_inclusion(&leaves[index as usize], index, size, &altered, &root).is_err());
    }
    if let Some(position) =
        (!real_consistency.is_empty()).then(|| (shape >> 40) as usize % real_consistency.len())
        && real_consistency[position] != replacement
    {
        let mut altered = real_consistency.clone();
        altered[position] = replacement;
        assert!(verify_consistency(old, size, &old_tree.root(), &root, &altered).is_err());
    }
}
