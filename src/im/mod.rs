//! The Tencent Cloud IM REST API: request and response types, error codes and their classes,
//! UserSig, connection settings and the HTTP client.
//!
//! The sandbox ([`crate::sandbox`]) shares the types but not the checks; the planner builds
//! requests from these types and the executor acts on [`ErrorClass`] and
//! [`ClientError::is_uncertain`].

pub mod client;
pub mod codes;
pub mod settings;
pub mod types;
pub mod usersig;

pub use client::{ClientConfig, ClientError, ImClient};
pub use codes::{ERROR_CODES, ErrorClass, RecipientOutcome, batch_outcomes, classify, describe};
pub use settings::{
    BaseUrl, Connection, ConnectionArgs, ConnectionDefaults, Credentials, Region, SecretKey,
    SettingsError,
};
pub use types::*;
pub use usersig::{UserSigCache, UserSigDoc, VerifyError};
