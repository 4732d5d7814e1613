//! `GET /openapi.json`: a valid OpenAPI 3.1 document (checked by `openapi-spec-validator`, the
//! reference validator, from the test venv) that describes every endpoint, and that the
//! service's real responses match, field for field.

use serde_json::{json, Value};

use crate::app::{spawn_app, App, ADMIN_KEY, API_KEY};

/// Every operation the service offers, as the issue lists them.
const OPERATIONS: &[(&str, &str)] = &[
    ("post", "/api/v1/chat"),
    ("post", "/api/v1/escalations"),
    ("post", "/api/v1/feedback"),
    ("get", "/api/v1/tenants/{id}"),
    ("post", "/v1/chat/completions"),
    ("get", "/v1/models"),
    ("get", "/api/admin/tickets"),
    ("post", "/api/admin/tickets/{id}/retry"),
    ("get", "/api/admin/feedback"),
    ("get", "/api/admin/gaps"),
    ("post", "/api/admin/reindex"),
    ("get", "/api/admin/syncs"),
    ("post", "/api/admin/syncs"),
    ("delete", "/api/admin/customers"),
    ("get", "/api/admin/eval-report"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
];

fn document(app: &App) -> Value {
    let reply = app.request("GET", "/openapi.json", &[], None);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    reply.body
}

#[test]
fn the_document_is_valid_openapi_3_1() {
    let app = spawn_app();
    let doc = document(&app);
    assert_eq!(doc["openapi"], "3.1.0");
    let file = tempfile::NamedTempFile::with_suffix(".json").unwrap();
    std::fs::write(file.path(), serde_json::to_vec(&doc).unwrap()).unwrap();
    let python = crate::helpers::repo_root().join(".cache/test-venv/bin/python");
    let out = std::process::Command::new(python)
        .args(["-m", "openapi_spec_validator"])
        .arg(file.path())
        .output()
        .expect("run scripts/setup.sh test first");
    let report =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{report}");
    assert!(report.contains("OK"), "{report}");
}

/// Schemathesis (property-based, from the test venv) generates requests from the document for
/// every operation, bounded and seeded so a run is repeatable: no response may be a 5xx, and
/// every response must match its documented schema. Requests carry the admin key (the
/// OpenAI-compatible routes then answer their documented 401).
#[test]
fn schemathesis_finds_no_server_error_and_no_undocumented_response() {
    let app = spawn_app();
    let schemathesis = crate::helpers::repo_root().join(".cache/test-venv/bin/schemathesis");
    let workdir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(schemathesis)
        .current_dir(workdir.path())
        .args(["run", &format!("{}/openapi.json", app.base)])
        .args(["--header", &format!("Authorization: Bearer {ADMIN_KEY}")])
        .args(["--max-examples", "10", "--seed", "20261202"])
        .args(["--checks", "not_a_server_error,response_schema_conformance"])
        .args(["--no-color"])
        .output()
        .expect("run scripts/setup.sh test first");
    let report =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{report}");
    assert!(report.contains(" passed"), "{report}");
}

#[test]
fn every_endpoint_is_described_and_served() {
    let app = spawn_app();
    let doc = document(&app);
    let mut described: Vec<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.clone(), path.clone()))
        })
        .collect();
    described.sort();
    let mut expected: Vec<(String, String)> = OPERATIONS
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    expected.sort();
    assert_eq!(described, expected);
    for (method, path) in OPERATIONS {
        let operation = &doc["paths"][path][method];
        assert!(
            operation["responses"]
                .as_object()
                .is_some_and(|r| !r.is_empty()),
            "{method} {path} has no responses"
        );
        assert!(operation["tags"].as_array().is_some_and(|t| t.len() == 1));
        let secured = operation["security"].as_array().is_some();
        assert_eq!(
            secured,
            path.starts_with("/api/admin/") || path.starts_with("/v1/"),
            "{method} {path}: only the admin and OpenAI-compatible APIs take keys"
        );
        // Served: an unserved path falls through to the static files' empty 404, and a
        // described method that is not routed is a 405.
        let reply = app.request(
            &method.to_uppercase(),
            &path.replace("{id}", "x"),
            &[],
            None,
        );
        assert_ne!(reply.status, 405, "{method} {path}");
        if reply.status == 404 {
            assert!(
                reply.body["error"]["code"].is_string(),
                "{method} {path} is not served"
            );
        }
    }
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["admin_key"]["scheme"], "bearer");
    assert_eq!(schemes["api_key"]["scheme"], "bearer");
}

