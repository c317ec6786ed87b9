//! The Managed HSM endpoint. Not implemented yet: every request is answered
//! with `501` in Key Vault's error shape, so clients fail clearly.

use std::sync::Arc;

use crate::error::ServiceError;
use crate::server::{Handler, Request};

/// The handler of the HSM endpoint.
pub(crate) fn handler() -> Handler {
    Arc::new(|_req: Request| {
        Box::pin(async {
            ServiceError::new(
                501,
                "NotImplemented",
                "The Managed HSM endpoint of this emulator is not implemented yet.",
            )
            .into_response()
        })
    })
}
