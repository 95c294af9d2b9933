//! The reports of a real run, as their readers get them: 2,000 sends against the sandbox with
//! 5 % transient faults and a few recipients who refuse messages, then `timcast report` as
//! a process. The HTML page must be one self-contained file (≤ 2 MB, an inline SVG chart, no
//! script, no stylesheet link, no attribute pointing anywhere) that headless Chromium loads
//! with its chart and totals, and of which it takes a screenshot; the Markdown summary must fit
//! a pull-request comment.
//!
//! Chromium is Debian's `chromium` package. Without it the browser part prints a `skipped:`
//! line and passes, unless `TIMCAST_REQUIRE_CHROMIUM=1` (set by `.ci/run`), which makes a
//! missing browser a failure. `TIMCAST_REPORT_SCREENSHOT=docs/report.png` keeps the
//! screenshot (the README's picture is made this way).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use timcast::sandbox::{Faults, Limits, SandboxHandle, SystemClock};

use crate::common::{self, CampaignWriter, Session};

const RECIPIENTS: usize = 2_000;
const NAME: &str = "winter-sale";
/// Audience rows whose sends the sandbox refuses for good, with the code.
const REFUSED: [(&str, i64); 3] = [
    ("<img src=http://x.test/a.png>", 20007),
    ("<a href=\"http://x.test\">", 20007),
    ("=HYPERLINK(\"http://x\")", 80001),
];
const MAX_HTML_BYTES: usize = 2 * 1024 * 1024;
const MAX_MARKDOWN_CHARS: usize = 65_536;
/// How long Chromium may take to load a local page before it is killed.
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(60);

/// The documented rate limits with 5 % transient faults and every [`REFUSED`] recipient.
async fn faulty_sandbox() -> SandboxHandle {
    let (mut config, _) = common::config();
    config.clock = Arc::new(SystemClock);
    config.limits = Limits::documented();
    config.faults = Faults {
        fault_rate: 0.05,
        seed: 14,
        ..Faults::none()
    };
    for (id, code) in REFUSED {
        config.scripted_errors.insert(id.to_owned(), code);
    }
    common::start(config).await
}

/// The campaign: [`RECIPIENTS`] rows with a `tier` column, the last ones [`REFUSED`].
fn write_campaign(dir: &Path) -> PathBuf {
    let tiers = ["gold", "silver", "bronze"];
    let rows = (0..RECIPIENTS).map(|i| {
        let id = match REFUSED.get(RECIPIENTS - 1 - i) {
            Some((id, _)) => csv_field(id),
            None => format!("{NAME}-u{i}"),
        };
        [id, format!("Name{i}"), tiers[i % 3].to_owned()]
    });
    CampaignWriter::new(dir, NAME)
        .columns(["user_id", "first_name", "tier"])
        .rows(rows)
        .sender("shop")
        .section(
            "description",
            "  \"Winter sale: 30 % off for every customer, two days only\"",
        )
        .text("Hi {{first_name}}, the winter sale starts now: 30 % off until Sunday")
        // Two attempts: a few of the 5 % transient faults are left failed, as in a bad hour.
        .delivery("  rate: 200\n  batch: off\n  max_attempts: 2")
        .write()
}

fn csv_field(value: &str) -> String {
    format!("\"{}\"", value.replace('"', "\"\""))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_and_markdown_reports_of_a_faulty_2000_send_run_are_bounded_and_load_in_chromium() {
    let sandbox = faulty_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    // By its name in the directory, as a user would type it (the page shows the command).
    let campaign = write_campaign(dir.path()).file_name().unwrap().to_owned();
    let session = || Session::new().current_dir(dir.path()).sandbox(&sandbox);
    let applied = session()
        .args(["apply", "--yes", "--state", "state.db"])
        .arg(&campaign)
        .run_async()
        .await;
    // 3: some sends failed (the refused recipients at least).
    assert_eq!(applied.code, 3, "{}", applied.text());
    let report = |format: &'static str| {
        session()
            .args(["report", "--state", "state.db"])
            .arg(&campaign)
            .args(["--format", format, "--by", "tier", "--failed", "50"])
            .run_async()
    };
    let rows = report("json").await.expect_code(0).stdout;
    let states: Vec<String> = rows
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["state"].to_string())
        .collect();
    assert_eq!(states.len(), RECIPIENTS, "every recipient was journaled");
    let sent = states.iter().filter(|s| *s == "\"sent\"").count();
    let failed = states.iter().filter(|s| *s == "\"failed\"").count();
    let uncertain = states.iter().filter(|s| *s == "\"uncertain\"").count();
    // A refused recipient whose two attempts both met a transient fault ends failed with that
    // fault's code, or uncertain after a 502; one in a few hundred runs.
    assert!(failed + uncertain >= REFUSED.len(), "{failed} failed");
    assert!(sent > RECIPIENTS * 9 / 10, "{sent} sent");

    let html = report("html").await.expect_code(0).stdout;
    assert!(html.len() <= MAX_HTML_BYTES, "{} bytes", html.len());
    assert_self_contained(&html);
    assert!(html.contains("<svg"), "an inline SVG chart");
    for (id, _) in REFUSED {
        assert!(!html.contains(id), "{id} is escaped, not markup");
    }
    let totals = totals_cells(RECIPIENTS, sent, failed);
    assert!(html.contains(&totals), "totals {totals}:\n{html}");

    let markdown = report("markdown").await.expect_code(0).stdout;
    let chars = markdown.chars().count();
    assert!(chars <= MAX_MARKDOWN_CHARS, "{chars} characters");
    assert!(
        markdown.contains(&format!("| {RECIPIENTS} | {sent} | {failed} |")),
        "{markdown}"
    );
    assert!(markdown.contains("| 20007 | "), "{markdown}");

    let page = dir.path().join("report.html");
    std::fs::write(&page, &html).unwrap();
    tokio::task::spawn_blocking(move || in_chromium(&page, &totals))
        .await
        .unwrap();
}

