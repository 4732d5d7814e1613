//! Dense vectors: the embedding cache keyed by text hash, and the per-generation vector file.
//!
//! The cache is an append-only log (`<data>/embeddings/<model fingerprint>.bin`) of
//! `[sha256 of the embedded text][dim × f32 LE]` records, so re-indexing re-embeds only texts it
//! has never seen, and a crash mid-append loses at most the torn last record, which the next
//! load ignores and overwrites.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub type TextHash = [u8; 32];

/// sha256 of a text, the cache key of its vector.
pub fn text_hash(text: &str) -> TextHash {
    Sha256::digest(text.as_bytes()).into()
}

/// Vectors already computed by one embedding model, by text hash.
pub struct VectorCache {
    path: Option<PathBuf>,
    dim: usize,
    vectors: HashMap<TextHash, Vec<f32>>,
    /// Byte length of the valid part of the file (where the next record goes).
    valid_len: u64,
}

impl VectorCache {
    /// A cache that lives only in memory (for one-off runs such as tests).
    pub fn in_memory(dim: usize) -> Self {
        Self {
            path: None,
            dim,
            vectors: HashMap::new(),
            valid_len: 0,
        }
    }

    /// Opens (or creates) the cache file for one model fingerprint under `dir`.
    pub fn open(dir: &Path, fingerprint: &str, dim: usize) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!("{fingerprint}.bin"));
        let mut vectors = HashMap::new();
        let record = 32 + dim * 4;
        let mut valid_len = 0u64;
        if let Ok(mut file) = File::open(&path) {
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes)?;
            for chunk in bytes.chunks_exact(record) {
                let mut key = [0u8; 32];
                key.copy_from_slice(&chunk[..32]);
                vectors.insert(key, decode_f32(&chunk[32..]));
            }
            valid_len = (bytes.len() / record * record) as u64;
        }
        Ok(Self {
            path: Some(path),
            dim,
            vectors,
            valid_len,
        })
    }

    pub fn get(&self, key: &TextHash) -> Option<&[f32]> {
        self.vectors.get(key).map(Vec::as_slice)
    }

    pub fn len(&self) -> usize {
        self.vectors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }

    /// Adds vectors and appends them to the file (fsynced before returning).
    pub fn insert_all(&mut self, items: Vec<(TextHash, Vec<f32>)>) -> std::io::Result<()> {
        if let Some(path) = &self.path {
            let mut file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(path)?;
            file.set_len(self.valid_len)?;
            file.seek(SeekFrom::Start(self.valid_len))?;
            let mut out = BufWriter::new(&mut file);
            for (key, vector) in &items {
                out.write_all(key)?;
                out.write_all(&encode_f32(vector))?;
            }
            out.flush()?;
            drop(out);
            file.sync_data()?;
            self.valid_len += (items.len() * (32 + self.dim * 4)) as u64;
        }
        self.vectors.extend(items);
        Ok(())
    }
}

pub fn encode_f32(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

pub fn decode_f32(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// Row-major matrix of unit vectors, one row per passage.
#[derive(Debug, Clone, Default)]
pub struct Matrix {
    pub dim: usize,
    pub data: Vec<f32>,
}

impl Matrix {
    pub fn rows(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// Dot product of `query` with every row.
    pub fn scores(&self, query: &[f32]) -> Vec<f32> {
        self.data
            .chunks_exact(self.dim.max(1))
            .map(|row| crate::embed::dot(row, query))
            .collect()
    }

    /// `a·w + b·(1−w)` row by row. By linearity its dot product with a query is exactly the same
    /// weighted mix of the two cosines, so the mix costs one pass over one matrix at query time.
    pub fn blend(a: &Matrix, b: &Matrix, weight_a: f32) -> Matrix {
        let data = a
            .data
            .iter()
            .zip(&b.data)
            .map(|(x, y)| x * weight_a + y * (1.0 - weight_a))
            .collect();
        Matrix { dim: a.dim, data }
    }

    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let mut file = BufWriter::new(File::create(path)?);
        file.write_all(&(self.dim as u32).to_le_bytes())?;
        file.write_all(&encode_f32(&self.data))?;
        file.into_inner()?.sync_all()
    }

    pub fn read(path: &Path) -> std::io::Result<Matrix> {
        let bytes = std::fs::read(path)?;
        if bytes.len() < 4 {
            return Err(std::io::Error::other("vector file is truncated"));
        }
        let dim = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
        let data = decode_f32(&bytes[4..]);
        if dim == 0 || !data.len().is_multiple_of(dim) {
            return Err(std::io::Error::other("vector file is truncated"));
        }
        Ok(Matrix { dim, data })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_survives_reopen_and_ignores_a_torn_record() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = VectorCache::open(dir.path(), "m", 2).unwrap();
        cache
            .insert_all(vec![
                (text_hash("a"), vec![1.0, 0.0]),
                (text_hash("b"), vec![0.0, 1.0]),
            ])
            .unwrap();
        // simulate a crash in the middle of appending a third record
        let file = dir.path().join("m.bin");
        let mut f = OpenOptions::new().append(true).open(&file).unwrap();
        f.write_all(&[7u8; 20]).unwrap();
        drop(f);
        let mut cache = VectorCache::open(dir.path(), "m", 2).unwrap();
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get(&text_hash("b")), Some(&[0.0, 1.0][..]));
        cache
            .insert_all(vec![(text_hash("c"), vec![0.6, 0.8])])
            .unwrap();
        let cache = VectorCache::open(dir.path(), "m", 2).unwrap();
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.get(&text_hash("c")), Some(&[0.6, 0.8][..]));
        assert_eq!(std::fs::metadata(file).unwrap().len(), 3 * (32 + 8));
    }

    #[test]
    fn matrix_round_trip_and_blend() {
        let dir = tempfile::tempdir().unwrap();
        let m = Matrix {
            dim: 2,
            data: vec![1.0, 0.0, 0.0, 1.0],
        };
        m.write(&dir.path().join("v")).unwrap();
        let r = Matrix::read(&dir.path().join("v")).unwrap();
        assert_eq!(r.data, m.data);
        assert_eq!(r.scores(&[0.6, 0.8]), vec![0.6, 0.8]);
        let b = Matrix {
            dim: 2,
            data: vec![0.0, 1.0, 0.0, 1.0],
        };
        let blended = Matrix::blend(&m, &b, 0.5);
        assert_eq!(blended.row(0), &[0.5, 0.5]);
        assert_eq!(blended.row(1), &[0.0, 1.0]);
        // the blended score is the same mix of the two cosines
        let q = [0.6, 0.8];
        let mixed = 0.5 * m.scores(&q)[0] + 0.5 * b.scores(&q)[0];
        assert!((blended.scores(&q)[0] - mixed).abs() < 1e-6);
    }
}
