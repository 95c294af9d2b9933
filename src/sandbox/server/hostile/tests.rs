use super::*;

fn success() -> Map<String, Value> {
    let mut m = ok_reply();
    m.insert("MsgTime".into(), 1_800_000_000u64.into());
    m.insert("MsgKey".into(), "12_34_1800000000".into());
    m
}

fn call() -> Value {
    json!({"To_Account": "u1", "MsgRandom": 34})
}

/// The answer for `kind` to a sendmsg (or, for the batch-only kind, a batch).
fn answer(kind: Hostile, variant: u64) -> Answer {
    let endpoint = if kind == Hostile::ForeignErrorList {
        Endpoint::BatchSendMsg
    } else {
        Endpoint::SendMsg
    };
    reply(kind, endpoint, success(), &call(), variant)
}

fn bytes(answer: &Answer) -> (&'static str, &[u8]) {
    match answer {
        Answer::Bytes { content_type, body } => (content_type, body),
        _ => panic!("not a 200 with bytes"),
    }
}

fn object(answer: &Answer) -> Map<String, Value> {
    let (content_type, body) = bytes(answer);
    assert_eq!(content_type, "application/json");
    match serde_json::from_slice(body) {
        Ok(Value::Object(m)) => m,
        other => panic!("not an object: {other:?}"),
    }
}

#[test]
fn truncated_json_is_a_proper_prefix_and_never_valid() {
    let full = Value::Object(success()).to_string();
    for variant in 0..500 {
        let answer = answer(Hostile::TruncatedJson, variant);
        let (_, body) = bytes(&answer);
        assert!(!body.is_empty() && body.len() < full.len());
        assert!(full.as_bytes().starts_with(body));
        assert!(serde_json::from_slice::<Value>(body).is_err(), "{variant}");
    }
}

#[test]
fn wrong_types_replace_exactly_one_field() {
    let m = object(&answer(Hostile::ErrorCodeString, 0));
    assert_eq!(m["ErrorCode"], json!("0"));
    assert_eq!(m["MsgKey"], json!("12_34_1800000000"));
    let m = object(&answer(Hostile::MsgKeyNumber, 0));
    assert_eq!(m["MsgKey"], json!(5));
    assert_eq!(m["ErrorCode"], json!(0));
    let m = object(&answer(Hostile::MsgTimeString, 0));
    assert_eq!(m["MsgTime"], json!("yesterday"));
}

