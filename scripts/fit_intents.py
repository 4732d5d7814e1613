#!/usr/bin/env python3
"""Fit askdesk's intent classifiers offline (numpy only).

Reads the intents and their example utterances from rules/intents.yaml, adds development data
from ../shared/data (StackFAQ queries and injection-dev benign messages as negatives for every
intent, injection-dev prompts as positives for `manipulation`), embeds every text with askdesk's
own model (the Rust `embed` example, so the vectors are exactly the ones the service computes),
fits one L2-regularised, class-balanced logistic regression per intent (one-vs-rest, Newton's
method), reports 5-fold cross-validated figures and writes rules/intents.weights.json.

Decision rule for the service (src/answer/intents.rs): an intent fires when
sigmoid(weights . v + bias) >= threshold, where v is the L2-normalised 384-d sentence vector of
the message; `threshold_logit` is the same cut on the logit, for reading only.

Each intent's threshold is chosen on the cross-validated scores (every text scored by a model
that did not see it, StackFAQ paraphrases of one thread kept in one fold) as the lowest threshold
whose false-positive rate on that intent's negatives is <= --max-fpr (default 0.25%: an ordinary
question wrongly handed over costs a customer a wait, and the word rules and the answerability
model catch much of what a stricter cut misses).

Usage, from the repository root:
    .cache/tools-venv/bin/python scripts/fit_intents.py [--shared ../shared/data] [--show-errors 15]

Vectors are cached in .cache/intent-vectors/<model-tag>/vectors.jsonl keyed by the sha256 of
the text, so a refit only embeds new or changed texts. The embedder is run as
`cargo run --release --quiet --example embed` (override with --embed-cmd, e.g. the built binary
target/release/examples/embed). ASKDESK_MODEL_DIR etc. are honoured by the example and are part
of the cache tag.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DIM = 384
MODEL_NAME = "all-MiniLM-L6-v2 int8 (askdesk default)"
# Sources of texts; "ordinary" ones are the questions a false positive hurts.
ORDINARY = ("support_questions", "stackfaq", "injection_benign")


# ---------------------------------------------------------------------------------------------
# rules/intents.yaml
# ---------------------------------------------------------------------------------------------

def _scalar(raw: str, where: str) -> str:
    raw = raw.strip()
    if raw.startswith('"'):
        try:
            value, end = json.JSONDecoder().raw_decode(raw)
        except json.JSONDecodeError as e:
            raise ValueError(f"{where}: bad double-quoted string ({e})") from None
        rest = raw[end:].strip()
        if rest and not rest.startswith("#"):
            raise ValueError(f"{where}: text after the closing quote")
        return value
    if raw.startswith("'"):
        end = raw.find("'", 1)
        while end != -1 and raw[end + 1:end + 2] == "'":
            end = raw.find("'", end + 2)
        if end == -1:
            raise ValueError(f"{where}: unterminated single-quoted string")
        return raw[1:end].replace("''", "'")
    # plain scalar: strip a trailing comment
    cut = raw.find(" #")
    return (raw if cut == -1 else raw[:cut]).strip()


def parse_intents_subset(text: str) -> dict:
    """Reads the block-style subset rules/intents.yaml is written in (see its header), for
    interpreters without PyYAML. Anything else is an error, not a guess."""
    data: dict = {"intents": [], "support_questions": []}
    section = None
    current = None
    in_examples = False
    for n, line in enumerate(text.splitlines(), 1):
        where = f"intents.yaml line {n}"
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        if indent == 0:
            key = stripped.split("#", 1)[0].strip()
            if key == "intents:":
                section = "intents"
            elif key == "support_questions:":
                section = "support"
            else:
                raise ValueError(f"{where}: unsupported top-level line {stripped!r}")
            continue
        if section == "support":
            if not stripped.startswith("- "):
                raise ValueError(f"{where}: expected '- \"question\"'")
            data["support_questions"].append(_scalar(stripped[2:], where))
        elif section == "intents":
            if stripped.startswith("- name:"):
                current = {"name": _scalar(stripped[len("- name:"):], where), "examples": []}
                data["intents"].append(current)
                in_examples = False
            elif stripped.split("#", 1)[0].strip() == "examples:":
                if current is None:
                    raise ValueError(f"{where}: examples before a name")
                in_examples = True
            elif stripped.startswith("- ") and in_examples and current is not None:
                current["examples"].append(_scalar(stripped[2:], where))
            else:
                raise ValueError(f"{where}: unsupported line {stripped!r}")
        else:
            raise ValueError(f"{where}: content outside a section")
    return data


def load_rules(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    try:
        import yaml  # type: ignore
    except ImportError:
        try:
            return parse_intents_subset(text)
        except ValueError as e:
            sys.exit(
                f"{e}\nPyYAML is not installed in {sys.executable}, and {path} uses YAML beyond "
                "the simple subset this script can read without it. Keep the file in the "
                "documented subset, or run with an interpreter that has both numpy and PyYAML."
            )
    return yaml.safe_load(text)


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------

def read_jsonl(path: Path) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line))
    return rows


class Corpus:
    """Unique texts with their labels (positive intents), sources and CV group."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.texts: list[str] = []
        self.pos: list[set[str]] = []
        self.sources: list[set[str]] = []
        self.group: list[str] = []
        self.kind: list[str | None] = []

    def add(self, text: str, source: str, intent: str | None = None, group: str | None = None,
            kind: str | None = None):
        text = text.strip()
        if not text:
            return
        i = self.index.get(text)
        if i is None:
            i = len(self.texts)
            self.index[text] = i
            self.texts.append(text)
            self.pos.append(set())
            self.sources.append(set())
            self.group.append(group or f"text:{i}")
            self.kind.append(kind)
        if intent:
            self.pos[i].add(intent)
        self.sources[i].add(source)


