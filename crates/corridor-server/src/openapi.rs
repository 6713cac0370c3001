//! The OpenAPI 3.1 document at `/openapi.json`, generated from the route
//! table the router is built from, so the two always list the same routes.
//! Record schemas come from `corridor_model::schema` (built from the
//! parser's own tables); the response schemas are in `openapi/components.rs`.

mod components;

use serde_json::{Map, Value, json};

use crate::auth::Access;

pub use components::error_statuses_of_every_route;

/// The version of the HTTP API: `info.version` and the
/// `Corridor-API-Version` header of every response. A breaking change
/// (docs/api.md, "Versions") raises the major number.
pub const API_VERSION: &str = "1.1.0";

/// The response header that carries [`API_VERSION`].
pub const API_VERSION_HEADER: &str = "corridor-api-version";

/// The path as OpenAPI writes it: `{*path}` becomes `{path}`.
pub fn openapi_path(path: &str) -> String {
    path.replace("{*", "{")
}

/// One parameter of a route, for the OpenAPI document.
#[derive(Debug, Clone)]
pub struct Parameter {
    pub name: &'static str,
    /// `query` or `path`.
    pub location: &'static str,
    pub required: bool,
    pub description: &'static str,
    /// The JSON Schema of its value.
    pub schema: Value,
}

/// A body of a request or response in one media type.
#[derive(Debug, Clone)]
pub struct Content {
    pub media_type: &'static str,
    pub schema: Value,
}

/// One documented answer of a route.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub description: &'static str,
    /// Empty for an error: every error has the `Error` body.
    pub content: Vec<Content>,
}

/// A documented route.
#[derive(Debug, Clone)]
pub struct RouteDoc {
    /// `GET`, `POST`, `DELETE`.
    pub method: &'static str,
    /// The path as the router matches it (`{id}`, `{*path}` for the rest of a path).
    pub path: &'static str,
    /// A readable `operationId`: `submitRecords`, `getRecord`.
    pub operation_id: &'static str,
    pub summary: &'static str,
    pub access: Access,
    pub parameters: Vec<Parameter>,
    /// The request body in each media type it may come in; empty for none.
    pub request_body: Vec<Content>,
    /// Successful answers and the errors particular to this route; the
    /// errors every route can give are added by [`document`].
    pub answers: Vec<Answer>,
    /// OpenAPI links from the first successful answer: (name, operationId,
    /// parameter, runtime expression).
    pub links: Vec<(&'static str, &'static str, &'static str, &'static str)>,
}

/// The `Error` body of a response.
fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "headers": version_header(),
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    })
}

fn version_header() -> Value {
    json!({"Corridor-API-Version": {"$ref": "#/components/headers/Corridor-API-Version"}})
}

fn operation(route: &RouteDoc) -> Map<String, Value> {
    let mut operation = Map::new();
    operation.insert("operationId".into(), json!(route.operation_id));
    operation.insert("summary".into(), json!(route.summary));
    let parameters: Vec<Value> = route
        .parameters
        .iter()
        .map(|parameter| {
            json!({
                "name": parameter.name,
                "in": parameter.location,
                "required": parameter.required,
                "description": parameter.description,
                "schema": parameter.schema,
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
            .map(|body| (body.media_type.to_string(), json!({"schema": body.schema})))
            .collect();
        operation.insert(
            "requestBody".into(),
            json!({"required": true, "content": content}),
        );
    }
    let mut responses = Map::new();
    let mut first_success = true;
    for answer in &route.answers {
        let mut response = if answer.content.is_empty() {
            error_response(answer.description)
        } else {
            let content: Map<String, Value> = answer
                .content
                .iter()
                .map(|body| (body.media_type.to_string(), json!({"schema": body.schema})))
                .collect();
            json!({"description": answer.description, "headers": version_header(), "content": content})
        };
        if answer.status < 300 && first_success && !route.links.is_empty() {
            let links: Map<String, Value> = route
                .links
                .iter()
                .map(|(name, target, parameter, expression)| {
                    (
                        (*name).to_string(),
                        json!({"operationId": target, "parameters": {*parameter: expression}}),
                    )
                })
                .collect();
            response["links"] = Value::Object(links);
        }
        if answer.status < 300 {
            first_success = false;
        }
        responses.insert(answer.status.to_string(), response);
    }
    for (status, description) in error_statuses_of_every_route(route) {
        responses
            .entry(status.to_string())
            .or_insert_with(|| error_response(description));
    }
    match route.access {
        Access::Public => {
            // A token is optional; an unknown or revoked one is refused (401).
            operation.insert("security".into(), json!([{}, {"bearer": []}]));
        }
        Access::Roles(roles) => {
            operation.insert("security".into(), json!([{"bearer": []}]));
            let names: Vec<&str> = roles.iter().map(|role| role.as_str()).collect();
            operation.insert("x-corridor-roles".into(), json!(names));
        }
    }
    operation.insert("responses".into(), Value::Object(responses));
    operation
}

/// The document for `routes`, the route table the router is built from.
pub fn document(routes: &[RouteDoc]) -> Value {
    let mut paths = Map::new();
    for route in routes {
        let entry = paths
            .entry(openapi_path(route.path))
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(methods) = entry {
            methods.insert(route.method.to_lowercase(), Value::Object(operation(route)));
        }
    }
    json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": corridor_model::schema::DIALECT,
        "info": {
            "title": "Corridor",
            "version": API_VERSION,
            "description": "A verifiable access monitor: records in, receipts out, figures and proofs for anyone. Every response carries the Corridor-API-Version header; breaking changes and how they are announced are in docs/api.md, \"Versions\". Records are those of docs/records.md; their JSON Schema is also published alone at /schema/records.json.",
        },
        "paths": paths,
        "components": components::components(),
    })
}
