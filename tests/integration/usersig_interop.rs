//! UserSig interoperability with Tencent's reference implementation, both ways.
//!
//! Fixtures in tests/fixtures/usersig/ were signed by PyPI `tls-sig-api-v2` 1.1 with a pinned
//! clock (see generate.py there). Signatures are compared by decoding, never as whole strings:
//! zlib output differs between implementations.

#![allow(clippy::unwrap_used)] // test helpers may unwrap: a panic is a failed test

use std::process::Command;

use serde_json::Value;
use timcast::im::SecretKey;
use timcast::im::usersig::{self, VerifyError};

fn reference_fixtures() -> (SecretKey, Vec<Value>) {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/usersig/reference.json"
    ))
    .unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let key = SecretKey::new(doc["key"].as_str().unwrap());
    (key, doc["fixtures"].as_array().unwrap().clone())
}

#[test]
fn signatures_from_the_python_reference_verify_with_a_pinned_clock() {
    let (key, fixtures) = reference_fixtures();
    assert!(fixtures.len() >= 5);
    for f in &fixtures {
        let sdkappid = f["sdkappid"].as_u64().unwrap();
        let identifier = f["identifier"].as_str().unwrap();
        let time = f["time"].as_u64().unwrap();
        let expire = f["expire"].as_u64().unwrap();
        let sig = f["usersig"].as_str().unwrap();

        let doc = usersig::verify_at(sig, &key, sdkappid, identifier, time + expire).unwrap();
        assert_eq!(doc.version, "2.0");
        assert_eq!((doc.time, doc.expire), (time, expire));
        assert_eq!(
            doc.sig,
            usersig::hmac_sig(&key, identifier, sdkappid, time, expire, None)
        );
        // One second past its validity the same signature is refused as expired.
        assert_eq!(
            usersig::verify_at(sig, &key, sdkappid, identifier, time + expire + 1),
            Err(VerifyError::Expired {
                expired_at: time + expire,
                now: time + expire + 1
            })
        );
    }
}

#[test]
fn a_reference_signature_checked_with_another_key_is_refused() {
    let (_, fixtures) = reference_fixtures();
    let f = &fixtures[1];
    let result = usersig::verify_at(
        f["usersig"].as_str().unwrap(),
        &SecretKey::new("not the key"),
        f["sdkappid"].as_u64().unwrap(),
        f["identifier"].as_str().unwrap(),
        f["time"].as_u64().unwrap(),
    );
    assert_eq!(result, Err(VerifyError::BadSignature));
}

#[test]
fn our_signature_decodes_to_what_the_reference_algorithm_computes() {
    let (key, fixtures) = reference_fixtures();
    for f in &fixtures {
        let sdkappid = f["sdkappid"].as_u64().unwrap();
        let identifier = f["identifier"].as_str().unwrap();
        let time = f["time"].as_u64().unwrap();
        let expire = f["expire"].as_u64().unwrap();
        let ours = usersig::generate_at(&key, sdkappid, identifier, time, expire);
        let theirs = usersig::decode(f["usersig"].as_str().unwrap()).unwrap();
        assert_eq!(usersig::decode(&ours).unwrap(), theirs, "{identifier}");
    }
}

/// Runs the Python reference itself on a signature we made: it decodes ours with its own
/// base64 variant and zlib, and recomputes the HMAC with its own private signing routine.
/// CI does not need Python: the checked-in fixtures above make the other tests self-sufficient.
#[test]
fn the_python_reference_accepts_our_signature_when_it_is_installed() {
    let probe = Command::new("python3")
        .args(["-c", "import TLSSigAPIv2"])
        .output();
    match probe {
        Ok(out) if out.status.success() => {}
        _ => {
            eprintln!(
                "note: skipped: python3 with the tls-sig-api-v2 package is not available \
                 (pip install tls-sig-api-v2==1.1)"
            );
            return;
        }
    }
    let key = SecretKey::new(timcast::im::settings::DEMO_SECRET_KEY);
    let sig = usersig::generate_at(&key, 1_400_000_000, "administrator", 1_700_000_000, 86_400);
    let script = r#"
import sys, json, zlib, TLSSigAPIv2
sig, key = sys.argv[1], sys.argv[2]
doc = json.loads(zlib.decompress(TLSSigAPIv2.base64_decode_url(sig.encode())))
api = TLSSigAPIv2.TLSSigAPIv2(doc["TLS.sdkappid"], key)
expected = api._TLSSigAPIv2__hmacsha256(doc["TLS.identifier"], doc["TLS.time"], doc["TLS.expire"]).decode()
assert doc["TLS.ver"] == "2.0", doc
assert doc["TLS.sig"] == expected, (doc["TLS.sig"], expected)
print(json.dumps(doc, sort_keys=True))
"#;
    let out = Command::new("python3")
        .args(["-c", script, &sig, key.expose()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python refused our UserSig: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["TLS.identifier"], "administrator");
    assert_eq!(doc["TLS.sdkappid"], 1_400_000_000);
    assert_eq!(doc["TLS.time"], 1_700_000_000);
    assert_eq!(doc["TLS.expire"], 86_400);
}
