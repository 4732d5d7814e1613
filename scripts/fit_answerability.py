#!/usr/bin/env python3
"""Fit askdesk's answerability model offline (stdlib + numpy).

Input: the JSONL the Rust side dumps, one training question a line:
    {"source": "tune", "id": "...", "label": 0|1, "features": {"passage_cosine": 0.71, ...}}
label 1 = answering with the retrieved passage would have been correct.

Fits an L2-regularised logistic regression on standardised features (no class weighting: the
output is used as a probability, so it must stay calibrated), scores every row out-of-fold,
and from those out-of-fold probabilities picks, per target precision, the lowest threshold that
reaches it. Writes rules/answerability.json; the runtime computes
    p = sigmoid(bias + sum_i weights[i] * (x_i - mean[i]) / scale[i])
and answers when p >= the threshold of the brand's precision target.

Usage, from the repository root:
    .cache/tools-venv/bin/python scripts/fit_answerability.py FEATURES.jsonl \
        [--out rules/answerability.json] [--folds 5] [--seed 0] [--l2 0.01]
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
# The checks of `decision::decide` under which the answerability model decides (a row without a
# `check`, from an older dump, is kept).
MODEL_DECIDES = ("answered", "confidence")
TARGETS = [0.70, 0.75, 0.80, 0.85, 0.90, 0.93, 0.95, 0.97, 0.98, 0.99]
# Precision measured on the top few percent of rows is mostly noise (a handful of rows), so
# neither the monotone check nor the chosen threshold may rest on less than this share.
MIN_COVERAGE = 0.05


def load(path: Path) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Returns (feature names, X, y, sources). Refuses rather than guesses: a missing feature
    on one line would silently shift every column after it."""
    names = None
    X, y, src = [], [], []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path}:{n}"
            try:
                row = json.loads(line)
                feats = row["features"]
                label = row["label"]
                source = str(row["source"])
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                sys.exit(f"{where}: bad row ({e!r})")
            if label not in (0, 1) or isinstance(label, bool):
                sys.exit(f"{where}: label must be 0 or 1, got {label!r}")
            # A question an intent or word rule hands over never reaches this model: fitting or
            # calibrating on it would count hand-overs the model does not make.
            if row.get("check", "confidence") not in MODEL_DECIDES:
                continue
            keys = sorted(feats)
            if names is None:
                names = keys
            elif keys != names:
                sys.exit(f"{where}: features {keys} differ from the first row's {names}")
            try:
                vals = [float(feats[k]) for k in names]
            except (TypeError, ValueError):
                sys.exit(f"{where}: non-numeric feature value")
            if not all(math.isfinite(v) for v in vals):
                sys.exit(f"{where}: non-finite feature value")
            X.append(vals)
            y.append(label)
            src.append(source)
    if not X:
        sys.exit(f"{path}: no rows")
    return names, np.array(X, dtype=float), np.array(y, dtype=float), np.array(src)


def standardiser(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale == 0] = 1.0  # a constant feature carries nothing; keep it harmless
    return mean, scale


