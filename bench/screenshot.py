"""The README's picture of the report: docs/report.png from a run's report.html.

Run from the repository root, after the default run of the seeds::

    .venv/bin/pipeline run
    .venv/bin/python bench/screenshot.py runs/seeds/report.html docs/report.png

It opens the page in headless Chromium (Debian's ``chromium`` and ``chromium-driver``, as the
browser tests use; see .ci/setup-browser.sh), 1280 x 1107 pixels, sets the relevance slider
to λ = 0.3 for topic 0, chooses the term 学校 (which lights up the topics that hold it on the
map) and scrolls so that the prevalence bars and the topic map are at the top, the λ-ranked
terms below them. Nothing is measured; the page makes no request.
"""

from __future__ import annotations

import argparse
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SIZE = (1280, 1107)
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--disable-dev-shm-usage")

# The page's own controls, driven as a reader would: the slider's input event re-ranks the
# terms, the term box's change event lights up the map.
SETUP = """
var slider = document.getElementById("lambda");
slider.value = "0.3";
slider.dispatchEvent(new Event("input"));
var term = document.getElementById("term-search");
term.value = "学校";
term.dispatchEvent(new Event("change"));
var top = document.getElementById("prevalence").getBoundingClientRect().top + window.scrollY;
window.scrollTo(0, top - 15);
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path, help="a report.html")
    parser.add_argument("out", type=Path, help="the PNG to write")
    args = parser.parse_args()

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        # the viewport itself, whatever the window's frame takes
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": SIZE[0], "height": SIZE[1], "deviceScaleFactor": 1, "mobile": False},
        )
        driver.get(args.page.resolve().as_uri())
        driver.execute_script(SETUP)
        driver.save_screenshot(str(args.out))
    finally:
        driver.quit()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
