//! The routes: the REST API under `/v4/`, the inspection endpoints under `/sandbox/`, and
//! turning an answer (hostile ones included) into an HTTP response.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::im::Endpoint;
use crate::sandbox::state::Delivery;

use super::{Answer, App, fail, streamed};

fn into_response(answer: Answer) -> Response {
    match answer {
        Answer::Json(v) => {
            ([(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response()
        }
        Answer::Status(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            (
                status,
                status.canonical_reason().unwrap_or("error").to_owned(),
            )
                .into_response()
        }
        Answer::Bytes { content_type, body } => {
            ([(header::CONTENT_TYPE, content_type)], body).into_response()
        }
        Answer::Redirect(location) => (
            StatusCode::FOUND,
            [(header::LOCATION, location)],
            "Found".to_owned(),
        )
            .into_response(),
        Answer::Cut(bytes) => (
            [(header::CONTENT_TYPE, "application/json")],
            streamed::cut(bytes),
        )
            .into_response(),
        Answer::Drip(bytes) => (
            [(header::CONTENT_TYPE, "application/json")],
            streamed::drip(bytes),
        )
            .into_response(),
    }
}

async fn api(
    AxumState(app): AxumState<Arc<App>>,
    Path((service, command)): Path<(String, String)>,
    uri: Uri,
    body: Bytes,
) -> Response {
    // Before the call is counted: jitter here makes evenly sent calls arrive unevenly.
    let latency = app.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let Some(endpoint) = Endpoint::from_path(&format!("{service}/{command}")) else {
        return into_response(Answer::Json(fail(
            60009,
            format!("unknown resource v4/{service}/{command}"),
        )));
    };
    into_response(app.handle(endpoint, &uri, &body))
}

#[derive(serde::Deserialize)]
struct DeliveryFilter {
    recipient: Option<String>,
}

async fn deliveries(
    AxumState(app): AxumState<Arc<App>>,
    Query(filter): Query<DeliveryFilter>,
) -> Response {
    let state = app.lock();
    let list: Vec<&Delivery> = state
        .deliveries
        .iter()
        .filter(|d| filter.recipient.as_ref().is_none_or(|r| &d.recipient == r))
        .collect();
    let text = serde_json::to_string(&list).unwrap_or_else(|_| "[]".into());
    ([(header::CONTENT_TYPE, "application/json")], text).into_response()
}

async fn stats(AxumState(app): AxumState<Arc<App>>) -> Response {
    let text = serde_json::to_string(&app.lock().stats).unwrap_or_else(|_| "{}".into());
    ([(header::CONTENT_TYPE, "application/json")], text).into_response()
}

pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/v4/{service}/{command}", post(api))
        .route("/sandbox/deliveries", get(deliveries))
        .route("/sandbox/stats", get(stats))
        .with_state(app)
}