def build_corpus(rules: dict, shared: Path | None) -> tuple[Corpus, list[str]]:
    c = Corpus()
    names = []
    for it in rules["intents"]:
        names.append(it["name"])
        for ex in it["examples"]:
            c.add(ex, f"intent:{it['name']}", it["name"])
    for q in rules.get("support_questions") or []:
        c.add(q, "support_questions")
    if shared is not None:
        sf = shared / "stackfaq-threads" / "queries.jsonl"
        if sf.exists():
            for row in read_jsonl(sf):
                qid = str(row.get("_id", ""))
                thread = qid.rsplit("q", 1)[0] if "q" in qid else qid
                c.add(row["text"], "stackfaq", group=f"stackfaq:{thread}")
        else:
            print(f"warning: {sf} not found, no StackFAQ negatives", file=sys.stderr)
        inj = shared / "injection-dev"
        for name, source, intent in (
            ("prompts.jsonl", "injection_prompts", "manipulation"),
            ("benign.jsonl", "injection_benign", None),
        ):
            p = inj / name
            if p.exists():
                for row in read_jsonl(p):
                    c.add(row["text"], source, intent, kind=row.get("kind"))
            else:
                print(f"warning: {p} not found", file=sys.stderr)
    return c, names


# ---------------------------------------------------------------------------------------------
# embedding (askdesk's own model, cached)
# ---------------------------------------------------------------------------------------------

