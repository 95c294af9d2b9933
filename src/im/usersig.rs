//! UserSig (TLSSigAPIv2): signing the admin's credential, verifying one, and keeping it fresh.
//!
//! Interoperates with Tencent's reference implementations (API.md §6): the signed string, the
//! JSON document's field names and the `+/=` → `*-_` base64 variant are fixed; the compressed
//! bytes are not (every implementation compresses differently), so comparisons decode first.

use std::io::{Read, Write};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};
use serde_json::{Map, Value};

use super::settings::SecretKey;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The reference libraries' default validity: 180 days.
pub const DEFAULT_EXPIRE_SECS: u64 = 180 * 86_400;

/// Longest input accepted when decoding, so a hostile value cannot make us inflate gigabytes.
const MAX_DECODED_BYTES: u64 = 64 * 1024;

/// The fields of a decoded UserSig.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSigDoc {
    pub version: String,
    pub identifier: String,
    pub sdkappid: u64,
    /// Validity in seconds, counted from `time`.
    pub expire: u64,
    /// Unix seconds when it was signed.
    pub time: u64,
    /// Base64 HMAC-SHA256 over the content string.
    pub sig: String,
    /// Base64 userbuf, when one was signed in.
    pub userbuf: Option<String>,
}

impl UserSigDoc {
    /// Unix seconds after which it is expired.
    pub fn expires_at(&self) -> u64 {
        self.time.saturating_add(self.expire)
    }
}

/// Why a UserSig was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the UserSig cannot be decoded: {0}")]
    Undecodable(String),
    #[error("the UserSig was signed for SDKAppID {found}, not {expected}")]
    SdkAppIdMismatch { expected: u64, found: u64 },
    #[error("the UserSig was signed for identifier {found:?}, not {expected:?}")]
    IdentifierMismatch { expected: String, found: String },
    #[error("the UserSig expired at unix time {expired_at} (now {now})")]
    Expired { expired_at: u64, now: u64 },
    #[error("the UserSig's signature does not match: signed with another secret key, or altered")]
    BadSignature,
}

/// The string the HMAC covers (API.md §6.1 step 2).
pub fn content_to_sign(
    identifier: &str,
    sdkappid: u64,
    time: u64,
    expire: u64,
    userbuf: Option<&str>,
) -> String {
    let mut s = format!(
        "TLS.identifier:{identifier}\nTLS.sdkappid:{sdkappid}\nTLS.time:{time}\nTLS.expire:{expire}\n"
    );
    if let Some(buf) = userbuf {
        s.push_str("TLS.userbuf:");
        s.push_str(buf);
        s.push('\n');
    }
    s
}

/// `TLS.sig`: standard base64 of HMAC-SHA256 over [`content_to_sign`].
pub fn hmac_sig(
    key: &SecretKey,
    identifier: &str,
    sdkappid: u64,
    time: u64,
    expire: u64,
    userbuf: Option<&str>,
) -> String {
    let content = content_to_sign(identifier, sdkappid, time, expire, userbuf);
    // HMAC accepts keys of any length, so this never fails; the fallback keeps it panic-free.
    let raw = keyed_mac(key, &content)
        .map(|mac| mac.finalize().into_bytes().to_vec())
        .unwrap_or_default();
    STANDARD.encode(raw)
}

/// HMAC-SHA256 under `key`, fed `content`; `None` only if the key were refused.
fn keyed_mac(key: &SecretKey, content: &str) -> Option<HmacSha256> {
    let mut mac = HmacSha256::new_from_slice(key.expose().as_bytes()).ok()?;
    mac.update(content.as_bytes());
    Some(mac)
}

