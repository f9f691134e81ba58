#!/usr/bin/env python3
"""The house shape, measured: functions over 80 lines, non-test files over
500 lines, and cycles between files (a file A "calls" B when A uses a
function or global defined in B; a cycle is a strongly connected set of two
or more files of one folder). Prints one line per finding and a summary;
exits 1 when there is any. Run from the repository root:
    tools/shape.py [--quiet]
    tools/shape.py --map     the folder -> file map of docs/architecture.md,
                             from each file's opening comment
    tools/shape.py --write-map   puts that map into docs/architecture.md
A stale map in docs/architecture.md is a finding too.
A rough reader of C (definitions start at column 0, bodies end at a '}' at
column 0, as every file here is written), not a compiler."""
import os, re, sys, collections

FOLDERS = ["proto", "runtime", "store", "store/engine", "directory",
           "replicator", "client", "testing", "tools"]
DEF = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\(")
IDENT = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")

def c_files(folder):
    return sorted(os.path.join(folder, f) for f in os.listdir(folder)
                  if f.endswith(".c")) if os.path.isdir(folder) else []

def strip(text):
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"),
                  text, flags=re.S)
    return re.sub(r'"(\\.|[^"\\\n])*"', '""', text)

def functions(path, text):
    """(name, first line, length, is_static) of each definition."""
    lines, out = text.split("\n"), []
    for i, line in enumerate(lines):
        m = DEF.match(line)
        if not m or line.rstrip().endswith(";"):
            continue
        j = i
        while j < len(lines) and lines[j] != "{":
            if lines[j].rstrip().endswith(";"):
                break
            j += 1
        if j >= len(lines) or lines[j] != "{":
            continue
        k = j + 1
        while k < len(lines) and lines[k] != "}":
            k += 1
        prev = lines[i - 1] if i > 0 else ""
        out.append((m.group(1), i + 1, k - j - 1, prev.startswith("static")))
    return out

def purpose(path):
    """The first sentence of a file's opening comment."""
    text = open(path, encoding="utf-8").read()
    text = re.sub(r"^(syntax|package)[^\n]*\n", "", text, flags=re.M)
    m = re.match(r"\s*(?:/\*(.*?)\*/|((?:(?:#|//)[^\n]*\n)+))", text, re.S)
    if not m:
        return "(no opening comment)"
    body = m.group(1) if m.group(1) is not None else \
        re.sub(r"^#!.*\n", "", m.group(2))
    body = " ".join(l.strip(" *#/") for l in body.split("\n")).strip()
    end = re.search(r"\.(\s|$)", body)
    body = body[: end.start() + 1] if end else body
    return head(body) if len(body) > 120 else body

def head(sentence):
    """A long sentence's head: up to its first colon or semicolon outside
    parentheses and quotes, where the detail starts."""
    depth, quoted = 0, False
    for i, c in enumerate(sentence):
        if c == '"':
            quoted = not quoted
        elif c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif (c in ":;" and i >= 30 and depth == 0 and not quoted and
              sentence[i + 1 : i + 2] == " "):
            return sentence[:i] + "."
    return sentence

MAP_DOC = "docs/architecture.md"
MAP_END = "## Processes"

def map_text():
    lines = []
    for folder in FOLDERS:
        if not os.path.isdir(folder):
            continue
        names = sorted(f for f in os.listdir(folder)
                       if re.search(r"\.(c|h|sh|py|proto)$", f))
        lines.append(f"\n**`{folder}/`**\n")
        lines.append("| file | what it is for |\n|---|---|")
        for f in names:
            stem, ext = os.path.splitext(f)
            if ext == ".h" and stem + ".c" in names:
                continue
            label = f"`{stem}.c/.h`" if ext == ".c" and stem + ".h" in names \
                else f"`{f}`"
            src = stem + ".h" if ext == ".c" and stem + ".h" in names else f
            lines.append(f"| {label} | {purpose(os.path.join(folder, src))} |")
    return "\n".join(lines).strip() + "\n"

def map_in_doc(text):
    """The map's span in the architecture page: (start, end)."""
    start = text.find("**`proto/`**")
    end = text.find(MAP_END)
    return (start, end) if 0 <= start < end else None

def write_map():
    text = open(MAP_DOC, encoding="utf-8").read()
    span = map_in_doc(text)
    if span is None:
        print(f"{MAP_DOC}: no map found before '{MAP_END}'")
        return 1
    text = text[: span[0]] + map_text() + "\n" + text[span[1] :]
    open(MAP_DOC, "w", encoding="utf-8").write(text)
    return 0

def map_is_current():
    text = open(MAP_DOC, encoding="utf-8").read()
    span = map_in_doc(text)
    return span is not None and \
        text[span[0] : span[1]].strip() == map_text().strip()

def main():
    if "--map" in sys.argv:
        print(map_text())
        return 0
    if "--write-map" in sys.argv:
        return write_map()
    quiet = "--quiet" in sys.argv
    findings = []
    for folder in FOLDERS:
        defs, uses = {}, {}
        for path in c_files(folder):
            text = strip(open(path, encoding="utf-8").read())
            nlines = text.count("\n")
            if nlines > 500 and not path.endswith("_test.c"):
                findings.append(f"{path}: {nlines} lines (over 500)")
            for name, line, length, static in functions(path, text):
                if length > 80:
                    findings.append(f"{path}:{line}: {name} is {length} "
                                    "lines (over 80)")
                if not static:
                    defs.setdefault(name, path)
            # A struct tag is not a call, even when a function shares
            # its name (struct hs_cache_stats, hs_cache_stats()).
            uses[path] = set(IDENT.findall(re.sub(r"\bstruct\s+\w+",
                                                  "", text)))
        graph = collections.defaultdict(set)
        for path, idents in uses.items():
            for name in idents:
                owner = defs.get(name)
                if owner and owner != path and path in uses:
                    graph[path].add(owner)
        for scc in sccs(list(uses), graph):
            if len(scc) > 1:
                findings.append("cycle: " + " <-> ".join(sorted(scc)))
    if not map_is_current():
        findings.append(f"{MAP_DOC}: the file map is stale "
                        "(tools/shape.py --write-map)")
    for f in findings:
        if not quiet:
            print(f)
    print(f"{len(findings)} findings")
    return 1 if findings else 0

def sccs(nodes, graph):
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]
    def visit(v):
        index[v] = low[v] = n[0]; n[0] += 1
        stack.append(v); on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w); low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v:
                    break
            out.append(comp)
    sys.setrecursionlimit(10000)
    for v in nodes:
        if v not in index:
            visit(v)
    return out

if __name__ == "__main__":
    sys.exit(main())