def model_tag() -> str:
    model_dir = Path(os.environ.get("ASKDESK_MODEL_DIR") or REPO / ".cache/models/minilm-int8")
    if not model_dir.is_absolute():
        model_dir = REPO / model_dir
    h = hashlib.sha256()
    onnx = model_dir / "model.onnx"
    if onnx.exists():
        with onnx.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    else:
        h.update(str(model_dir).encode())
    for var in ("ASKDESK_EMBED_POOLING", "ASKDESK_EMBED_MAX_LENGTH"):
        h.update(f"{var}={os.environ.get(var, '')}".encode())
    return h.hexdigest()[:16]


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def embed_all(texts: list[str], cache_root: Path, embed_cmd: list[str]) -> np.ndarray:
    cache_dir = cache_root / model_tag()
    cache_dir.mkdir(parents=True, exist_ok=True)
    cache_file = cache_dir / "vectors.jsonl"
    cache: dict[str, list[float]] = {}
    if cache_file.exists():
        with cache_file.open(encoding="utf-8") as f:
            for line in f:
                try:
                    row = json.loads(line)
                    cache[row["sha256"]] = row["vector"]
                except (json.JSONDecodeError, KeyError):
                    continue  # a torn last line from an interrupted run
    missing = sorted({sha(t): t for t in texts if sha(t) not in cache}.items())
    if missing:
        print(f"embedding {len(missing)} new texts ({len(texts) - len(missing)} cached) with: "
              f"{shlex.join(embed_cmd)}", file=sys.stderr)
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False,
                                         encoding="utf-8") as f:
            for _, t in missing:
                f.write(json.dumps(t) + "\n")
            inp = f.name
        try:
            with open(inp, encoding="utf-8") as stdin:
                proc = subprocess.run(embed_cmd, stdin=stdin, cwd=REPO, capture_output=True,
                                      text=True)
        finally:
            os.unlink(inp)
        if proc.returncode != 0:
            sys.exit(f"embedder failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
        lines = [l for l in proc.stdout.splitlines() if l.strip()]
        if len(lines) != len(missing):
            sys.exit(f"embedder returned {len(lines)} vectors for {len(missing)} texts")
        with cache_file.open("a", encoding="utf-8") as out:
            for (key, _), line in zip(missing, lines):
                vec = json.loads(line)
                if len(vec) != DIM:
                    sys.exit(f"embedder returned a {len(vec)}-d vector, expected {DIM}")
                cache[key] = vec
                out.write(json.dumps({"sha256": key, "vector": vec}) + "\n")
    X = np.array([cache[sha(t)] for t in texts], dtype=np.float64)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    if np.any(np.abs(norms - 1) > 1e-3):
        print("warning: some vectors are not unit length; normalising", file=sys.stderr)
        X = X / np.maximum(norms, 1e-12)
    return X


# ---------------------------------------------------------------------------------------------
# logistic regression
# ---------------------------------------------------------------------------------------------

def fit_logreg(X: np.ndarray, y: np.ndarray, l2: float, iters: int = 50) -> tuple[np.ndarray, float]:
    """Class-balanced, L2-regularised logistic regression by Newton's method.
    Minimises  mean_i s_i * logloss_i + l2/2 * |w|^2  (bias not penalised), with sample
    weights s_i making positives and negatives weigh the same in total."""
    n, d = X.shape
    npos = max(int(y.sum()), 1)
    nneg = max(n - npos, 1)
    s = np.where(y == 1, n / (2.0 * npos), n / (2.0 * nneg)) / n
    A = np.hstack([X, np.ones((n, 1))])
    theta = np.zeros(d + 1)
    reg = np.full(d + 1, l2)
    reg[-1] = 0.0
    for _ in range(iters):
        z = A @ theta
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -35, 35)))
        grad = A.T @ (s * (p - y)) + reg * theta
        h = s * p * (1 - p)
        H = (A * h[:, None]).T @ A + np.diag(reg + 1e-9)
        step = np.linalg.solve(H, grad)
        theta -= step
        if np.max(np.abs(step)) < 1e-7:
            break
    return theta[:-1], float(theta[-1])


def make_folds(corpus: Corpus, k: int, seed: int) -> np.ndarray:
    """Group-aware, roughly stratified folds: groups of each primary source are shuffled and
    dealt round-robin, so every fold has its share of every source."""
    rng = np.random.default_rng(seed)
    by_source: dict[str, list[str]] = {}
    seen = set()
    for i, g in enumerate(corpus.group):
        if g in seen:
            continue
        seen.add(g)
        by_source.setdefault(sorted(corpus.sources[i])[0], []).append(g)
    fold_of_group = {}
    offset = 0
    for src in sorted(by_source):
        groups = by_source[src]
        order = rng.permutation(len(groups))
        for j, gi in enumerate(order):
            fold_of_group[groups[gi]] = (j + offset) % k
        offset += len(groups)
    return np.array([fold_of_group[g] for g in corpus.group])


def threshold_at_fpr(neg_scores: np.ndarray, max_fpr: float) -> float:
    """Lowest threshold t on the logit (fire when score >= t) with #(neg >= t)/#neg <= max_fpr:
    every negative above the (allowed+1)-th highest may fire, that one itself must not."""
    allowed = int(np.floor(max_fpr * len(neg_scores) + 1e-9))
    s = np.sort(neg_scores)[::-1]
    if allowed >= len(s):
        return float(s[-1])
    return float(np.nextafter(s[allowed], np.inf))