#[test]
fn real_responses_match_the_documented_schemas() {
    let app = spawn_app();
    let doc = document(&app);
    let admin = [("authorization", format!("Bearer {ADMIN_KEY}"))];
    let api = [("authorization", format!("Bearer {API_KEY}"))];
    let call = |method: &str, path: &str, headers: &[(&str, String)], body: Option<Value>| {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let reply = app.request(method, path, &headers, body.as_ref());
        (reply.status, reply.body)
    };
    let answered = call(
        "POST",
        "/api/v1/chat",
        &[],
        Some(json!({"tenant": "fictart", "message": "How long do I have to ask for a refund?"})),
    );
    let escalated = call(
        "POST",
        "/api/v1/chat",
        &[],
        Some(
            json!({"tenant": "fictart", "message": "I want to talk to a human", "contact_email": "kim@example.com"}),
        ),
    );
    assert!(answered.1["ticket_id"].is_null() && escalated.1["ticket_id"].is_string());
    let message_id = answered.1["message_id"].as_str().unwrap().to_string();
    let cases = vec![
        ("post", "/api/v1/chat", answered),
        ("post", "/api/v1/chat", escalated),
        (
            "post",
            "/api/v1/chat",
            call(
                "POST",
                "/api/v1/chat",
                &[],
                Some(json!({"tenant": "fictart", "message": " "})),
            ),
        ),
        (
            "post",
            "/api/v1/feedback",
            call(
                "POST",
                "/api/v1/feedback",
                &[],
                Some(json!({"message_id": message_id, "rating": "down", "comment": "too short"})),
            ),
        ),
        (
            "post",
            "/api/v1/escalations",
            call(
                "POST",
                "/api/v1/escalations",
                &[],
                Some(
                    json!({"tenant": "stable-diffusion-web", "contact_email": "kim@example.com", "note": "my render failed", "fields": {"prompt": "a cat"}}),
                ),
            ),
        ),
        (
            "get",
            "/api/v1/tenants/{id}",
            call("GET", "/api/v1/tenants/stable-diffusion-web", &[], None),
        ),
        (
            "get",
            "/api/v1/tenants/{id}",
            call("GET", "/api/v1/tenants/nobody", &[], None),
        ),
        ("get", "/v1/models", call("GET", "/v1/models", &api, None)),
        ("get", "/v1/models", call("GET", "/v1/models", &[], None)),
        (
            "post",
            "/v1/chat/completions",
            call(
                "POST",
                "/v1/chat/completions",
                &api,
                Some(
                    json!({"model": "fictart", "messages": [{"role": "user", "content": "Can I get a refund?"}]}),
                ),
            ),
        ),
        (
            "get",
            "/api/admin/tickets",
            call("GET", "/api/admin/tickets", &admin, None),
        ),
        (
            "get",
            "/api/admin/tickets",
            call("GET", "/api/admin/tickets?limit=0", &admin, None),
        ),
        (
            "get",
            "/api/admin/feedback",
            call("GET", "/api/admin/feedback", &admin, None),
        ),
        (
            "get",
            "/api/admin/gaps",
            call("GET", "/api/admin/gaps", &admin, None),
        ),
        (
            "post",
            "/api/admin/tickets/{id}/retry",
            call("POST", "/api/admin/tickets/t_unknown/retry", &admin, None),
        ),
        (
            "get",
            "/api/admin/eval-report",
            call("GET", "/api/admin/eval-report", &admin, None),
        ),
        ("get", "/healthz", call("GET", "/healthz", &[], None)),
        ("get", "/readyz", call("GET", "/readyz", &[], None)),
    ];
    for (method, path, (status, body)) in cases {
        let response = &doc["paths"][path][method]["responses"][status.to_string()];
        assert!(
            response.is_object(),
            "{method} {path}: status {status} is not documented: {body}"
        );
        match response["content"].as_object() {
            None => assert!(
                body.is_null(),
                "{method} {path} {status}: undocumented body {body}"
            ),
            Some(content) => {
                let schema = &content
                    .get("application/json")
                    .unwrap_or_else(|| panic!("{method} {path} {status}: no JSON schema"))
                    ["schema"];
                if let Err(problem) = conforms(&doc, schema, &body, "$") {
                    panic!("{method} {path} {status}: {problem}\n{body:#}");
                }
            }
        }
    }
}

