//! The installable wallet: manifest, service worker (static shell only) and the shell's files.

use crate::helpers::BridgeApp;
use axum::http::StatusCode;
use serde_json::Value;

#[tokio::test]
async fn the_manifest_starts_the_wallet_standalone_with_an_svg_icon() {
    let app = BridgeApp::on(crate::helpers::Engine::Sqlite).await;
    let page = app.page("/manifest.webmanifest", &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.headers["content-type"], "application/manifest+json");
    let manifest: Value = serde_json::from_str(&page.html).unwrap();
    assert_eq!(manifest["start_url"], "/wallet");
    assert_eq!(manifest["display"], "standalone");
    assert!(manifest["name"].is_string() && manifest["short_name"].is_string() && manifest["theme_color"].is_string());
    let icon = manifest["icons"][0]["src"].as_str().unwrap();
    assert_eq!(app.page(icon, &[]).await.headers["content-type"], "image/svg+xml");
}

#[tokio::test]
async fn the_service_worker_is_served_for_the_whole_origin_and_revalidated() {
    let app = BridgeApp::on(crate::helpers::Engine::Sqlite).await;
    let sw = app.page("/sw.js", &[]).await;
    assert_eq!(sw.status, StatusCode::OK);
    assert_eq!(sw.headers["service-worker-allowed"], "/");
    assert_eq!(sw.headers["cache-control"], "no-cache");
    assert!(sw.headers["content-type"].to_str().unwrap().starts_with("text/javascript"));
    assert!(!sw.html.contains("__SHELL_VERSION__"), "the cache is named after the shell's contents");
}

#[tokio::test]
async fn the_service_worker_precaches_only_the_static_shell_and_never_payment_state() {
    let app = BridgeApp::on(crate::helpers::Engine::Sqlite).await;
    let source = app.page("/sw.js", &[]).await.html;
    let list = source.split("const PRECACHE = [").nth(1).and_then(|rest| rest.split("];").next()).expect("a precache list");
    let entries: Vec<&str> = list.split(',').map(|e| e.trim().trim_matches('\'')).filter(|e| !e.is_empty()).collect();
    assert!(!entries.is_empty());
    for entry in &entries {
        assert!(entry.starts_with("/assets/") || *entry == "/manifest.webmanifest" || *entry == "/offline", "{entry} is not shell");
        let served = app.page(entry, &[]).await;
        assert_eq!(served.status, StatusCode::OK, "{entry} must exist for the install to succeed");
    }
    // Exactly one cache write (the install's addAll of that list) and a network-only branch.
    assert_eq!(source.matches("cache.add").count(), 1);
    assert!(!source.contains("cache.put") && !source.contains(".put("));
    assert!(source.contains("// Network only") && source.contains("fetch(request)"));
    assert!(!source.contains("'/p/") && !source.contains("'/wallet"), "payment pages are never listed");
}

#[tokio::test]
async fn the_shell_files_are_served_with_their_types() {
    let app = BridgeApp::on(crate::helpers::Engine::Sqlite).await;
    let js = app.page("/assets/bridge/app.js", &[]).await;
    assert!(js.headers["content-type"].to_str().unwrap().starts_with("text/javascript"));
    assert_eq!(js.headers["x-content-type-options"], "nosniff");
    assert!(js.html.contains("serviceWorker.register('/sw.js'"), "app.js registers the worker");
    assert!(js.html.contains("sessionStorage") && !js.html.contains("localStorage.setItem"), "tokens stay in the tab");
    let css = app.page("/assets/bridge/app.css", &[]).await;
    assert!(css.headers["content-type"].to_str().unwrap().starts_with("text/css"));
}

#[tokio::test]
async fn the_wallet_home_offers_sign_in_in_the_phones_language() {
    let app = BridgeApp::on(crate::helpers::Engine::Sqlite).await;
    let page = app.page("/wallet", &[("accept-language", "ko")]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains(r#"<html lang="ko">"#));
    assert!(page.html.contains(r#"id="auth-form""#) && page.html.contains("로그인"));
    assert!(page.html.contains(r#"<link rel="manifest" href="/manifest.webmanifest">"#));
}
