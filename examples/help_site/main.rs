//! A help-center website on loopback, to measure `askdesk sync` against (docs/benchmarks.md,
//! "Website sync"): the Markdown pages of a folder rendered as HTML pages under `/docs/hub/`
//! with a site's furniture, a `sitemap.xml` and a `robots.txt`, served as static files (with
//! Last-Modified, so a second sync gets 304s) until Ctrl-C.
//!
//! `cargo run --release --example help_site -- ../shared/data/devdesk/knowledge/huggingface 127.0.0.1:8899`

mod render;

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(folder), Some(address)) = (args.next(), args.next()) else {
        eprintln!("usage: help_site <folder of .md pages> <address, e.g. 127.0.0.1:8899>");
        std::process::exit(2);
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&address).await?;
        let base = format!("http://{}", listener.local_addr()?);
        let site = tempfile::tempdir()?;
        let pages = write_site(&PathBuf::from(folder), &base, site.path())?;
        println!("help_site: {pages} pages on {base}/sitemap.xml");
        let app =
            axum::Router::new().fallback_service(tower_http::services::ServeDir::new(site.path()));
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        Ok(())
    })
}

/// Writes every page (`docs/hub/<stem>/index.html`), the sitemap and robots.txt into `out`.
fn write_site(
    folder: &std::path::Path,
    base: &str,
    out: &std::path::Path,
) -> std::io::Result<usize> {
    // each page is a folder's index.html, so its address ends in '/' (static servers redirect
    // the address without it)
    let pages: Vec<_> = render::markdown_pages(folder)
        .into_iter()
        .map(|(file, path)| (file, format!("{path}/")))
        .collect();
    let paths: Vec<String> = pages.iter().map(|(_, path)| path.clone()).collect();
    for (file, path) in &pages {
        let (title, article) = render::render_markdown(&std::fs::read_to_string(file)?);
        let title = title.unwrap_or_else(|| path.rsplit('/').next().unwrap_or("").to_string());
        let html = render::page_html(&title, &format!("{base}{path}"), &article, &paths);
        let target = out.join(path.trim_start_matches('/')).join("index.html");
        std::fs::create_dir_all(target.parent().expect("a page file has a folder"))?;
        std::fs::write(target, html)?;
    }
    std::fs::write(out.join("sitemap.xml"), render::sitemap_xml(base, &paths))?;
    std::fs::write(out.join("robots.txt"), render::ROBOTS_TXT)?;
    Ok(pages.len())
}
