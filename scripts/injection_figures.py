#!/usr/bin/env python3
"""The figures of docs/benchmarks.md, "Attacks and look-alikes" (stdlib only).

1. `suite OUT.yaml`: writes ../shared/data/injection-dev as an askdesk suite for the FictArt
   tenant (attacks expected to be handed over, benign look-alikes answered), to run with
   `askdesk eval OUT.yaml --json report.json`; `report REPORT.json` then counts the outcomes.
2. `cv OOF.jsonl`: the cross-validated recognition of attacks, from the out-of-fold manipulation
   probabilities `scripts/fit_intents.py --no-write --oof-out OOF.jsonl` writes: the classifier
   alone, and with the instruction phrases of rules/word_rules.yaml, which count only from the
   probability floor that file sets (as `decision::decide` reads them).

Usage, from the repository root:
    .cache/tools-venv/bin/python scripts/injection_figures.py suite /tmp/injection.yaml
    target/release/askdesk eval /tmp/injection.yaml --json /tmp/injection.json
    .cache/tools-venv/bin/python scripts/injection_figures.py report /tmp/injection.json
    .cache/tools-venv/bin/python scripts/fit_intents.py --no-write --oof-out /tmp/oof.jsonl
    .cache/tools-venv/bin/python scripts/injection_figures.py cv /tmp/oof.jsonl
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "../shared/data/injection-dev"
# askdesk refuses longer messages; an attack is asked as far as it goes
MAX_QUESTION_CHARS = 4000


def words(text: str) -> list[str]:
    """Lowercase words as `answer::policy::words` splits them."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    return [w.strip("'") for w in re.split(r"[^\w']", text) if w.strip("'")]


def has_phrase(text: str, phrases: list[str]) -> bool:
    hay = words(text)
    for phrase in phrases:
        needle = words(phrase)
        if any(hay[i:i + len(needle)] == needle for i in range(len(hay) - len(needle) + 1)):
            return True
    return False


def word_rules() -> tuple[list[str], float]:
    """The `instructs_bot` phrases and their probability floor from rules/word_rules.yaml (a
    list of quoted strings and a number at the top level: read without a YAML library)."""
    phrases, floor, inside = [], None, False
    for line in (REPO / "rules/word_rules.yaml").read_text().splitlines():
        if line.startswith("instructs_bot:"):
            inside = True
        elif line.startswith("instructs_bot_min_probability:"):
            floor = float(line.split(":", 1)[1])
        elif inside and line.startswith("  - "):
            phrases.append(json.loads(line[4:].strip()))
        elif line and not line.startswith((" ", "#")):
            inside = False
    if not phrases or floor is None:
        raise SystemExit("rules/word_rules.yaml: no instructs_bot phrases or floor found")
    return phrases, floor


def suite(out: Path) -> None:
    def read(name: str) -> list[dict]:
        return [json.loads(line) for line in (DATA / name).open() if line.strip()]

    cases = [{"id": f"benign-{i}", "question": r["text"], "expect": {"outcome": "answer"}}
             for i, r in enumerate(read("benign.jsonl"))]
    cases += [{"id": f"attack-{i}", "question": r["text"][:MAX_QUESTION_CHARS],
               "expect": {"outcome": "escalate"}}
              for i, r in enumerate(read("prompts.jsonl"))]
    # JSON is YAML: askdesk reads it as a suite
    out.write_text(json.dumps({"tenant": "fictart", "cases": cases}, ensure_ascii=False, indent=1))
    print(f"{len(cases)} cases written to {out}")


def report(path: Path) -> None:
    cases = json.loads(path.read_text())["cases"]
    counts = Counter((c["id"].rsplit("/", 1)[-1].split("-")[0], c["reason"] or "answered")
                     for c in cases)
    for kind in ("attack", "benign"):
        total = sum(n for (k, _), n in counts.items() if k == kind)
        print(f"{kind}: {total}")
        for (k, reason), n in sorted(counts.items()):
            if k == kind:
                print(f"  {reason:16} {n}")


def cv(path: Path) -> None:
    phrases, floor = word_rules()
    rows = [json.loads(line) for line in path.open() if line.strip()]
    for kind in ("attack", "benign"):
        mine = [r for r in rows if r["kind"] == kind]
        alone = sum(r["fires"] for r in mine)
        with_phrases = sum(r["fires"] or (r["probability"] >= floor and has_phrase(r["text"], phrases))
                           for r in mine)
        any_phrase = sum(r["fires"] or has_phrase(r["text"], phrases) for r in mine)
        print(f"{kind}: {len(mine)}; recognised as manipulation (5-fold out-of-fold): classifier "
              f"{alone}, with the phrases from p >= {floor} {with_phrases}, with any phrase "
              f"{any_phrase}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=["suite", "report", "cv"])
    ap.add_argument("path", type=Path)
    args = ap.parse_args()
    {"suite": suite, "report": report, "cv": cv}[args.what](args.path)


if __name__ == "__main__":
    main()
