//! The log's side of C2SP tlog-witness: after publishing a checkpoint, send it
//! to each configured witness as an `add-checkpoint` request (old size,
//! consistency proof, signed checkpoint), and attach the cosignatures the
//! answers carry to the published checkpoint.
//!
//! The transport is the caller's (a blocking HTTP client in the binary or the
//! server), so this module holds the protocol and the bookkeeping only: which
//! size each witness last cosigned, and what to do on a `409 Conflict`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use corridor_tlog::{
    AddCheckpointRequest, VerifierKey, parse_add_checkpoint_response, parse_conflict_body,
};
use serde::{Deserialize, Serialize};

use crate::log::{Log, LogReader};

/// A witness the log asks to cosign: its cosignature key and its URL prefix
/// (`https://witness.example/` → `POST https://witness.example/add-checkpoint`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessEndpoint {
    pub vkey: String,
    pub url: String,
}

/// The witnesses a log asks, and the size each last cosigned, kept in one
/// JSON file beside the log (not inside the published directory).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessList {
    pub witnesses: Vec<WitnessEndpoint>,
    /// Last cosigned tree size, by witness key name.
    #[serde(default)]
    pub cosigned_sizes: BTreeMap<String, u64>,
}

/// Errors reading or writing the witness list.
#[derive(Debug, thiserror::Error)]
pub enum WitnessListError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a witness list: {reason}")]
    Malformed { path: String, reason: String },
    #[error("witness key {0:?} is not a cosignature/v1 verifier key: {1}")]
    BadKey(String, String),
    #[error("witness URL {0:?} must start with http:// or https://")]
    BadUrl(String),
}

