//! Reading what a log publishes: signed checkpoints and the base64 hashes
//! of the proofs `corridor log consistency --format json` prints.

use corridor_tlog::{Checkpoint, Note};
use serde_json::Value;

/// The checkpoint in a signed note (signatures not checked).
pub fn checkpoint_of(text: &str) -> Checkpoint {
    let note = Note::parse(text.as_bytes()).expect("a signed note");
    Checkpoint::parse(note.text()).expect("a checkpoint")
}

/// A hash written in base64, as proofs and receipts carry them.
pub fn decode(value: &Value) -> [u8; 32] {
    corridor_log::verify::decode_hash(value.as_str().expect("a string")).expect("a base64 hash")
}

/// The hashes of a proof's `proof` array.
pub fn proof_hashes(proof: &Value) -> Vec<[u8; 32]> {
    proof["proof"]
        .as_array()
        .expect("a proof array")
        .iter()
        .map(decode)
        .collect()
}
