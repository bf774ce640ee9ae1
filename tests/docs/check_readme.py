#!/usr/bin/python3
"""The README check: every shell example in README.md runs as written, in order, on a fresh copy.

Usage:
  tests/docs/check_readme.py --source REPO --satsal BUILD/satsal [--default-scale N] [--list] [--keep]

What it does:
  1. Extracts the fenced shell blocks (```sh, ```bash, ```shell) of REPO/README.md. A block whose
     first non-blank line is a `# template` comment is a template: it must contain a placeholder
     in angle brackets (<model.pt>) and is not run. Every other shell block is runnable and must
     not look like a template (no <placeholders>, no [--optional] arguments). A runnable block
     that calls a Python script in tools/ must say so in a comment ("needs python3-torch"), since
     `tools/setup.sh --minimal` does not install PyTorch.
  2. Makes a clone-like copy of REPO in a temporary folder (the files git tracks plus untracked
     files that are not ignored: no build/, data/ or out/), with build/satsal a symlink to the
     already built binary, so nothing is rebuilt.
  3. Runs the runnable blocks in README order, each in a fresh bash (errexit, pipefail) started in
     the copy's root. A leading `tools/setup.sh &&` is dropped (the machine is set up already: the
     check reuses its build) and `ctest ...` is not run (it is the suite this check belongs to).
  4. Fails at the first command that fails, naming README.md:LINE, the command as run and its
     stderr; then checks that every config in configs/ was run by some example.
Before any of it, a self-test runs the rules, the scaling and a failing block of a made-up README
and checks that each is caught with the right line.

Scale: SATSAL_DOCS_SCALE=N (default --default-scale, 1 when run by hand, 8 under CTest) divides
the sizes of the synthetic inputs the examples make, so the suite stays fast: `make-scene --size
WxH` -> W/N x H/N, `make-cowc --scene-size S` -> S/N and its scene counts -> count/N (rounded
up), `bench memory --sizes`; no side shrinks below 256 px. `train-count` gets `--set epochs=1`.
Every rewritten command is printed as run. SATSAL_DOCS_SCALE=1 runs the examples verbatim (the
training example then takes about half an hour).

Exit status: 0 all examples ran, 1 an example failed or the README breaks a rule above, 2 usage,
77 (CTest: skipped) when an example needs PyTorch and python3-torch/torchvision are not installed.
"""
import argparse
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

SHELL_INFOS = {"sh", "bash", "shell"}
SKIP_EXIT = 77
MIN_SIDE = 256
TORCH_NOTE = "needs python3-torch"
PLACEHOLDER = re.compile(r"<[A-Za-z][A-Za-z0-9_ .,/|:=-]*>")
OPTIONAL_ARG = re.compile(r"\[\s*-")
PYTHON_TOOL = re.compile(r"(^|[\s;&|(])(\S*/)?python3?\s+(\S*/)?tools/\S+\.py|(^|[\s;&|(])(\./)?tools/\S+\.py")
CONFIG_REF = re.compile(r"configs/([A-Za-z0-9_.-]+\.ini)\b")


@dataclass
class Command:
    first: int            # README line of its first physical line
    last: int             # README line of its last physical line
    text: str             # logical command, continuation lines joined


@dataclass
class Block:
    line: int             # README line of the opening fence
    info: str
    lines: List[str]      # content lines, README line = line + 1 + index
    template: bool = False
    commands: List[Command] = field(default_factory=list)

    def content_line(self, index: int) -> int:
        return self.line + 1 + index


def parse_blocks(readme: str) -> Tuple[List[Block], List[str]]:
    """Fenced blocks of a Markdown file (``` or ~~~ fences, any info string)."""
    blocks: List[Block] = []
    problems: List[str] = []
    lines = readme.split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^ {0,3}(`{3,}|~{3,})\s*([^`]*)$", lines[i])
        if not m:
            i += 1
            continue
        fence, info = m.group(1), m.group(2).strip()
        start = i
        i += 1
        body = []
        while i < len(lines) and not re.match(r"^ {0,3}" + re.escape(fence[0]) + "{%d,}\\s*$" % len(fence), lines[i]):
            body.append(lines[i])
            i += 1
        if i == len(lines):
            problems.append(f"README.md:{start + 1}: fenced block is never closed")
        blocks.append(Block(line=start + 1, info=info, lines=body))
        i += 1
    return blocks, problems


def strip_comment(line: str) -> str:
    """The line without a trailing shell comment (a # at a word start, outside quotes)."""
    quote = None
    prev = " "
    for k, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and prev in " \t;&|(":
            return line[:k].rstrip()
        prev = ch
    return line.rstrip()


