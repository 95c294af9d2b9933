//! The query-string and UserSig checks every call goes through, with the cache of UserSigs
//! already verified.

use std::collections::HashMap;

use axum::extract::Query;
use axum::http::Uri;

use crate::im::usersig::{self, VerifyError};
use crate::sandbox::validate::Refusal;

use super::App;

impl App {
    /// The query-string and UserSig checks every call goes through.
    /// Returns the calling admin.
    pub(super) fn authenticate(&self, uri: &Uri) -> Result<String, Refusal> {
        let Ok(Query(q)) = Query::<HashMap<String, String>>::try_from_uri(uri) else {
            return Err((60002, "cannot parse the query string".into()));
        };
        let sdkappid = match q.get("sdkappid") {
            None => return Err((60012, "sdkappid is missing".into())),
            Some(s) => match s.parse::<u64>() {
                Ok(n) if n == self.config.sdkappid => n,
                _ => return Err((60006, format!("SDKAppID {s:?} is invalid"))),
            },
        };
        let identifier = match q.get("identifier") {
            Some(s) if !s.is_empty() => s.as_str(),
            _ => return Err((60004, "identifier is missing".into())),
        };
        let sig = match q.get("usersig") {
            Some(s) if !s.is_empty() => s.as_str(),
            _ => return Err((70002, "usersig is missing or empty".into())),
        };
        if q.get("random").is_none_or(|r| r.parse::<u32>().is_err()) {
            return Err((60002, "random must be a 32-bit unsigned integer".into()));
        }
        if q.get("contenttype").map(String::as_str) != Some("json") {
            return Err((60002, "contenttype must be json".into()));
        }
        self.check_usersig(sig, sdkappid, identifier)?;
        if !self.config.admins.contains(identifier) {
            return Err((
                60010,
                format!("identifier {identifier:?} is not an App admin"),
            ));
        }
        Ok(identifier.to_owned())
    }

    fn check_usersig(&self, sig: &str, sdkappid: u64, identifier: &str) -> Result<(), Refusal> {
        let now = self.config.clock.now_secs();
        let cached = match self.verified.read() {
            Ok(map) => map.get(sig).cloned(),
            Err(poisoned) => poisoned.into_inner().get(sig).cloned(),
        };
        let doc = match cached {
            Some(doc) => doc,
            None => {
                let doc = usersig::decode(sig).map_err(|e| (70003, e.to_string()))?;
                if doc.version != "2.0" {
                    return Err((70005, format!("TLS.ver {:?} is not 2.0", doc.version)));
                }
                usersig::check_signature(&doc, &self.config.secret)
                    .map_err(|e| (70009, e.to_string()))?;
                let mut map = match self.verified.write() {
                    Ok(m) => m,
                    Err(poisoned) => poisoned.into_inner(),
                };
                if map.len() > 10_000 {
                    map.clear();
                }
                map.insert(sig.to_owned(), doc.clone());
                doc
            }
        };
        if doc.identifier != identifier {
            let e = VerifyError::IdentifierMismatch {
                expected: identifier.to_owned(),
                found: doc.identifier,
            };
            return Err((70013, e.to_string()));
        }
        if doc.sdkappid != sdkappid {
            let e = VerifyError::SdkAppIdMismatch {
                expected: sdkappid,
                found: doc.sdkappid,
            };
            return Err((70014, e.to_string()));
        }
        if now > doc.expires_at() {
            let e = VerifyError::Expired {
                expired_at: doc.expires_at(),
                now,
            };
            return Err((70001, e.to_string()));
        }
        Ok(())
    }
}
