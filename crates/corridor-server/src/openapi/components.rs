//! The named schemas of the OpenAPI document: the records (from
//! `corridor_model::schema`), the error body, and every response body the
//! handlers write. The response schemas say what every answer holds and
//! which fields are always there; the deeper figures of statistics, reports
//! and verdicts are described by name and type without closing them, since
//! their JSON is `corridor stats`/`report`/`claims check --format json`.
//! `tests/openapi.rs` validates real answers of every route against them.

use serde_json::{Map, Value, json};

use super::RouteDoc;
use crate::auth::Access;

/// The errors any route can answer, with when: added to each route's own.
pub fn error_statuses_of_every_route(route: &RouteDoc) -> Vec<(u16, &'static str)> {
    let mut statuses = vec![
        (
            400,
            "the request is malformed (a query parameter of the wrong form, an unknown parameter); the message says how",
        ),
        (
            401,
            "no valid token: it is missing where the route needs one, or unknown or revoked (refused on every route)",
        ),
        (
            429,
            "the token's rate limit is exhausted, or the client address failed authentication too often (--auth-failures-per-minute); see Retry-After",
        ),
        (
            500,
            "an internal error; the message has an incident number the operator's log explains",
        ),
        (
            503,
            "the request took longer than the server's timeout, the server is shutting down, or it is at its connection cap with every connection busy (that answer is written before the request is read); see Retry-After",
        ),
    ];
    if matches!(route.access, Access::Roles(_)) {
        statuses.push((403, "the token's role may not call this route"));
    }
    if !route.request_body.is_empty() {
        statuses.push((413, "the body is larger than this route accepts"));
    }
    statuses
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn nullable(schema: Value) -> Value {
    json!({"anyOf": [schema, {"type": "null"}]})
}

fn object(required: &[&str], properties: Value, closed: bool) -> Value {
    json!({
        "type": "object",
        "required": required,
        "properties": properties,
        "additionalProperties": !closed,
    })
}

fn integer() -> Value {
    json!({"type": "integer", "minimum": 0})
}

fn base64() -> Value {
    json!({"type": "string", "contentEncoding": "base64"})
}

/// Every named schema, the security scheme and the version header.
pub fn components() -> Value {
    let mut schemas = corridor_model::schema::definitions("#/components/schemas/");
    schemas.insert(
        "Record".into(),
        corridor_model::schema::record_one_of("#/components/schemas/"),
    );
    schemas.extend(responses());
    json!({
        "securitySchemes": {"bearer": {
            "type": "http", "scheme": "bearer",
            "description": "a token made by `corridor token create` or POST /api/v1/tokens: `Authorization: Bearer corridor_...`",
        }},
        "headers": {"Corridor-API-Version": {
            "description": "the API version this answer follows (info.version); its major number changes with every breaking change",
            "schema": {"type": "string", "const": super::API_VERSION},
        }},
        "schemas": schemas,
    })
}

fn responses() -> Map<String, Value> {
    let mut schemas = Map::new();
    let mut add = |name: &str, schema: Value| {
        schemas.insert(name.into(), schema);
    };
    add(
        "RecordError",
        object(
            &["index", "id", "type", "field", "reason", "message"],
            json!({
                "index": {"type": "integer", "minimum": 0, "description": "the item's position in the request, from 0"},
                "id": {"type": ["string", "null"], "description": "the record's id, when it has one"},
                "type": {"type": ["string", "null"], "description": "the record's type, when it has one"},
                "field": {"type": "string", "description": "path of the bad field (observed_at, cargo[1].tonnes); empty for the item as a whole"},
                "reason": {"type": "string"},
                "message": {"type": "string", "description": "item, record, field and reason in one line"},
            }),
            true,
        ),
    );
    add(
        "Error",
        object(
            &["error"],
            json!({"error": object(
                &["status", "message"],
                json!({
                    "status": {"type": "integer", "description": "the HTTP status again"},
                    "message": {"type": "string", "description": "what was wrong with the request; for a 5xx, only an incident number"},
                    "incident": {"type": "string", "description": "5xx only: the number the operator's log files the details under"},
                    "errors": {"type": "array", "items": reference("RecordError"), "description": "422 for records: every rejected record"},
                }),
                true,
            )}),
            true,
        ),
    );
    add(
        "Health",
        object(
            &[
                "status",
                "reasons",
                "stored",
                "tree_size",
                "unpublished",
                "max_unpublished",
                "integrating",
            ],
            json!({
                "status": {"enum": ["ok", "degraded"]},
                "reasons": {
                    "description": "why the server is degraded; empty when status is ok",
                    "type": "array",
                    "items": object(
                        &["code", "message"],
                        json!({
                            "code": {"enum": crate::health::DegradedReason::CODES},
                            "message": {"type": "string"},
                        }),
                        true,
                    ),
                },
                "stored": integer(),
                "tree_size": integer(),
                "unpublished": integer(),
                "max_unpublished": integer(),
                "integrating": {
                    "description": "whether this server holds the integrator lease and signs the log's checkpoints; the others serve the checkpoints it publishes",
                    "type": "boolean",
                },
            }),
            true,
        ),
    );
    add(
        "SignedRecord",
        object(
            &["record", "observer_sig"],
            json!({
                "record": reference("Record"),
                "observer_sig": object(
                    &["key", "sig"],
                    json!({"alg": {"const": "ed25519"}, "key": base64(), "sig": base64()}),
                    true,
                ),
            }),
            true,
        ),
    );
    add(
        "Submission",
        json!({
            "description": "one record, one signed record, or a batch of them",
            "anyOf": [
                reference("Record"),
                reference("SignedRecord"),
                {"type": "array", "minItems": 1, "items": {"anyOf": [reference("Record"), reference("SignedRecord")]}},
            ],
        }),
    );
    add(
        "SubmitReceipt",
        object(
            &["index", "id", "leaf_index", "status"],
            json!({
                "index": integer(),
                "id": reference("Id"),
                "leaf_index": integer(),
                "status": {"enum": ["stored", "already_stored"]},
                "tree_size": integer(),
                "checkpoint": {"type": "string"},
                "inclusion_proof": {"type": "array", "items": base64()},
                "leaf_hash": base64(),
            }),
            true,
        ),
    );
    add(
        "SubmitResult",
        object(
            &["stored", "already_stored", "rejected", "receipts", "errors"],
            json!({
                "stored": integer(), "already_stored": integer(), "rejected": integer(),
                "receipts": {"type": "array", "items": reference("SubmitReceipt")},
                "errors": {"type": "array", "items": reference("RecordError")},
            }),
            true,
        ),
    );
    add(
        "PublicRecord",
        json!({
            "type": "object",
            "description": "a record's public form as its leaf carries it: validated, defaults explicit, times at the site's offset, no private part (docs/records.md)",
            "required": ["type"],
            "properties": {"type": reference("RecordType"), "id": {"type": "string"}},
        }),
    );
    add(
        "Prepared",
        object(
            &["record", "signed_message", "domain"],
            json!({"record": reference("PublicRecord"), "signed_message": base64(), "domain": {"type": "string"}}),
            true,
        ),
    );
    add(
        "Leaf",
        object(
            &["v", "record", "logged_at"],
            json!({
                "v": {"type": "integer"},
                "record": reference("PublicRecord"),
                "logged_at": {"type": "string", "format": "date-time"},
                "commitment": {"type": "string"},
                "observer_sig": {"type": "object"},
            }),
            false,
        ),
    );
    add(
        "RecordPage",
        object(
            &["records", "next_cursor", "stored"],
            json!({
                "records": {"type": "array", "items": object(
                    &["leaf_index", "leaf"],
                    json!({"leaf_index": integer(), "leaf": reference("Leaf")}),
                    true,
                )},
                "next_cursor": {"type": ["integer", "null"], "minimum": 0, "description": "give it as cursor for the next page; null after the last"},
                "stored": integer(),
            }),
            true,
        ),
    );
    add(
        "StoredRecord",
        object(
            &["id", "leaf_index", "leaf"],
            json!({
                "id": {"type": "string"},
                "leaf_index": integer(),
                "leaf": reference("Leaf"),
                "current_leaf_index": integer(),
                "retracted": {"type": "boolean"},
            }),
            true,
        ),
    );
    add(
        "PrivatePart",
        object(
            &["id", "private"],
            json!({"id": {"type": "string"}, "private": {"type": ["object", "null"], "description": "null once erased or when there was none"}}),
            true,
        ),
    );
    add(
        "Erased",
        object(
            &["id", "erased", "purged"],
            json!({
                "id": {"type": "string"},
                "erased": {"type": "integer", "minimum": 0, "description": "how many private parts were erased (the record's and its corrections')"},
                "purged": {"type": "boolean", "description": "true: the erased values are off the disk; false: erased but still in the store's files, message says why"},
                "message": {"type": "string", "description": "only when purged is false: why the values are not yet off the disk"},
            }),
            true,
        ),
    );
    add(
        "InclusionProof",
        object(
            &[
                "leaf_index",
                "tree_size",
                "leaf_hash",
                "proof",
                "checkpoint",
            ],
            json!({
                "record_id": {"type": "string"},
                "leaf_index": integer(),
                "tree_size": integer(),
                "leaf": {"type": "string", "description": "the leaf's canonical JSON"},
                "leaf_hash": base64(),
                "proof": {"type": "array", "items": base64(), "description": "RFC 9162 inclusion proof"},
                "checkpoint": {"type": "string", "description": "the signed checkpoint (C2SP tlog-checkpoint)"},
            }),
            true,
        ),
    );
    add(
        "Receipt",
        json!({
            "description": "before integration: status stored, with the leaf; after: status integrated, the inclusion proof and its checkpoint (corridor verify receipt checks it)",
            "type": "object",
            "required": ["leaf_index", "status"],
            "properties": {
                "status": {"enum": ["stored", "integrated"]},
                "record_id": {"type": "string"},
                "leaf_index": integer(),
                "tree_size": integer(),
                "leaf": {"type": "string"},
                "leaf_hash": base64(),
                "proof": {"type": "array", "items": base64()},
                "inclusion_proof": {"type": "array", "items": base64()},
                "checkpoint": {"type": "string"},
            },
            "additionalProperties": false,
        }),
    );
    add(
        "ConsistencyProof",
        object(
            &["old_size", "new_size", "old_root", "new_root", "proof"],
            json!({
                "old_size": integer(), "new_size": integer(),
                "old_root": base64(), "new_root": base64(),
                "proof": {"type": "array", "items": base64()},
            }),
            true,
        ),
    );
    add(
        "Sites",
        object(
            &["sites"],
            json!({"sites": {"type": "array", "items": reference("PublicRecord")}}),
            true,
        ),
    );
    let figure = || json!({"type": ["number", "null"], "description": "null when no record reported it, never 0"});
    add(
        "Figures",
        object(
            &[
                "vehicles",
                "passages",
                "passengers",
                "medical_evacuees",
                "tonnes",
            ],
            json!({
                "vehicles": figure(), "passages": figure(), "passengers": figure(),
                "medical_evacuees": figure(), "tonnes": figure(),
            }),
            false,
        ),
    );
    add(
        "StatsReport",
        object(
            &["query", "totals", "rows"],
            json!({
                "query": {"type": "object", "required": ["from", "to"], "properties": {"from": reference("Date"), "to": reference("Date")}},
                "totals": reference("Figures"),
                "rows": {"type": "array", "items": {"allOf": [reference("Figures")], "description": "the figures, with the labels of the dimensions asked for by"}},
            }),
            false,
        ),
    );
    add(
        "CoverageList",
        object(
            &["coverage"],
            json!({"coverage": {"type": "array", "items": object(
                &["site", "metric", "period_hours", "covered_hours", "share", "gaps", "sources"],
                json!({
                    "site": {"type": "string"},
                    "metric": reference("FlowMetric"),
                    "period_hours": {"type": "number"},
                    "covered_hours": {"type": "number"},
                    "share": {"type": "number", "minimum": 0, "maximum": 1},
                    "gaps": {"type": "array", "items": object(&["start", "end"], json!({"start": {"type": "string"}, "end": {"type": "string"}}), true)},
                    "sources": {"type": "array", "items": {"type": "string"}},
                }),
                false,
            )}}),
            true,
        ),
    );
    let thresholds = object(
        &["open", "restricted"],
        json!({"open": {"type": "number"}, "restricted": {"type": "number"}}),
        true,
    );
    add(
        "AccessList",
        object(
            &["thresholds", "rule", "access"],
            json!({
                "thresholds": thresholds,
                "rule": {"type": "string"},
                "access": {"type": "array", "items": object(
                    &["site", "metric", "status", "days"],
                    json!({
                        "site": {"type": "string"},
                        "metric": reference("FlowMetric"),
                        "status": nullable(reference("AccessStatus")),
                        "days": {"type": "array", "items": {"type": "object"}},
                    }),
                    false,
                )},
            }),
            true,
        ),
    );
    add(
        "Baselines",
        object(
            &["baselines"],
            json!({"baselines": {"type": "array", "items": object(
                &["record", "resolved"],
                json!({"record": reference("PublicRecord"), "resolved": {"type": ["object", "null"]}}),
                true,
            )}}),
            true,
        ),
    );
    add(
        "CheckpointReference",
        object(
            &[
                "origin",
                "tree_size",
                "root_hash",
                "records_beyond_checkpoint",
            ],
            json!({
                "origin": {"type": "string"}, "tree_size": integer(), "root_hash": base64(),
                "records_beyond_checkpoint": integer(),
            }),
            true,
        ),
    );
    add(
        "Verdicts",
        object(
            &["checkpoint", "thresholds", "claims"],
            json!({
                "checkpoint": nullable(reference("CheckpointReference")),
                "thresholds": thresholds,
                "claims": {"type": "array", "items": {"type": "object", "description": "a claim with a verdict per assertion, as `corridor claims check --format json`"}},
            }),
            true,
        ),
    );
    add(
        "Report",
        object(
            &["title", "query", "checkpoint", "totals", "sites", "claims"],
            json!({
                "title": {"type": "string"},
                "query": {"type": "object"},
                "checkpoint": {"type": "object", "description": "the signed checkpoint the report counts up to"},
                "totals": {"type": "object"},
                "sites": {"type": "array"},
                "claims": {"type": "array"},
            }),
            false,
        ),
    );
    let role = json!({"enum": ["observer", "analyst", "admin"]});
    add(
        "Token",
        object(
            &["id", "name", "role", "created_at", "revoked_at"],
            json!({
                "id": {"type": "string"}, "name": {"type": "string"}, "role": role,
                "created_at": {"type": "string", "format": "date-time"},
                "revoked_at": {"type": ["string", "null"], "format": "date-time"},
            }),
            true,
        ),
    );
    add(
        "Tokens",
        object(
            &["tokens"],
            json!({"tokens": {"type": "array", "items": reference("Token")}}),
            true,
        ),
    );
    add(
        "NewToken",
        object(
            &["name", "role"],
            json!({
                "name": corridor_model::schema::text(1, 200),
                "role": role,
            }),
            true,
        ),
    );
    add(
        "TokenCreated",
        object(
            &["id", "name", "role", "created_at", "token"],
            json!({
                "id": {"type": "string"}, "name": {"type": "string"}, "role": role,
                "created_at": {"type": "string", "format": "date-time"},
                "token": {"type": "string", "description": "the secret for Authorization: Bearer; shown once, never stored"},
            }),
            true,
        ),
    );
    add(
        "TokenRevoked",
        object(
            &["id", "revoked_at"],
            json!({"id": {"type": "string"}, "revoked_at": {"type": "string", "format": "date-time"}}),
            true,
        ),
    );
    schemas
}
