//! Indexing and retrieval with the real model: incremental re-indexing, atomic generations,
//! tenant isolation, and the exact matches BM25 must keep.

use askdesk::engine::{self, EngineOptions};
use askdesk::retrieve::SearchMode;
use std::path::Path;

use crate::helpers::{acme_knowledge, embedder, repo_root, write_files};

fn open(knowledge: &Path, data: &Path) -> askdesk::engine::Engine {
    let options = EngineOptions::new(knowledge, Some(data.to_path_buf()));
    engine::open(&options, embedder(), None).unwrap()
}

const FAQ: &str = "---\ntitle: Shipping FAQ\nkind: faq\n---\n## How long does delivery take?\nParcels arrive in 3 to 5 working days.\n\n## Can I change my delivery address?\nYes, until the parcel is dispatched, from Orders → Edit address.\n";

#[test]
fn reindexing_embeds_only_changed_passages_and_startup_embeds_nothing() {
    let knowledge = acme_knowledge(&[("faq.md", FAQ)]);
    let data = tempfile::tempdir().unwrap();

    let first = open(knowledge.path(), data.path());
    assert_eq!(first.reports[0].passages, 2);
    assert_eq!(
        first.reports[0].embedded, 4,
        "a head and a body vector per passage (short passages without a list get no sentence vectors)"
    );
    assert!(first.reports[0].rebuilt);

    let again = open(knowledge.path(), data.path());
    assert!(
        !again.reports[0].rebuilt,
        "an up-to-date index is opened, not rebuilt"
    );
    assert_eq!(again.reports[0].embedded, 0);

    // Change one answer: only that passage's body is embedded again (its question is unchanged).
    let changed = FAQ.replace("3 to 5 working days", "2 working days");
    write_files(knowledge.path(), &[("acme/faq.md", &changed)]);
    let after_edit = open(knowledge.path(), data.path());
    assert!(after_edit.reports[0].rebuilt);
    assert_eq!(after_edit.reports[0].embedded, 1);
    let hits = after_edit
        .retriever
        .search(
            "acme",
            "how many days until my parcel arrives",
            1,
            SearchMode::Hybrid,
        )
        .unwrap();
    assert!(
        hits[0].passage.text.contains("2 working days"),
        "the new text is served"
    );

    // Reverting needs no embedding at all: both versions are in the vector cache.
    write_files(knowledge.path(), &[("acme/faq.md", FAQ)]);
    assert_eq!(open(knowledge.path(), data.path()).reports[0].embedded, 0);
}

#[test]
fn a_crashed_build_leaves_the_previous_generation_in_use() {
    let knowledge = acme_knowledge(&[("faq.md", FAQ)]);
    let data = tempfile::tempdir().unwrap();
    let first = open(knowledge.path(), data.path());
    let tenant_dir = data.path().join("index/acme");
    let live = std::fs::read_to_string(tenant_dir.join("CURRENT")).unwrap();
    drop(first);

    // A build that died half-way: a generation folder with no manifest, and a torn CURRENT.tmp.
    let torn = tenant_dir.join("gen-9999999999999999999");
    std::fs::create_dir_all(torn.join("tantivy")).unwrap();
    std::fs::write(torn.join("heads.f32"), b"\x01\x00").unwrap();
    std::fs::write(tenant_dir.join("CURRENT.tmp"), b"gen-99").unwrap();

    let reopened = open(knowledge.path(), data.path());
    assert!(
        !reopened.reports[0].rebuilt,
        "the live generation is still valid"
    );
    assert_eq!(
        std::fs::read_to_string(tenant_dir.join("CURRENT")).unwrap(),
        live
    );
    let hits = reopened
        .retriever
        .search("acme", "change delivery address", 1, SearchMode::Hybrid)
        .unwrap();
    assert!(hits[0]
        .passage
        .id
        .ends_with("#can-i-change-my-delivery-address"));

    // The next real build swaps atomically and clears the leftovers.
    write_files(
        knowledge.path(),
        &[(
            "acme/more.md",
            "## Do you ship abroad?\nYes, to 30 countries.",
        )],
    );
    let rebuilt = open(knowledge.path(), data.path());
    assert!(rebuilt.reports[0].rebuilt);
    let new_live = std::fs::read_to_string(tenant_dir.join("CURRENT")).unwrap();
    assert_ne!(new_live, live);
    let generations: Vec<String> = std::fs::read_dir(&tenant_dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("gen-"))
        .collect();
    assert_eq!(generations, vec![new_live]);
}

