#!/usr/bin/env python3
"""Generates a synthetic support knowledge base for benchmarks (deterministic, no dependencies).

  scripts/gen_kb.py OUT_DIR [--passages 10000] [--queries 1000]

Writes OUT_DIR/knowledge/bench/{tenant.toml,*.md} (FAQ Markdown, one passage per `## ` question)
and the same passages as a BEIR folder OUT_DIR/beir/{corpus.jsonl,queries.jsonl,qrels/test.tsv},
with reworded questions as queries, so askdesk and the peer can be measured on one corpus.
"""
import json, os, random, sys

def arg(name, default):
    return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default

out = sys.argv[1]
n_passages, n_queries = arg("--passages", 10000), arg("--queries", 1000)
rng = random.Random(20261122)
products = ["workspace", "project", "invoice", "team", "API key", "report", "dashboard", "album", "playlist", "order",
            "subscription", "device", "webhook", "template", "calendar", "folder", "ticket", "export", "backup", "profile"]
verbs = [("change", "modify"), ("delete", "remove"), ("share", "send"), ("rename", "retitle"), ("restore", "recover"),
         ("export", "download"), ("import", "upload"), ("archive", "hide"), ("merge", "combine"), ("copy", "duplicate"),
         ("lock", "protect"), ("transfer", "move"), ("schedule", "plan"), ("print", "print out"), ("verify", "confirm")]
places = ["on the mobile app", "from the web dashboard", "in the desktop client", "through the API", "as an admin",
          "on a shared account", "during a free trial", "after cancelling", "on the Enterprise plan", "offline"]
menus = ["Settings", "Account", "Billing", "Workspace", "Security", "Integrations", "Notifications", "Data"]
facts = ["This takes effect within {n} minutes.", "Only owners and admins can do this.", "You can undo it for {n} days.",
         "Members are notified by email.", "The change is logged in the audit trail.", "It is free on every plan.",
         "Large items can take up to {n} hours.", "A confirmation code is sent to your email first.",
         "Items in the trash are kept for {n} days.", "Contact support if the option is greyed out."]

def passage(i):
    product = products[i % len(products)]
    verb, synonym = verbs[(i // len(products)) % len(verbs)]
    place = places[(i // (len(products) * len(verbs))) % len(places)]
    variant = i // (len(products) * len(verbs) * len(places))
    menu = " → ".join(rng.sample(menus, 2))
    question = f"How do I {verb} a {product} {place}" + (f" (case {variant + 1})" if variant else "") + "?"
    body = [f"To {verb} a {product} {place}, open {menu} and choose {verb.title()} {product}."]
    body += [rng.choice(facts).format(n=rng.randint(2, 90)) for _ in range(rng.randint(2, 4))]
    body.append(f"Reference code {rng.choice('ABCDEFGHJK')}{rng.choice('LMNPQRSTUV')}-{1000 + i}.")
    query = f"what's the way to {synonym} my {product} {place}" + (f" case {variant + 1}" if variant else "")
    return question, " ".join(body), query

kb = os.path.join(out, "knowledge", "bench")
beir = os.path.join(out, "beir")
os.makedirs(kb, exist_ok=True); os.makedirs(os.path.join(beir, "qrels"), exist_ok=True)
with open(os.path.join(kb, "tenant.toml"), "w") as f:
    f.write('name = "Bench"\nsupport_email = "support@bench.example"\n')
per_file = 100
corpus, queries, qrels = [], [], []
for start in range(0, n_passages, per_file):
    lines = [f"---\ntitle: Help topics {start // per_file + 1}\nkind: faq\n---\n"]
    for i in range(start, min(start + per_file, n_passages)):
        q, body, query = passage(i)
        lines.append(f"## {q}\n{body}\n")
        corpus.append({"_id": f"p{i}", "title": q, "text": body})
        queries.append((f"q{i}", query, f"p{i}"))
    with open(os.path.join(kb, f"topics-{start // per_file + 1:03}.md"), "w") as f:
        f.write("\n".join(lines))
picked = rng.sample(queries, min(n_queries, len(queries)))
with open(os.path.join(beir, "corpus.jsonl"), "w") as f:
    f.writelines(json.dumps(c) + "\n" for c in corpus)
with open(os.path.join(beir, "queries.jsonl"), "w") as f:
    f.writelines(json.dumps({"_id": q, "text": t}) + "\n" for q, t, _ in picked)
with open(os.path.join(beir, "qrels", "test.tsv"), "w") as f:
    f.write("query-id\tcorpus-id\tscore\n")
    f.writelines(f"{q}\t{d}\t1\n" for q, _, d in picked)
print(f"{len(corpus)} passages, {len(picked)} queries in {out}", file=sys.stderr)