#[test]
fn the_out_of_range_code_is_two_to_the_63_with_ok() {
    let answer = answer(Hostile::OutOfRangeCode, 0);
    let (_, body) = bytes(&answer);
    let text = String::from_utf8_lossy(body);
    assert!(
        text.contains(r#""ErrorCode":9223372036854775808"#),
        "{text}"
    );
    let m = object(&answer);
    assert_eq!(m["ActionStatus"], "OK");
    assert_eq!(m["ErrorCode"].as_i64(), None);
    assert_eq!(m["ErrorCode"].as_u64(), Some(1 << 63));
}

#[test]
fn the_undocumented_code_is_a_refusal_that_never_takes_effect() {
    let m = object(&answer(Hostile::UndocumentedCode, 0));
    assert_eq!(m["ActionStatus"], "FAIL");
    assert_eq!(m["ErrorCode"], json!(-1));
    assert!(!Hostile::UndocumentedCode.may_take_effect());
    assert!(
        Hostile::ALL
            .iter()
            .filter(|k| **k != Hostile::UndocumentedCode)
            .all(|k| k.may_take_effect())
    );
}

#[test]
fn the_long_msg_key_has_100000_characters() {
    let m = object(&answer(Hostile::LongMsgKey, 0));
    let key = m["MsgKey"].as_str().unwrap();
    assert_eq!(key.chars().count(), LONG_MSG_KEY_CHARS);
    assert!(key.starts_with("12_34_1800000000_"));
}

#[test]
fn the_implausible_msg_time_is_far_future_or_negative() {
    let times: Vec<Value> = (0..2)
        .map(|v| object(&answer(Hostile::ImplausibleMsgTime, v))["MsgTime"].clone())
        .collect();
    assert_eq!(times, [json!(99_999_999_999_999i64), json!(-5)]);
}

#[test]
fn the_html_page_is_html() {
    let answer = answer(Hostile::HtmlPage, 0);
    let (content_type, body) = bytes(&answer);
    assert_eq!(content_type, "text/html");
    assert_eq!(body, b"<html><body>502 Bad Gateway</body></html>");
}

#[test]
fn non_utf8_is_not_utf8() {
    let answer = answer(Hostile::NonUtf8, 0);
    let (_, body) = bytes(&answer);
    assert!(std::str::from_utf8(body).is_err());
}

#[test]
fn the_empty_kinds_are_empty() {
    let answer_empty = answer(Hostile::EmptyBody, 0);
    assert!(bytes(&answer_empty).1.is_empty());
    assert!(object(&answer(Hostile::EmptyObject, 0)).is_empty());
}

#[test]
fn the_json_array_is_one_of_two_arrays() {
    let arrays: Vec<Value> = (0..2)
        .map(|v| {
            let a = answer(Hostile::JsonArray, v);
            serde_json::from_slice(bytes(&a).1).unwrap()
        })
        .collect();
    assert_eq!(arrays, [json!([]), json!([{"ActionStatus": "OK"}])]);
}

#[test]
fn the_redirect_goes_to_another_host() {
    let Answer::Redirect(location) = answer(Hostile::Redirect, 0) else {
        panic!("not a redirect");
    };
    assert_eq!(location, "http://example.invalid/v4/openim/sendmsg");
}

#[test]
fn fail_with_zero_says_fail_and_zero() {
    let m = object(&answer(Hostile::FailWithZeroCode, 0));
    assert_eq!(m["ActionStatus"], "FAIL");
    assert_eq!(m["ErrorCode"], json!(0));
}

#[test]
fn a_batch_fail_with_zero_has_an_error_list_only_when_the_call_took_effect() {
    let call = json!({"To_Account": ["a", "b"]});
    // Not taken effect: the fabricated success has no ErrorList, so neither has the answer.
    let fabricated = fabricated_success(Endpoint::BatchSendMsg, 1_800_000_000_000, 3);
    assert!(!fabricated.contains_key("ErrorList"));
    let answer = reply(
        Hostile::FailWithZeroCode,
        Endpoint::BatchSendMsg,
        fabricated,
        &call,
        0,
    );
    let m = object(&answer);
    assert_eq!(
        (m["ActionStatus"].clone(), m["ErrorCode"].clone()),
        (json!("FAIL"), json!(0))
    );
    assert!(!m.contains_key("ErrorList"));
    // Taken effect with a refusal: the real ErrorList stays, and it is true.
    let mut real = ok_reply();
    real.insert("MsgKey".into(), "1_2_3".into());
    real.insert(
        "ErrorList".into(),
        json!([{"To_Account": "b", "ErrorCode": 70107}]),
    );
    let answer = reply(
        Hostile::FailWithZeroCode,
        Endpoint::BatchSendMsg,
        real,
        &call,
        0,
    );
    let m = object(&answer);
    assert_eq!(
        m["ErrorList"],
        json!([{"To_Account": "b", "ErrorCode": 70107}])
    );
}

#[test]
fn the_foreign_error_list_names_a_recipient_not_in_the_call() {
    for to in [
        json!(["a", "b"]),
        json!(["not-in-this-call", "not-in-this-call-"]),
    ] {
        let call = json!({"To_Account": to.clone()});
        let mut real = ok_reply();
        real.insert("MsgKey".into(), "1_2_3".into());
        real.insert(
            "ErrorList".into(),
            json!([{"To_Account": "b", "ErrorCode": 70107}]),
        );
        let answer = reply(
            Hostile::ForeignErrorList,
            Endpoint::BatchSendMsg,
            real,
            &call,
            0,
        );
        let m = object(&answer);
        let list = m["ErrorList"].as_array().unwrap();
        assert_eq!(list.len(), 2, "the real entries stay");
        let stranger = &list[1]["To_Account"];
        assert_eq!(list[1]["ErrorCode"], json!(70107));
        assert!(!to.as_array().unwrap().contains(stranger), "{stranger}");
        assert!(stranger.as_str().unwrap().starts_with("not-in-this-call"));
    }
}

#[test]
fn kinds_are_picked_among_those_that_fit_the_endpoint() {
    for endpoint in [
        Endpoint::SendMsg,
        Endpoint::BatchSendMsg,
        Endpoint::SendOfficialAccountMsg,
        Endpoint::SendStreamMsg,
        Endpoint::AdminMsgWithdraw,
        Endpoint::OfficialAccountMsgRecall,
    ] {
        assert!(applies_to(endpoint));
        let picked: std::collections::BTreeSet<&str> = (0..100)
            .map(|r| Hostile::pick(endpoint, r).name())
            .collect();
        let fitting = Hostile::ALL.iter().filter(|k| k.fits(endpoint)).count();
        assert_eq!(picked.len(), fitting, "{endpoint:?}: every fitting kind");
        assert_eq!(
            picked.contains("foreign_error_list"),
            endpoint == Endpoint::BatchSendMsg
        );
    }
    for endpoint in [
        Endpoint::GetAllRobots,
        Endpoint::GetOfficialAccountInfo,
        Endpoint::AccountCheck,
    ] {
        assert!(!applies_to(endpoint));
    }
    let names: std::collections::BTreeSet<&str> = Hostile::ALL.iter().map(|k| k.name()).collect();
    assert_eq!(names.len(), Hostile::ALL.len(), "names are distinct");
}

#[test]
fn fabricated_replies_carry_the_fields_of_the_endpoint() {
    let m = fabricated_success(Endpoint::SendMsg, 1_800_000_000_123, 7);
    assert_eq!(m["MsgKey"], "0_7_1800000000");
    assert_eq!(m["MsgTime"], json!(1_800_000_000u64));
    let m = fabricated_success(Endpoint::BatchSendMsg, 1_000, 7);
    assert!(m.contains_key("MsgKey") && !m.contains_key("MsgTime"));
    let m = fabricated_success(Endpoint::AdminMsgWithdraw, 1_000, 7);
    assert_eq!(Value::Object(m), Value::Object(ok_reply()));
}

#[test]
fn a_closed_connection_sends_a_proper_prefix() {
    let full = Value::Object(success()).to_string();
    let Answer::Cut(part) = answer(Hostile::ClosedConnection, 0) else {
        panic!("not a cut");
    };
    assert!(!part.is_empty() && part.len() < full.len());
    assert!(full.as_bytes().starts_with(&part));
}

#[test]
fn a_drip_is_a_well_formed_reply() {
    let Answer::Drip(all) = answer(Hostile::Drip, 0) else {
        panic!("not a drip");
    };
    assert_eq!(all, Value::Object(success()).to_string().into_bytes());
}
