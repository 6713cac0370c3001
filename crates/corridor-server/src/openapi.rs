//! The OpenAPI 3.1 document at `/openapi.json`, generated from the route
//! table the router is built from, so the two always list the same routes.

use serde_json::{Map, Value, json};

use crate::auth::Access;

/// The path as OpenAPI writes it: `{*path}` becomes `{path}`.
pub fn openapi_path(path: &str) -> String {
    path.replace("{*", "{")
}

/// One parameter of a route, for the OpenAPI document.
#[derive(Debug, Clone, Copy)]
pub struct Parameter {
    pub name: &'static str,
    /// `query` or `path`.
    pub location: &'static str,
    pub required: bool,
    pub description: &'static str,
}

/// A documented route.
#[derive(Debug, Clone)]
pub struct RouteDoc {
    /// `GET`, `POST`, `DELETE`.
    pub method: &'static str,
    /// The path as the router matches it (`{id}`, `{*path}` for the rest of a path).
    pub path: &'static str,
    pub summary: &'static str,
    pub access: Access,
    pub parameters: Vec<Parameter>,
    /// Media types of the request body, if it has one.
    pub request_body: &'static [&'static str],
    /// Media type of a successful response.
    pub response_type: &'static str,
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    })
}

/// The document for `routes`, the route table the router is built from.
pub fn document(routes: &[RouteDoc]) -> Value {
    let mut paths = Map::new();
    for route in routes {
        let mut operation = Map::new();
        operation.insert("summary".into(), json!(route.summary));
        operation.insert(
            "operationId".into(),
            json!(format!(
                "{}{}",
                route.method.to_lowercase(),
                openapi_path(route.path).replace(['/', '{', '}', '.', '-'], "_")
            )),
        );
        let parameters: Vec<Value> = route
            .parameters
            .iter()
            .map(|parameter| {
                json!({
                    "name": parameter.name,
                    "in": parameter.location,
                    "required": parameter.required,
                    "description": parameter.description,
                    "schema": {"type": "string"},
                })
            })
            .collect();
        if !parameters.is_empty() {
            operation.insert("parameters".into(), Value::Array(parameters));
        }
        if !route.request_body.is_empty() {
            let content: Map<String, Value> = route
                .request_body
                .iter()
                .map(|media_type| ((*media_type).to_string(), json!({"schema": {}})))
                .collect();
            operation.insert(
                "requestBody".into(),
                json!({"required": true, "content": content}),
            );
        }
        let mut responses = Map::new();
        responses.insert(
            "200".into(),
            json!({"description": "success", "content": {route.response_type: {"schema": {}}}}),
        );
        responses.insert(
            "400".into(),
            error_response("the request is malformed; the message says how"),
        );
        responses.insert(
            "429".into(),
            error_response("rate limit exceeded; see Retry-After"),
        );
        match route.access {
            Access::Public => {
                operation.insert("security".into(), json!([]));
            }
            Access::Roles(roles) => {
                operation.insert("security".into(), json!([{"bearer": []}]));
                let names: Vec<&str> = roles.iter().map(|role| role.as_str()).collect();
                operation.insert("x-corridor-roles".into(), json!(names));
                responses.insert("401".into(), error_response("no valid token"));
                responses.insert(
                    "403".into(),
                    error_response("the token's role may not do this"),
                );
            }
        }
        operation.insert("responses".into(), Value::Object(responses));
        let entry = paths
            .entry(openapi_path(route.path))
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(methods) = entry {
            methods.insert(route.method.to_lowercase(), Value::Object(operation));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Corridor",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "A verifiable access monitor: records in, receipts out, figures and proofs for anyone. See docs/api.md.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "object", "properties": {
                        "status": {"type": "integer"},
                        "message": {"type": "string"},
                        "errors": {"type": "array", "items": {"type": "object", "properties": {
                            "index": {"type": "integer"}, "id": {"type": ["string", "null"]},
                            "type": {"type": ["string", "null"]}, "field": {"type": "string"},
                            "reason": {"type": "string"}, "message": {"type": "string"}
                        }}},
                    }}},
                },
            },
        },
    })
}