def logical_commands(block: Block) -> List[Command]:
    """Commands of a block: comment and blank lines dropped, backslash continuations joined."""
    commands: List[Command] = []
    pending: Optional[Command] = None
    for index, raw in enumerate(block.lines):
        line_no = block.content_line(index)
        code = strip_comment(raw)
        if pending is None and not code.strip():
            continue
        continued = code.endswith("\\")
        piece = code[:-1] if continued else code
        if pending is None:
            pending = Command(first=line_no, last=line_no, text=piece.strip())
        else:
            pending.text += " " + piece.strip()
            pending.last = line_no
        if not continued:
            commands.append(pending)
            pending = None
    if pending is not None:
        commands.append(pending)
    return commands


def classify(blocks: List[Block]) -> Tuple[List[Block], List[str]]:
    """The shell blocks, with template flags and commands; README rule violations."""
    shell: List[Block] = []
    problems: List[str] = []
    for b in blocks:
        kind = b.info.split()[0].lower() if b.info else ""
        if kind not in SHELL_INFOS:
            looks_shell = any(re.match(r"^\s*(\$ |build/satsal|satsal |tools/|/usr/bin/python3)", l) for l in b.lines)
            if kind in ("", "console", "shell-session") and looks_shell:
                problems.append(f"README.md:{b.line}: a shell example needs the info string `sh` "
                                f"(and a first line `# template` if it is not runnable as written)")
            continue
        first = next((l.strip() for l in b.lines if l.strip()), "")
        b.template = re.match(r"^#\s*template\b", first, re.IGNORECASE) is not None
        b.commands = logical_commands(b)
        if b.template:
            if not any(PLACEHOLDER.search(strip_comment(l)) for l in b.lines):
                problems.append(f"README.md:{b.line}: template block without a <placeholder>: make it "
                                f"runnable (and drop `# template`) or name what to fill in as <like-this>")
        else:
            for index, raw in enumerate(b.lines):
                code = strip_comment(raw)
                where = f"README.md:{b.content_line(index)}"
                if PLACEHOLDER.search(code):
                    problems.append(f"{where}: runnable example with a placeholder "
                                    f"{PLACEHOLDER.search(code).group(0)}: make it runnable or start "
                                    f"the block with a comment line `# template`")
                elif OPTIONAL_ARG.search(code):
                    problems.append(f"{where}: runnable example with [optional] arguments: make it "
                                    f"runnable or start the block with a comment line `# template`")
            if any(PYTHON_TOOL.search(c.text) for c in b.commands) and \
                    not any(TORCH_NOTE in l for l in b.lines if l.strip().startswith("#")):
                problems.append(f"README.md:{b.line}: example runs a tools/*.py script but has no comment "
                                f"saying it '{TORCH_NOTE}' (tools/setup.sh --minimal skips PyTorch)")
        shell.append(b)
    return shell, problems


# ---------------------------------------------------------------------------------------------
# Scale rewriting