impl WitnessList {
    /// Reads the list; a missing file is an empty list.
    ///
    /// # Errors
    /// An unreadable or malformed file.
    pub fn load(path: &Path) -> Result<WitnessList, WitnessListError> {
        match std::fs::read(path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|error| WitnessListError::Malformed {
                    path: path.display().to_string(),
                    reason: error.to_string(),
                })
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                Ok(WitnessList::default())
            }
            Err(source) => Err(WitnessListError::Io {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// Writes the list atomically (temp file, fsync, rename).
    ///
    /// # Errors
    /// An I/O failure; the old list then stays as it was.
    pub fn save(&self, path: &Path) -> Result<(), WitnessListError> {
        let io = |source| WitnessListError::Io {
            path: path.display().to_string(),
            source,
        };
        let text =
            serde_json::to_vec_pretty(self).map_err(|error| WitnessListError::Malformed {
                path: path.display().to_string(),
                reason: error.to_string(),
            })?;
        let temporary: PathBuf = path.with_extension("tmp");
        {
            use std::io::Write;
            let mut file = std::fs::File::create(&temporary).map_err(io)?;
            file.write_all(&text).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        std::fs::rename(&temporary, path).map_err(io)
    }

    /// Adds (or replaces, by key name) a witness after checking key and URL.
    ///
    /// # Errors
    /// A key that is not a cosigner key, or a URL that is not HTTP(S).
    pub fn add(&mut self, vkey: &str, url: &str) -> Result<String, WitnessListError> {
        let key = VerifierKey::parse(vkey)
            .map_err(|error| WitnessListError::BadKey(vkey.to_string(), error.to_string()))?;
        if key.signature_type() != corridor_tlog::SignatureType::CosignatureV1 {
            return Err(WitnessListError::BadKey(
                vkey.to_string(),
                "a log key, not a witness's cosignature key".into(),
            ));
        }
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(WitnessListError::BadUrl(url.to_string()));
        }
        let name = key.name().as_str().to_string();
        self.witnesses.retain(|witness| {
            VerifierKey::parse(&witness.vkey)
                .map(|known| known.name().as_str() != name)
                .unwrap_or(true)
        });
        self.witnesses.push(WitnessEndpoint {
            vkey: vkey.to_string(),
            url: url.to_string(),
        });
        Ok(name)
    }
}

/// Sends a request body to a URL and returns the status and body.
pub trait WitnessTransport {
    /// POSTs `body` to `url`.
    ///
    /// # Errors
    /// The witness could not be reached; the text says why.
    fn post(&self, url: &str, body: &[u8]) -> Result<(u16, Vec<u8>), String>;
}

/// What asking one witness did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WitnessOutcome {
    /// The witness cosigned; `added` cosignatures were attached.
    Cosigned {
        witness: String,
        tree_size: u64,
        added: usize,
    },
    /// The witness answered but did not cosign (it saw another history, or refused).
    Refused {
        witness: String,
        status: u16,
        reason: String,
    },
    /// The witness could not be asked.
    Unreachable { witness: String, reason: String },
}

/// Asks every witness in `list` to cosign the published checkpoint and
/// attaches what they return. Updates `list.cosigned_sizes`; the caller saves it.
pub fn collect_cosignatures(
    log: &Log,
    list: &mut WitnessList,
    transport: &dyn WitnessTransport,
) -> Vec<WitnessOutcome> {
    let reader = LogReader::new(std::sync::Arc::clone(log.storage()));
    let published = match reader.latest() {
        Ok(published) => published,
        Err(error) => {
            return list
                .witnesses
                .iter()
                .map(|witness| WitnessOutcome::Unreachable {
                    witness: witness.url.clone(),
                    reason: format!("no published checkpoint: {error}"),
                })
                .collect();
        }
    };
    let tree_size = published.checkpoint.tree_size;
    let mut outcomes = Vec::new();
    for witness in list.witnesses.clone() {
        let key = match VerifierKey::parse(&witness.vkey) {
            Ok(key) => key,
            Err(error) => {
                outcomes.push(WitnessOutcome::Refused {
                    witness: witness.url.clone(),
                    status: 0,
                    reason: format!("bad witness key: {error}"),
                });
                continue;
            }
        };
        let name = key.name().as_str().to_string();
        let mut old_size = list
            .cosigned_sizes
            .get(&name)
            .copied()
            .unwrap_or(0)
            .min(tree_size);
        let url = format!("{}/add-checkpoint", witness.url.trim_end_matches('/'));
        // One retry: a 409 tells the size the witness actually holds.
        let mut outcome = None;
        for _attempt in 0..2 {
            let proof = match reader.consistency_proof(old_size, tree_size) {
                Ok(proof) => proof,
                Err(error) => {
                    outcome = Some(WitnessOutcome::Refused {
                        witness: name.clone(),
                        status: 0,
                        reason: format!("no consistency proof from {old_size}: {error}"),
                    });
                    break;
                }
            };
            let request = AddCheckpointRequest {
                old_size,
                consistency_proof: proof,
                signed_checkpoint: published.signed.clone(),
            };
            match transport.post(&url, request.to_body().as_bytes()) {
                Err(reason) => {
                    outcome = Some(WitnessOutcome::Unreachable {
                        witness: name.clone(),
                        reason,
                    });
                    break;
                }
                Ok((200, body)) => {
                    outcome = Some(attach(
                        log,
                        &published.signed,
                        &body,
                        &key,
                        &name,
                        tree_size,
                    ));
                    if matches!(outcome, Some(WitnessOutcome::Cosigned { .. })) {
                        list.cosigned_sizes.insert(name.clone(), tree_size);
                    }
                    break;
                }
                Ok((409, body)) => match parse_conflict_body(&body) {
                    Some(latest) if latest != old_size && latest <= tree_size => old_size = latest,
                    _ => {
                        outcome = Some(WitnessOutcome::Refused {
                            witness: name.clone(),
                            status: 409,
                            reason: format!(
                                "the witness holds a different or larger tree: {}",
                                String::from_utf8_lossy(&body).trim()
                            ),
                        });
                        break;
                    }
                },
                Ok((status, body)) => {
                    outcome = Some(WitnessOutcome::Refused {
                        witness: name.clone(),
                        status,
                        reason: String::from_utf8_lossy(&body).trim().to_string(),
                    });
                    break;
                }
            }
        }
        outcomes.push(outcome.unwrap_or(WitnessOutcome::Refused {
            witness: name,
            status: 409,
            reason: "the witness kept answering with conflicts".into(),
        }));
    }
    outcomes
}

fn attach(
    log: &Log,
    signed: &str,
    body: &[u8],
    key: &VerifierKey,
    name: &str,
    tree_size: u64,
) -> WitnessOutcome {
    let lines = match parse_add_checkpoint_response(body) {
        Ok(lines) => lines,
        Err(error) => {
            return WitnessOutcome::Refused {
                witness: name.to_string(),
                status: 200,
                reason: format!("malformed answer: {error}"),
            };
        }
    };
    let mut cosigned = signed.to_string();
    for line in &lines {
        cosigned.push_str(&line.to_line());
    }
    match log.attach_cosignatures(cosigned.as_bytes(), std::slice::from_ref(key)) {
        Ok(added) => WitnessOutcome::Cosigned {
            witness: name.to_string(),
            tree_size,
            added,
        },
        Err(error) => WitnessOutcome::Refused {
            witness: name.to_string(),
            status: 200,
            reason: error.to_string(),
        },
    }
}

/// A witness's HTTP answer to an `add-checkpoint` request, transport-free:
/// the status, the content type and the body (C2SP tlog-witness).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessAnswer {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

/// Answers an `add-checkpoint` request body as the witness in `witness`,
/// cosigning at `timestamp` (POSIX seconds) when the checkpoint extends what
/// it cosigned before. A server route is this function and nothing more.
pub fn answer_add_checkpoint(
    witness: &crate::witness::Witness,
    body: &[u8],
    timestamp: u64,
) -> WitnessAnswer {
    use crate::witness::WitnessError;
    let text = |status, body: String| WitnessAnswer {
        status,
        content_type: "text/plain; charset=utf-8",
        body,
    };
    let request = match AddCheckpointRequest::parse(body) {
        Ok(request) => request,
        Err(error) => return text(400, format!("malformed add-checkpoint request: {error}\n")),
    };
    let conflict = |latest: u64| WitnessAnswer {
        status: 409,
        content_type: "text/x.tlog.size",
        body: corridor_tlog::format_conflict_body(latest),
    };
    match witness.cosign(
        request.signed_checkpoint.as_bytes(),
        request.old_size,
        &request.consistency_proof,
        timestamp,
    ) {
        Ok(cosigned) => text(
            200,
            format!("{}\n", cosigned.cosignature_line.trim_end_matches('\n')),
        ),
        Err(WitnessError::UnknownLog { origin }) => text(
            404,
            format!("this witness does not follow log {origin:?}\n"),
        ),
        Err(WitnessError::BadCheckpoint(reason)) => text(
            403,
            format!("the checkpoint is not validly signed by the log: {reason}\n"),
        ),
        Err(WitnessError::Stale { latest_size, .. }) => conflict(latest_size),
        Err(WitnessError::OldSizeExceedsCheckpoint { .. }) => {
            text(400, "the old size exceeds the checkpoint size\n".into())
        }
        Err(WitnessError::Refused { .. }) => {
            // A fork, a rollback or a bad proof: tell the log what this
            // witness holds; the evidence is already kept.
            let origin = corridor_tlog::Note::parse(request.signed_checkpoint.as_bytes())
                .ok()
                .and_then(|note| corridor_tlog::Checkpoint::parse(note.text()).ok())
                .map(|checkpoint| checkpoint.origin);
            let latest = origin
                .and_then(|origin| witness.log_state(&origin).ok().flatten())
                .map_or(0, |state| state.tree_size);
            conflict(latest)
        }
        Err(error) => {
            tracing::error!("witness failed to answer add-checkpoint: {error}");
            text(500, "internal error\n".into())
        }
    }
}