/// Signs a UserSig at unix time `time`, valid for `expire` seconds.
pub fn generate_at(
    key: &SecretKey,
    sdkappid: u64,
    identifier: &str,
    time: u64,
    expire: u64,
) -> String {
    let sig = hmac_sig(key, identifier, sdkappid, time, expire, None);
    let mut doc = Map::new();
    doc.insert("TLS.ver".into(), Value::from("2.0"));
    doc.insert("TLS.identifier".into(), Value::from(identifier));
    doc.insert("TLS.sdkappid".into(), Value::from(sdkappid));
    doc.insert("TLS.expire".into(), Value::from(expire));
    doc.insert("TLS.time".into(), Value::from(time));
    doc.insert("TLS.sig".into(), Value::from(sig));
    let json = Value::Object(doc).to_string();
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let compressed: Vec<u8> = z
        .write_all(json.as_bytes())
        .and_then(|()| z.finish())
        .unwrap_or_default();
    to_url_variant(&STANDARD.encode(compressed))
}

/// Signs a UserSig now, valid for `expire` seconds.
pub fn generate(key: &SecretKey, sdkappid: u64, identifier: &str, expire: u64) -> String {
    generate_at(key, sdkappid, identifier, unix_now(), expire)
}

fn to_url_variant(b64: &str) -> String {
    b64.chars()
        .map(|c| match c {
            '+' => '*',
            '/' => '-',
            '=' => '_',
            other => other,
        })
        .collect()
}

fn from_url_variant(s: &str) -> String {
    s.trim()
        .chars()
        .map(|c| match c {
            '*' => '+',
            '-' => '/',
            '_' => '=',
            other => other,
        })
        .collect()
}

/// Decodes a UserSig into its fields without checking the signature.
pub fn decode(usersig: &str) -> Result<UserSigDoc, VerifyError> {
    let bad = |why: &str| VerifyError::Undecodable(why.to_owned());
    if usersig.trim().is_empty() {
        return Err(bad("it is empty"));
    }
    let compressed = STANDARD
        .decode(from_url_variant(usersig))
        .map_err(|_| bad("not base64 (maybe truncated)"))?;
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(compressed.as_slice())
        .take(MAX_DECODED_BYTES)
        .read_to_end(&mut json)
        .map_err(|_| bad("not zlib data (maybe truncated)"))?;
    let doc: Value = serde_json::from_slice(&json).map_err(|_| bad("not a JSON document"))?;
    let Value::Object(map) = doc else {
        return Err(bad("not a JSON object"));
    };
    let string = |name: &str| match map.get(name) {
        Some(Value::String(s)) => Ok(s.clone()),
        _ => Err(VerifyError::Undecodable(format!(
            "{name} missing or not a string"
        ))),
    };
    // Numbers are JSON numbers in every reference; a numeric string is accepted too.
    let number = |name: &str| match map.get(name) {
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| {
            VerifyError::Undecodable(format!("{name} is not a non-negative integer"))
        }),
        Some(Value::String(s)) => s
            .parse::<u64>()
            .map_err(|_| VerifyError::Undecodable(format!("{name} is not an integer"))),
        _ => Err(VerifyError::Undecodable(format!("{name} missing"))),
    };
    let userbuf = match map.get("TLS.userbuf") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(bad("TLS.userbuf is not a string")),
    };
    Ok(UserSigDoc {
        version: string("TLS.ver")?,
        identifier: string("TLS.identifier")?,
        sdkappid: number("TLS.sdkappid")?,
        expire: number("TLS.expire")?,
        time: number("TLS.time")?,
        sig: string("TLS.sig")?,
        userbuf,
    })
}

/// Verifies `usersig` for `sdkappid` and `identifier` at unix time `now`, in the Go reference's
/// order: decode, SDKAppID, identifier, expiry, signature.
pub fn verify_at(
    usersig: &str,
    key: &SecretKey,
    sdkappid: u64,
    identifier: &str,
    now: u64,
) -> Result<UserSigDoc, VerifyError> {
    let doc = decode(usersig)?;
    if doc.sdkappid != sdkappid {
        return Err(VerifyError::SdkAppIdMismatch {
            expected: sdkappid,
            found: doc.sdkappid,
        });
    }
    if doc.identifier != identifier {
        return Err(VerifyError::IdentifierMismatch {
            expected: identifier.to_owned(),
            found: doc.identifier,
        });
    }
    if now > doc.expires_at() {
        return Err(VerifyError::Expired {
            expired_at: doc.expires_at(),
            now,
        });
    }
    check_signature(&doc, key)?;
    Ok(doc)
}

