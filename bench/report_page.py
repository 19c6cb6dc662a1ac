"""The report page on real news: no chart label overlaps another, documents show by title.

Samples dated xwlb items across every year (one line in ``--every``), runs the pipeline on
them as a user would (``input.text_field: paragraphs``, ``input.title_field: title``,
``report.prevalence_field: date``, K = 20), opens report.html in headless Chromium at a
laptop's and a phone's width, and counts, from the laid-out bounding boxes, the pairs of
text labels of one chart that overlap, and the document titles the page shows. Writes a
screenshot of each width next to the run. Skips, saying why, when the corpus or
Chromium is absent::

    .venv/bin/python bench/report_page.py --every 30
"""

from __future__ import annotations

import argparse
import json
import lzma
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "xwlb" / "xwlb_2012-2026.jsonl.xz"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--disable-dev-shm-usage")

# Every pair of <text> elements of one <svg> whose boxes, as the browser laid them out, overlap.
OVERLAPS = """
var out = [];
document.querySelectorAll("svg").forEach(function (svg, k) {
  var boxes = [].map.call(svg.querySelectorAll("text"), function (t) {
    var r = t.getBoundingClientRect();
    return [t.textContent, r.left, r.top, r.right, r.bottom];
  });
  for (var i = 0; i < boxes.length; i++) for (var j = i + 1; j < boxes.length; j++) {
    var a = boxes[i], b = boxes[j];
    if (a[1] < b[3] && b[1] < a[3] && a[2] < b[4] && b[2] < a[4]) out.push(k + ": " + a[0] + " / " + b[0]);
  }
});
return out;
"""


def sample(every: int, out: Path) -> list[str]:
    titles = []
    with lzma.open(CORPUS, "rt", encoding="utf-8") as src, out.open("w", encoding="utf-8") as dst:
        for i, line in enumerate(src):
            if i % every == 0:
                record = json.loads(line)
                titles.append(str(record.get("title") or ""))
                dst.write(line)
    return titles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=30, help="take one item in this many")
    parser.add_argument("--keep", type=Path, help="folder for the run and screenshots (default: temporary)")
    args = parser.parse_args()
    if not CORPUS.exists() or not Path(CHROMEDRIVER).exists():
        print(f"skipped: needs {CORPUS} and {CHROMEDRIVER}")
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="report-page-"))
    folder.mkdir(parents=True, exist_ok=True)
    titles = sample(args.every, folder / "xwlb.jsonl")
    config = {
        "run": {"name": "xwlb", "output_dir": "runs"},
        "input": {
            "paths": ["xwlb.jsonl"],
            "text_field": "paragraphs",
            "title_field": "title",
            "meta_fields": ["date"],
        },
        "model": {"num_topics": 20},
        "report": {"prevalence_field": "date"},
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    pipeline = Path(sys.executable).with_name("pipeline")
    subprocess.run([str(pipeline), "run", str(folder / "config.yaml")], check=True)
    page = folder / "runs" / "xwlb" / "report.html"

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        browser.get(page.as_uri())
        text = browser.find_element("tag name", "body").text
        shown = sum(1 for t in set(titles) if t and t in text)
        print(f"{len(titles)} items; {shown} distinct titles on the page")
        for width in (1280, 390):
            browser.set_window_size(width, 1400)
            overlaps = browser.execute_script(OVERLAPS)
            shot = folder / f"report-{width}.png"
            browser.save_screenshot(str(shot))
            print(f"width {width}: {len(overlaps)} overlapping label pairs {overlaps[:5]}; screenshot {shot}")
    finally:
        browser.quit()


if __name__ == "__main__":
    main()