/// Whether `value` matches `schema` (the JSON Schema subset utoipa writes: `$ref`, `type`,
/// `oneOf`/`anyOf`/`allOf`, `enum`, `properties`, `required`, `additionalProperties`, `items`).
/// A field the schema does not list is a mismatch too: the document must name every field.
fn conforms(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        let target = &doc["components"]["schemas"][name];
        if target.is_null() {
            return Err(format!("{at}: {reference} is not in the document"));
        }
        return conforms(doc, target, value, at);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array() {
            if !options.iter().any(|s| conforms(doc, s, value, at).is_ok()) {
                return Err(format!("{at}: {value} matches none of {key}"));
            }
        }
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        conforms(doc, part, value, at)?;
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            return Err(format!("{at}: {value} is not one of {allowed:?}"));
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return Ok(()),
    };
    if !types.iter().any(|t| is_of_type(t, value)) {
        return Err(format!("{at}: {value} is not of type {types:?}"));
    }
    match value {
        Value::Object(fields) => {
            for required in schema["required"].as_array().into_iter().flatten() {
                let name = required.as_str().unwrap_or_default();
                if !fields.contains_key(name) {
                    return Err(format!("{at}: required field {name} is missing"));
                }
            }
            for (name, field) in fields {
                let at = format!("{at}.{name}");
                match (&schema["properties"][name], &schema["additionalProperties"]) {
                    (Value::Null, Value::Null | Value::Bool(false)) => {
                        return Err(format!("{at} is not in the schema"))
                    }
                    (Value::Null, Value::Bool(true)) => {}
                    (Value::Null, extra) => conforms(doc, extra, field, &at)?,
                    (property, _) => conforms(doc, property, field, &at)?,
                }
            }
        }
        Value::Array(items) if schema["items"].is_object() => {
            for (i, item) in items.iter().enumerate() {
                conforms(doc, &schema["items"], item, &format!("{at}[{i}]"))?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn is_of_type(name: &str, value: &Value) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => false,
    }
}

#[test]
fn the_conformance_check_can_fail() {
    let doc = json!({"components": {"schemas": {"E": {
        "type": "object",
        "required": ["code"],
        "properties": {"code": {"type": "string"}, "n": {"type": ["integer", "null"]}}
    }}}});
    let schema = json!({"$ref": "#/components/schemas/E"});
    assert!(conforms(&doc, &schema, &json!({"code": "x", "n": null}), "$").is_ok());
    assert!(conforms(&doc, &schema, &json!({"code": "x", "n": 1.5}), "$").is_err());
    assert!(conforms(&doc, &schema, &json!({"n": 1}), "$").is_err());
    assert!(conforms(&doc, &schema, &json!({"code": "x", "extra": 1}), "$").is_err());
    assert!(conforms(
        &doc,
        &json!({"$ref": "#/components/schemas/Nope"}),
        &json!({}),
        "$"
    )
    .is_err());
}
