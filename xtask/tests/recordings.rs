//! The recording reader shared with the service crates' tests reads every
//! recording beside the workspace.

use keyvault_testing::recordings;

#[test]
fn reads_every_recording() {
    let Some(calls) = recordings::load_all() else {
        return;
    };
    assert!(calls.len() > 100, "only {} calls", calls.len());
    for call in &calls {
        assert!(
            call.url.starts_with("https://"),
            "{}: {}",
            call.source,
            call.url
        );
        assert!(
            (100..600).contains(&call.status),
            "{}: status {}",
            call.source,
            call.status
        );
        // Every JSON-looking body is valid JSON once read.
        for body in [&call.request_body, &call.response_body]
            .into_iter()
            .flatten()
        {
            if body.starts_with('{') {
                serde_json::from_str::<serde_json::Value>(body)
                    .unwrap_or_else(|e| panic!("{}: {e}: {body}", call.source));
            }
        }
    }
    let yaml_with_request_body = calls
        .iter()
        .filter(|c| c.source.contains(".yaml") && c.request_body.is_some())
        .count();
    assert!(yaml_with_request_body > 5);
}

#[test]
fn compare_reports_paths_and_ignores_nulls() {
    let recorded = serde_json::json!({"a": {"b": 1, "c": null}, "d": [1, 2]});
    let ours = serde_json::json!({"a": {"b": 2}, "d": [1, 2]});
    let mut out = Vec::new();
    recordings::compare("$", &recorded, &ours, &mut out);
    assert_eq!(out, vec!["$.a.b: recorded 1, re-encoded 2".to_string()]);
}