def shrink(value: int, scale: int) -> int:
    return min(value, max(MIN_SIDE, value // scale))


SEGMENT_SPLIT = re.compile(r"(&&|\|\||;|\|)")
SUBCOMMAND = re.compile(r"(?:^|[\s/])satsal\s+(make-scene|make-cowc|train-count|bench\s+memory)\b")


def rewrite_segment(seg: str, scale: int) -> str:
    m = SUBCOMMAND.search(seg)
    if not m:
        return seg
    sub = re.sub(r"\s+", " ", m.group(1))
    head, tail = seg[:m.end()], seg[m.end():]

    def option(name: str, value_re: str, fn, default: Optional[str]) -> None:
        nonlocal tail
        pat = re.compile(r"(--" + name + r"(?:\s+|=))(" + value_re + r")")
        if pat.search(tail):
            tail = pat.sub(lambda mm: mm.group(1) + fn(mm.group(2)), tail)
        elif default is not None:
            tail = f" --{name} {fn(default)}" + tail

    if sub == "make-scene":
        def size(v: str) -> str:
            w, h = (int(x) for x in v.lower().split("x"))
            return f"{shrink(w, scale)}x{shrink(h, scale)}"
        option("size", r"\d+[xX]\d+", size, "4096x4096")
    elif sub == "make-cowc":
        option("scene-size", r"\d+", lambda v: str(shrink(int(v), scale)), "2000")
        count = lambda v: str(max(1, math.ceil(int(v) / scale)) if int(v) > 0 else 0)
        option("train-scenes", r"\d+", count, "4")
        option("test-scenes", r"\d+", count, None)
    elif sub == "train-count":
        tail = " --set epochs=1" + tail
    elif sub == "bench memory":
        option("sizes", r"\d+(?:,\d+)*", lambda v: ",".join(str(shrink(int(x), scale)) for x in v.split(",")), None)
    return head + tail


def rewrite_lines(lines: List[str], scale: int) -> List[str]:
    """The physical lines of one command with its synthetic input sizes divided by scale."""
    if scale == 1:
        return list(lines)
    codes = [strip_comment(l) for l in lines]
    comments = [l[len(c):] for l, c in zip(lines, codes)]
    joined = "\0".join(codes)      # \0 marks the line breaks; no option pattern matches it
    parts = SEGMENT_SPLIT.split(joined)
    joined = "".join(p if SEGMENT_SPLIT.fullmatch(p) else rewrite_segment(p, scale) for p in parts)
    return [c + k for c, k in zip(joined.split("\0"), comments)]


SETUP = re.compile(r"^(\s*)tools/setup\.sh(\s+--minimal)?\s*&&\s*")


def prepare_block(b: Block, scale: int) -> Tuple[List[str], List[str]]:
    """The block's lines as they will run (same line count) and notes on what changed."""
    out = list(b.lines)
    notes: List[str] = []
    for c in b.commands:
        i0, i1 = c.first - b.line - 1, c.last - b.line - 1
        first = out[i0]
        m = SETUP.match(first)
        if m:
            first = m.group(1) + first[m.end():]
        skip = None
        if re.match(r"^\s*tools/setup\.sh\b", first):
            skip = "the machine is set up already"
        elif re.match(r"^\s*ctest\b", first):
            skip = "the suite this check is part of"
        if skip:
            notes.append(f"README.md:{c.first}: not run: {c.text} ({skip})")
            for i in range(i0, i1 + 1):
                out[i] = ":" + (" \\" if i < i1 else "")
            continue
        if m:
            notes.append(f"README.md:{c.first}: not run: tools/setup.sh (this machine is set up; its build "
                         f"is reused)")
        out[i0] = first
        new = rewrite_lines(out[i0:i1 + 1], scale)
        if new != out[i0:i1 + 1]:
            notes.append(f"README.md:{c.first}: scaled: " + " ".join(l.strip().rstrip("\\").strip() for l in new))
        out[i0:i1 + 1] = new
    return out, notes


# ---------------------------------------------------------------------------------------------
# The clone-like copy

def make_copy(source: str, satsal: str, work: str) -> str:
    root = os.path.join(work, "satsal")
    files: List[str] = []
    if os.path.exists(os.path.join(source, ".git")) and shutil.which("git"):
        listed = subprocess.run(["git", "-C", source, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                check=True, capture_output=True).stdout.decode()
        files = [f for f in listed.split("\0") if f and os.path.lexists(os.path.join(source, f))]
    if files:
        for f in files:
            dst = os.path.join(root, f)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy2(os.path.join(source, f), dst, follow_symlinks=False)
    else:   # not a git checkout: everything but build products and generated data
        shutil.copytree(source, root, symlinks=True,
                        ignore=lambda d, names: [n for n in names if os.path.samefile(d, source) and
                                                 (n.startswith("build") or n in (".git", "data", "out"))])
    os.makedirs(os.path.join(root, "build"), exist_ok=True)
    os.symlink(os.path.abspath(satsal), os.path.join(root, "build", "satsal"))
    return root


# ---------------------------------------------------------------------------------------------
# Running

MARK = "@@satsal-docs-line "


def run_block(b: Block, lines: List[str], root: str, timeout: float) -> Tuple[int, str, str, Optional[int]]:
    """Runs a block in bash; returns (exit code, stdout, stderr, README line of the failing command)."""
    header = (f"set -eE -o pipefail; cd {shlex_quote(root)}; "
              f"trap 'printf \"\\n{MARK}%s\\n\" \"$LINENO\" >&2' DEBUG; "
              f"trap 'printf \"\\n{MARK}ERR %s\\n\" \"$LINENO\" >&2' ERR")
    script = header + "\n" + "\n".join(lines) + "\n"
    proc = subprocess.Popen(["bash", "--noprofile", "--norc", "-c", script], cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        code = -1
    out_s, err_s = out.decode(errors="replace"), err.decode(errors="replace")
    failing = None
    marks = [(m.start(), m.group(1), int(m.group(2))) for m in
             re.finditer(re.escape(MARK) + r"(ERR )?(\d+)\n", err_s)]
    err_lines = [x for x in marks if x[1]]
    if err_lines:
        failing = b.line + err_lines[-1][2] - 1   # script line 1 is the header
    elif code != 0 and marks:
        failing = b.line + marks[-1][2] - 1
    return code, out_s, err_s, failing


def shlex_quote(s: str) -> str:
    return "'" + s.replace("'", "'\"'\"'") + "'"


def command_at(b: Block, line: int) -> Optional[Command]:
    for c in b.commands:
        if c.first <= line <= c.last:
            return c
    return None


def stderr_of(err: str, b: Block, cmd: Optional[Command]) -> str:
    """The part of a block's stderr that the failing command wrote (markers removed)."""
    chunks = re.split(re.escape(MARK) + r"(ERR )?(\d+)\n", err)
    # chunks: text, (err, line, text)*
    pieces = []
    for k in range(1, len(chunks), 3):
        is_err, line, text = chunks[k], int(chunks[k + 1]), chunks[k + 2]
        pieces.append((bool(is_err), b.line + line - 1, text))
    if cmd is None:
        return "".join(t for _, _, t in pieces[-3:]).strip()
    start = len(pieces)
    while start > 0 and (pieces[start - 1][0] or cmd.first <= pieces[start - 1][1] <= cmd.last):
        start -= 1
    return "".join(t for _, _, t in pieces[start:]).strip()


def torch_available() -> bool:
    return subprocess.run(["/usr/bin/python3", "-c", "import torch, torchvision"],
                          capture_output=True).returncode == 0


def self_test(work: str) -> List[str]:
    """The checker's own rules on a made-up README: a check that cannot fail would prove nothing."""
    errors: List[str] = []
    readme = ("# t\n"                                               # 1
              "```sh\n"                                             # 2
              "echo one\n"                                          # 3
              "ls /nonexistent-satsal-docs-path \\\n"               # 4
              "    -d   # a comment\n"                              # 5
              "echo never\n"                                        # 6
              "```\n"                                               # 7
              "```sh\n"                                             # 8
              "# template\n"                                        # 9
              "build/satsal run configs/x.ini\n"                    # 10
              "```\n"                                               # 11
              "```sh\n"                                             # 12
              "build/satsal info <model.pt>\n"                      # 13
              "build/satsal make-scene a.tif --size 4096x2048 && build/satsal make-cowc d\n"  # 14
              "```\n")
    blocks, problems = parse_blocks(readme)
    shell, lint = classify(blocks)
    if problems or len(shell) != 3:
        errors.append(f"parsed {len(shell)} shell blocks, expected 3 ({problems})")
        return errors
    if not any(p.startswith("README.md:8: template block without") for p in lint):
        errors.append(f"template without placeholder not reported: {lint}")
    if not any(p.startswith("README.md:13: runnable example with a placeholder <model.pt>") for p in lint):
        errors.append(f"placeholder in a runnable block not reported: {lint}")
    lines, _ = prepare_block(shell[2], 8)
    want = ("build/satsal make-scene a.tif --size 512x256 && "
            "build/satsal make-cowc --train-scenes 1 --scene-size 256 d")
    if lines[1] != want:
        errors.append(f"scale 8 rewrote README.md:14 to '{lines[1]}', expected '{want}'")
    b = shell[0]
    b.commands = logical_commands(b)
    code, out, err, failing = run_block(b, b.lines, work, 60)
    cmd = command_at(b, failing) if failing else None
    if code == 0 or "never" in out:
        errors.append(f"a failing command did not stop its block (exit {code}, stdout {out!r})")
    if cmd is None or cmd.first != 4:
        errors.append(f"failing command reported at line {failing}, expected README.md:4")
    elif "nonexistent-satsal-docs-path" not in stderr_of(err, b, cmd):
        errors.append(f"failing command's stderr not found in {err!r}")
    return errors


def main(argv: List[str]) -> int:
    ap = argparse.ArgumentParser(description="Run README.md's shell examples in order on a fresh copy.")
    ap.add_argument("--source", required=True, help="repository root (README.md, configs/)")
    ap.add_argument("--satsal", help="the built satsal binary (default SOURCE/build/satsal)")
    ap.add_argument("--default-scale", type=int, default=1,
                    help="input size divisor when SATSAL_DOCS_SCALE is not set (CTest: 8)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per block")
    ap.add_argument("--work", help="folder for the copy (default: a new temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the copy and its outputs")
    ap.add_argument("--list", action="store_true", help="print the blocks as they would run, run nothing")
    args = ap.parse_args(argv)

    source = os.path.abspath(args.source)
    satsal = os.path.abspath(args.satsal or os.path.join(source, "build", "satsal"))
    scale_text = os.environ.get("SATSAL_DOCS_SCALE", str(args.default_scale))
    if not re.fullmatch(r"[1-9][0-9]*", scale_text.strip()):
        print(f"check_readme: SATSAL_DOCS_SCALE='{scale_text}': expected a positive integer "
              f"(1 = the README's sizes, 8 = sides / 8)", file=sys.stderr)
        return 2
    scale = int(scale_text)

    readme_path = os.path.join(source, "README.md")
    with open(readme_path, encoding="utf-8") as f:
        blocks, problems = parse_blocks(f.read())
    shell, more = classify(blocks)
    problems += more
    runnable = [b for b in shell if not b.template]
    if not runnable:
        problems.append("README.md: no runnable shell example found")
    if problems:
        print("check_readme: README.md breaks the example rules:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1

    prepared = [(b, *prepare_block(b, scale)) for b in runnable]
    if args.list:
        for b, lines, notes in prepared:
            print(f"--- README.md:{b.line} ({b.info})")
            for n in notes:
                print(f"# {n}")
            for k, l in enumerate(lines):
                print(f"{b.content_line(k):4d}  {l}")
        for b in shell:
            if b.template:
                print(f"--- README.md:{b.line}: template, not run")
        return 0

    if not os.access(satsal, os.X_OK):
        print(f"check_readme: satsal binary '{satsal}' not found or not executable (build it first)",
              file=sys.stderr)
        return 1
    needs_torch = [b for b in runnable if any(PYTHON_TOOL.search(c.text) for c in b.commands)]
    if needs_torch and not torch_available():
        print(f"check_readme: skipped: the examples at README.md:{','.join(str(b.line) for b in needs_torch)} "
              f"need python3-torch and python3-torchvision (tools/setup.sh without --minimal installs them)",
              file=sys.stderr)
        return SKIP_EXIT

    work = args.work or tempfile.mkdtemp(prefix="satsal-readme-")
    os.makedirs(work, exist_ok=True)
    broken = self_test(work)
    if broken:
        print("check_readme: self-test failed, the checker cannot be trusted:\n  " + "\n  ".join(broken),
              file=sys.stderr)
        return 1
    root = make_copy(source, satsal, work)
    print(f"check_readme: {len(runnable)} runnable and {len(shell) - len(runnable)} template examples; "
          f"scale 1/{scale}; copy in {root}", flush=True)
    status = 0
    started = time.monotonic()
    ran_text = []
    try:
        for b, lines, notes in prepared:
            for n in notes:
                print(f"  {n}", flush=True)
            t0 = time.monotonic()
            code, out, err, failing = run_block(b, lines, root, args.timeout)
            seconds = time.monotonic() - t0
            if code != 0:
                cmd = command_at(b, failing) if failing else None
                where = cmd.first if cmd else (failing or b.line)
                shown = cmd.text if cmd else "(block)"
                as_run = " ".join(l.strip().rstrip("\\").strip() for l in
                                  lines[cmd.first - b.line - 1:cmd.last - b.line]) if cmd else ""
                why = "timed out after %.0f s" % args.timeout if code == -1 else f"exit status {code}"
                print(f"README.md:{where}: example failed ({why}): {shown}", file=sys.stderr)
                if as_run and as_run != shown:
                    print(f"  as run (scale 1/{scale}): {as_run}", file=sys.stderr)
                print("--- its stderr:\n" + (stderr_of(err, b, cmd) or "(empty)"), file=sys.stderr)
                tail = out.strip().split("\n")[-15:]
                if any(tail):
                    print("--- last lines of the block's stdout:\n" + "\n".join(tail), file=sys.stderr)
                print(f"(copy kept in {root})" if args.keep or args.work else
                      "(rerun with --keep to inspect the copy)", file=sys.stderr)
                status = 1
                break
            print(f"README.md:{b.line}: ok ({len(b.commands)} commands, {seconds:.1f} s)", flush=True)
            ran_text += [c.text for c in b.commands]
        if status == 0:
            configs = sorted(f for f in os.listdir(os.path.join(source, "configs")) if f.endswith(".ini"))
            run_configs = {m.group(1) for t in ran_text for m in CONFIG_REF.finditer(t)}
            missing = [c for c in configs if c not in run_configs]
            if missing:
                print("check_readme: configs not run by any README example: " +
                      ", ".join("configs/" + c for c in missing) +
                      " (add an example that runs each)", file=sys.stderr)
                status = 1
            else:
                print(f"check_readme: all {len(runnable)} examples ran ({time.monotonic() - started:.0f} s); "
                      f"configs run: {', '.join(configs)}")
    finally:
        if not args.keep and not args.work:
            shutil.rmtree(work, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