/// Checks only the HMAC of a decoded document, in constant time.
pub fn check_signature(doc: &UserSigDoc, key: &SecretKey) -> Result<(), VerifyError> {
    let claimed = STANDARD
        .decode(doc.sig.as_bytes())
        .map_err(|_| VerifyError::BadSignature)?;
    let content = content_to_sign(
        &doc.identifier,
        doc.sdkappid,
        doc.time,
        doc.expire,
        doc.userbuf.as_deref(),
    );
    let Some(mac) = keyed_mac(key, &content) else {
        return Err(VerifyError::BadSignature);
    };
    mac.verify_slice(&claimed)
        .map_err(|_| VerifyError::BadSignature)
}

/// Verifies at the current time.
pub fn verify(
    usersig: &str,
    key: &SecretKey,
    sdkappid: u64,
    identifier: &str,
) -> Result<UserSigDoc, VerifyError> {
    verify_at(usersig, key, sdkappid, identifier, unix_now())
}

/// Current unix time in seconds.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The admin's UserSig, signed once and renewed well before it expires or when the server
/// says it is no longer valid (70001, 70052).
pub struct UserSigCache {
    key: SecretKey,
    sdkappid: u64,
    identifier: String,
    validity: u64,
    current: Mutex<Option<Signed>>,
}

#[derive(Clone)]
struct Signed {
    usersig: String,
    signed_at: u64,
}

impl std::fmt::Debug for UserSigCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserSigCache")
            .field("sdkappid", &self.sdkappid)
            .field("identifier", &self.identifier)
            .field("validity", &self.validity)
            .finish_non_exhaustive()
    }
}

impl UserSigCache {
    /// A cache signing for `identifier` with `validity` seconds per signature (at least 60).
    pub fn new(
        key: SecretKey,
        sdkappid: u64,
        identifier: impl Into<String>,
        validity: u64,
    ) -> Self {
        UserSigCache {
            key,
            sdkappid,
            identifier: identifier.into(),
            validity: validity.max(60),
            current: Mutex::new(None),
        }
    }

    /// How long before expiry a signature is replaced: a tenth of its validity, but at least
    /// an hour when the validity allows it (never more than half of it).
    pub fn renew_margin(&self) -> u64 {
        (self.validity / 10).max(3_600.min(self.validity / 2))
    }

    /// The UserSig to use at unix time `now`, signing a new one when needed.
    pub fn get_at(&self, now: u64) -> String {
        let mut guard = match self.current.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(signed) = guard.as_ref() {
            let expires_at = signed.signed_at.saturating_add(self.validity);
            if now >= signed.signed_at && now.saturating_add(self.renew_margin()) < expires_at {
                return signed.usersig.clone();
            }
        }
        let usersig = generate_at(
            &self.key,
            self.sdkappid,
            &self.identifier,
            now,
            self.validity,
        );
        *guard = Some(Signed {
            usersig: usersig.clone(),
            signed_at: now,
        });
        usersig
    }

    /// The UserSig to use now.
    pub fn get(&self) -> String {
        self.get_at(unix_now())
    }