/// The totals row as the page writes it: audience, sent, failed.
fn totals_cells(audience: usize, sent: usize, failed: usize) -> String {
    format!(
        "<td class=\"num\">{audience}</td><td class=\"num\">{sent}</td><td class=\"num\">{failed}</td>"
    )
}

/// No tag or attribute that loads anything: every `<` of the page opens a tag (text is
/// escaped), so the tags are read one by one; recipient IDs may well say `http` in the text.
fn assert_self_contained(html: &str) {
    let mut rest = html;
    let mut tags = 0;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').map(|e| start + e).unwrap();
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        tags += 1;
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '!')
            .collect::<String>()
            .to_ascii_lowercase();
        assert!(
            ![
                "script", "link", "img", "iframe", "object", "embed", "image", "use", "base"
            ]
            .contains(&name.as_str()),
            "<{tag}>"
        );
        let lower = tag.to_ascii_lowercase();
        for attribute in [
            " src=", " href=", ":href=", " srcset=", " action=", " style=",
        ] {
            assert!(!lower.contains(attribute), "<{tag}>");
        }
        assert!(
            !lower.contains("://") && !lower.contains("=\"//"),
            "<{tag}>"
        );
    }
    assert!(tags > 50, "{tags} tags");
    let style = html
        .split("<style>")
        .nth(1)
        .unwrap()
        .split("</style>")
        .next();
    let style = style.unwrap().to_ascii_lowercase();
    assert!(
        !style.contains("url(") && !style.contains("@import"),
        "{style}"
    );
}

/// Debian's Chromium, on the PATH or where the package puts it.
fn chromium() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .map(|dir| dir.join("chromium"))
        .chain([PathBuf::from("/usr/bin/chromium")])
        .find(|path| path.is_file())
}

/// Loads `page` in headless Chromium: its DOM must hold the chart with its bars, the limit
/// line and `totals`; its screenshot must be a real PNG.
fn in_chromium(page: &Path, totals: &str) {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var("TIMCAST_REQUIRE_CHROMIUM").as_deref() != Ok("1"),
            "TIMCAST_REQUIRE_CHROMIUM=1 but chromium is not installed (apt-get install chromium)"
        );
        println!("skipped: chromium not found (apt-get install chromium to run the browser check)");
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let url = format!("file://{}", page.display());
    let dom = run_chromium(&browser, scratch.path(), &["--dump-dom", &url]);
    assert!(dom.contains("<svg id=\"rate-chart\""), "no chart:\n{dom}");
    let bars = dom.matches("<rect class=\"bar\"").count();
    assert!(bars >= 5, "{bars} bars in the chart");
    assert!(dom.contains("<line class=\"limit\""), "the API limit line");
    assert!(dom.contains("API limit 200/s"));
    // The parser adds <tbody>; cells are serialised as written.
    assert!(dom.contains(totals), "totals {totals}:\n{dom}");

    let png = scratch.path().join("r.png");
    let shot = format!("--screenshot={}", png.display());
    run_chromium(
        &browser,
        scratch.path(),
        &[&shot, "--window-size=1280,2000", &url],
    );
    let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("no screenshot {png:?}: {e}"));
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    // A blank 1280×2000 page compresses to a few KB; text, tables and a chart do not.
    assert!(bytes.len() > 20_000, "screenshot of {} bytes", bytes.len());
    if let Some(keep) = std::env::var_os("TIMCAST_REPORT_SCREENSHOT") {
        std::fs::copy(&png, &keep).unwrap();
        println!("screenshot kept at {}", PathBuf::from(keep).display());
    }
}

/// Runs Chromium headless with `args` and a fresh profile in `scratch`, its home there too;
/// returns its standard output. Killed (with every process it started) after
/// [`CHROMIUM_TIMEOUT`].
fn run_chromium(browser: &Path, scratch: &Path, args: &[&str]) -> String {
    use std::os::unix::process::CommandExt;
    let profile = tempfile::tempdir_in(scratch).unwrap();
    let stdout_path = scratch.join("chromium.out");
    let stderr_path = scratch.join("chromium.err");
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .env("HOME", scratch)
        .env("XDG_CONFIG_HOME", scratch)
        .env("XDG_CACHE_HOME", scratch)
        .stdin(Stdio::null())
        // Files, not pipes: a DOM larger than a pipe's buffer would block an unread pipe.
        .stdout(File::create(&stdout_path).unwrap())
        .stderr(File::create(&stderr_path).unwrap())
        .process_group(0)
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > CHROMIUM_TIMEOUT {
            // The browser's own process group: its renderer and GPU processes go with it.
            let _ = Command::new("kill")
                .args(["-KILL", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            panic!(
                "chromium did not finish within {CHROMIUM_TIMEOUT:?}: {}",
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        status.success(),
        "chromium {args:?}: {status}\n{}",
        std::fs::read_to_string(&stderr_path).unwrap_or_default()
    );
    std::fs::read_to_string(&stdout_path).unwrap()
}
