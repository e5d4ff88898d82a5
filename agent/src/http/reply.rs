//! JSON answers, including errors: `{"error": "<message>", "kind": "<kind>"}`
//! with a fitting status, for every route and every rejection.

use std::convert::Infallible;

use serde::Serialize;
use warp::Reply;
use warp::http::StatusCode;
use warp::reply::Response;

/// A JSON body with a status.
pub fn json_response(status: StatusCode, body: &impl Serialize) -> Response {
    warp::reply::with_status(warp::reply::json(body), status).into_response()
}

/// An error body: a human message and a machine kind.
pub fn json_error(status: StatusCode, kind: &str, message: &str) -> Response {
    json_response(status, &serde_json::json!({"error": message, "kind": kind}))
}

/// Turns warp's rejections (unknown path, wrong method, bad header) into
/// JSON errors instead of plain-text ones.
pub async fn recover(rejection: warp::Rejection) -> Result<Response, Infallible> {
    let response = if rejection.is_not_found() {
        json_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such route; see GET /.well-known/agent-card.json",
        )
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        json_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "method not allowed on this route",
        )
    } else if let Some(e) = rejection.find::<warp::reject::InvalidHeader>() {
        json_error(
            StatusCode::BAD_REQUEST,
            "bad_header",
            &format!("invalid header: {}", e.name()),
        )
    } else {
        tracing::debug!(?rejection, "unhandled rejection");
        json_error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "the request could not be handled",
        )
    };
    Ok(response)
}