    /// Forgets the current signature, so that the next call signs a new one (after 70001/70052).
    pub fn invalidate(&self) {
        let mut guard = match self.current.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
    const PY_A: &str = "eJyrVgrxCdYrSy1SslJQMtIzUNJRAItkpqTmlWSmZUIkKjIT87NK82CSxSnZiQUFmSlAKUMTAyiAyqVWFGQWpQJlLMxM4IIlmbkgIUNzNMXFmekg44P93EzccsOcA0qT8yOKnfwLksLcjNPcnNNMzb0Ccg1Sq6IMs1LDPH1ywpJtlWoBk68y0A__";

    fn key() -> SecretKey {
        SecretKey::new(KEY)
    }

    #[test]
    fn vector_a_hmac() {
        assert_eq!(
            content_to_sign("xiaojun", 1_400_000_000, 1_700_000_000, 86_400, None),
            "TLS.identifier:xiaojun\nTLS.sdkappid:1400000000\nTLS.time:1700000000\nTLS.expire:86400\n"
        );
        assert_eq!(
            hmac_sig(
                &key(),
                "xiaojun",
                1_400_000_000,
                1_700_000_000,
                86_400,
                None
            ),
            "SNF4FmVCPucoXsBOpbVF3fFCf57JPm0ezZ1jeVILlVc="
        );
    }

    #[test]
    fn vector_b_hmac() {
        assert_eq!(
            hmac_sig(
                &key(),
                "administrator",
                1_400_000_000,
                1_700_000_000,
                15_552_000,
                None
            ),
            "JCzxanF8NTTXau4m+2h9wv7gYJnyNksm0xm1NEXU274="
        );
    }

    #[test]
    fn python_vector_a_verifies_with_a_pinned_clock() {
        let doc = verify_at(PY_A, &key(), 1_400_000_000, "xiaojun", 1_700_000_100).unwrap();
        assert_eq!(doc.version, "2.0");
        assert_eq!(doc.time, 1_700_000_000);
        assert_eq!(doc.expire, 86_400);
        assert_eq!(doc.sig, "SNF4FmVCPucoXsBOpbVF3fFCf57JPm0ezZ1jeVILlVc=");
    }

    #[test]
    fn refusals_name_the_reason() {
        let k = key();
        let now = 1_700_000_100;
        assert_eq!(
            verify_at(PY_A, &k, 1_400_000_001, "xiaojun", now),
            Err(VerifyError::SdkAppIdMismatch {
                expected: 1_400_000_001,
                found: 1_400_000_000
            })
        );
        assert!(matches!(
            verify_at(PY_A, &k, 1_400_000_000, "bob", now),
            Err(VerifyError::IdentifierMismatch { .. })
        ));
        assert_eq!(
            verify_at(PY_A, &k, 1_400_000_000, "xiaojun", 1_700_086_401),
            Err(VerifyError::Expired {
                expired_at: 1_700_086_400,
                now: 1_700_086_401
            })
        );
        // Exactly at the expiry second it is still valid, as in the Go reference (now > expiry).
        assert!(verify_at(PY_A, &k, 1_400_000_000, "xiaojun", 1_700_086_400).is_ok());
        assert_eq!(
            verify_at(
                PY_A,
                &SecretKey::new("another key"),
                1_400_000_000,
                "xiaojun",
                now
            ),
            Err(VerifyError::BadSignature)
        );
        assert!(matches!(
            verify_at(&PY_A[..40], &k, 1_400_000_000, "xiaojun", now),
            Err(VerifyError::Undecodable(_))
        ));
        assert!(matches!(decode(""), Err(VerifyError::Undecodable(_))));
        assert!(matches!(decode("%%%"), Err(VerifyError::Undecodable(_))));
    }

    #[test]
    fn ours_round_trips_and_carries_the_reference_hmac() {
        let sig = generate_at(
            &key(),
            1_400_000_000,
            "administrator",
            1_700_000_000,
            15_552_000,
        );
        assert!(!sig.contains(['+', '/', '=']));
        let doc = decode(&sig).unwrap();
        assert_eq!(doc.sig, "JCzxanF8NTTXau4m+2h9wv7gYJnyNksm0xm1NEXU274=");
        assert_eq!(doc.identifier, "administrator");
        assert!(verify_at(&sig, &key(), 1_400_000_000, "administrator", 1_700_000_001).is_ok());
    }

    #[test]
    fn cache_reuses_then_renews_before_expiry() {
        let cache = UserSigCache::new(key(), 1_400_000_000, "administrator", 86_400);
        assert_eq!(cache.renew_margin(), 8_640);
        let first = cache.get_at(1_000_000);
        assert_eq!(cache.get_at(1_000_000 + 3_600), first);
        let renewed = cache.get_at(1_000_000 + 86_400 - 8_640);
        assert_ne!(renewed, first);
        assert_eq!(decode(&renewed).unwrap().time, 1_000_000 + 86_400 - 8_640);
        cache.invalidate();
        let after = cache.get_at(1_000_000 + 86_400 - 8_000);
        assert_eq!(decode(&after).unwrap().time, 1_000_000 + 86_400 - 8_000);
    }
}
