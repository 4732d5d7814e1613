//! A help center rendered as a website: Markdown pages as HTML pages with a site's furniture
//! (header, cookie banner, navigation, footer) and a sitemap. Shared by the `help_site` example
//! (a site on loopback to measure `askdesk sync` against) and the sync tests' site.

/// A page of the site: the article inside the site's header, cookie banner, navigation (links
/// to `nav`) and footer.
pub fn page_html(title: &str, canonical: &str, article_html: &str, nav: &[String]) -> String {
    let links: String = nav
        .iter()
        .map(|path| format!("<li><a href=\"{path}\">{path}</a></li>"))
        .collect();
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{title}</title><link rel=\"canonical\" href=\"{canonical}\">\
         <link rel=\"stylesheet\" href=\"/static/site.css\"><script src=\"/static/app.js\"></script>\
         </head><body><header class=\"site-header\"><a href=\"/\">Help center home</a>\
         <form action=\"/search\"><input name=\"q\"></form></header>\
         <div id=\"cookie-banner\">We use cookies to improve your experience. <button>Accept</button></div>\
         <nav class=\"sidebar\"><ul>{links}</ul></nav>\
         <main><article>{article_html}</article></main>\
         <footer><p>© Example Docs</p><a href=\"/privacy\">Privacy</a></footer></body></html>"
    )
}

/// A Markdown page (optional front matter with `title:`) as (title, article HTML).
pub fn render_markdown(text: &str) -> (Option<String>, String) {
    let (title, body) = match text
        .strip_prefix("---\n")
        .and_then(|rest| rest.split_once("\n---\n"))
    {
        Some((front, body)) => {
            let title = front.lines().find_map(|line| {
                line.strip_prefix("title:")
                    .map(|t| t.trim().trim_matches('"').to_string())
            });
            (title, body)
        }
        None => (None, text),
    };
    let parser = pulldown_cmark::Parser::new_ext(body, pulldown_cmark::Options::ENABLE_TABLES);
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, parser);
    (title, html)
}

/// The Markdown files of `dir`, sorted, and the site path of each (`/docs/hub/<stem>`).
pub fn markdown_pages(dir: &std::path::Path) -> Vec<(std::path::PathBuf, String)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let path = format!("/docs/hub/{}", f.file_stem().unwrap().to_string_lossy());
            (f, path)
        })
        .collect()
}

/// A sitemap listing `paths` of `base`.
pub fn sitemap_xml(base: &str, paths: &[String]) -> String {
    let urls: String = paths
        .iter()
        .map(|p| format!("<url><loc>{base}{p}</loc></url>\n"))
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n{urls}</urlset>\n"
    )
}

/// The robots.txt of the site: `/internal/` is disallowed.
pub const ROBOTS_TXT: &str = "User-agent: *\nDisallow: /internal/\n";
