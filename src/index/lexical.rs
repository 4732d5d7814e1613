//! The BM25 side: one tantivy index per tenant over question, title and body fields.
//!
//! Queries are built term by term from the same analyzer the index uses (English stop words and
//! stemming) rather than through tantivy's query parser, so customer text is never interpreted as
//! query syntax (`title:`, quotes, `-`), and every term is a disjunction over the fields, with the
//! FAQ question field boosted: a customer's question is most often a rewording of an FAQ question.

use std::path::Path;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
};
use tantivy::{doc, Index, IndexReader, ReloadPolicy, TantivyDocument, Term};

use crate::knowledge::Passage;

const ANALYZER: &str = "askdesk_en";

/// Field boosts for BM25; question matches count double because they are the closest paraphrase.
#[derive(Debug, Clone, Copy)]
pub struct FieldBoosts {
    pub question: f32,
    pub title: f32,
    pub body: f32,
}

impl Default for FieldBoosts {
    fn default() -> Self {
        Self {
            question: 2.0,
            title: 1.0,
            body: 1.0,
        }
    }
}

/// A tenant's tantivy index with a long-lived reader (a fresh searcher per query).
pub struct LexicalIndex {
    index: Index,
    reader: IndexReader,
    fields: [(Field, f32); 3],
}

fn analyzer() -> TextAnalyzer {
    let mut builder = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .dynamic();
    if let Some(stop) = StopWordFilter::new(Language::English) {
        builder = builder.filter_dynamic(stop);
    }
    builder
        .filter_dynamic(Stemmer::new(Language::English))
        .build()
}

fn schema() -> (Schema, Field, [Field; 3]) {
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let mut b = Schema::builder();
    let ord = b.add_u64_field("ord", FAST);
    let question = b.add_text_field("question", text.clone());
    let title = b.add_text_field("title", text.clone());
    let body = b.add_text_field("body", text);
    (b.build(), ord, [question, title, body])
}

impl LexicalIndex {
    /// Builds an index of `passages` in `dir` (created empty), or in memory when `dir` is None.
    pub fn build(
        dir: Option<&Path>,
        passages: &[Passage],
        boosts: FieldBoosts,
    ) -> tantivy::Result<Self> {
        let (schema, ord, [question, title, body]) = schema();
        let index = match dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                Index::create_in_dir(dir, schema)?
            }
            None => Index::create_in_ram(schema),
        };
        index.tokenizers().register(ANALYZER, analyzer());
        let mut writer = index.writer_with_num_threads::<TantivyDocument>(1, 50_000_000)?;
        for (i, p) in passages.iter().enumerate() {
            writer.add_document(doc!(
                ord => i as u64,
                question => p.question.clone().unwrap_or_default(),
                title => p.heading_path.join("\n"),
                body => p.text.clone(),
            ))?;
        }
        writer.commit()?;
        writer.wait_merging_threads()?;
        Self::from_index(index, [question, title, body], boosts)
    }

    /// Opens an index built by [`LexicalIndex::build`].
    pub fn open(dir: &Path, boosts: FieldBoosts) -> tantivy::Result<Self> {
        let index = Index::open_in_dir(dir)?;
        index.tokenizers().register(ANALYZER, analyzer());
        let schema = index.schema();
        let field = |name: &str| schema.get_field(name);
        let fields = [field("question")?, field("title")?, field("body")?];
        Self::from_index(index, fields, boosts)
    }

    fn from_index(
        index: Index,
        [question, title, body]: [Field; 3],
        boosts: FieldBoosts,
    ) -> tantivy::Result<Self> {
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            index,
            reader,
            fields: [
                (question, boosts.question),
                (title, boosts.title),
                (body, boosts.body),
            ],
        })
    }

    /// The analyzed terms of `text` (stop words removed, stemmed), deduplicated.
    pub fn terms(&self, text: &str) -> Vec<String> {
        let mut analyzer = analyzer();
        let mut stream = analyzer.token_stream(text);
        let mut out: Vec<String> = Vec::new();
        while let Some(token) = stream.next() {
            if !out.contains(&token.text) {
                out.push(token.text.clone());
            }
        }
        out
    }

    /// The best `limit` passages for `text` as (passage ordinal, BM25 score), best first.
    pub fn search(&self, text: &str, limit: usize) -> tantivy::Result<Vec<(usize, f32)>> {
        let terms = self.terms(text);
        if terms.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for term in &terms {
            for (field, boost) in self.fields {
                let query = TermQuery::new(
                    Term::from_field_text(field, term),
                    IndexRecordOption::WithFreqs,
                );
                let query: Box<dyn Query> = if boost == 1.0 {
                    Box::new(query)
                } else {
                    Box::new(BoostQuery::new(Box::new(query), boost))
                };
                clauses.push((Occur::Should, query));
            }
        }
        let query = BooleanQuery::new(clauses);
        let searcher = self.reader.searcher();
        let top = searcher.search(
            &query,
            &tantivy::collector::TopDocs::with_limit(limit).order_by_score(),
        )?;
        // Passage ordinals come from the `ord` fast field: no stored-document decompression per hit.
        let mut columns = std::collections::HashMap::new();
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let column = match columns.entry(address.segment_ord) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => e.insert(
                    searcher
                        .segment_reader(address.segment_ord)
                        .fast_fields()
                        .u64("ord")?,
                ),
            };
            if let Some(ord) = column.first(address.doc_id) {
                hits.push((ord as usize, score));
            }
        }
        Ok(hits)
    }

    /// In how many passages an analysed term occurs (in any field, the largest count).
    pub fn doc_freq(&self, term: &str) -> u64 {
        let searcher = self.reader.searcher();
        self.fields
            .iter()
            .filter_map(|(field, _)| searcher.doc_freq(&Term::from_field_text(*field, term)).ok())
            .max()
            .unwrap_or(0)
    }

    /// Number of indexed passages.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[doc(hidden)]
    pub fn index(&self) -> &Index {
        &self.index
    }
}
