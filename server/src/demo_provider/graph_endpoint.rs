//! `GET graph/me`: Facebook's Graph shape, so tests can point `OAUTH_FACEBOOK_*` at the demo
//! provider. Only in test builds (feature `stand-in-providers`).

use std::sync::Arc;

use axum::{
    extract::{Query, State},
    response::{IntoResponse, Response},
    Json,
};
use http::HeaderMap;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{
    oauth2_endpoints::{bearer_identity, invalid_token},
    DemoProvider,
};

#[derive(Deserialize)]
pub struct GraphQuery {
    fields: Option<String>,
    access_token: Option<String>,
}

/// Facebook Graph `/me?fields=...` shape: a numeric string id, only the fields asked for.
pub async fn graph_me(
    State(provider): State<Arc<DemoProvider>>,
    headers: HeaderMap,
    Query(query): Query<GraphQuery>,
) -> Response {
    let Some(identity) = bearer_identity(&provider, &headers, query.access_token.as_deref()) else {
        return invalid_token();
    };
    let fields = query.fields.unwrap_or_else(|| "id,name".into());
    let mut body = Map::new();
    for field in fields.split(',').map(str::trim) {
        match field {
            "id" => body.insert("id".into(), identity.numeric_id().into()),
            "name" => body.insert("name".into(), identity.name.clone().into()),
            // Like Facebook, no email when the person has none to share.
            "email" => identity
                .email
                .clone()
                .and_then(|e| body.insert("email".into(), e.into())),
            _ => None,
        };
    }
    Json(Value::Object(body)).into_response()
}