#[test]
fn each_tenant_searches_only_its_own_passages() {
    let data = tempfile::tempdir().unwrap();
    let engine = open(&repo_root().join("knowledge"), data.path());
    assert!(engine.problems.is_empty(), "{:?}", engine.problems);
    for (tenant, question) in [
        (
            "fictart",
            "Can I get a refund within 14 days if my usage was minimal?",
        ),
        (
            "stable-diffusion-web",
            "is a full refund possible within 7 days if no credits were consumed",
        ),
        ("fictart", "email support@stable-diffusion-web.com"),
    ] {
        for mode in [SearchMode::Bm25, SearchMode::Dense, SearchMode::Hybrid] {
            let hits = engine.retriever.search(tenant, question, 20, mode).unwrap();
            assert!(!hits.is_empty());
            for hit in hits {
                assert_eq!(hit.passage.tenant, tenant);
                assert!(
                    hit.passage.id.starts_with(&format!("{tenant}/")),
                    "{}",
                    hit.passage.id
                );
            }
        }
    }
}

#[test]
fn paraphrased_questions_find_the_right_policy() {
    let data = tempfile::tempdir().unwrap();
    let engine = open(&repo_root().join("knowledge"), data.path());
    let cases = [
        (
            "fictart",
            "how long do I have to ask for my money back?",
            "7 days",
        ),
        (
            "stable-diffusion-web",
            "how long do I have to ask for my money back?",
            "14 days",
        ),
        ("fictart", "what kinds of image files can I upload", "WebP"),
        (
            "stable-diffusion-web",
            "who handles my credit card",
            "Stripe",
        ),
        ("fictart", "what time is your team available", "UTC+8"),
    ];
    for (tenant, question, fact) in cases {
        let hits = engine
            .retriever
            .search(tenant, question, 3, SearchMode::Hybrid)
            .unwrap();
        assert!(
            hits.iter().any(|h| h.passage.text.contains(fact)),
            "{tenant}: {question:?} should retrieve {fact:?}; got {:?}",
            hits.iter().map(|h| &h.passage.id).collect::<Vec<_>>()
        );
    }
}

#[test]
fn hybrid_keeps_exact_codes_addresses_and_menu_paths() {
    // Topics that read alike; the literal code, address or menu name is what tells them apart,
    // and it sits in the body, not in the heading.
    let topics = [
        "Uploads",
        "Downloads",
        "Exports",
        "Imports",
        "Previews",
        "Thumbnails",
        "Renders",
        "Batches",
        "Queues",
        "Sharing",
        "Albums",
        "Folders",
        "Tags",
        "Filters",
        "Presets",
        "Templates",
        "Layers",
        "Masks",
        "Brushes",
        "Palettes",
    ];
    let mut doc = String::from("---\ntitle: Troubleshooting\nkind: policy\n---\n");
    for (i, topic) in topics.iter().enumerate() {
        let code = format!("QX-{}", 7100 + i * 37);
        doc.push_str(&format!(
            "## {topic}\nWhen something goes wrong here the app may stop and show a message with code {code}; wait a minute and try again, then contact us if it persists.\n\n"
        ));
    }
    doc.push_str("## Invoices\nInvoices are sent each month from the address billing-desk@acme.test.\n\n## Receipts\nReceipts are sent after each purchase from the address orders-desk@acme.test.\n\n## Your data\nTo download a copy of everything, open Settings → Privacy → Vault archive.\n\n## Your files\nTo download a copy of your pictures, open Settings → Library → Bulk fetch.\n");
    let knowledge = acme_knowledge(&[("troubleshooting.md", &doc)]);
    let data = tempfile::tempdir().unwrap();
    let engine = open(knowledge.path(), data.path());
    for (question, expected) in [
        ("QX-7359?", "#batches"),
        ("code QX-7803 again", "#palettes"),
        ("is orders-desk@acme.test really you?", "#receipts"),
        ("where is Vault archive", "#your-data"),
    ] {
        let hybrid = engine
            .retriever
            .search("acme", question, 3, SearchMode::Hybrid)
            .unwrap();
        assert!(
            hybrid[0].passage.id.ends_with(expected),
            "{question:?}: expected {expected}, got {:?}",
            hybrid.iter().map(|h| &h.passage.id).collect::<Vec<_>>()
        );
        let bm25 = engine
            .retriever
            .search("acme", question, 1, SearchMode::Bm25)
            .unwrap();
        assert!(
            bm25[0].passage.id.ends_with(expected),
            "BM25 alone finds {expected}"
        );
    }
}

