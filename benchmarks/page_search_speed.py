"""Looking for quotes in a long PDF: a quote that is nowhere, then more, in one process.

Builds an N-page PDF (text only, Helvetica, written by :func:`write_text_pdf`: no PDF library
needed), then times, through :func:`halluscope.checks.pages.check_pages` on one
:class:`~halluscope.evidence.documents.Document`:

* ``first``: the first record's quote, on no page (every page read, normalised and searched,
  every page break joined);
* ``next``: ``--records`` more records, each with a quote on no page and one on its cited
  page, in the same document (what a file of answers about one report costs per record).

``--baseline REV`` runs the same timings with the page check of a git revision (its
``halluscope`` package extracted to a temporary folder and imported in a child process) and
prints the ratio, baseline over now, on the same PDF and machine. Times are CPU seconds of
the process (``time.process_time``: pdfium and the search both run in it), so that other work
on a shared machine does not move them.

    python benchmarks/page_search_speed.py [--pages 3000] [--records 20] [--baseline REV]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if __name__ == "__main__":          # (the baseline's child imports this file with its own)
    sys.path.insert(0, str(ROOT))

WORDS = ("revenue costs staff plan board report market growth supply risk currency site "
         "committee approved quarter annual review budget policy audit").split()


def page_lines(k: int) -> list[str]:
    """Page ``k``'s text: 40 lines of words, distinct per page (a seeded shuffle)."""
    import random
    rng = random.Random(k)
    return [f"{k}.{i} " + " ".join(rng.choice(WORDS) for _ in range(11)) for i in range(40)]


def _escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def write_text_pdf(path: Path, pages: list[list[str]]) -> Path:
    """A PDF whose page ``k`` draws ``pages[k]``, one line each, in Helvetica (a font every
    PDF reader has)."""
    objs: list[bytes] = [b"", b""]            # 1: catalog, 2: pages (filled below)
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")    # 3
    kids = []
    for lines in pages:
        body = "BT /F1 10 Tf 12 TL 50 800 Td " + " ".join(
            f"({_escape(ln)}) Tj T*" for ln in lines) + " ET"
        data = body.encode("latin-1")
        objs.append(b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream")
        objs.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources "
                    b"<< /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (len(objs)))
        kids.append(len(objs))
    objs[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objs[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        " ".join(f"{k} 0 R" for k in kids).encode(), len(kids))
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1,
                                                                              xref)
    path.write_bytes(bytes(out))
    return path


def timings(pdf: str, records: int) -> dict:
    """Seconds for the first record (a quote on no page) and per record after it."""
    from halluscope.checks.pages import check_pages
    from halluscope.evidence.documents import Document

    class Rec:
        def __init__(self, response):
            self.response = response
    doc = Document(pdf)
    t0 = time.process_time()
    first = check_pages(Rec('It says "the zebra danced at midnight" (p. 2).'), doc)
    t_first = time.process_time() - t0
    t0 = time.process_time()
    labels = []
    for i in range(records):
        k = 1 + (i * 37) % doc.n_pages
        real = page_lines(k)[5]
        r = Rec(f'It says "a missing sentence number {i}" (p. {k}) and "{real}" (p. {k}).')
        labels += [v.label for v in check_pages(r, doc) if v.checker == "page-quote"]
    t_next = (time.process_time() - t0) / max(records, 1)
    return {"first": t_first, "next": t_next,
            "first_label": [v.label for v in first if v.checker == "page-quote"],
            "labels": sorted(set(labels)), "n_labels": len(labels)}


def _baseline(rev: str, pdf: str, records: int) -> dict:
    """:func:`timings` with revision ``rev``'s ``halluscope`` package, in a child process."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "halluscope"],
                                 check=True, capture_output=True).stdout
        Path(tmp, "a.tar").write_bytes(archive)
        with tarfile.open(Path(tmp, "a.tar")) as tar:
            tar.extractall(tmp, filter="data")
        code = (f"import sys, json; sys.path[:0] = [{tmp!r}, {str(ROOT / 'benchmarks')!r}]; "
                f"import page_search_speed as b, halluscope; "
                f"assert halluscope.__file__.startswith({tmp!r}), halluscope.__file__; "
                f"print(json.dumps(b.timings({pdf!r}, {records})))")
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                             text=True, cwd=tmp).stdout
        return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=3000)
    ap.add_argument("--records", type=int, default=20)
    ap.add_argument("--baseline", help="a git revision to compare with (e.g. main)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        pdf = str(write_text_pdf(Path(tmp, "long.pdf"),
                                 [page_lines(k) for k in range(1, args.pages + 1)]))
        print(f"{args.pages}-page PDF written in {time.perf_counter() - t0:.1f} s")
        now = timings(pdf, args.records)
        print(f"now:      first (quote nowhere) {now['first']:.2f} CPU s; next {args.records} "
              f"records {now['next'] * 1000:.0f} ms each; verdicts {now['first_label']} "
              f"then {now['labels']} x{now['n_labels']}")
        if args.baseline:
            base = _baseline(args.baseline, pdf, args.records)
            print(f"baseline: first {base['first']:.2f} s; next {base['next'] * 1000:.0f} ms "
                  f"each; verdicts {base['first_label']} then {base['labels']}")
            print(f"ratio (baseline / now): first {base['first'] / now['first']:.1f}x, next "
                  f"{base['next'] / max(now['next'], 1e-9):.1f}x")
            if (base["first_label"], base["labels"]) != (now["first_label"], now["labels"]):
                print("VERDICTS DIFFER from the baseline")
                sys.exit(1)


if __name__ == "__main__":
    main()