def fit_logreg(Z: np.ndarray, y: np.ndarray, l2: float, iters: int = 100,
               sw: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Newton's method on  weighted mean logloss + l2/2 |w|^2  (bias unpenalised, so the
    intercept can match the base rate exactly). The L2 term keeps weights finite on separable
    data; `sw` are per-row weights (each source weighs the same in total with --balance)."""
    n, d = Z.shape
    sw = np.ones(n) if sw is None else sw * (n / sw.sum())
    A = np.hstack([Z, np.ones((n, 1))])
    theta = np.zeros(d + 1)
    reg = np.full(d + 1, l2)
    reg[-1] = 0.0
    for _ in range(iters):
        p = sigmoid(A @ theta)
        grad = A.T @ (sw * (p - y)) / n + reg * theta
        H = (A * (sw * p * (1 - p))[:, None]).T @ A / n + np.diag(reg + 1e-9)
        step = np.linalg.solve(H, grad)
        theta -= step
        if np.max(np.abs(step)) < 1e-9:
            break
    return theta[:-1], float(theta[-1])


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.clip(z, -35, 35)))


def make_folds(y: np.ndarray, src: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Stratified by (source, label): each stratum is shuffled and dealt round-robin, carrying
    the dealing position across strata so fold sizes stay within one row of each other."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), dtype=int)
    pos = 0
    for s in sorted(set(src)):
        for lab in (0.0, 1.0):
            idx = np.flatnonzero((src == s) & (y == lab))
            idx = idx[rng.permutation(len(idx))]
            fold[idx] = (pos + np.arange(len(idx))) % k
            pos += len(idx)
    return fold


def source_weights(src: np.ndarray, balance: bool) -> np.ndarray:
    """Row weights giving every source the same total weight (a small in-domain set is not
    drowned by a large proxy set), or all ones."""
    if not balance:
        return np.ones(len(src))
    counts = {s: int((src == s).sum()) for s in set(src)}
    return np.array([1.0 / counts[s] for s in src])


def out_of_fold(X, y, fold, k, l2, sw) -> np.ndarray:
    p = np.empty(len(y))
    for f in range(k):
        tr, te = fold != f, fold == f
        if not te.any():
            continue
        # Standardise on the training part only, as the final model will see unseen rows.
        mean, scale = standardiser(X[tr])
        w, b = fit_logreg((X[tr] - mean) / scale, y[tr], l2, sw=sw[tr])
        p[te] = sigmoid(b + ((X[te] - mean) / scale) @ w)
    return p


# ---------------------------------------------------------------------------------------------
# metrics
# ---------------------------------------------------------------------------------------------

def auc(p: np.ndarray, y: np.ndarray) -> float:
    """Mann-Whitney U from average ranks, so tied scores count half."""
    npos, nneg = int(y.sum()), int(len(y) - y.sum())
    if npos == 0 or nneg == 0:
        return float("nan")
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p))
    sp = p[order]
    i = 0
    while i < len(sp):
        j = i
        while j + 1 < len(sp) and sp[j + 1] == sp[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return float((ranks[y == 1].sum() - npos * (npos + 1) / 2.0) / (npos * nneg))


def log_loss(p, y) -> float:
    q = np.clip(p, 1e-15, 1 - 1e-15)
    return float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))


def brier(p, y) -> float:
    return float(np.mean((p - y) ** 2))


def reliability(p, y, bins: int = 10) -> list[tuple[float, float, float, float, int]]:
    """(lo, hi, mean predicted, observed rate, count) per equal-width bin."""
    b = np.minimum((p * bins).astype(int), bins - 1)
    out = []
    for i in range(bins):
        m = b == i
        c = int(m.sum())
        out.append((i / bins, (i + 1) / bins,
                    float(p[m].mean()) if c else float("nan"),
                    float(y[m].mean()) if c else float("nan"), c))
    return out


def precision_curve(p, y) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For each unique probability t (ascending): coverage and precision of rows with p >= t,
    and the precision made monotone — the minimum over t and every higher threshold that still
    covers MIN_COVERAGE — so a target once reached is not lost by raising the threshold."""
    thr = np.unique(p)
    sp, sy = np.sort(p), y[np.argsort(p, kind="mergesort")]
    start = np.searchsorted(sp, thr, side="left")  # first row with p >= t
    kept = len(p) - start
    hits = np.concatenate([np.cumsum(sy[::-1])[::-1], [0.0]])[start]
    cov = kept / len(p)
    prec = hits / kept
    mono = np.full(len(thr), np.inf)
    run = np.inf
    for i in range(len(thr) - 1, -1, -1):
        if cov[i] >= MIN_COVERAGE:
            run = min(run, prec[i])
        mono[i] = min(run, prec[i])
    return thr, cov, prec, mono


def pick_thresholds(p, y) -> list[dict]:
    thr, cov, prec, mono = precision_curve(p, y)
    out = []
    for target in TARGETS:
        ok = np.flatnonzero((mono >= target) & (cov >= MIN_COVERAGE))
        if len(ok):
            i = ok[0]  # thresholds ascend, so the first is the lowest
            out.append({"precision": target, "threshold": float(thr[i]),
                        "coverage": float(cov[i]), "achieved": float(prec[i])})
        else:
            # Nothing is answered, so no precision is achieved; 0 keeps the field numeric.
            out.append({"precision": target, "threshold": 1.0, "coverage": 0.0,
                        "achieved": 0.0})
    return out


def at_threshold(p, y, t) -> tuple[float, float]:
    m = p >= t
    return (float(y[m].mean()) if m.any() else float("nan")), float(m.mean())


# ---------------------------------------------------------------------------------------------