#[test]
fn hits_carry_both_retrievers_signals() {
    let knowledge = acme_knowledge(&[("faq.md", FAQ)]);
    let engine = engine::open(
        &EngineOptions::new(knowledge.path(), None),
        embedder(),
        None,
    )
    .unwrap();
    let hits = engine
        .retriever
        .search("acme", "delivery address change", 2, SearchMode::Hybrid)
        .unwrap();
    let top = &hits[0];
    let dense = top.dense.expect("dense signal");
    let bm25 = top.bm25.expect("bm25 signal");
    assert!(dense.score > 0.3 && dense.score <= 1.0);
    assert_eq!(bm25.rank, Some(1));
    assert!(top.score >= hits[1].score);
}

#[test]
fn asking_for_an_unknown_tenant_is_an_error() {
    let knowledge = acme_knowledge(&[("faq.md", FAQ)]);
    let options = EngineOptions::new(knowledge.path(), None);
    let err = engine::open(&options, embedder(), Some(&["ghost".to_string()]))
        .err()
        .unwrap();
    assert_eq!(err.to_string(), "unknown tenant \"ghost\"");
}

#[test]
fn a_question_about_one_rule_of_a_long_passage_finds_it_by_its_sentence() {
    let data = tempfile::tempdir().unwrap();
    let knowledge = repo_root().join("knowledge");
    let question =
        "would switching to another model or a bigger resolution make my pictures nicer?";
    let rank = |sentence_weight: f32| {
        let mut options = EngineOptions::new(&knowledge, Some(data.path().to_path_buf()));
        options.retrieval.sentence_weight = sentence_weight;
        let engine = engine::open(&options, embedder(), None).unwrap();
        let search = engine.retriever.tenant("stable-diffusion-web").unwrap();
        // a list of checks has one vector per sentence (its lead-in and three items), a short
        // answer in prose none
        let rows = |id: &str| {
            let passages = search.index.passages();
            let ord = passages.iter().position(|p| p.id == id).unwrap();
            search.index.sentence_rows[ord].len()
        };
        assert_eq!(
            rows("stable-diffusion-web/contact#what-should-i-check-before-contacting-support"),
            4
        );
        assert_eq!(rows("stable-diffusion-web/faq#how-do-i-contact-support"), 0);
        // the rank and score of the passage that holds the rule
        let hits = engine
            .retriever
            .search("stable-diffusion-web", question, 10, SearchMode::Hybrid)
            .unwrap();
        let rank = hits
            .iter()
            .position(|h| h.passage.text.contains("higher resolution"))
            .unwrap_or(usize::MAX);
        (rank, hits.get(rank).map_or(f32::MIN, |h| h.score))
    };
    // "Try a different model or a higher resolution." is one sentence of a longer passage: its
    // own vector lifts that passage's score, and it ranks among the first
    let (rank_with, score_with) = rank(0.5);
    let (rank_without, score_without) = rank(0.0);
    assert!(
        score_with > score_without,
        "{score_with} vs {score_without}"
    );
    assert!(
        rank_with <= rank_without && rank_with < 3,
        "rank {rank_with}"
    );
}