def probability_threshold(logit_threshold: float) -> float:
    """The logit cut as the probability the service compares with, rounded UP to the 6 decimals
    it is stored with (so the negative just below the cut stays below it)."""
    return float(np.ceil(sigmoid(logit_threshold) * 1e6 + 0.5) / 1e6)


def sigmoid(z: float) -> float:
    return float(1.0 / (1.0 + np.exp(-z)))


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rules", type=Path, default=REPO / "rules/intents.yaml")
    ap.add_argument("--shared", type=Path, default=REPO / "../shared/data",
                    help="development data folder (stackfaq-threads/, injection-dev/)")
    ap.add_argument("--no-shared", action="store_true", help="fit on rules/intents.yaml only")
    ap.add_argument("--out", type=Path, default=REPO / "rules/intents.weights.json")
    ap.add_argument("--no-write", action="store_true", help="report only")
    ap.add_argument("--oof-out", type=Path, default=None,
                    help="write each injection-dev message's out-of-fold manipulation "
                         "probability here (JSONL), to measure rules that combine with it")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--max-fpr", type=float, default=0.0025)
    ap.add_argument("--l2", type=float, nargs="+", default=[1e-5, 3e-5, 1e-4, 3e-4, 1e-3],
                    help="L2 strengths tried per intent (the best cross-validated recall at "
                         "the FPR cap wins; ties go to the stronger one)")
    ap.add_argument("--benign-negatives-for", nargs="*", default=["manipulation"],
                    metavar="INTENT",
                    help="intents for which injection-dev benign.jsonl is used as training "
                         "negatives (default: manipulation only; 'all' for every intent). The set "
                         "is benign with respect to injection only: it also holds messages that "
                         "are real hand-overs for other intents (\"I think my account was hacked\","
                         " \"I'd like to escalate this to a manager\"). It is scored and reported "
                         "for every intent either way.")
    ap.add_argument("--embed-cmd", default="cargo run --release --quiet --example embed")
    ap.add_argument("--cache", type=Path, default=REPO / ".cache/intent-vectors")
    ap.add_argument("--show-errors", type=int, default=0,
                    help="print up to N cross-validated false positives and misses per intent")
    args = ap.parse_args()

    rules = load_rules(args.rules)
    shared = None if args.no_shared else args.shared.resolve()
    if shared is not None and not shared.exists():
        print(f"warning: {shared} does not exist; fitting on rules only", file=sys.stderr)
        shared = None
    corpus, names = build_corpus(rules, shared)
    n = len(corpus.texts)

    conflicts = [(t, p) for t, p, s in zip(corpus.texts, corpus.pos, corpus.sources)
                 if p and any(x in ORDINARY for x in s)]
    for t, p in conflicts:
        print(f"warning: {t!r} is an example of {sorted(p)} and also an ordinary question; "
              "it is used as a positive", file=sys.stderr)
    multi = [(t, p) for t, p in zip(corpus.texts, corpus.pos) if len(p) > 1]
    for t, p in multi:
        print(f"warning: {t!r} is an example of several intents {sorted(p)}", file=sys.stderr)

    X = embed_all(corpus.texts, args.cache, shlex.split(args.embed_cmd))
    folds = make_folds(corpus, args.folds, args.seed)
    src = corpus.sources
    ordinary = np.array([bool(s & set(ORDINARY)) and not p for s, p in zip(src, corpus.pos)])
    is_src = {name: np.array([name in s for s in src]) for name in
              ("support_questions", "stackfaq", "injection_benign", "injection_prompts")}

    pos_any = np.array([bool(p) for p in corpus.pos])
    only_benign = np.array([s == {"injection_benign"} for s in src])
    results = {}
    cv_fire = np.zeros((n, len(names)), dtype=bool)
    for k, name in enumerate(names):
        y = np.array([1.0 if name in p else 0.0 for p in corpus.pos])
        benign_used = "all" in args.benign_negatives_for or name in args.benign_negatives_for
        use = np.ones(n, dtype=bool) if benign_used else ~only_benign
        best = None
        for l2 in sorted(args.l2, reverse=True):
            scores = np.zeros(n)
            for f in range(args.folds):
                tr, te = (folds != f) & use, folds == f
                w, b = fit_logreg(X[tr], y[tr], l2)
                scores[te] = X[te] @ w + b
            thr = threshold_at_fpr(scores[(y == 0) & use], args.max_fpr)
            recall = float(np.mean(scores[y == 1] >= thr))
            if best is None or recall > best[0] + 1e-9:
                best = (recall, l2, scores, thr)
        recall, l2, scores, thr = best
        fire = scores >= thr
        cv_fire[:, k] = fire
        pos, neg = y == 1, (y == 0) & use
        benign = is_src["injection_benign"] & (y == 0)
        tp, fp = int(np.sum(fire & pos)), int(np.sum(fire & neg))
        cv = {
            "l2": l2,
            "positives": int(pos.sum()),
            "negatives": int(neg.sum()),
            "precision": round(tp / max(tp + fp, 1), 4),
            # share of what it flags that should be handed over for some intent
            "handover_precision": round(float(np.sum(fire & pos_any)) / max(int(fire.sum()), 1), 4),
            "recall": round(recall, 4),
            "fpr": round(fp / max(int(neg.sum()), 1), 4),
            "ordinary_flagged": round(float(np.mean(fire[ordinary])), 4),
            "support_questions_flagged": int(np.sum(fire & is_src["support_questions"] & neg)),
            "stackfaq_flagged": int(np.sum(fire & is_src["stackfaq"] & neg)),
            "benign_flagged": int(np.sum(fire & benign)),
            "benign_is_negative": benign_used,
        }
        # other operating points, for choosing a stricter cap (--max-fpr)
        cv["recall_at_fpr"] = {}
        for cap in (0.0025, 0.005, 0.01, 0.02):
            t = threshold_at_fpr(scores[neg], cap)
            cv["recall_at_fpr"][str(cap)] = {
                "recall": round(float(np.mean(scores[pos] >= t)), 4),
                "ordinary_flagged": round(float(np.mean(scores[ordinary] >= t)), 4),
            }
            if name == "manipulation":
                cv["recall_at_fpr"][str(cap)]["injection_prompts_caught"] = round(
                    float(np.mean(scores[is_src["injection_prompts"]] >= t)), 4)
                cv["recall_at_fpr"][str(cap)]["injection_benign_flagged"] = round(
                    float(np.mean(scores[benign] >= t)), 4)
        own = np.array([f"intent:{name}" in s for s in src])
        cv["examples_recall"] = round(float(np.mean(fire[own])), 4) if own.any() else None
        if name == "manipulation" and is_src["injection_prompts"].any():
            inj = is_src["injection_prompts"]
            cv["injection_prompts_caught"] = round(float(np.mean(fire[inj])), 4)
            cv["injection_benign_flagged"] = round(float(np.mean(fire[benign])), 4)
            kinds = sorted({corpus.kind[i] for i in np.flatnonzero(inj) if corpus.kind[i]})
            cv["injection_caught_by_kind"] = {
                kd: round(float(np.mean([fire[i] for i in np.flatnonzero(inj)
                                         if corpus.kind[i] == kd])), 3) for kd in kinds}
        if args.oof_out and name == "manipulation":
            with args.oof_out.open("w") as out:
                for i in np.flatnonzero(is_src["injection_prompts"] | is_src["injection_benign"]):
                    kind = "attack" if "injection_prompts" in src[i] else "benign"
                    out.write(json.dumps({"kind": kind, "text": corpus.texts[i],
                                          "probability": sigmoid(float(scores[i])),
                                          "fires": bool(fire[i])}) + "\n")
        w, b = fit_logreg(X, y, l2)
        results[name] = {
            "weights": [round(float(v), 6) for v in w],
            "bias": round(b, 6),
            "threshold": probability_threshold(thr),
            "threshold_logit": round(thr, 4),
            "cv": cv,
        }
        if args.show_errors:
            order = np.argsort(-scores)
            fps = [i for i in order if fire[i] and (neg[i] or benign[i])][: args.show_errors]
            miss = [i for i in order[::-1] if pos[i] and not fire[i]][: args.show_errors]
            print(f"\n== {name}: false positives (cv)")
            for i in fps:
                print(f"  {scores[i]:+7.2f} [{','.join(sorted(src[i]))}] {corpus.texts[i][:110]!r}")
            print(f"== {name}: misses (cv)")
            for i in miss:
                print(f"  {scores[i]:+7.2f} [{','.join(sorted(src[i]))}] {corpus.texts[i][:110]!r}")

    any_fire_ordinary = float(np.mean(cv_fire[ordinary].any(axis=1)))
    any_fire_pos = float(np.mean(cv_fire[pos_any].any(axis=1)))

    # table
    hdr = (f"{'intent':15} {'pos':>4} {'neg':>5} {'l2':>7} {'logit':>6} {'p_thr':>6} {'prec':>6} "
           f"{'recall':>6} {'fpr':>6} {'h.prec':>6} {'ord.fp':>6} {'sq':>3} {'sfaq':>4} {'ben':>3}")
    print("\n5-fold cross-validated (threshold: lowest with FPR <= "
          f"{args.max_fpr:.0%} on the intent's negatives)")
    print(hdr)
    print("-" * len(hdr))
    for name in names:
        r, cv = results[name], results[name]["cv"]
        print(f"{name:15} {cv['positives']:4d} {cv['negatives']:5d} {cv['l2']:7.0e} "
              f"{r['threshold_logit']:+6.2f} {r['threshold']:6.4f} {cv['precision']:6.3f} {cv['recall']:6.3f} "
              f"{cv['fpr']:6.3f} {cv['handover_precision']:6.3f} {cv['ordinary_flagged']:6.3f} "
              f"{cv['support_questions_flagged']:3d} {cv['stackfaq_flagged']:4d} "
              f"{cv['benign_flagged']:3d}")
    caps = list(results[names[0]]["cv"]["recall_at_fpr"])
    print("\nrecall (and share of ordinary questions flagged) at other FPR caps:")
    print(f"{'intent':15} " + " ".join(f"{'fpr<=' + c:>16}" for c in caps))
    for name in names:
        ra = results[name]["cv"]["recall_at_fpr"]
        print(f"{name:15} " + " ".join(f"{ra[c]['recall']:8.3f} ({ra[c]['ordinary_flagged']:.3f})"
                                      for c in caps))
    if "manipulation" in results:
        ra = results["manipulation"]["cv"]["recall_at_fpr"]
        if "injection_prompts_caught" in ra[caps[0]]:
            print(f"{'  inj. caught':15} " + " ".join(
                f"{ra[c]['injection_prompts_caught']:8.3f} ({ra[c]['injection_benign_flagged']:.3f})"
                for c in caps) + "   (benign flagged in brackets)")
    m = results.get("manipulation", {}).get("cv", {})
    if "injection_prompts_caught" in m:
        print(f"\nmanipulation: injection-dev prompts caught {m['injection_prompts_caught']:.3f}, "
              f"injection-dev benign flagged {m['injection_benign_flagged']:.3f}, "
              f"own examples caught {m['examples_recall']:.3f}")
        print("  caught by kind: " + ", ".join(f"{kd} {v:.2f}" for kd, v in
                                               m["injection_caught_by_kind"].items()))
    print(f"any intent fires: on {any_fire_ordinary:.3f} of ordinary questions "
          f"({int(ordinary.sum())}: support_questions + StackFAQ + injection-dev benign), "
          f"on {any_fire_pos:.3f} of intent examples")
    print("columns: prec = flagged that are this intent's examples; h.prec = flagged that are "
          "any intent's examples (a right hand-over);")
    print("         ord.fp = share of ordinary questions flagged; sq/sfaq/ben = support_questions,"
          " StackFAQ and injection-dev benign flagged (counts)")

    if not args.no_write:
        out = {
            "model": MODEL_NAME,
            "dim": DIM,
            "fitted": _dt.date.today().isoformat(),
            "rule": "fire when sigmoid(dot(weights, v) + bias) >= threshold (v: L2-normalised "
                    "sentence vector); threshold_logit is the same cut on the logit",
            "cv_summary": {
                "folds": args.folds,
                "max_fpr": args.max_fpr,
                "ordinary_questions": int(ordinary.sum()),
                "any_intent_fires_on_ordinary": round(any_fire_ordinary, 4),
                "any_intent_fires_on_examples": round(any_fire_pos, 4),
            },
            "intents": results,
        }
        args.out.write_text(json.dumps(out, separators=(",", ":")) + "\n", encoding="utf-8")
        print(f"\nwrote {args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out}"
              f" ({args.out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