def r6(x):
    """Rounds for the JSON; NaN becomes null, as JSON has no NaN."""
    if isinstance(x, list):
        return [r6(v) for v in x]
    if isinstance(x, dict):
        return {k: r6(v) for k, v in x.items()}
    if isinstance(x, float):
        return None if math.isnan(x) else round(x, 6)
    return x


def fmt(x: float, w: int = 6, d: int = 3) -> str:
    return f"{'n/a':>{w}}" if math.isnan(x) else f"{x:{w}.{d}f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("features", type=Path, help="JSONL dumped by the Rust side")
    ap.add_argument("--out", type=Path, default=REPO / "rules" / "answerability.json")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--l2", type=float, default=1e-2)
    ap.add_argument("--balance", action=argparse.BooleanOptionalAction, default=True,
                    help="weigh every source the same in the fit (default: on)")
    ap.add_argument("--calibrate-on", default="tune,train",
                    help="comma-separated sources whose out-of-fold rows set the precision "
                         "thresholds: those closest to real help-center questions (default: "
                         "tune,train; 'all' for every row)")
    args = ap.parse_args()

    names, X, y, src = load(args.features)
    n = len(y)
    if args.folds < 2 or args.folds > n:
        sys.exit(f"--folds must be between 2 and the number of rows ({n})")
    if y.min() == y.max():
        sys.exit("all labels are the same; nothing to fit")

    fold = make_folds(y, src, args.folds, args.seed)
    sw = source_weights(src, args.balance)
    oof = out_of_fold(X, y, fold, args.folds, args.l2, sw)
    cv = {"auc": auc(oof, y), "log_loss": log_loss(oof, y), "brier": brier(oof, y)}
    cal = (np.ones(n, dtype=bool) if args.calibrate_on == "all"
           else np.isin(src, args.calibrate_on.split(",")))
    if not cal.any():
        sys.exit(f"no rows of source {args.calibrate_on!r} to calibrate on")
    thresholds = pick_thresholds(oof[cal], y[cal])
    cv["calibrated_on"] = args.calibrate_on

    mean, scale = standardiser(X)
    w, b = fit_logreg((X - mean) / scale, y, args.l2, sw=sw)
    model = {
        "fitted": _dt.date.today().isoformat(),
        "rows": n,
        "features": names,
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "weights": w.tolist(),
        "bias": b,
        "precision_thresholds": thresholds,
        "cv": cv,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(r6(model), indent=2) + "\n", encoding="utf-8")

    # ---- summary ----
    base = float(y.mean())
    print(f"rows {n}  positives {int(y.sum())} ({base:.1%})  features {len(names)}  "
          f"folds {args.folds}  l2 {args.l2:g}")
    print(f"CV (out-of-fold): AUC {cv['auc']:.4f}  log-loss {cv['log_loss']:.4f} "
          f"(base-rate {log_loss(np.full(n, base), y):.4f})  Brier {cv['brier']:.4f} "
          f"(base-rate {base * (1 - base):.4f})")

    print("\nreliability (out-of-fold)\n  bin         predicted  observed  count")
    for lo, hi, mp, ob, c in reliability(oof, y):
        print(f"  {lo:.1f}-{hi:.1f}    {fmt(mp, 9)} {fmt(ob, 9)} {c:6d}")

    print("\nprecision targets (out-of-fold)\n  target  threshold  coverage  achieved")
    for t in thresholds:
        print(f"  {t['precision']:.2f}    {t['threshold']:9.4f} {t['coverage']:9.3f} "
              f"{fmt(t['achieved'] if t['coverage'] else math.nan, 9)}")

    t95 = next(t["threshold"] for t in thresholds if t["precision"] == 0.95)
    print(f"\nper source (out-of-fold; precision/coverage at the 0.95 threshold {t95:.4f})")
    print("  source        rows  pos rate     AUC  precision  coverage")
    for s in sorted(set(src)):
        m = src == s
        pr, co = at_threshold(oof[m], y[m], t95)
        print(f"  {s:12} {int(m.sum()):5d} {y[m].mean():9.3f} {fmt(auc(oof[m], y[m]), 7)} "
              f"{fmt(pr, 10)} {co:9.3f}")

    print("\nweights (per standard deviation)")
    for name, wi, mu, sc in zip(names, w, mean, scale):
        print(f"  {name:16} {wi:+8.3f}   mean {mu:9.4f}  scale {sc:9.4f}")
    print(f"  {'bias':16} {b:+8.3f}")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
